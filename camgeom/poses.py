"""Rigid camera poses: build, compose, invert, apply, check.

A pose is a (..., 4, 4) float64 matrix acting on column vectors. Names say the
direction, like the maths: ``cam_from_world`` maps world points into the camera
frame, so ``p_cam = cam_from_world[:3, :3] @ p_world + cam_from_world[:3, 3]``
and ``img_from_world = img_from_cam @ cam_from_world``. Leading dimensions
broadcast everywhere. See ``docs/conventions.md``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from camgeom._validation import (
    RIGID_ATOL,
    check_array,
    check_points,
    check_pose,
    check_rotation,
)
from camgeom.conventions import convert_pose
from camgeom.errors import InvalidValueError

__all__ = [
    "EulerRule",
    "cam_from_world_look_at",
    "compose_poses",
    "invert_pose",
    "is_rigid",
    "nearest_rotation",
    "pose_from_euler",
    "pose_from_quaternion",
    "pose_from_rotation_translation",
    "quaternion_from_rotation",
    "rotation_from_euler",
    "rotation_from_euler_rule",
    "rotation_from_quaternion",
    "transform_points",
]

QUATERNION_ORDERS = ("wxyz", "xyzw")


def pose_from_rotation_translation(R: Any, t: Any) -> np.ndarray:
    """Return the pose ``[[R, t], [0, 0, 0, 1]]``.

    Parameters
    ----------
    R : array_like, shape (..., 3, 3)
        Rotation matrix (checked: orthonormal, det +1).
    t : array_like, shape (..., 3)
        Translation.

    Returns
    -------
    ndarray, shape (..., 4, 4)

    Examples
    --------
    >>> pose_from_rotation_translation(np.eye(3), [1.0, 2.0, 3.0])[:3, 3]
    array([1., 2., 3.])
    """
    r = check_rotation(R, "R")
    tt = check_points(t, "t")
    shape = np.broadcast_shapes(r.shape[:-2], tt.shape[:-1])
    out = np.zeros((*shape, 4, 4))
    out[..., :3, :3] = r
    out[..., :3, 3] = tt
    out[..., 3, 3] = 1.0
    return out


def invert_pose(pose: Any) -> np.ndarray:
    """Return the rigid inverse ``[[R^T, -R^T t], [0, 1]]`` (not ``np.linalg.inv``).

    Examples
    --------
    >>> p = pose_from_rotation_translation(np.eye(3), [1.0, 2.0, 3.0])
    >>> invert_pose(p)[:3, 3]
    array([-1., -2., -3.])
    """
    return rigid_inverse(check_pose(pose, "pose"))


def rigid_inverse(p: np.ndarray) -> np.ndarray:
    """:func:`invert_pose` of poses (..., 4, 4) already checked rigid (no second check)."""
    rt = np.swapaxes(p[..., :3, :3], -1, -2)
    out = np.zeros_like(p)
    out[..., :3, :3] = rt
    out[..., :3, 3] = -(rt @ p[..., :3, 3, None])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def compose_poses(a: Any, b: Any) -> np.ndarray:
    """Return ``a @ b``: first apply ``b``, then ``a`` (``c_from_a = c_from_b @ b_from_a``).

    Examples
    --------
    >>> p = pose_from_rotation_translation(np.eye(3), [1.0, 0.0, 0.0])
    >>> compose_poses(p, p)[:3, 3]
    array([2., 0., 0.])
    """
    return check_pose(a, "a") @ check_pose(b, "b")


def transform_points(pose: Any, points: Any) -> np.ndarray:
    """Apply a rigid pose to points: ``R @ p + t``.

    Parameters
    ----------
    pose : array_like, shape (..., 4, 4)
    points : array_like, shape (..., 3)
        Leading dimensions broadcast with the pose's; to apply one pose per
        frame to N points per frame pass ``pose[:, None]``.

    Returns
    -------
    ndarray, shape (..., 3)

    Examples
    --------
    >>> p = pose_from_rotation_translation(np.eye(3), [0.0, 0.0, 1.0])
    >>> transform_points(p, [[1.0, 2.0, 3.0]])
    array([[1., 2., 4.]])
    """
    p = check_pose(pose, "pose")
    pts = check_points(points, "points", finite=False)
    return (p[..., :3, :3] @ pts[..., None])[..., 0] + p[..., :3, 3]


def is_rigid(pose: Any, *, atol: float = RIGID_ATOL) -> np.ndarray:
    """Return, per pose, whether it is rigid to ``atol``.

    Rigid: rotation block orthonormal (``|R^T R - I| <= atol``), ``det R > 0``
    and last row ``[0, 0, 0, 1]``.

    Returns
    -------
    ndarray of bool, shape (...)

    Examples
    --------
    >>> bool(is_rigid(np.eye(4))), bool(is_rigid(np.diag([2.0, 1, 1, 1])))
    (True, False)
    """
    p = check_array(pose, "pose", (4, 4))
    r = p[..., :3, :3]
    ortho = np.abs(np.swapaxes(r, -1, -2) @ r - np.eye(3)).max(axis=(-2, -1)) <= atol
    last = np.abs(p[..., 3, :] - [0.0, 0.0, 0.0, 1.0]).max(axis=-1) <= atol
    return ortho & last & (np.linalg.det(r) > 0)


def nearest_rotation(M: Any) -> np.ndarray:
    """Return the rotation closest to M in the Frobenius norm (SVD projection).

    Examples
    --------
    >>> nearest_rotation(np.diag([2.0, 1.0, 1.0]))
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    m = check_array(M, "M", (3, 3))
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u = u.copy()
    u[..., :, 2] *= d[..., None]
    return u @ vt


def _check_order(order: str) -> str:
    if order not in QUATERNION_ORDERS:
        raise InvalidValueError(
            f"Expected `order` to be one of {QUATERNION_ORDERS!r}, got {order!r}. Say which "
            "element is the scalar: many files label (x, y, z, w) data as 'wxyz'."
        )
    return order


def rotation_from_quaternion(q: Any, *, order: str, normalize: bool = False) -> np.ndarray:
    """Return the rotation matrix of a unit quaternion.

    Parameters
    ----------
    q : array_like, shape (..., 4)
    order : {"wxyz", "xyzw"}
        Position of the scalar part. Keyword-only and required: the order is
        the most common source of silent errors (Synthesis AI's
        ``quaternion_wxyz`` holds x, y, z, w).
    normalize : bool
        Normalise ``q`` first; otherwise ``|q|`` must be 1 to 1e-6.

    Returns
    -------
    ndarray, shape (..., 3, 3)

    Examples
    --------
    >>> s = np.sqrt(0.5)
    >>> rotation_from_quaternion([s, s, 0, 0], order="wxyz").round(12) + 0.0
    array([[ 1.,  0.,  0.],
           [ 0.,  0., -1.],
           [ 0.,  1.,  0.]])
    """
    arr = check_array(q, "q", (4,))
    if _check_order(order) == "xyzw":
        arr = arr[..., [3, 0, 1, 2]]
    n = np.linalg.norm(arr, axis=-1, keepdims=True)
    if np.any(n == 0):
        raise InvalidValueError("Expected `q` to be a unit quaternion, got a zero quaternion.")
    if normalize:
        arr = arr / n
    elif np.any(np.abs(n - 1) > 1e-6):
        raise InvalidValueError(
            f"Expected `q` to be a unit quaternion, got norm {float(n.ravel()[0]):.9g}; "
            "pass normalize=True to normalise it."
        )
    w, x, y, z = np.moveaxis(arr, -1, 0)
    out = np.empty((*arr.shape[:-1], 3, 3))
    out[..., 0, 0] = 1 - 2 * (y * y + z * z)
    out[..., 0, 1] = 2 * (x * y - z * w)
    out[..., 0, 2] = 2 * (x * z + y * w)
    out[..., 1, 0] = 2 * (x * y + z * w)
    out[..., 1, 1] = 1 - 2 * (x * x + z * z)
    out[..., 1, 2] = 2 * (y * z - x * w)
    out[..., 2, 0] = 2 * (x * z - y * w)
    out[..., 2, 1] = 2 * (y * z + x * w)
    out[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def quaternion_from_rotation(R: Any, *, order: str) -> np.ndarray:
    """Return the unit quaternion (scalar part >= 0) of a rotation matrix.

    Examples
    --------
    >>> quaternion_from_rotation(np.eye(3), order="xyzw")
    array([0., 0., 0., 1.])
    """
    r = check_rotation(R, "R")
    _check_order(order)
    from scipy.spatial.transform import Rotation  # imported on use: keeps `import camgeom` light

    flat = Rotation.from_matrix(r.reshape(-1, 3, 3)).as_quat()  # xyzw
    flat = np.where(flat[:, 3:] < 0, -flat, flat)
    if order == "wxyz":
        flat = flat[:, [3, 0, 1, 2]]
    return flat.reshape(*r.shape[:-2], 4)


def pose_from_quaternion(q: Any, t: Any, *, order: str, normalize: bool = False) -> np.ndarray:
    """Return the pose with rotation from quaternion ``q`` (see
    :func:`rotation_from_quaternion`) and translation ``t`` (..., 3)."""
    return pose_from_rotation_translation(
        rotation_from_quaternion(q, order=order, normalize=normalize), t
    )


def rotation_from_euler(seq: str, angles: Any, *, degrees: bool = False) -> np.ndarray:
    """Return the rotation of Euler angles in a scipy sequence (``"xyz"`` extrinsic, ``"XYZ"`` intrinsic).

    Parameters
    ----------
    seq : str
        Axis sequence as in :meth:`scipy.spatial.transform.Rotation.from_euler`.
    angles : array_like, shape (..., len(seq))
    degrees : bool
        Angles in degrees instead of radians.

    Returns
    -------
    ndarray, shape (..., 3, 3)

    Examples
    --------
    >>> rotation_from_euler("z", [90.0], degrees=True).round(12) + 0.0
    array([[ 0., -1.,  0.],
           [ 1.,  0.,  0.],
           [ 0.,  0.,  1.]])
    """
    if not isinstance(seq, str) or not 1 <= len(seq) <= 3:
        raise InvalidValueError(f"Expected `seq` to be 1 to 3 axis letters, got {seq!r}.")
    a = check_array(angles, "angles", (len(seq),))
    if not (set(seq) <= set("xyz") or set(seq) <= set("XYZ")):
        raise InvalidValueError(
            f"Invalid Euler sequence {seq!r}: expected the letters x, y, z (extrinsic) or "
            "X, Y, Z (intrinsic), not mixed."
        )
    if any(p == q for p, q in itertools.pairwise(seq)):
        raise InvalidValueError(
            f"Invalid Euler sequence {seq!r}: expected consecutive axes to be different."
        )
    if degrees:
        a = np.radians(a)
    # Extrinsic "xyz" turns about x, then y, then z of the fixed frame: Rz @ Ry @ Rx.
    # Intrinsic "XYZ" turns about the moving axes: Rx @ Ry @ Rz.
    out = np.broadcast_to(np.eye(3), (*a.shape[:-1], 3, 3))
    for i, axis in enumerate(seq):
        turn = _axis_rotation("xyz".index(axis.lower()), a[..., i])
        out = turn @ out if axis.islower() else out @ turn
    return np.ascontiguousarray(out)


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotations (..., 3, 3) by ``angle`` (radians, shape (...)) about axis 0, 1 or 2."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((*angle.shape, 3, 3))
    j, k = (axis + 1) % 3, (axis + 2) % 3
    out[..., axis, axis] = 1.0
    out[..., j, j] = c
    out[..., k, k] = c
    out[..., j, k] = -s
    out[..., k, j] = s
    return out


_IDENTITY3 = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


@dataclass(frozen=True)
class EulerRule:
    """How three stored Euler angles make a camera rotation (a vendor's rule).

    The rotation is
    ``from_euler(sequence, signs * angles[order], degrees) @ right``, and it is
    the ``gives`` rotation (``"cam_from_world"`` or ``"world_from_cam"``) with
    the camera axes named by ``axes``.

    Parameters
    ----------
    sequence : str
        A scipy :meth:`~scipy.spatial.transform.Rotation.from_euler` sequence
        (``"xyz"`` extrinsic, ``"XYZ"`` intrinsic).
    signs : tuple of 3 float
        Multiplies each stored angle (after ``order``) before ``from_euler``.
    order : tuple of 3 int
        Which stored angle goes to each axis of ``sequence``.
    degrees : bool
        The stored angles are in degrees.
    right : tuple of 3 tuples of 3 float
        A fixed rotation multiplied on the right (e.g. a change of world axes).
    gives : {"cam_from_world", "world_from_cam"}
        What the rotation maps.
    axes : str
        Camera-axis convention of the rotation (any name
        :func:`camgeom.conventions.resolve_convention` accepts).

    Examples
    --------
    Datagen's rule (FORMATS: camera yaw, pitch, roll in degrees):

    >>> rule = EulerRule("yxz", signs=(-1.0, -1.0, 1.0), degrees=True,
    ...                  right=((1, 0, 0), (0, 0, -1), (0, 1, 0)))
    >>> rotation_from_euler_rule([0.0, 0.0, 0.0], rule) + 0.0
    array([[ 1.,  0.,  0.],
           [ 0.,  0., -1.],
           [ 0.,  1.,  0.]])
    """

    sequence: str
    signs: tuple[float, float, float] = (1.0, 1.0, 1.0)
    order: tuple[int, int, int] = (0, 1, 2)
    degrees: bool = False
    right: tuple[tuple[float, ...], ...] = _IDENTITY3
    gives: str = "cam_from_world"
    axes: str = "opencv"

    def __post_init__(self) -> None:
        if not isinstance(self.sequence, str) or len(self.sequence) != 3:
            raise InvalidValueError(
                f"Expected `sequence` to be three axis letters such as 'xyz', got {self.sequence!r}."
            )
        if sorted(self.order) != [0, 1, 2]:
            raise InvalidValueError(
                f"Expected `order` to be a permutation of (0, 1, 2), got {self.order!r}."
            )
        if self.gives not in ("cam_from_world", "world_from_cam"):
            raise InvalidValueError(
                f"Expected `gives` to be 'cam_from_world' or 'world_from_cam', got {self.gives!r}."
            )
        check_rotation(np.asarray(self.right, dtype=np.float64), "right")


def rotation_from_euler_rule(angles: Any, rule: EulerRule) -> np.ndarray:
    """Return the OpenCV ``cam_from_world`` rotation that a vendor's Euler angles describe.

    Parameters
    ----------
    angles : array_like, shape (..., 3)
        The angles as stored.
    rule : EulerRule
        The vendor's rule.

    Returns
    -------
    ndarray, shape (..., 3, 3)
        Rotation part of ``cam_from_world`` in the OpenCV camera convention,
        whatever ``rule.gives`` and ``rule.axes`` are.
    """
    a = check_array(angles, "angles", (3,))
    ordered = a[..., list(rule.order)] * np.asarray(rule.signs, dtype=np.float64)
    rot = rotation_from_euler(rule.sequence, ordered, degrees=rule.degrees) @ np.asarray(
        rule.right, dtype=np.float64
    )
    pose = np.zeros((*rot.shape[:-2], 4, 4))
    pose[..., :3, :3] = rot
    pose[..., 3, 3] = 1.0
    if rule.gives == "world_from_cam":
        pose = np.swapaxes(pose, -1, -2)  # pure rotation: inverse is the transpose
    return convert_pose(pose, rule.axes, "opencv")[..., :3, :3]


def pose_from_euler(seq: str, angles: Any, t: Any, *, degrees: bool = False) -> np.ndarray:
    """Return the pose with rotation from Euler angles and translation ``t``."""
    return pose_from_rotation_translation(rotation_from_euler(seq, angles, degrees=degrees), t)


def cam_from_world_look_at(
    eye: Any,
    *,
    target: Any = None,
    look_at: Any = None,
    up: Any,
    convention: str = "opencv",
) -> np.ndarray:
    """Return the ``cam_from_world`` pose of a camera at ``eye`` looking at a point or along a direction.

    Parameters
    ----------
    eye : array_like, shape (..., 3)
        Camera centre in world coordinates.
    target : array_like, shape (..., 3), optional
        World point the camera looks at.
    look_at : array_like, shape (..., 3), optional
        Viewing direction (give ``target`` or ``look_at``, not both).
    up : array_like, shape (..., 3)
        World direction that appears up in the image (need not be orthogonal
        to the viewing direction, must not be parallel to it).
    convention : str
        Camera-axis convention of the returned pose (default OpenCV).

    Returns
    -------
    ndarray, shape (..., 4, 4)

    Examples
    --------
    Datagen's default camera, 1.6 m in front of the origin along -y, z up:

    >>> cam_from_world_look_at([0.0, -1.6, 0.0], look_at=[0, 1, 0], up=[0, 0, 1]) + 0.0
    array([[ 1. ,  0. ,  0. ,  0. ],
           [ 0. ,  0. , -1. ,  0. ],
           [ 0. ,  1. ,  0. ,  1.6],
           [ 0. ,  0. ,  0. ,  1. ]])
    """
    c = check_points(eye, "eye")
    if (target is None) == (look_at is None):
        raise InvalidValueError(
            "Give exactly one of `target` (a point) or `look_at` (a direction)."
        )
    fwd = (
        check_points(target, "target") - c if look_at is None else check_points(look_at, "look_at")
    )
    u = check_points(up, "up")
    fn = np.linalg.norm(fwd, axis=-1, keepdims=True)
    if np.any(fn == 0):
        raise InvalidValueError("The viewing direction is zero: `target` equals `eye`?")
    f = fwd / fn
    right = np.cross(f, u)
    rn = np.linalg.norm(right, axis=-1, keepdims=True)
    if np.any(rn <= 1e-9 * np.linalg.norm(u, axis=-1, keepdims=True)):
        raise InvalidValueError(
            "`up` is parallel to the viewing direction (or zero): no unique camera roll."
        )
    r = right / rn
    d = np.cross(f, r)
    rot = np.stack([r, d, f], axis=-2)
    pose = pose_from_rotation_translation(rot, -(rot @ c[..., None])[..., 0])
    return convert_pose(pose, "opencv", convention)
