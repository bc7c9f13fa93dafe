"""The depth values vendors store where a pixel sees no surface.

One list, read by :mod:`camgeom.io.depthfile` (which turns them into NaN) and by
:mod:`camgeom.depth` (which never back-projects them). This module imports only
numpy, so the math modules may use it without importing :mod:`camgeom.io`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BACKGROUND_DEPTH_VALUES"]

BACKGROUND_DEPTH_VALUES: tuple[float, ...] = (
    0.0,
    float(np.float32(0.0025)),
    float(np.float32(np.float16(0.0025))),
    float(np.inf),
    1e10,
    65504.0,
)
"""Depth values that mark "no surface" in vendor depth maps.

:func:`camgeom.io.read_depth` turns them into NaN unless asked to keep them
(``background="keep"``); :func:`camgeom.depth.points_from_depth` never makes a
point from them.

* ``0`` -- Synthesis AI float16 ``depth.tif`` background.
* ``+inf`` -- Synthesis AI float32 ``depth.tif`` background (v1 faces).
* ``0.0025`` -- the constant background of one 2021 Synthesis AI set (that set also
  stores about 5x the range; the scale is *not* corrected). Listed as stored in
  float32 and in float16.
* ``1e10`` -- Datagen float32 ``depth.exr`` background.
* ``65504`` -- Datagen half-float ``depth.exr`` background (the largest half value).

None of these is a plausible depth in metres for these renders.
"""
