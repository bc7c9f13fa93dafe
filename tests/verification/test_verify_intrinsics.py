"""Intrinsics checks: lens shift like with like, on a non-square image."""

from __future__ import annotations

import math

import numpy as np
import pytest

from camgeom.intrinsics import principal_point_from_shift
from camgeom.verification import verify

W, H = 640, 480
SHIFT = (0.1, -0.05)
F = 500.0
FOV = {"fov_x": 2 * math.atan(W / 2 / F), "fov_y": 2 * math.atan(H / 2 / F)}


def K_with(cx: float, cy: float) -> np.ndarray:
    return np.array([[F, 0.0, cx], [0.0, F, cy], [0.0, 0.0, 1.0]])


def shifted_K(units: str) -> np.ndarray:
    return K_with(*principal_point_from_shift(W, H, *SHIFT, units=units))


def centred_stored_K(frame_factory, camera_K, **metadata):
    """A frame whose stored K is centred and whose metadata hold SHIFT and the FOV."""
    return frame_factory(
        camera_K,
        stored_K=K_with(W / 2, H / 2),
        shift_x=SHIFT[0],
        shift_y=SHIFT[1],
        **FOV,
        **metadata,
    )


def test_the_two_shift_units_differ_on_this_image():
    # the test below would not tell the units apart on a square image
    assert principal_point_from_shift(W, H, *SHIFT, units="per_axis") == (256.0, 216.0)
    assert principal_point_from_shift(W, H, *SHIFT, units="fit") == (256.0, 208.0)


def test_correctly_shifted_frame_with_centred_stored_K_passes(frame_factory):
    """Synthesis AI's case: the stored K stays centred, the camera's K holds the shift."""
    f = centred_stored_K(
        frame_factory,
        shifted_K("per_axis"),
        shift_units="per_axis",
        stored_K_includes_shift=False,
        square_pixels=True,
    )
    r = verify(f)
    assert r.passed, str(r)
    for name in (
        "intrinsics.principal_point",
        "intrinsics.stored_K_vs_camera",
        "intrinsics.K_vs_fov",
    ):
        assert r[name].status == "pass", r[name]
        assert r[name].value < 1e-9
    assert "without lens shift" in r["intrinsics.principal_point"].message
    assert "lens shift applied" in r["intrinsics.stored_K_vs_camera"].message


def test_shift_in_the_wrong_units_fails_stored_K_vs_camera(frame_factory):
    """A camera shifted in Blender's units where the vendor's are per axis: 8 px off in y."""
    f = centred_stored_K(
        frame_factory, shifted_K("fit"), shift_units="per_axis", stored_K_includes_shift=False
    )
    c = verify(f)["intrinsics.stored_K_vs_camera"]
    assert c.failed and c.value == pytest.approx(8.0) and c.unit == "px"


@pytest.mark.parametrize("units", ["fit", "per_axis"])
def test_stored_K_that_includes_the_shift(frame_factory, units):
    K = shifted_K(units)
    common = dict(stored_K=K, shift_x=SHIFT[0], shift_y=SHIFT[1], stored_K_includes_shift=True)
    r = verify(frame_factory(K, shift_units=units, **common, **FOV))
    assert r.passed, str(r)
    assert r["intrinsics.principal_point"].value < 1e-9
    assert r["intrinsics.K_vs_fov"].value < 1e-12  # the lens FOV, with the shift taken out
    other = "fit" if units == "per_axis" else "per_axis"
    c = verify(frame_factory(K, shift_units=other, **common))["intrinsics.principal_point"]
    assert c.failed and c.value == pytest.approx(8.0)


def test_shift_units_default_to_per_axis(frame_factory):
    f = frame_factory(shifted_K("per_axis"), shift_x=SHIFT[0], shift_y=SHIFT[1])
    assert verify(f)["intrinsics.principal_point"].status == "pass"


def test_unknown_whether_stored_K_has_the_shift_is_a_skip_with_the_reason(frame_factory):
    r = verify(centred_stored_K(frame_factory, shifted_K("per_axis")))
    for name in ("principal_point", "stored_K_vs_camera", "K_vs_fov"):
        c = r[f"intrinsics.{name}"]
        assert c.status == "skip" and "includes it" in c.message
    assert r.passed


def test_unusable_shift_fails_and_the_dependent_checks_skip(frame_factory):
    f = frame_factory(K_with(W / 2, H / 2), shift_x=0.1, shift_y=0.0, shift_units="furlongs")
    r = verify(f)
    assert r["intrinsics.principal_point"].failed
    assert "units" in r["intrinsics.principal_point"].message
    assert r["intrinsics.K_vs_fov"].status == "skip"


@pytest.mark.parametrize(("promised", "status"), [(True, "fail"), (False, "info"), (None, "warn")])
def test_square_pixels_follow_the_metadata_field(frame_factory, promised, status):
    K = np.array([[F, 0.0, W / 2], [0.0, 1.2 * F, H / 2], [0.0, 0.0, 1.0]])
    c = verify(frame_factory(K, square_pixels=promised))["intrinsics.square_pixels"]
    assert c.status == status
    assert c.value == pytest.approx(0.2)


# 36 mm sensor on a 640-pixel-wide image: fx = 500 needs a 28.125 mm lens
LENS = {"sensor_width_mm": 36.0, "focal_length_mm": F * 36.0 / W}


def test_consistent_focal_length_passes_both_lens_checks(frame_factory):
    r = verify(frame_factory(K_with(W / 2, H / 2), **LENS, **FOV))
    assert r["intrinsics.K_vs_focal_length"].status == "pass"
    assert r["intrinsics.focal_length_vs_fov"].status == "pass"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("focal_length_mm", -LENS["focal_length_mm"]),  # the relative error was -2: passed
        ("focal_length_mm", 0.0),  # both lens checks vanished: the frame passed
        ("sensor_width_mm", 0.0),
        ("sensor_width_mm", -36.0),
        ("focal_length_mm", math.inf),
        ("focal_length_mm", math.nan),
    ],
)
def test_a_focal_length_no_lens_has_fails_both_lens_checks(frame_factory, field, value):
    r = verify(frame_factory(K_with(W / 2, H / 2), **{**LENS, field: value}, **FOV))
    assert not r.passed
    for name in ("intrinsics.K_vs_focal_length", "intrinsics.focal_length_vs_fov"):
        assert r[name].status == "fail", str(r)
        assert field in r[name].message and "positive" in r[name].message


def test_a_focal_length_alone_is_not_checked(frame_factory):
    r = verify(frame_factory(K_with(W / 2, H / 2), focal_length_mm=28.0))
    assert "intrinsics.K_vs_focal_length" not in r
    assert r.passed


def test_a_calibrated_principal_point_is_reported_not_judged(frame_factory):
    off = K_with(W / 2 - 17.3, H / 2 + 9.1)  # a real calibration: off the centre
    judged = verify(frame_factory(off))
    assert judged["intrinsics.principal_point"].status == "fail"
    free = verify(frame_factory(off, calibrated_principal_point=True))
    check = free["intrinsics.principal_point"]
    assert check.status == "info" and "calibrated" in check.message
    assert free.passed


def test_colmap_and_nerfstudio_frames_have_calibrated_principal_points(tmp_path):
    import camgeom
    from camgeom.export.colmap import ColmapCamera, ColmapImage, ColmapModel, write_model

    folder = tmp_path / "sparse" / "0"
    write_model(
        ColmapModel(
            (ColmapCamera(1, "PINHOLE", 160, 120, (200.0, 201.0, 70.25, 52.5)),),
            (ColmapImage(1, 1, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 2.0), "a.png"),),
        ),
        folder,
    )
    frame = camgeom.load(tmp_path)[0]
    assert frame.metadata.calibrated_principal_point is True
    r = verify(frame)
    assert r["intrinsics.principal_point"].status == "info"
    assert r.passed, str(r)
    from camgeom.export import export_nerfstudio

    export_nerfstudio(camgeom.load(tmp_path), tmp_path / "ns", workers=1, progress=False)
    ns = camgeom.load(tmp_path / "ns")[0]
    assert ns.metadata.calibrated_principal_point is True
    assert verify(ns)["intrinsics.principal_point"].status == "info"
