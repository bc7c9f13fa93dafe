"""Intrinsics from focal length, sensor, FOV and lens shift."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camgeom import CamgeomError
from camgeom.errors import InvalidValueError
from camgeom.intrinsics import (
    crop_intrinsics,
    focal_length_mm_from_intrinsics,
    fov_from_intrinsics,
    intrinsics_from_focal_length,
    intrinsics_from_fov,
    scale_intrinsics,
)
from camgeom.projection import project_points


def test_seed_example():
    K = intrinsics_from_focal_length(100.0, 33.0, 512, 512)
    assert abs(K[0, 0] - 1551.5151515151515) < 1e-12
    assert abs(K[1, 1] - 1551.5151515151515) < 1e-12
    assert K[0, 2] == 256.0 and K[1, 2] == 256.0
    fov_x, fov_y = fov_from_intrinsics(K, 512, 512)
    assert abs(fov_x - 0.32705323764198635) < 1e-12
    assert abs(fov_y - 0.32705323764198635) < 1e-12


def test_sensor_fit_rules_like_blender():
    # landscape 1920x1080, 36 x 24 mm sensor, 50 mm
    h = intrinsics_from_focal_length(50.0, 36.0, 1920, 1080)
    assert h[0, 0] == pytest.approx(50 / 36 * 1920)
    a = intrinsics_from_focal_length(50.0, 36.0, 1920, 1080, sensor_fit="auto")
    np.testing.assert_allclose(a, h)
    # portrait: auto fits the width to the larger (vertical) dimension
    p = intrinsics_from_focal_length(50.0, 36.0, 1080, 1920, sensor_fit="auto")
    assert p[0, 0] == pytest.approx(50 / 36 * 1920)
    v = intrinsics_from_focal_length(
        50.0, 36.0, 1920, 1080, sensor_height_mm=24.0, sensor_fit="vertical"
    )
    assert v[1, 1] == pytest.approx(50 / 24 * 1080) and v[0, 0] == v[1, 1]


def test_lens_shift_in_fitted_dimension_units():
    K = intrinsics_from_focal_length(50.0, 36.0, 200, 100, shift_x=0.1, shift_y=-0.05)
    assert K[0, 2] == pytest.approx(100 - 0.1 * 200)
    assert K[1, 2] == pytest.approx(50 - 0.05 * 200)
    Kv = intrinsics_from_focal_length(
        50.0, 36.0, 200, 100, sensor_height_mm=24.0, sensor_fit="vertical", shift_x=0.1, shift_y=0.1
    )
    assert Kv[0, 2] == pytest.approx(100 - 0.1 * 100) and Kv[1, 2] == pytest.approx(50 + 0.1 * 100)


def test_room_style_fov_gives_non_square_pixels():
    K = intrinsics_from_fov(np.radians(90), 640, 480, fov_y=np.radians(60))
    assert K[0, 0] == pytest.approx(320.0) and K[1, 1] == pytest.approx(
        240 / np.tan(np.radians(30))
    )


@given(
    st.floats(5, 300),
    st.floats(5, 70),
    st.integers(16, 4096),
    st.integers(16, 4096),
    st.floats(-0.3, 0.3),
    st.floats(-0.3, 0.3),
)
def test_fov_round_trip_and_focal_recovery(f, sw, w, h, sx, sy):
    K = intrinsics_from_focal_length(f, sw, w, h, shift_x=sx, shift_y=sy)
    assert focal_length_mm_from_intrinsics(K, sw, w) == pytest.approx(f, rel=1e-12)
    if sx == 0 and sy == 0:
        fov_x, fov_y = fov_from_intrinsics(K, w, h)
        np.testing.assert_allclose(intrinsics_from_fov(fov_x, w, h, fov_y=fov_y), K, rtol=1e-10)
        assert fov_x == pytest.approx(2 * np.arctan(sw / 2 / f), rel=1e-12)


def test_fov_of_off_centre_principal_point_spans_the_edges():
    K = np.array([[100.0, 0, 30], [0, 100, 50], [0, 0, 1]])
    fov_x, _ = fov_from_intrinsics(K, 100, 100)
    assert fov_x == pytest.approx(np.arctan(0.3) + np.arctan(0.7))


def test_scale_and_crop_keep_projection_consistent():
    K = np.array([[210.0, 0.0, 160.0], [0.0, 205.0, 120.0], [0.0, 0.0, 1.0]])
    p = np.array([[0.2, -0.1, 2.0]])
    uv = project_points(p, K, np.eye(4))[0]
    np.testing.assert_allclose(project_points(p, scale_intrinsics(K, 0.5), np.eye(4))[0], uv * 0.5)
    np.testing.assert_allclose(
        project_points(p, crop_intrinsics(K, 10, 20), np.eye(4))[0], uv - [10, 20]
    )
    # resize from 320x240 to 100x50: pixel centre (0.5, 0.5) of the new image covers old [0, 3.2)
    Ks = scale_intrinsics(K, 100 / 320, 50 / 240)
    assert Ks[0, 2] == pytest.approx(50.0) and Ks[1, 2] == pytest.approx(25.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: intrinsics_from_focal_length(0.0, 36, 64, 64), "focal_length_mm"),
        (lambda: intrinsics_from_focal_length(50, -1.0, 64, 64), "sensor_width_mm"),
        (lambda: intrinsics_from_focal_length(50, 36, 0, 64), "width"),
        (lambda: intrinsics_from_focal_length(50, 36, 64, 64.5), "height"),
        (lambda: intrinsics_from_focal_length(50, 36, 64, 64, sensor_fit="fill"), "sensor_fit"),
        (
            lambda: intrinsics_from_focal_length(50, 36, 64, 64, sensor_fit="vertical"),
            "sensor_height_mm",
        ),
        (lambda: intrinsics_from_focal_length(np.nan, 36, 64, 64), "focal_length_mm"),
        (lambda: intrinsics_from_fov(90.0, 64, 64), "Degrees"),
        (lambda: fov_from_intrinsics([[0.0, 0, 1], [0, 1, 1], [0, 0, 1]], 2, 2), "positive focal"),
        (lambda: fov_from_intrinsics([[1.0, 0, 1], [0, 1, 1], [0, 1, 1]], 2, 2), "last row"),
        (lambda: fov_from_intrinsics([[1.0, 0, np.inf], [0, 1, 1], [0, 0, 1]], 2, 2), "finite"),
        (lambda: scale_intrinsics(np.eye(3), -1.0), "scale_x"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(InvalidValueError, match=match) as info:
        call()
    assert isinstance(info.value, CamgeomError) and isinstance(info.value, ValueError)


def test_principal_point_from_shift_non_square_hand_derived() -> None:
    from camgeom.intrinsics import principal_point_from_shift

    # 640x480, shift (0.1, -0.05): Blender units are fractions of the fitted width (640)
    assert principal_point_from_shift(640, 480, 0.1, -0.05, units="fit") == (256.0, 208.0)
    # per axis (Synthesis AI): x in widths, y in heights
    assert principal_point_from_shift(640, 480, 0.1, -0.05, units="per_axis") == (256.0, 216.0)
    # vertical fit: fractions of the height
    assert principal_point_from_shift(640, 480, 0.1, -0.05, units="fit", sensor_fit="vertical") == (
        320.0 - 48.0,
        240.0 - 24.0,
    )
    # auto fit on a portrait image uses the height
    assert principal_point_from_shift(480, 640, 0.1, 0.0, units="fit", sensor_fit="auto") == (
        240.0 - 64.0,
        320.0,
    )


def test_intrinsics_from_focal_length_uses_the_one_shift_rule() -> None:
    from camgeom.intrinsics import principal_point_from_shift

    K = intrinsics_from_focal_length(50.0, 36.0, 640, 480, shift_x=0.1, shift_y=-0.05)
    assert (K[0, 2], K[1, 2]) == principal_point_from_shift(640, 480, 0.1, -0.05, units="fit")
    assert (K[0, 2], K[1, 2]) == (256.0, 208.0)


def test_principal_point_from_shift_errors() -> None:
    from camgeom.intrinsics import principal_point_from_shift

    with pytest.raises(InvalidValueError, match="units"):
        principal_point_from_shift(640, 480, 0.1, 0.0, units="pixels")
    with pytest.raises(InvalidValueError, match="sensor_fit"):
        principal_point_from_shift(640, 480, 0.1, 0.0, sensor_fit="diagonal")
    with pytest.raises(InvalidValueError, match="shift_x"):
        principal_point_from_shift(640, 480, float("nan"), 0.0)
    with pytest.raises(InvalidValueError, match="shift_x"):
        intrinsics_from_focal_length(50.0, 36.0, 640, 480, shift_x=None)  # type: ignore[arg-type]


def test_focal_length_overflow_is_an_error() -> None:
    with pytest.raises(InvalidValueError, match="overflows"):
        intrinsics_from_focal_length(1e300, 1e-300, 640, 480)
