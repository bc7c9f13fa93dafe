"""The depth-scale check: a depth map in the wrong unit or with a vendor's factor fails by name."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tifffile

import camgeom.datasets as ds
from camgeom.verification import verify, verify_dataset
from camgeom.verification.tolerances import DEPTH_SCALE_TOL


def _scaled_copy(src, dst, factor):
    """Render 0 of ``src`` with its depth map multiplied by ``factor`` (background kept at 0)."""
    for p in src.glob("0.*"):
        shutil.copy(p, dst / p.name)
    shutil.copy(src / "metadata.jsonl", dst / "metadata.jsonl")
    depth = tifffile.imread(src / "0.depth.tif")
    scaled = (depth.astype(np.float32) * factor).astype(depth.dtype)
    tifffile.imwrite(dst / "0.depth.tif", scaled, compression="zlib")
    return next(iter(ds.load(dst)))


@pytest.fixture
def v12(fixtures):
    return fixtures / "synthesisai" / "v1_2_faces"


def test_untouched_depth_passes_the_scale_check(v12):
    for frame in ds.load(v12):
        check = verify(frame)["depth.scale"]
        assert check.status == "pass", check
        assert check.value < 0.01


def test_five_times_the_range_fails_by_name_and_the_kind_is_still_judged(tmp_path, v12):
    frame = _scaled_copy(v12, tmp_path, 5.0)
    report = verify(frame)
    scale = report["depth.scale"]
    assert scale.failed
    assert scale.value == pytest.approx(4.0, abs=0.05)
    assert (
        "Synthesis AI face set from early 2021" in scale.hint
        and "divide its depth by 5" in scale.hint
    )
    assert "median depth / landmark range is 4.99" in scale.message
    kind = report["depth.kind"]
    assert kind.status == "pass", kind  # judged on depth / 5, not skipped
    assert "depth divided by 4.99" in kind.message
    assert not report.passed


def test_depth_in_millimetres_is_named(tmp_path, v12):
    check = verify(_scaled_copy(v12, tmp_path, 1000.0))["depth.scale"]
    assert check.failed and "millimetres" in check.hint


def test_an_unknown_factor_fails_with_a_generic_hint(tmp_path, v12):
    check = verify(_scaled_copy(v12, tmp_path, 1.2))["depth.scale"]
    assert check.failed and check.value == pytest.approx(0.2, abs=0.01)
    assert "1.2" in check.hint and "unit" in check.hint


def test_a_factor_within_the_tolerance_passes(tmp_path, v12):
    factor = 1.0 + DEPTH_SCALE_TOL / 2
    check = verify(_scaled_copy(v12, tmp_path, factor))["depth.scale"]
    assert check.status == "pass"


def test_the_depth_kind_needs_less_evidence_than_before():
    from camgeom.verification.tolerances import DEPTH_MIN_SURFACE_LANDMARKS

    assert DEPTH_MIN_SURFACE_LANDMARKS <= 3


def test_fixture_tree_keeps_its_verdicts(fixtures):
    rep = verify_dataset(ds.load(fixtures))
    assert len(rep.reports) + len(rep.unreadable) == 33
    failing = [r for r in rep.reports if not r.passed]
    assert len(failing) + len(rep.unreadable) == 11
    assert not any(r["depth.scale"].failed for r in rep.reports)


def test_farthest_around_is_the_max_of_the_clamped_3x3_window():
    from camgeom.verification.depth import _farthest_around

    rng = np.random.default_rng(5)
    for _ in range(100):
        h, w = (int(x) for x in rng.integers(1, 12, 2))
        depth = rng.random((h, w)).astype(np.float32)
        depth[rng.random((h, w)) < 0.15] = np.nan
        row = rng.integers(0, h, 20)
        col = rng.integers(0, w, 20)
        got = _farthest_around(depth, row, col)
        for k in range(20):
            r0, c0 = row[k], col[k]
            window = depth[max(r0 - 1, 0) : r0 + 2, max(c0 - 1, 0) : c0 + 2]
            want = np.nan if np.isnan(window).any() else float(window.max())
            assert got.dtype == np.float64
            np.testing.assert_equal(got[k], want)
    assert _farthest_around(
        np.ones((3, 3), np.float32), np.array([], int), np.array([], int)
    ).shape == (0,)
