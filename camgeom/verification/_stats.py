"""Medians of the small samples the checks take, without numpy's per-call overhead.

``np.median`` costs tens of microseconds even for a handful of values; the checks
of one frame take about ten medians. These give the same values (a sort, then
the middle value or the mean of the middle two in the input's precision).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["median", "nanmedian"]


def median(values: npt.ArrayLike) -> float:
    """``float(np.median(values))`` of a 1-D sample; NaN when it is empty or holds NaN.

    Examples
    --------
    >>> median([3.0, 1.0, 2.0, 10.0])
    2.5
    """
    s = np.sort(np.asarray(values).ravel())
    n = s.size
    if not n or np.isnan(s[-1]):  # NaN sorts last
        return math.nan
    mid = n // 2
    zero = s.dtype.type(0)  # numpy's mean sums from its identity, so -0.0 comes out 0.0
    if n % 2:
        return float(zero + s[mid])
    return float((zero + s[mid - 1] + s[mid]) / 2)


def nanmedian(values: npt.ArrayLike) -> float:
    """``float(np.nanmedian(values))`` of a 1-D sample; NaN when no value is finite or NaN-free.

    Examples
    --------
    >>> nanmedian([np.nan, 1.0, 2.0])
    1.5
    """
    a = np.asarray(values).ravel()
    return median(a[~np.isnan(a)])
