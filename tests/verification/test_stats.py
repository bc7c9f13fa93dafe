"""The checks' medians equal numpy's, value for value and in the input's precision."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from camgeom.verification._stats import median, nanmedian

_samples = st.one_of(
    arrays(np.float64, st.integers(0, 40), elements=st.floats(allow_infinity=True)),
    arrays(np.float32, st.integers(0, 40), elements=st.floats(width=32, allow_infinity=True)),
)


def _numpy(fn, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(fn(a))


@given(_samples)
def test_median_is_numpys(a):
    np.testing.assert_equal(median(a), _numpy(np.median, a))


@given(_samples)
def test_nanmedian_is_numpys(a):
    np.testing.assert_equal(nanmedian(a), _numpy(np.nanmedian, a))


def test_median_of_float32_is_taken_in_float32():
    a = np.array([1.0, np.nextafter(np.float32(1), np.float32(2))], dtype=np.float32)
    assert median(a) == float(np.median(a)) != (float(a[0]) + float(a[1])) / 2
