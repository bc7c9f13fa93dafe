"""The :class:`Camera`: one pinhole camera, stored in the OpenCV convention.

A thin frozen dataclass over the functional core in :mod:`camgeom.projection`,
:mod:`camgeom.intrinsics`, :mod:`camgeom.poses` and :mod:`camgeom.conventions`.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import numpy as np

from camgeom import intrinsics as _intr
from camgeom import projection as _proj
from camgeom._validation import check_intrinsics, check_pose, check_positive_int, check_real
from camgeom.conventions import POSE_KINDS, convert_pose
from camgeom.errors import ConventionError, InvalidValueError, ShapeError
from camgeom.lens import Distortion, check_distortion
from camgeom.poses import invert_pose, rigid_inverse, transform_points

__all__ = ["Camera"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Camera:
    """A camera in the OpenCV convention (x right, y down, z forward), pinhole or with a lens model.

    Parameters
    ----------
    K : array_like, shape (3, 3)
        OpenCV intrinsic matrix in camgeom's pixel convention (pixel centres at
        +0.5; an ideal centred camera has ``cx = width / 2``).
    cam_from_world : array_like, shape (4, 4)
        Rigid world-to-camera pose (checked to 1e-6).
    width, height : int
        Image size in pixels.
    distortion : OpenCVDistortion or FisheyeDistortion, optional, keyword-only
        Lens model between the normalised camera coordinates and K
        (:mod:`camgeom.lens`); None (default) is a pinhole. A crop or resize
        of the distorted image is folded into K (:meth:`cropped`,
        :meth:`scaled`).

    Examples
    --------
    >>> from camgeom.intrinsics import intrinsics_from_focal_length
    >>> K = intrinsics_from_focal_length(50.0, 36.0, 640, 480)
    >>> cam = Camera(K, np.eye(4), 640, 480)
    >>> uv, z = cam.project([0.0, 0.0, 2.0])
    >>> uv
    array([320., 240.])
    >>> cam.unproject(uv, z)
    array([0., 0., 2.])
    """

    K: np.ndarray
    cam_from_world: np.ndarray
    width: int
    height: int
    _: KW_ONLY
    distortion: Distortion | None = None
    _world_from_cam: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        k = check_intrinsics(self.K, "K")
        pose = check_pose(self.cam_from_world, "cam_from_world")
        if k.shape != (3, 3) or pose.shape != (4, 4):
            raise ShapeError(
                f"Expected `K` (3, 3) and `cam_from_world` (4, 4) for one camera, got {k.shape} and "
                f"{pose.shape}. For many cameras use camgeom.projection.project_points."
            )
        object.__setattr__(self, "K", _readonly(k))
        object.__setattr__(self, "cam_from_world", _readonly(pose))
        object.__setattr__(self, "width", check_positive_int(self.width, "width"))
        object.__setattr__(self, "height", check_positive_int(self.height, "height"))
        object.__setattr__(self, "_world_from_cam", _readonly(rigid_inverse(pose)))
        check_distortion(self.distortion)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Camera):
            return NotImplemented
        return (
            self.width == other.width
            and self.height == other.height
            and np.array_equal(self.K, other.K)
            and np.array_equal(self.cam_from_world, other.cam_from_world)
            and self.distortion == other.distortion
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fx, fy, cx, cy = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2]
        c = self.center
        lens = "" if self.distortion is None else f", distortion={self.distortion!r}"
        return (
            f"Camera({self.width}x{self.height}, fx={fx:.6g}, fy={fy:.6g}, cx={cx:.6g}, cy={cy:.6g}, "
            f"center=[{c[0]:.6g}, {c[1]:.6g}, {c[2]:.6g}]{lens})"
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_pose(
        cls,
        K: Any,
        pose: Any,
        width: int,
        height: int,
        *,
        convention: str = "opencv",
        kind: str = "cam_from_world",
        distortion: Distortion | None = None,
    ) -> Camera:
        """Build a camera from a pose in any convention and of either kind.

        Parameters
        ----------
        K : array_like, shape (3, 3)
            OpenCV intrinsics.
        pose : array_like, shape (4, 4)
            Rigid pose whose camera frame follows ``convention``.
        width, height : int
        convention : str
            Camera-axis convention of ``pose`` (``"opengl"`` for Blender and
            Synthesis AI, ``"opencv"`` for Datagen and COLMAP, ...).
        kind : {"cam_from_world", "world_from_cam"}
        distortion : OpenCVDistortion or FisheyeDistortion, optional

        Examples
        --------
        >>> K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
        >>> cam = Camera.from_pose(K, np.eye(4), 100, 100, convention="opengl")
        >>> cam.project([0.0, 0.1, -1.0])[0]  # OpenGL: +y up, looking along -z
        array([50., 40.])
        """
        if kind not in POSE_KINDS:
            raise ConventionError(f"Expected `kind` to be one of {POSE_KINDS!r}, got {kind!r}.")
        p = convert_pose(pose, convention, "opencv", kind=kind)
        if kind == "world_from_cam":
            p = invert_pose(p)
        return cls(K, p, width, height, distortion=distortion)

    # ------------------------------------------------------------------ properties
    @property
    def world_from_cam(self) -> np.ndarray:
        """Camera-to-world pose, shape (4, 4) (rigid inverse of ``cam_from_world``)."""
        return self._world_from_cam

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates, shape (3,)."""
        return self._world_from_cam[:3, 3].copy()

    @property
    def fov(self) -> tuple[float, float]:
        """Horizontal and vertical field of view in radians (see :func:`~camgeom.intrinsics.fov_from_intrinsics`)."""
        fx, fy = _intr.fov_from_intrinsics(self.K, self.width, self.height)
        return float(fx), float(fy)

    # ------------------------------------------------------------------ maths
    def project(self, points_world: Any) -> tuple[np.ndarray, np.ndarray]:
        """Project world points (..., 3) to pixels (..., 2) and camera z (...).

        Points on or behind the camera plane, or beyond the lens model's
        monotonic range, give NaN pixels. See
        :func:`camgeom.projection.project_points`.
        """
        return _proj.project_points(
            points_world, self.K, self.cam_from_world, distortion=self.distortion
        )

    def unproject(
        self, uv: Any, depth: Any, *, depth_kind: str = "z", frame: str = "camera"
    ) -> np.ndarray:
        """Lift pixels (..., 2) with depth (...) to points (..., 3).

        Parameters
        ----------
        uv, depth : array_like
            See :func:`camgeom.projection.unproject_points`.
        depth_kind : {"z", "range"}
        frame : {"camera", "world"}
            Return camera-frame (OpenCV) or world points.
        """
        if frame not in ("camera", "world"):
            raise InvalidValueError(f"Expected `frame` to be 'camera' or 'world', got {frame!r}.")
        pts = _proj.unproject_points(
            uv, depth, self.K, depth_kind=depth_kind, distortion=self.distortion
        )
        return transform_points(self._world_from_cam, pts) if frame == "world" else pts

    def reproject(
        self, uv: Any, depth: Any, other: Camera, *, depth_kind: str = "z"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Map pixels (..., 2) with depth (...) in this camera to pixels of ``other``.

        Returns ``other``'s pixels (..., 2), NaN behind it, and its camera z
        (...). See :func:`camgeom.projection.reproject_points`.

        Examples
        --------
        >>> K = np.array([[100.0, 0, 64], [0, 100, 48], [0, 0, 1]])
        >>> a = Camera(K, np.eye(4), 128, 96)
        >>> b_pose = np.array([[1.0, 0, 0, -0.5], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        >>> b = Camera(K, b_pose, 128, 96)  # 0.5 m to the right of a
        >>> a.reproject([64.0, 48.0], 2.0, b)
        (array([39., 48.]), array(2.))
        """
        if not isinstance(other, Camera):
            raise InvalidValueError(
                f"Expected `other` to be a Camera, got {type(other).__name__}. For arrays use "
                "camgeom.projection.reproject_points(uv, depth, K_a, cam_from_world_a, K_b, "
                "cam_from_world_b)."
            )
        return _proj.reproject_points(
            uv,
            depth,
            self.K,
            self.cam_from_world,
            other.K,
            other.cam_from_world,
            depth_kind=depth_kind,
            distortion_a=self.distortion,
            distortion_b=other.distortion,
        )

    def in_image(self, uv: Any) -> np.ndarray:
        """Return True where pixels (..., 2) fall inside this camera's image."""
        return _proj.in_image(uv, self.width, self.height)

    def scaled(
        self, scale: float | None = None, *, width: int | None = None, height: int | None = None
    ) -> Camera:
        """Return the camera of the resized image.

        Give a ``scale`` (new size rounded to whole pixels) or the new
        ``width`` and ``height``. K is scaled by the exact size ratios.

        Examples
        --------
        >>> cam = Camera(np.array([[100.0, 0, 32], [0, 100, 24], [0, 0, 1]]), np.eye(4), 64, 48)
        >>> cam.scaled(0.5).K[0]
        array([50.,  0., 16.])
        """
        if scale is not None:
            if width is not None or height is not None:
                raise InvalidValueError("Give `scale` or `width`/`height`, not both.")
            scale = check_real(scale, "scale", positive=True)
            width = max(1, round(self.width * scale))
            height = max(1, round(self.height * scale))
        if width is None or height is None:
            raise InvalidValueError("Give `scale`, or both `width` and `height`.")
        w = check_positive_int(width, "width")
        h = check_positive_int(height, "height")
        K = _intr.scale_intrinsics(self.K, w / self.width, h / self.height)
        return Camera(K, self.cam_from_world, w, h, distortion=self.distortion)

    def cropped(self, left: int, top: int, width: int, height: int) -> Camera:
        """Return the camera of the crop whose top-left pixel is (left, top).

        Examples
        --------
        >>> cam = Camera(np.array([[100.0, 0, 32], [0, 100, 24], [0, 0, 1]]), np.eye(4), 64, 48)
        >>> cam.cropped(8, 4, 32, 32).K[:2, 2]
        array([24., 20.])
        """
        return Camera(
            _intr.crop_intrinsics(self.K, left, top),
            self.cam_from_world,
            width,
            height,
            distortion=self.distortion,
        )

    def to(self, convention: str, *, kind: str = "cam_from_world") -> np.ndarray:
        """Return this camera's pose (4, 4) in another convention and kind.

        Examples
        --------
        >>> cam = Camera(np.array([[100.0, 0, 32], [0, 100, 24], [0, 0, 1]]), np.eye(4), 64, 48)
        >>> np.diag(cam.to("opengl"))
        array([ 1., -1., -1.,  1.])
        """
        if kind not in POSE_KINDS:
            raise ConventionError(f"Expected `kind` to be one of {POSE_KINDS!r}, got {kind!r}.")
        pose = self.cam_from_world if kind == "cam_from_world" else self._world_from_cam
        return convert_pose(pose, "opencv", convention, kind=kind)
