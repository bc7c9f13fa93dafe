"""Intrinsic matrices: from focal length, sensor and lens shift, from FOV, and back.

All functions return OpenCV-convention K matrices in camgeom's pixel
convention (pixel centres at +0.5, so an ideal centred camera has
``cx = W / 2``, ``cy = H / 2``). See ``docs/conventions.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from camgeom._validation import check_intrinsics, check_positive_int, check_real
from camgeom.errors import InvalidValueError

__all__ = [
    "SENSOR_FITS",
    "SHIFT_UNITS",
    "crop_intrinsics",
    "focal_length_mm_from_intrinsics",
    "fov_from_intrinsics",
    "intrinsics_from_focal_length",
    "intrinsics_from_fov",
    "principal_point_from_shift",
    "scale_intrinsics",
]

SENSOR_FITS = ("horizontal", "vertical", "auto")
"""Blender's sensor-fit rules accepted by :func:`intrinsics_from_focal_length`."""

SHIFT_UNITS = ("fit", "per_axis")
"""Units of a lens shift accepted by :func:`principal_point_from_shift`."""


def _positive(value: Any, name: str) -> float:
    return check_real(value, name, positive=True)


def _finite(value: Any, name: str) -> float:
    return check_real(value, name)


def principal_point_from_shift(
    width: int,
    height: int,
    shift_x: float,
    shift_y: float,
    *,
    units: str = "fit",
    sensor_fit: str = "horizontal",
) -> tuple[float, float]:
    """Return the principal point ``(cx, cy)`` of a camera with a lens shift.

    This is the one definition of lens shift in camgeom; the vendor readers, the
    intrinsics builders and the verifier all call it. A positive ``shift_x``
    moves the principal point left, a positive ``shift_y`` moves it down (the
    image content moves the other way)::

        units="fit":      cx = W / 2 - shift_x * S,  cy = H / 2 + shift_y * S
        units="per_axis": cx = W / 2 - shift_x * W,  cy = H / 2 + shift_y * H

    where S is the image dimension the sensor is fitted to (Blender's rule:
    ``W`` for ``sensor_fit="horizontal"``, ``H`` for ``"vertical"``,
    ``max(W, H)`` for ``"auto"``). Blender's ``shift_x`` / ``shift_y`` are in
    ``"fit"`` units; Synthesis AI's ``lens_shift_horizontal`` /
    ``lens_shift_vertical`` are documented per axis (``"per_axis"``). The two
    agree on square images only.

    Parameters
    ----------
    width, height : int
        Image size in pixels.
    shift_x, shift_y : float
        Lens shift, in the units named by ``units``.
    units : {"fit", "per_axis"}
        ``"fit"``: fractions of the fitted dimension S (Blender);
        ``"per_axis"``: fractions of the width for x and of the height for y.
    sensor_fit : {"horizontal", "vertical", "auto"}
        Which dimension S is, for ``units="fit"``.

    Returns
    -------
    cx, cy : float
        In camgeom's pixel convention (centre of the top-left pixel at (0.5, 0.5)).

    Examples
    --------
    >>> principal_point_from_shift(640, 480, 0.1, -0.05, units="fit")
    (256.0, 208.0)
    >>> principal_point_from_shift(640, 480, 0.1, -0.05, units="per_axis")
    (256.0, 216.0)
    """
    w = check_positive_int(width, "width")
    h = check_positive_int(height, "height")
    sx = _finite(shift_x, "shift_x")
    sy = _finite(shift_y, "shift_y")
    if units == "per_axis":
        scale_x, scale_y = float(w), float(h)
    elif units == "fit":
        scale_x = scale_y = float(_fitted_dimension(w, h, sensor_fit))
    else:
        raise InvalidValueError(f"Expected `units` to be one of {SHIFT_UNITS!r}, got {units!r}.")
    return w / 2 - sx * scale_x, h / 2 + sy * scale_y


def _fitted_dimension(width: int, height: int, sensor_fit: str) -> int:
    if sensor_fit == "horizontal":
        return width
    if sensor_fit == "vertical":
        return height
    if sensor_fit == "auto":
        return max(width, height)
    raise InvalidValueError(
        f"Expected `sensor_fit` to be one of {SENSOR_FITS!r}, got {sensor_fit!r}."
    )


def intrinsics_from_focal_length(
    focal_length_mm: float,
    sensor_width_mm: float,
    width: int,
    height: int,
    *,
    sensor_height_mm: float | None = None,
    sensor_fit: str = "horizontal",
    shift_x: float = 0.0,
    shift_y: float = 0.0,
) -> np.ndarray:
    """Return the OpenCV K of a pinhole camera described like Blender's.

    Pixels are square (``fx == fy``). The sensor is fitted to the image by
    ``sensor_fit`` and the lens shift is in Blender's units, fractions of the
    fitted image dimension S (see :func:`principal_point_from_shift`)::

        horizontal: f_px = focal / sensor_width * W,        S = W
        vertical:   f_px = focal / sensor_height * H,       S = H
        auto:       f_px = focal / sensor_width * max(W, H), S = max(W, H)
        cx = W / 2 - shift_x * S,  cy = H / 2 + shift_y * S

    Parameters
    ----------
    focal_length_mm : float
        Focal length in millimetres.
    sensor_width_mm : float
        Sensor width in millimetres.
    width, height : int
        Image size in pixels.
    sensor_height_mm : float, optional
        Sensor height in millimetres; required by ``sensor_fit="vertical"``.
    sensor_fit : {"horizontal", "vertical", "auto"}
        Which image dimension the sensor size is fitted to.
    shift_x, shift_y : float
        Lens shift as a fraction of the fitted dimension (Blender ``shift_x``,
        ``shift_y``; positive ``shift_y`` moves the image content down).

    Returns
    -------
    ndarray, shape (3, 3), float64

    Examples
    --------
    >>> K = intrinsics_from_focal_length(100.0, 33.0, 512, 512)
    >>> float(K[0, 0]), float(K[0, 2]), float(K[1, 2])
    (1551.5151515151515, 256.0, 256.0)
    """
    f = _positive(focal_length_mm, "focal_length_mm")
    sw = _positive(sensor_width_mm, "sensor_width_mm")
    w = check_positive_int(width, "width")
    h = check_positive_int(height, "height")
    fitted = _fitted_dimension(w, h, sensor_fit)
    if sensor_fit == "vertical":
        if sensor_height_mm is None:
            raise InvalidValueError('sensor_fit="vertical" needs `sensor_height_mm`.')
        sensor = _positive(sensor_height_mm, "sensor_height_mm")
    else:
        sensor = sw
    fpx = f / sensor * fitted
    if not np.isfinite(fpx):
        raise InvalidValueError(
            f"The focal length in pixels overflows ({focal_length_mm!r} mm on a "
            f"{sensor!r} mm sensor): check the units of both."
        )
    cx, cy = principal_point_from_shift(w, h, shift_x, shift_y, units="fit", sensor_fit=sensor_fit)
    return np.array([[fpx, 0.0, cx], [0.0, fpx, cy], [0.0, 0.0, 1.0]])


def intrinsics_from_fov(
    fov_x: float, width: int, height: int, *, fov_y: float | None = None
) -> np.ndarray:
    """Return a centred K from the horizontal (and optionally vertical) field of view.

    ``fx = (W / 2) / tan(fov_x / 2)``; ``fy = (H / 2) / tan(fov_y / 2)`` when
    ``fov_y`` is given (non-square pixels, as in Synthesis AI's room format),
    else ``fy = fx``. ``cx = W / 2``, ``cy = H / 2``.

    Parameters
    ----------
    fov_x : float
        Horizontal field of view in radians, in (0, pi).
    width, height : int
        Image size in pixels.
    fov_y : float, optional
        Vertical field of view in radians.

    Returns
    -------
    ndarray, shape (3, 3), float64

    Examples
    --------
    >>> K = intrinsics_from_fov(np.pi / 2, 640, 480)
    >>> float(K[0, 0]), float(K[1, 1])
    (320.00000000000006, 320.00000000000006)
    """
    w = check_positive_int(width, "width")
    h = check_positive_int(height, "height")

    def focal(fov: float, size: int, name: str) -> float:
        v = _positive(fov, name)
        if v >= np.pi:
            raise InvalidValueError(
                f"Expected `{name}` in radians in (0, pi), got {fov!r}. Degrees?"
            )
        return size / 2 / np.tan(v / 2)

    fx = focal(fov_x, w, "fov_x")
    fy = fx if fov_y is None else focal(fov_y, h, "fov_y")
    return np.array([[fx, 0.0, w / 2], [0.0, fy, h / 2], [0.0, 0.0, 1.0]])


def fov_from_intrinsics(K: Any, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the horizontal and vertical field of view (radians) of K.

    The angle spanned by the image edges, so an off-centre principal point is
    handled: ``fov_x = atan(cx / fx) + atan((W - cx) / fx)`` (``2 atan(W / 2fx)``
    when centred).

    Parameters
    ----------
    K : array_like, shape (..., 3, 3)
    width, height : int

    Returns
    -------
    fov_x, fov_y : ndarray, shape (...)

    Examples
    --------
    >>> K = intrinsics_from_focal_length(100.0, 33.0, 512, 512)
    >>> float(fov_from_intrinsics(K, 512, 512)[0])
    0.32705323764198635
    """
    k = check_intrinsics(K)
    w = check_positive_int(width, "width")
    h = check_positive_int(height, "height")
    fx, fy, cx, cy = k[..., 0, 0], k[..., 1, 1], k[..., 0, 2], k[..., 1, 2]
    fov_x = np.arctan(cx / fx) + np.arctan((w - cx) / fx)
    fov_y = np.arctan(cy / fy) + np.arctan((h - cy) / fy)
    return fov_x, fov_y


def focal_length_mm_from_intrinsics(K: Any, sensor_width_mm: float, width: int) -> np.ndarray:
    """Return the focal length in millimetres: ``fx * sensor_width_mm / width``.

    Examples
    --------
    >>> K = intrinsics_from_focal_length(50.0, 36.0, 512, 512)
    >>> float(focal_length_mm_from_intrinsics(K, 36.0, 512))
    50.0
    """
    k = check_intrinsics(K)
    return (
        k[..., 0, 0]
        * _positive(sensor_width_mm, "sensor_width_mm")
        / check_positive_int(width, "width")
    )


def scale_intrinsics(K: Any, scale_x: float, scale_y: float | None = None) -> np.ndarray:
    """Return K for the image resized by ``scale_x`` horizontally, ``scale_y`` vertically.

    Exact in camgeom's pixel convention (corner origin): ``K' = diag(sx, sy, 1) @ K``.
    For a resize from (W, H) to (W', H') pass ``W' / W`` and ``H' / H``.

    Examples
    --------
    >>> scale_intrinsics([[100.0, 0, 32], [0, 100, 24], [0, 0, 1]], 0.5)
    array([[50.,  0., 16.],
           [ 0., 50., 12.],
           [ 0.,  0.,  1.]])
    """
    k = check_intrinsics(K)
    sx = _positive(scale_x, "scale_x")
    sy = sx if scale_y is None else _positive(scale_y, "scale_y")
    return np.diag([sx, sy, 1.0]) @ k


def crop_intrinsics(K: Any, left: float, top: float) -> np.ndarray:
    """Return K for the image cropped so that pixel (left, top) becomes the origin.

    Examples
    --------
    >>> crop_intrinsics([[100.0, 0, 32], [0, 100, 24], [0, 0, 1]], 10, 4)[:2, 2]
    array([22., 20.])
    """
    k = check_intrinsics(K).copy()
    k[..., 0, 2] -= _finite(left, "left")
    k[..., 1, 2] -= _finite(top, "top")
    return k
