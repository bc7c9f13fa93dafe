"""Undo one kind of mistake on a parsed frame, in memory: the hypotheses the diagnosis tests.

:func:`camgeom.testing.inject` writes a kind into a frame's files; the reader
turns those files into a :class:`~camgeom.datasets.Frame` (its camera, its
:class:`~camgeom.datasets.CameraMetadata`, its landmark labels) and the depth
map into an array. :func:`undo` applies the kind's inverse to those parsed
values directly, so that the diagnosis re-runs only the checks the kind
changes, without writing or reading a file. What changes follows the
structured fields the readers fill in, never the vendor's name:

* stored poses are edited in the vendor's own camera axes
  (``CameraMetadata.axis_convention``), as the files store them; the camera's
  pose follows when the reader built it from the stored ``cam_from_world``
  (they agree), and a translation in centimetres also scales the stored
  location and a camera built from it;
* a stored K is edited likewise, and the camera's K follows when it is the
  stored K (with the lens shift, if any);
* labels stored as fractions of the image size (``Landmarks.pixels_scale``)
  shrink with a resolution that halves;
* depth kinds rescale the depth array (the normal map is kept).

Only :mod:`camgeom.verification.repair` writes corrected files (``--fix``).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from camgeom.conventions import axes_matrix
from camgeom.errors import CamgeomError
from camgeom.testing._edits import _edit_K, _pose_edit, check_kind
from camgeom.testing.kinds import NotExpressibleError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from camgeom.datasets import CameraMetadata, Frame, Landmarks
    from camgeom.poses import EulerRule
    from camgeom.verification.depth import DepthMaps

__all__ = ["Hypothesis", "ray_lengths", "undo"]

_T = TypeVar("_T")

_POSE_KINDS = (
    "pose_inverted",
    "pose_transposed",
    "axes_opengl_as_opencv",
    "translation_centimetres",
)
_K_KINDS = ("fx_fy_swapped", "aspect_stretched", "principal_point_half_pixel")
_RESOLUTION_KINDS = ("intrinsics_other_resolution", "resolution_mismatch")
_SAME = 1e-9
"""Two stored values this close are the same value (the reader copied one into the other)."""


class Hypothesis:
    """A frame with one kind undone, and which check families that changes.

    The corrected :attr:`frame` (a new :class:`~camgeom.camera.Camera` when
    the camera changed) is built on first use: the intrinsics and pose checks
    need only :attr:`metadata`, :attr:`K` and :attr:`size`, so a kind those
    checks rule out costs no camera (and a pose that is not rigid is found
    only if a later family needs the camera).

    Attributes
    ----------
    families : tuple of str
        The check families (:data:`camgeom.verification.runner.FAMILIES`) the
        kind changes, the one reading the edited values first.
    camera_changed : bool
        Whether the camera (pose, K or size) changed.
    maps : DepthMaps
    metadata : CameraMetadata
    K : ndarray, shape (3, 3)
        The corrected camera's K.
    size : tuple of int
        The corrected camera's (width, height).
    """

    def __init__(
        self,
        frame: Frame | Callable[[], Frame],
        maps: DepthMaps,
        families: tuple[str, ...],
        camera_changed: bool,
        *,
        metadata: CameraMetadata | None = None,
        K: np.ndarray | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self._frame = None if callable(frame) else frame
        self._build = frame if callable(frame) else None
        self.maps = maps
        self.families = families
        self.camera_changed = camera_changed
        if not callable(frame):
            assert frame.camera is not None
            metadata = frame.metadata
            K, size = frame.camera.K, (frame.camera.width, frame.camera.height)
        assert metadata is not None and K is not None and size is not None
        self.metadata, self.K, self.size = metadata, K, size

    @property
    def frame(self) -> Frame:
        """The corrected frame; raises :class:`NotExpressibleError` when it is not a camera."""
        if self._frame is None:
            assert self._build is not None
            try:
                self._frame = self._build()
            except (CamgeomError, ValueError, np.linalg.LinAlgError) as exc:
                raise NotExpressibleError(f"the undone values are not a camera: {exc}") from None
        return self._frame


def undo(frame: Frame, kind: str, maps: DepthMaps, *, failing: Collection[str] = ()) -> Hypothesis:
    """``frame`` with the inverse of ``kind`` applied to its parsed values.

    Parameters
    ----------
    frame : Frame
        A frame with a camera.
    kind : str
        One of :data:`camgeom.testing.KINDS`.
    maps : DepthMaps
        The frame's depth and normal maps (read once).
    failing : collection of str
        Names of the checks the frame fails: ``pixel_row_col`` swaps the labels
        of the groups whose ``landmarks.reprojection.<group>`` fails (all
        groups when none does), since a group that agrees was not swapped.

    Returns
    -------
    Hypothesis

    Raises
    ------
    NotExpressibleError
        The frame holds nothing the kind could have changed (no quaternion, a
        square K for ``fx_fy_swapped``, no depth map, ...), or the undone
        values are not a camera (a non-rigid pose).
    """
    check_kind(kind)
    camera, meta = frame.camera, frame.metadata
    if camera is None:
        raise NotExpressibleError("the frame has no camera")
    try:
        if kind in _POSE_KINDS:
            new_meta, pose = _undo_pose(meta, kind, camera.cam_from_world)
            if np.array_equal(pose, camera.cam_from_world):
                return Hypothesis(replace(frame, metadata=new_meta), maps, ("pose",), False)

            def build() -> Frame:
                cam = replace(camera, cam_from_world=pose)
                return replace(frame, camera=cam, metadata=new_meta)

            size = (camera.width, camera.height)
            families = ("pose", "landmarks", "depth")
            return Hypothesis(build, maps, families, True, metadata=new_meta, K=camera.K, size=size)
        if kind == "quaternion_order":
            if meta.quaternion is None:
                raise NotExpressibleError("the metadata store no quaternion")
            q = list(meta.quaternion)
            new_meta = _with(meta, quaternion=np.array(q[1:] + q[:1]))
            return Hypothesis(replace(frame, metadata=new_meta), maps, ("pose",), False)
        if kind in _K_KINDS or kind in _RESOLUTION_KINDS:
            return _undo_intrinsics(frame, kind, maps)
        if kind == "pixel_row_col":
            labelled = {n: lm for n, lm in _groups(frame).items() if lm.pixels is not None}
            off = {n for n in labelled if f"landmarks.reprojection.{n}" in failing}
            groups = {
                name: _with(lm, pixels=_swapped_columns(lm.pixels))
                for name, lm in labelled.items()
                if name in off or not off
            }
            if not groups:
                raise NotExpressibleError("the frame has no 2D labels")
            landmarks = {**_groups(frame), **groups}
            return Hypothesis(replace(frame, landmarks=landmarks), maps, ("landmarks",), False)
        return _undo_depth(frame, kind, maps)
    except NotExpressibleError:
        raise
    except (CamgeomError, ValueError, np.linalg.LinAlgError) as exc:
        raise NotExpressibleError(f"{kind} undone is not a camera: {exc}") from None


def _with(obj: _T, **changes: Any) -> _T:
    """A copy of the frozen dataclass ``obj`` with ``changes`` (float64 arrays made read-only).

    The parsed values were validated by the reader; the changed ones are
    arrays this module made. No ``__post_init__`` runs again: that is the cost
    :func:`dataclasses.replace` would add to every hypothesis. A new camera
    still goes through :class:`~camgeom.camera.Camera`, which checks the pose
    is rigid.
    """
    new = copy.copy(obj)
    for key, value in changes.items():
        if isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=np.float64)
            value.flags.writeable = False
        object.__setattr__(new, key, value)
    return new


def _same(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return bool(np.abs(np.asarray(a) - np.asarray(b)).max() <= atol)


def _swapped_columns(pixels: np.ndarray | None) -> np.ndarray | None:
    return None if pixels is None else pixels[:, ::-1]


def _groups(frame: Frame) -> dict[str, Landmarks]:
    """The frame's readable landmark groups (an unreadable group stays out, as in verify)."""
    out = {}
    for name in frame.landmarks:
        try:
            out[name] = frame.landmarks[name]
        except CamgeomError:
            continue  # verify reports it as landmarks.read.<group>; no hypothesis changes that
    return out


# ---------------------------------------------------------------- poses


def _axes(meta: CameraMetadata) -> np.ndarray:
    """A with ``p_opencv = A @ p_vendor`` for the stored poses' camera axes."""
    return axes_matrix(meta.axis_convention or "opencv", "opencv")


def _undo_pose(
    meta: CameraMetadata, kind: str, camera_pose: np.ndarray
) -> tuple[CameraMetadata, np.ndarray]:
    """The metadata with the stored poses corrected, and the camera's corrected pose."""
    cfw, wfc = meta.stored_cam_from_world, meta.stored_world_from_cam
    if cfw is None:
        raise NotExpressibleError("the metadata store no cam_from_world matrix")
    A = _axes(meta)
    raw_c = cfw.copy()
    raw_c[:3] = A.T @ cfw[:3]  # as stored: world -> vendor camera axes
    raw_w: np.ndarray | None = None
    if wfc is not None:
        raw_w = wfc.copy()
        raw_w[:3, :3] = wfc[:3, :3] @ A
    swapped = kind == "pose_inverted" and raw_w is not None
    new_c: np.ndarray
    new_w: np.ndarray | None
    if swapped:
        assert raw_w is not None
        new_c, new_w = raw_w, raw_c  # the two stored transforms swapped
    else:
        new_c = _pose_edit(raw_c, kind, True, opengl=True)
        new_w = raw_w
        if raw_w is not None and kind not in ("pose_transposed", "pose_inverted"):
            new_w = np.linalg.inv(_pose_edit(np.linalg.inv(raw_w), kind, True, opengl=True))
    out_c = new_c.copy()
    out_c[:3] = A @ new_c[:3]
    out_w = None
    if new_w is not None:
        out_w = new_w.copy()
        out_w[:3, :3] = new_w[:3, :3] @ A.T
    location = meta.location
    if location is not None:
        if wfc is not None and _same(location, wfc[:3, 3], _SAME):
            location = out_w[:3, 3].copy() if out_w is not None else location
        elif kind == "translation_centimetres":
            location = location * 0.01
    new_meta = _with(
        meta, stored_cam_from_world=out_c, stored_world_from_cam=out_w, location=location
    )
    if swapped:
        new_meta = _descriptions_moved(meta, new_meta)
    if _same(camera_pose, cfw, _SAME):
        return new_meta, out_c  # the camera is the stored matrix
    if kind == "translation_centimetres" and meta.location is not None:
        centre = np.linalg.inv(camera_pose)[:3, 3]
        if _same(centre, meta.location, 1e-6):
            pose = camera_pose.copy()
            pose[:3, 3] *= 0.01  # the camera was built from the stored location
            return new_meta, pose
    return new_meta, camera_pose


def _descriptions_moved(meta: CameraMetadata, new: CameraMetadata) -> CameraMetadata:
    """Stored rotation descriptions that agreed with the swapped matrix move with it.

    Where both transforms are stored, each with its own quaternion or Euler
    angles, swapping the transforms swaps those too: a description that
    described the stored ``cam_from_world`` describes the new one.
    """
    from camgeom.poses import quaternion_from_rotation, rotation_from_quaternion
    from camgeom.verification.tolerances import TOL_ROT

    old_r, new_r = meta.stored_cam_from_world, new.stored_cam_from_world
    assert old_r is not None and new_r is not None
    A = _axes(meta)
    changes: dict[str, Any] = {}
    if meta.quaternion is not None:
        order = meta.quaternion_order or "wxyz"
        q_rot = rotation_from_quaternion(meta.quaternion, order=order, normalize=True)
        if np.abs(A @ q_rot - old_r[:3, :3]).max() <= TOL_ROT:
            changes["quaternion"] = quaternion_from_rotation(A.T @ new_r[:3, :3], order=order)
    if meta.euler is not None and meta.euler_rule is not None:
        from camgeom.poses import rotation_from_euler_rule

        if (
            np.abs(rotation_from_euler_rule(meta.euler, meta.euler_rule) - old_r[:3, :3]).max()
            <= TOL_ROT
        ):
            changes["euler"] = _euler_for(new_r[:3, :3], meta.euler_rule)
    return _with(new, **changes) if changes else new


def _euler_for(rotation: np.ndarray, rule: EulerRule) -> np.ndarray:
    """Stored angles that ``rule`` turns into the OpenCV ``cam_from_world`` ``rotation``."""
    from scipy.spatial.transform import Rotation

    from camgeom.conventions import convert_pose

    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose = convert_pose(pose, "opencv", rule.axes)
    r = pose[:3, :3].T if rule.gives == "world_from_cam" else pose[:3, :3]
    seq = Rotation.from_matrix(r @ np.asarray(rule.right, dtype=np.float64).T)
    ordered = seq.as_euler(rule.sequence, degrees=rule.degrees) / np.asarray(rule.signs)
    angles = np.empty(3)
    angles[list(rule.order)] = ordered
    return angles


# ---------------------------------------------------------------- intrinsics


def _undo_intrinsics(frame: Frame, kind: str, maps: DepthMaps) -> Hypothesis:
    camera, meta = frame.camera, frame.metadata
    assert camera is not None
    K = meta.stored_K
    if K is None:
        raise NotExpressibleError("the metadata store no intrinsic matrix")
    W, H = camera.width, camera.height
    new_K = _edit_K(K, kind, True, W, H)
    delta = camera.K - K
    follows = (
        np.abs(delta[:, :2]).max() <= _SAME * max(1.0, abs(K[0, 0]))
        and np.abs(delta[2]).max() <= _SAME
    )
    cam_K = new_K + delta if follows else camera.K
    size = (W, H)
    landmarks = frame.landmarks
    if kind == "resolution_mismatch":
        if meta.width is None or meta.height is None:
            raise NotExpressibleError("the metadata store no image size")
        if maps.shape() == (H, W):
            raise NotExpressibleError(
                f"the depth map is {W}x{H}, the size the metadata state: the metadata are "
                "not those of another image size"
            )
        if W % 2 or H % 2:
            raise NotExpressibleError(f"a {W}x{H} image is not twice another size")
        size = (W // 2, H // 2)
        meta = _with(meta, width=meta.width // 2, height=meta.height // 2)
        landmarks = {
            name: (
                lm
                if lm.pixels is None or lm.pixels_scale == (1.0, 1.0)
                else _with(
                    lm,
                    pixels=lm.pixels * 0.5,
                    pixels_scale=(lm.pixels_scale[0] * 0.5, lm.pixels_scale[1] * 0.5),
                )
            )
            for name, lm in _groups(frame).items()
        }
    changed = follows or size != (W, H)
    new_meta = _with(meta, stored_K=new_K)
    if not changed:
        return Hypothesis(replace(frame, metadata=new_meta), maps, ("intrinsics",), False)

    def build() -> Frame:
        cam = replace(camera, K=cam_K, width=size[0], height=size[1])
        return replace(frame, camera=cam, metadata=new_meta, landmarks=landmarks)

    families = ("intrinsics", "landmarks", "depth")
    return Hypothesis(build, maps, families, True, metadata=new_meta, K=cam_K, size=size)


# ---------------------------------------------------------------- depth


def _undo_depth(frame: Frame, kind: str, maps: DepthMaps) -> Hypothesis:
    camera = frame.camera
    assert camera is not None
    if frame.depth_path is None or frame.depth_kind is None:
        raise NotExpressibleError("the frame has no depth map of a known kind")
    depth = maps.depth()
    if depth.shape[:2] != (camera.height, camera.width):
        raise NotExpressibleError("the depth map does not match the camera's image size")
    if kind == "depth_millimetres":
        factor: np.ndarray | float = 0.001
    else:
        norm = ray_lengths(camera.K, *depth.shape[:2])
        # the copy holds the other kind: range = z |ray|, z = range / |ray|
        factor = norm if frame.depth_kind == "range" else 1.0 / norm
    new_depth = (depth * factor).astype(depth.dtype)
    return Hypothesis(frame, maps.with_depth(frame, new_depth), ("depth",), False)


def ray_lengths(K: np.ndarray, height: int, width: int) -> np.ndarray:
    """float32 (H, W) length of each pixel centre's ray ``K^-1 (u, v, 1)``: range / z."""
    K_inv = np.linalg.inv(K)
    u = (np.arange(width, dtype=np.float64) + 0.5)[None, :]
    v = (np.arange(height, dtype=np.float64) + 0.5)[:, None]
    sq = sum((K_inv[i, 0] * u + K_inv[i, 1] * v + K_inv[i, 2]) ** 2 for i in range(3))
    return np.sqrt(np.asarray(sq, dtype=np.float32))
