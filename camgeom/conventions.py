"""Camera-axis and pixel conventions, and conversions between them.

A camera-axis convention says where the camera's +x, +y and +z axes point, as
three letters from R/L (right/left), U/D (up/down) and F/B (forward/backward):

============================  =======  ===============================
name                          axes     used by
============================  =======  ===============================
``opencv``, ``colmap``        ``RDF``  OpenCV, COLMAP, Datagen extrinsics, camgeom
``opengl``, ``blender``,      ``RUB``  OpenGL, Blender, NeRFstudio, Synthesis AI
``nerfstudio``                         ``transform_world2cam`` and landmarks
``pytorch3d``                 ``LUF``  PyTorch3D
============================  =======  ===============================

Any axis triple such as ``"RDF"`` is accepted as well. camgeom stores every
camera in the OpenCV convention; convert at the boundary with
:func:`convert_points` and :func:`convert_pose`.

Pixel conventions (:func:`convert_pixels`): in camgeom, pixel (col, row) covers
[col, col+1) x [row, row+1) and its centre is at (col + 0.5, row + 0.5); coordinates
are (u, v) = (column, row). See ``docs/conventions.md``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from camgeom._validation import check_array, check_intrinsics, check_pose, check_positive_int
from camgeom.errors import ConventionError, InvalidValueError

__all__ = [
    "AXIS_CONVENTIONS",
    "PIXEL_CONVENTIONS",
    "POSE_KINDS",
    "axes_matrix",
    "convert_pixels",
    "convert_points",
    "convert_pose",
    "gl_intrinsics_from_intrinsics",
    "gl_projection_from_intrinsics",
    "intrinsics_from_gl_intrinsics",
    "intrinsics_from_gl_projection",
    "resolve_convention",
]

AXIS_CONVENTIONS: dict[str, str] = {
    "opencv": "RDF",
    "colmap": "RDF",
    "opengl": "RUB",
    "blender": "RUB",
    "nerfstudio": "RUB",
    "pytorch3d": "LUF",
}
"""Named camera-axis conventions and their axis triples (+x, +y, +z)."""

POSE_KINDS = ("cam_from_world", "world_from_cam")
"""The two kinds of camera pose: world-to-camera and camera-to-world."""

_LETTER = {
    "R": (0, 1.0),
    "L": (0, -1.0),
    "D": (1, 1.0),
    "U": (1, -1.0),
    "F": (2, 1.0),
    "B": (2, -1.0),
}


def resolve_convention(convention: str) -> str:
    """Return the axis triple (e.g. ``"RDF"``) of a convention name or triple.

    Examples
    --------
    >>> resolve_convention("blender")
    'RUB'
    >>> resolve_convention("luf")
    'LUF'
    """
    names = ", ".join(sorted(AXIS_CONVENTIONS))
    if not isinstance(convention, str):
        raise ConventionError(
            f"Expected a convention name ({names}) or axis triple, got {type(convention).__name__}."
        )
    key = convention.strip().lower()
    if key in AXIS_CONVENTIONS:
        return AXIS_CONVENTIONS[key]
    triple = key.upper()
    if len(triple) == 3 and all(c in _LETTER for c in triple):
        if len({_LETTER[c][0] for c in triple}) == 3:
            return triple
    raise ConventionError(
        f"Unknown camera convention {convention!r}. Valid names: {names}; or an axis triple of "
        "R/L, U/D, F/B for +x, +y, +z, one letter per axis (e.g. 'RDF', 'RUB', 'LUF')."
    )


def _basis(triple: str) -> np.ndarray:
    """Columns: the convention's axes expressed in RDF coordinates."""
    m = np.zeros((3, 3))
    for col, letter in enumerate(triple):
        row, sign = _LETTER[letter]
        m[row, col] = sign
    return m


def axes_matrix(src: str, dst: str) -> np.ndarray:
    """Return the (3, 3) matrix A with ``p_dst = A @ p_src`` for camera-frame points.

    Examples
    --------
    >>> axes_matrix("opengl", "opencv")
    array([[ 1.,  0.,  0.],
           [ 0., -1.,  0.],
           [ 0.,  0., -1.]])
    """
    return _axes(resolve_convention(src), resolve_convention(dst)).copy()


@functools.lru_cache(maxsize=64)
def _axes(src: str, dst: str) -> np.ndarray:
    """:func:`axes_matrix` of two axis triples, built once each (read-only)."""
    a = _basis(dst).T @ _basis(src)
    a.flags.writeable = False
    return a


def convert_points(points: Any, src: str, dst: str) -> np.ndarray:
    """Convert camera-frame points or directions (normals) between conventions.

    Parameters
    ----------
    points : array_like, shape (..., 3)
        Points or directions in the ``src`` camera frame.
    src, dst : str
        Convention names or axis triples (see :data:`AXIS_CONVENTIONS`).

    Returns
    -------
    ndarray, shape (..., 3), float64

    Examples
    --------
    >>> convert_points([1.0, 2.0, -3.0], "opengl", "opencv")
    array([ 1., -2.,  3.])
    """
    pts = check_array(points, "points", (3,), finite=False)
    return pts @ _axes(resolve_convention(src), resolve_convention(dst)).T


def _check_kind(kind: str) -> str:
    if kind not in POSE_KINDS:
        raise ConventionError(f"Expected `kind` to be one of {POSE_KINDS!r}, got {kind!r}.")
    return kind


def convert_pose(pose: Any, src: str, dst: str, *, kind: str = "cam_from_world") -> np.ndarray:
    """Re-express a rigid camera pose in another camera-axis convention.

    The world frame is unchanged; only the camera's axes are relabelled.

    Parameters
    ----------
    pose : array_like, shape (..., 4, 4)
        Rigid pose whose camera frame follows ``src``.
    src, dst : str
        Convention names or axis triples.
    kind : {"cam_from_world", "world_from_cam"}
        Whether ``pose`` maps world to camera or camera to world.

    Returns
    -------
    ndarray, shape (..., 4, 4), float64

    Examples
    --------
    >>> import numpy as np
    >>> convert_pose(np.eye(4), "opengl", "opencv")[:3, :3]
    array([[ 1.,  0.,  0.],
           [ 0., -1.,  0.],
           [ 0.,  0., -1.]])
    """
    _check_kind(kind)
    arr = check_pose(pose, "pose")
    a = axes_matrix(src, dst)
    if np.linalg.det(a) < 0:
        raise ConventionError(
            f"Converting a pose from {src!r} to {dst!r} flips handedness, so the result would not "
            "be a rigid transform. Convert points with convert_points instead."
        )
    a4 = np.eye(4)
    a4[:3, :3] = a
    return a4 @ arr if kind == "cam_from_world" else arr @ a4.T


# ----------------------------------------------------------------------------- OpenGL matrices


_GL_FLIP = np.diag([1.0, -1.0, -1.0])


def gl_intrinsics_from_intrinsics(K: Any) -> np.ndarray:
    """Return the intrinsic matrix that projects OpenGL-frame points directly.

    ``K_gl = K @ diag(1, -1, -1)``, so ``uvw = K_gl @ p_gl`` gives the same
    pixels as ``K @ p_cv``. (The form ``diag(1, -1, -1) @ K`` printed in some
    vendor documents projects to a mirrored image: don't use it on points.)

    Parameters
    ----------
    K : array_like, shape (..., 3, 3)
        OpenCV intrinsic matrix.

    Examples
    --------
    >>> gl_intrinsics_from_intrinsics([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]) + 0.0
    array([[ 500.,    0., -320.],
           [   0., -500., -240.],
           [   0.,    0.,   -1.]])
    """
    return check_intrinsics(K) @ _GL_FLIP


def intrinsics_from_gl_intrinsics(K_gl: Any) -> np.ndarray:
    """Inverse of :func:`gl_intrinsics_from_intrinsics`; returns an OpenCV K (..., 3, 3)."""
    arr = check_array(K_gl, "K_gl", (3, 3))
    return check_intrinsics(arr @ _GL_FLIP, "K_gl @ diag(1, -1, -1)")


def gl_projection_from_intrinsics(
    K: Any, width: int, height: int, *, near: float, far: float
) -> np.ndarray:
    """Return the 4x4 OpenGL projection matrix equivalent to an OpenCV K.

    Clip coordinates ``P @ [x, y, z, 1]`` of an OpenGL camera-frame point,
    divided by w, give NDC in [-1, 1]: x left to right, y bottom to top, z near
    (-1) to far (+1). NDC x maps to ``u = (x_ndc + 1) / 2 * width`` and NDC y to
    ``v = (1 - y_ndc) / 2 * height`` in camgeom pixels.

    Parameters
    ----------
    K : array_like, shape (..., 3, 3)
        OpenCV intrinsics (camgeom pixel convention).
    width, height : int
        Image size in pixels.
    near, far : float
        Clip distances, ``0 < near < far``.

    Returns
    -------
    ndarray, shape (..., 4, 4)

    Examples
    --------
    >>> P = gl_projection_from_intrinsics([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]], 100, 100,
    ...                                   near=0.1, far=10.0)
    >>> P[[0, 1, 3], [0, 1, 2]]
    array([ 2.,  2., -1.])
    """
    k = check_intrinsics(K)
    w = check_positive_int(width, "width")
    h = check_positive_int(height, "height")
    if not (np.isfinite(near) and np.isfinite(far) and 0 < near < far):
        raise InvalidValueError(f"Expected 0 < near < far (finite), got near={near}, far={far}.")
    out = np.zeros((*k.shape[:-2], 4, 4))
    out[..., 0, 0] = 2 * k[..., 0, 0] / w
    out[..., 0, 1] = -2 * k[..., 0, 1] / w
    out[..., 0, 2] = 1 - 2 * k[..., 0, 2] / w
    out[..., 1, 1] = 2 * k[..., 1, 1] / h
    out[..., 1, 2] = 2 * k[..., 1, 2] / h - 1
    out[..., 2, 2] = -(far + near) / (far - near)
    out[..., 2, 3] = -2 * far * near / (far - near)
    out[..., 3, 2] = -1.0
    return out


def intrinsics_from_gl_projection(P: Any, width: int, height: int) -> np.ndarray:
    """Return the OpenCV K (..., 3, 3) of a 4x4 OpenGL projection matrix.

    Inverse of :func:`gl_projection_from_intrinsics` (near and far are dropped;
    get them with ``near = P[2,3] / (P[2,2] - 1)``, ``far = P[2,3] / (P[2,2] + 1)``).
    """
    p = check_array(P, "P", (4, 4))
    w = check_positive_int(width, "width")
    h = check_positive_int(height, "height")
    if not np.allclose(p[..., 3, :], [0.0, 0.0, -1.0, 0.0]):
        raise InvalidValueError(
            "Expected `P` to be a perspective OpenGL projection with last row [0, 0, -1, 0], "
            f"got {p[..., 3, :].reshape(-1, 4)[0]}."
        )
    k = np.zeros((*p.shape[:-2], 3, 3))
    k[..., 0, 0] = p[..., 0, 0] * w / 2
    k[..., 0, 1] = -p[..., 0, 1] * w / 2
    k[..., 0, 2] = (1 - p[..., 0, 2]) * w / 2
    k[..., 1, 1] = p[..., 1, 1] * h / 2
    k[..., 1, 2] = (p[..., 1, 2] + 1) * h / 2
    k[..., 2, 2] = 1.0
    return check_intrinsics(k, "K from P")


# ----------------------------------------------------------------------------- pixel conventions

PIXEL_CONVENTIONS: dict[str, str] = {
    "camgeom": "(u, v) pixels, origin top-left corner, pixel centres at +0.5",
    "colmap": "same as camgeom (COLMAP puts pixel centres at +0.5)",
    "integer_centre": "(u, v) pixels with pixel centres at integers (OpenCV remap, most image "
    "libraries' array indices): camgeom minus 0.5",
    "opencv_remap": "alias of integer_centre",
    "screen_space": "Synthesis AI screen_space_pos: (u / W, v / H), origin top-left, y down",
    "normalized_bottom_left": "Blender world_to_camera_view style: (u / W, 1 - v / H), origin "
    "bottom-left, y up",
    "row_col": "(row, col) = (v, u) in camgeom pixels: Datagen pixel_2d",
}
"""Named 2D pixel conventions accepted by :func:`convert_pixels`."""

_PIXEL_ALIASES = {"colmap": "camgeom", "opencv_remap": "integer_centre"}


def _resolve_pixel(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in PIXEL_CONVENTIONS:
        raise ConventionError(
            f"Unknown pixel convention {name!r}. Valid names: {', '.join(PIXEL_CONVENTIONS)}."
        )
    return _PIXEL_ALIASES.get(key, key)


def _size(width: Any, height: Any, which: str) -> np.ndarray:
    if width is None or height is None:
        raise InvalidValueError(f"Converting {which!r} pixels needs `width` and `height`.")
    return np.array(
        [check_positive_int(width, "width"), check_positive_int(height, "height")], float
    )


def convert_pixels(
    uv: Any, src: str, dst: str, *, width: int | None = None, height: int | None = None
) -> np.ndarray:
    """Convert 2D image coordinates between pixel conventions.

    Parameters
    ----------
    uv : array_like, shape (..., 2)
        Coordinates in the ``src`` convention.
    src, dst : str
        Names from :data:`PIXEL_CONVENTIONS`.
    width, height : int, optional
        Image size; needed by the normalised conventions.

    Returns
    -------
    ndarray, shape (..., 2), float64

    Examples
    --------
    >>> convert_pixels([0.25, 0.5], "screen_space", "camgeom", width=512, height=256)
    array([128., 128.])
    >>> convert_pixels([10.0, 3.0], "row_col", "camgeom")
    array([ 3., 10.])
    >>> convert_pixels([3.5, 10.5], "camgeom", "integer_centre")
    array([ 3., 10.])
    """
    pts = check_array(uv, "uv", (2,), finite=False)
    s, d = _resolve_pixel(src), _resolve_pixel(dst)
    if s == "integer_centre":
        cg = pts + 0.5
    elif s == "screen_space":
        cg = pts * _size(width, height, s)
    elif s == "normalized_bottom_left":
        size = _size(width, height, s)
        cg = np.stack([pts[..., 0] * size[0], (1.0 - pts[..., 1]) * size[1]], axis=-1)
    elif s == "row_col":
        cg = pts[..., ::-1].copy()
    else:
        cg = pts.copy()
    if d == "integer_centre":
        return cg - 0.5
    if d == "screen_space":
        return cg / _size(width, height, d)
    if d == "normalized_bottom_left":
        size = _size(width, height, d)
        return np.stack([cg[..., 0] / size[0], 1.0 - cg[..., 1] / size[1]], axis=-1)
    if d == "row_col":
        return cg[..., ::-1].copy()
    return cg
