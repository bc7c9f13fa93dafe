"""Colour values to uint8: the one rule shared by point clouds and the PLY writer.

Imports only numpy and :mod:`camgeom.errors`, so both the math modules
(:mod:`camgeom.depth`) and the file formats (:mod:`camgeom.io.ply`) may use it.
"""

from __future__ import annotations

import numpy as np

from camgeom.errors import InvalidValueError

__all__ = ["colors_to_uint8"]


def colors_to_uint8(colors: np.ndarray) -> np.ndarray:
    """Return colour values as uint8, same shape.

    Parameters
    ----------
    colors : ndarray
        uint8 (returned as is); floats in [0, 1] (scaled by 255 and rounded);
        or integers in 0..255.

    Returns
    -------
    ndarray of uint8

    Raises
    ------
    InvalidValueError
        NaN/inf, values out of range, or a non-numeric dtype.

    Examples
    --------
    >>> colors_to_uint8(np.array([[0.0, 0.5, 1.0]]))
    array([[  0, 128, 255]], dtype=uint8)
    """
    arr = np.asarray(colors)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not np.all(finite):
            raise InvalidValueError(
                f"Expected `colors` to be finite, got {arr.size - int(finite.sum())} NaN/inf "
                f"value(s) of {arr.size}."
            )
        if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
            raise InvalidValueError(
                f"Expected float `colors` in [0, 1], got values in [{arr.min():.6g}, "
                f"{arr.max():.6g}]. Pass uint8 colours for 0..255 values."
            )
        return np.rint(arr * 255.0).astype(np.uint8)
    if arr.dtype.kind in "iu":
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise InvalidValueError(
                f"Expected integer `colors` in 0..255, got values in [{arr.min()}, {arr.max()}]."
            )
        return arr.astype(np.uint8)
    raise InvalidValueError(f"Expected `colors` to be numeric, got dtype {arr.dtype}.")
