"""camgeom.testing.inject: mistakes written in each vendor's format, detected by verify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.errors import CamgeomError, InvalidValueError, OutputExistsError
from camgeom.testing import KINDS, NotExpressibleError, inject
from camgeom.testing._edits import edit_copy, metadata_files
from camgeom.verification import verify

# every kind injected into this subset is detected: where the landmarks cannot tell z
# from range (the 160x120 demo render, the 8-degree Datagen faces), depth.kind_normals
# reads the normal map
KNOWN_UNDETECTED: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


@pytest.fixture(scope="module")
def subset(fixtures, demo):
    """A fixed subset of frames that pass untouched, with a label."""
    return [
        ("datagen", camgeom.load(fixtures / "datagen/faces_nn")[0]),
        ("synthesisai", camgeom.load(fixtures / "synthesisai/v1_2_faces")[0]),
        ("datagen demo", camgeom.load(demo.datagen)[1]),  # 160x120
        ("synthesisai demo", camgeom.load(demo.synthesisai)[0]),  # 160x120
    ]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sensitivity_table_on_fixed_subset(subset, tmp_path):
    undetected, injected = set(), 0
    for label, frame in subset:
        assert verify(frame).passed, f"{label} {frame.frame_id} fails untouched"
        for kind in KINDS:
            out = tmp_path / f"{label.replace(' ', '_')}_{kind}"
            try:
                inject(frame, kind, out)
            except NotExpressibleError:
                continue
            injected += 1
            try:
                copy = camgeom.load(out)[0]
            except CamgeomError:  # the reader refuses the copy: detected
                continue
            assert copy.frame_id == frame.frame_id
            if verify(copy).passed:
                undetected.add((kind, label))
    assert injected >= 40
    assert undetected <= KNOWN_UNDETECTED, sorted(undetected - KNOWN_UNDETECTED)


def test_originals_are_never_written(demo, tmp_path):
    before = _digest(demo.datagen) | _digest(demo.synthesisai)
    for frame in [*camgeom.load(demo.datagen), *camgeom.load(demo.synthesisai)]:
        for kind in ("pose_inverted", "depth_kind_swapped", "pixel_row_col"):
            inject(
                frame, kind, tmp_path / f"{frame.vendor}{frame.frame_id.replace('/', '_')}{kind}"
            )
    assert _digest(demo.datagen) | _digest(demo.synthesisai) == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", ["datagen", "synthesisai"])
def test_undo_restores_the_metadata(demo, tmp_path, kind, which):
    frames = camgeom.load(getattr(demo, which))
    frame = frames[1] if which == "datagen" else frames[0]  # both 160x120
    try:
        inject(frame, kind, tmp_path / "bad")
    except NotExpressibleError as exc:
        # a kind this frame cannot hold says why, and writes nothing
        assert str(exc).strip()
        assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").rglob("*.json"))
        return
    frame_dir = tmp_path / "bad" if which == "synthesisai" else tmp_path / "bad" / frame.frame_id
    edit_copy(frame, frame_dir, kind, undo=True)
    fixed = camgeom.load(tmp_path / "bad")[0]
    assert verify(fixed).passed
    orig_dir = Path(frame.source).parent if which == "synthesisai" else Path(frame.source)
    for path in metadata_files(fixed, frame_dir):
        original = orig_dir / path.relative_to(frame_dir)
        if path.suffix == ".jsonl":
            got = [json.loads(t) for t in path.read_text().splitlines() if t.strip()]
            want = [json.loads(t) for t in original.read_text().splitlines() if t.strip()]
        else:
            got, want = json.loads(path.read_text()), json.loads(original.read_text())
        _assert_close(got, want)
    d_fixed, d_orig = fixed.read_depth(), frame.read_depth()
    np.testing.assert_allclose(d_fixed, d_orig, rtol=1e-6, equal_nan=True)


def _assert_close(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
    else:
        assert a == b


def test_not_expressible_says_why(demo, tmp_path):
    square = camgeom.load(demo.datagen)[0]
    with pytest.raises(NotExpressibleError, match="square pixels"):
        inject(square, "fx_fy_swapped", tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(NotExpressibleError, match="no quaternion"):
        inject(square, "quaternion_order", tmp_path / "b")


def test_bad_arguments(demo, tmp_path):
    frame = camgeom.load(demo.datagen)[0]
    with pytest.raises(InvalidValueError, match="kind"):
        inject(frame, "pose_upside_down", tmp_path / "a")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(OutputExistsError):
        inject(frame, "pose_inverted", tmp_path / "full")
