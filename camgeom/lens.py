"""Lens distortion models: OpenCV radial-tangential and OpenCV fisheye.

A model maps undistorted normalised camera coordinates ``(x, y) = (X/Z, Y/Z)``
to distorted ones ``(x_d, y_d)``; K then maps those to pixels
(``u = fx x_d + s y_d + cx``, ``v = fy y_d + cy``). A pixel-space affine (a
crop offset and a resize scale) composes with K into another K, so "distort,
crop, resize" is one :class:`~camgeom.camera.Camera` with a model and a K
(see :func:`camgeom.warp.synthesisai_fisheye_camera`).

* :class:`OpenCVDistortion` is the ``cv2.projectPoints`` model (rational
  radial ``k1..k6`` and tangential ``p1, p2``).
* :class:`FisheyeDistortion` is the ``cv2.fisheye`` model (equidistant with
  ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)``).

Each model is used only on its **monotonic range**: the normalised radius up to
the first point where the radial mapping stops increasing (the fisheye's
``theta_d(theta)``; OpenCV's ``r (1 + k1 r^2 + ...) / (1 + k4 r^2 + ...)``,
tangential terms aside). Points beyond it project to NaN and distorted points
beyond its image unproject to NaN, never to a wrapped pixel. Inversion is by
Newton iteration, stopped when the step is below :data:`UNDISTORT_TOL` (relative
to the radius, at least 1.0), which reaches ~1e-15 normalised units.

Conversions to and from COLMAP camera models (``SIMPLE_RADIAL``, ``RADIAL``,
``OPENCV``, ``FULL_OPENCV``, ``OPENCV_FISHEYE``; COLMAP puts pixel centres at
+0.5 like camgeom) and nerfstudio's ``transforms.json`` fields are here too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import ModuleType
from typing import Any

import numpy as np

from camgeom._validation import check_intrinsics, check_pixels, use_kernels
from camgeom.errors import InvalidValueError

__all__ = [
    "UNDISTORT_TOL",
    "Distortion",
    "FisheyeDistortion",
    "OpenCVDistortion",
    "check_distortion",
    "colmap_from_distortion",
    "distort_normalized",
    "distortion_from_colmap",
    "distortion_from_nerfstudio",
    "nerfstudio_from_distortion",
    "undistort_normalized",
]

UNDISTORT_TOL = 1e-15
"""Newton stops when its step is below this (times max(1, radius)), normalised units."""
MAX_ITER = 50
"""Newton steps before a point that has not converged is given NaN."""
_PARALLEL_MIN = 16384

_kernels: ModuleType | None = None


def _load_kernels() -> ModuleType:
    global _kernels
    from camgeom._kernels import lens

    use_kernels()
    _kernels = lens
    return lens


def _coef(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"Expected `{name}` to be a real number, got {value!r}.") from None
    if not math.isfinite(v):
        raise InvalidValueError(f"Expected `{name}` to be finite, got {v!r}.")
    return v


def _first_drop(deriv: Any, lo: float, hi: float, n: int = 8192) -> float:
    """First t in (lo, hi] where ``deriv(t) <= 0`` (bisected), or ``inf`` if none."""
    t = np.linspace(lo, hi, n + 1)[1:]
    bad = np.flatnonzero(~(deriv(t) > 0))
    if not bad.size:
        return math.inf
    j = int(bad[0])
    a, b = (lo if j == 0 else float(t[j - 1])), float(t[j])
    for _ in range(80):
        mid = 0.5 * (a + b)
        if deriv(np.array([mid]))[0] > 0:
            a = mid
        else:
            b = mid
    return a


@dataclass(frozen=True)
class OpenCVDistortion:
    """The ``cv2.projectPoints`` lens model (rational radial and tangential).

    ``x_d = x R + 2 p1 x y + p2 (r^2 + 2 x^2)``, ``y_d = y R + p1 (r^2 + 2 y^2) + 2 p2 x y``
    with ``R = (1 + k1 r^2 + k2 r^4 + k3 r^6) / (1 + k4 r^2 + k5 r^4 + k6 r^6)``.

    Parameters
    ----------
    k1, k2, p1, p2, k3, k4, k5, k6 : float
        OpenCV's coefficients, in OpenCV's order (``distCoeffs``).

    Examples
    --------
    >>> d = OpenCVDistortion(-0.2, 0.05, 0.001, -0.002)
    >>> d.coefficients
    array([-0.2  ,  0.05 ,  0.001, -0.002,  0.   ,  0.   ,  0.   ,  0.   ])
    """

    k1: float
    k2: float
    p1: float
    p2: float
    k3: float = 0.0
    k4: float = 0.0
    k5: float = 0.0
    k6: float = 0.0
    max_radius: float = field(init=False, repr=False, compare=False)
    """Normalised radius where the radial mapping stops increasing (``inf`` if never)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.init:
                object.__setattr__(self, f.name, _coef(getattr(self, f.name), f.name))
        k1, k2, k3, k4, k5, k6 = self.k1, self.k2, self.k3, self.k4, self.k5, self.k6

        def deriv(th: np.ndarray) -> np.ndarray:
            r2 = np.tan(th) ** 2
            num = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
            den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
            dnum = k1 + r2 * (2 * k2 + r2 * 3 * k3)
            dden = k4 + r2 * (2 * k5 + r2 * 3 * k6)
            # d/dr [r num/den] = (num den + 2 r^2 (dnum den - num dden)) / den^2; den > 0 too.
            val = num * den + 2 * r2 * (dnum * den - num * dden)
            return np.where(den > 0, val, -1.0)

        th = _first_drop(deriv, 0.0, 0.5 * math.pi - 1e-9)
        object.__setattr__(self, "max_radius", math.tan(th) if th < math.inf else math.inf)

    @property
    def coefficients(self) -> np.ndarray:
        """OpenCV's ``distCoeffs`` (8,): ``k1, k2, p1, p2, k3, k4, k5, k6``."""
        return np.array(
            [getattr(self, n) for n in ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")]
        )

    def kernel_params(self) -> np.ndarray:
        """The kernels' parameter vector (10,) (see ``camgeom._kernels.lens``)."""
        p = np.zeros(10)
        p[:8] = self.coefficients
        p[8] = self.max_radius**2
        return p

    model = 0


@dataclass(frozen=True)
class FisheyeDistortion:
    """The ``cv2.fisheye`` lens model (equidistant with a polynomial in theta).

    ``theta = atan(r)``, ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)``,
    ``(x_d, y_d) = (x, y) theta_d / r``.

    Parameters
    ----------
    k1, k2, k3, k4 : float
        OpenCV's fisheye coefficients ``D``.

    Examples
    --------
    >>> d = FisheyeDistortion(0.17149, -0.27191, 0.25787, -0.08054)
    >>> round(float(np.degrees(np.arctan(d.max_radius))), 1)  # monotonic up to (degrees)
    79.0
    """

    k1: float
    k2: float
    k3: float
    k4: float
    max_radius: float = field(init=False, repr=False, compare=False)
    """Normalised radius where ``theta_d(theta)`` stops increasing (``inf``: up to 90 degrees)."""
    max_theta_d: float = field(init=False, repr=False, compare=False)
    """Distorted angle at ``max_radius``: distorted points beyond it unproject to NaN."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.init:
                object.__setattr__(self, f.name, _coef(getattr(self, f.name), f.name))
        k1, k2, k3, k4 = self.k1, self.k2, self.k3, self.k4

        def deriv(th: np.ndarray) -> np.ndarray:
            t2 = th * th
            return 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))

        th = _first_drop(deriv, 0.0, 0.5 * math.pi)
        th_max = min(th, 0.5 * math.pi)
        t2 = th_max * th_max
        object.__setattr__(self, "max_radius", math.inf if th == math.inf else math.tan(th_max))
        object.__setattr__(
            self, "max_theta_d", th_max * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
        )

    @property
    def coefficients(self) -> np.ndarray:
        """OpenCV's fisheye ``D`` (4,): ``k1, k2, k3, k4``."""
        return np.array([self.k1, self.k2, self.k3, self.k4])

    def kernel_params(self) -> np.ndarray:
        """The kernels' parameter vector (10,) (see ``camgeom._kernels.lens``)."""
        p = np.zeros(10)
        p[:4] = self.coefficients
        p[8] = self.max_radius**2
        p[9] = self.max_theta_d
        return p

    model = 1


Distortion = OpenCVDistortion | FisheyeDistortion


def check_distortion(distortion: Any, name: str = "distortion") -> Distortion | None:
    """Return ``distortion`` if it is None or a lens model, else raise InvalidValueError."""
    if distortion is None or isinstance(distortion, (OpenCVDistortion, FisheyeDistortion)):
        return distortion
    raise InvalidValueError(
        f"Expected `{name}` to be None, camgeom.OpenCVDistortion or camgeom.FisheyeDistortion, "
        f"got {type(distortion).__name__}."
    )


def _flat_xy(xy: Any, name: str) -> tuple[np.ndarray, tuple[int, ...]]:
    p = check_pixels(xy, name, finite=False)
    return np.ascontiguousarray(p.reshape(-1, 2)), p.shape


def distort_normalized(xy: Any, distortion: Distortion) -> np.ndarray:
    """Distort normalised camera coordinates (..., 2) (NaN outside the monotonic range).

    Examples
    --------
    >>> distort_normalized([0.1, 0.0], OpenCVDistortion(0.5, 0.0, 0.0, 0.0))
    array([0.1005, 0.    ])
    """
    d = check_distortion(distortion)
    if d is None:
        raise InvalidValueError("Expected a lens model, got None.")
    k = _kernels or _load_kernels()
    flat, shape = _flat_xy(xy, "xy")
    out = np.empty_like(flat)
    fn = k.distort_many_parallel if flat.shape[0] >= _PARALLEL_MIN else k.distort_many_serial
    fn(flat, d.model, d.kernel_params(), out)
    return out.reshape(shape)


def undistort_normalized(
    xy_distorted: Any, distortion: Distortion, *, tol: float = UNDISTORT_TOL
) -> np.ndarray:
    """Invert the model on distorted normalised coordinates (..., 2) by Newton iteration.

    NaN where the point lies beyond the image of the model's monotonic range
    or Newton does not converge in :data:`MAX_ITER` steps.

    Examples
    --------
    >>> d = OpenCVDistortion(0.5, 0.0, 0.0, 0.0)
    >>> undistort_normalized([0.1005, 0.0], d).round(15)
    array([0.1, 0. ])
    """
    d = check_distortion(distortion)
    if d is None:
        raise InvalidValueError("Expected a lens model, got None.")
    k = _kernels or _load_kernels()
    flat, shape = _flat_xy(xy_distorted, "xy_distorted")
    out = np.empty_like(flat)
    fn = k.undistort_many_parallel if flat.shape[0] >= _PARALLEL_MIN else k.undistort_many_serial
    fn(flat, d.model, d.kernel_params(), float(tol), MAX_ITER, out)
    return out.reshape(shape)


# ---------------------------------------------------------------------- COLMAP
_COLMAP_PARAMS = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fx", "fy", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k1"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
    "FULL_OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6"),
    "OPENCV_FISHEYE": ("fx", "fy", "cx", "cy", "k1", "k2", "k3", "k4"),
}


def distortion_from_colmap(
    model: str, params: Sequence[float]
) -> tuple[np.ndarray, Distortion | None]:
    """K (3, 3) and lens model of a COLMAP camera (``cameras.txt`` model name and params).

    COLMAP's pixel convention is camgeom's (pixel centres at +0.5), so the
    principal point is used as is.

    Examples
    --------
    >>> K, d = distortion_from_colmap("SIMPLE_RADIAL", [500.0, 320.0, 240.0, -0.1])
    >>> K[0], d
    (array([500.,   0., 320.]), OpenCVDistortion(k1=-0.1, k2=0.0, p1=0.0, p2=0.0, k3=0.0, k4=0.0, k5=0.0, k6=0.0))
    """
    names = _COLMAP_PARAMS.get(str(model).upper())
    if names is None:
        raise InvalidValueError(
            f"Expected a COLMAP model among {sorted(_COLMAP_PARAMS)}, got {model!r}."
        )
    vals = [_coef(v, "params") for v in params]
    if len(vals) != len(names):
        raise InvalidValueError(
            f"Expected {len(names)} params for COLMAP {model} ({', '.join(names)}), got {len(vals)}."
        )
    v = dict(zip(names, vals, strict=True))
    fx = v.get("fx", v.get("f"))
    fy = v.get("fy", v.get("f"))
    K = check_intrinsics([[fx, 0.0, v["cx"]], [0.0, fy, v["cy"]], [0.0, 0.0, 1.0]])
    coef = {n: v[n] for n in names if n[0] in "kp"}
    dist: Distortion | None
    if str(model).upper() == "OPENCV_FISHEYE":
        dist = FisheyeDistortion(**coef)
    elif coef:
        dist = OpenCVDistortion(**{"k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0, **coef})
    else:
        dist = None
    return K, dist


def colmap_from_distortion(K: Any, distortion: Distortion | None) -> tuple[str, list[float]]:
    """The smallest COLMAP camera model (name, params) that holds K and the lens model.

    Raises InvalidValueError for a skewed K, which COLMAP cannot hold.

    Examples
    --------
    >>> K = [[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]
    >>> colmap_from_distortion(K, OpenCVDistortion(-0.1, 0.0, 0.0, 0.0))
    ('SIMPLE_RADIAL', [500.0, 320.0, 240.0, -0.1])
    >>> colmap_from_distortion(K, FisheyeDistortion(0.1, 0.0, 0.0, 0.0))[0]
    'OPENCV_FISHEYE'
    """
    k = check_intrinsics(K)
    d = check_distortion(distortion)
    if k.shape != (3, 3):
        raise InvalidValueError(f"Expected one K (3, 3), got shape {k.shape}.")
    if k[0, 1] != 0.0:
        raise InvalidValueError(f"COLMAP cameras have no skew; K[0, 1] is {k[0, 1]!r}.")
    fx, fy, cx, cy = (float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]))
    if isinstance(d, FisheyeDistortion):
        return "OPENCV_FISHEYE", [fx, fy, cx, cy, *map(float, d.coefficients)]
    if d is None:
        return ("SIMPLE_PINHOLE", [fx, cx, cy]) if fx == fy else ("PINHOLE", [fx, fy, cx, cy])
    c = [float(x) for x in d.coefficients]
    k1, k2, p1, p2, k3, k4, k5, k6 = c
    if any((k3, k4, k5, k6)):
        return "FULL_OPENCV", [fx, fy, cx, cy, *c]
    if fx == fy and p1 == 0.0 and p2 == 0.0:
        if k2 == 0.0:
            return "SIMPLE_RADIAL", [fx, cx, cy, k1]
        return "RADIAL", [fx, cx, cy, k1, k2]
    return "OPENCV", [fx, fy, cx, cy, k1, k2, p1, p2]


# ---------------------------------------------------------------------- nerfstudio
def nerfstudio_from_distortion(distortion: Distortion | None) -> dict[str, Any]:
    """nerfstudio ``transforms.json`` fields: ``camera_model`` and ``k1..k4, p1, p2``.

    nerfstudio's ``OPENCV`` radial polynomial is ``1 + k1 r^2 + k2 r^4 + k3 r^6
    + k4 r^8`` (no rational part), so an :class:`OpenCVDistortion` with any of
    ``k4..k6`` nonzero raises InvalidValueError.

    Examples
    --------
    >>> nerfstudio_from_distortion(FisheyeDistortion(0.1, 0.01, 0.0, 0.0))["camera_model"]
    'OPENCV_FISHEYE'
    """
    d = check_distortion(distortion)
    if d is None:
        return {
            "camera_model": "OPENCV",
            "k1": 0.0,
            "k2": 0.0,
            "k3": 0.0,
            "k4": 0.0,
            "p1": 0.0,
            "p2": 0.0,
        }
    if isinstance(d, FisheyeDistortion):
        return {
            "camera_model": "OPENCV_FISHEYE",
            "k1": d.k1,
            "k2": d.k2,
            "k3": d.k3,
            "k4": d.k4,
            "p1": 0.0,
            "p2": 0.0,
        }
    if any((d.k4, d.k5, d.k6)):
        raise InvalidValueError(
            "nerfstudio's OPENCV model has no rational terms: k4, k5 and k6 must be 0, got "
            f"{d.k4!r}, {d.k5!r}, {d.k6!r}."
        )
    return {
        "camera_model": "OPENCV",
        "k1": d.k1,
        "k2": d.k2,
        "k3": d.k3,
        "k4": 0.0,
        "p1": d.p1,
        "p2": d.p2,
    }


def distortion_from_nerfstudio(fields_: Mapping[str, Any]) -> Distortion | None:
    """Lens model of nerfstudio ``transforms.json`` fields (missing coefficients are 0).

    Examples
    --------
    >>> distortion_from_nerfstudio({"camera_model": "OPENCV", "k1": -0.1, "p2": 0.001})
    OpenCVDistortion(k1=-0.1, k2=0.0, p1=0.0, p2=0.001, k3=0.0, k4=0.0, k5=0.0, k6=0.0)
    """
    model = str(fields_.get("camera_model", "OPENCV")).upper()
    c = {n: _coef(fields_.get(n, 0.0), n) for n in ("k1", "k2", "k3", "k4", "p1", "p2")}
    if model == "OPENCV_FISHEYE":
        if c["p1"] or c["p2"]:
            raise InvalidValueError("nerfstudio OPENCV_FISHEYE has no p1, p2; got nonzero values.")
        return FisheyeDistortion(c["k1"], c["k2"], c["k3"], c["k4"])
    if model != "OPENCV":
        raise InvalidValueError(f"Expected camera_model OPENCV or OPENCV_FISHEYE, got {model!r}.")
    if c["k4"]:
        raise InvalidValueError(
            f"nerfstudio's OPENCV k4 (an r^8 term) has no OpenCV equivalent; got {c['k4']!r}."
        )
    if not any(c.values()):
        return None
    return OpenCVDistortion(c["k1"], c["k2"], c["p1"], c["p2"], c["k3"])
