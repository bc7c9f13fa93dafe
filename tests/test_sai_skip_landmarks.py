"""Synthesis AI frames read without landmarks: same frame, no landmark groups or notes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import camgeom.datasets.synthesisai as sai
from camgeom.datasets import load
from camgeom.datasets._json import load_json
from camgeom.datasets.frame import Frame
from camgeom.datasets.synthesisai import read_frame
from camgeom.datasets.synthesisai.landmarks import landmark_groups, note_defects
from camgeom.demo import make_demo_dataset

LANDMARK_NOTE_PREFIXES = (
    "screen_space_pos is (u/W, v/H)",  # landmark_groups, when there are groups
    "contour_landmarks ptnum counts from 1",  # landmark_groups (v1.2 contour)
    "known vendor defect: pupil_right carries pupil_left's",  # note_defects
    "known vendor defect: iBUG-68 eyebrow labels",  # note_defects
)
"""Every note that comes from the landmark groups (landmark_groups / note_defects)."""


def _same(a: Any, b: Any, where: str) -> None:
    """Assert ``a`` and ``b`` are equal, descending into arrays, dataclasses and containers."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, Mapping):
        assert list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def _is_landmark_note(note: str) -> bool:
    return note.startswith(LANDMARK_NOTE_PREFIXES)


def _landmark_notes(info_path: Path, frame: Frame) -> list[str]:
    """The notes landmark_groups and note_defects give for this render, on their own."""
    assert frame.camera is not None
    notes: list[str] = []
    stem = info_path.name[: -len(sai.INFO_SUFFIX)]
    siblings = frozenset(p.name for p in info_path.parent.iterdir())
    size = (frame.camera.width, frame.camera.height)
    groups = landmark_groups(load_json(info_path), info_path, stem, siblings, size, notes)
    note_defects(groups, frame.camera, notes)
    return notes


def _check_lean(full: Frame, lean: Frame, info_path: Path) -> list[str]:
    """``lean`` is ``full`` without landmarks and landmark notes; returns the notes removed."""
    assert lean.landmarks == {}
    removed = [n for n in full.notes if _is_landmark_note(n)]
    # the prefixes name exactly what the landmark code adds, nothing more and nothing less
    assert removed == _landmark_notes(info_path, full)
    kept = [n for n in full.notes if not _is_landmark_note(n)]
    assert list(lean.notes) == kept  # same notes, same order
    expected = dataclasses.replace(full, landmarks={}, notes=tuple(kept))
    for f in dataclasses.fields(Frame):
        _same(getattr(lean, f.name), getattr(expected, f.name), f.name)
    assert lean.camera is not None and full.camera is not None
    np.testing.assert_array_equal(lean.camera.K, full.camera.K)
    np.testing.assert_array_equal(lean.camera.cam_from_world, full.camera.cam_from_world)
    return removed


def _fixture_infos(fixtures: Path) -> list[Path]:
    infos = sorted((fixtures / "synthesisai").rglob("*.info.json"))
    assert infos, f"no Synthesis AI info.json under {fixtures}"
    return infos


def test_fixture_frames_read_without_landmarks(fixtures: Path) -> None:
    removed: list[str] = []
    for info_path in _fixture_infos(fixtures):
        full = read_frame(info_path)
        lean = read_frame(info_path, landmarks=False)
        removed += _check_lean(full, lean, info_path)
    # the fixtures exercise every kind of landmark note
    for prefix in LANDMARK_NOTE_PREFIXES:
        assert any(n.startswith(prefix) for n in removed), prefix


def test_fixture_sources_skip_landmarks(fixtures: Path) -> None:
    folders = sorted({p.parent for p in _fixture_infos(fixtures)})
    n = 0
    for folder in folders:
        for source in load(folder).sources:
            assert source.vendor == "synthesisai" and source.skips_landmarks
            full = source.read()
            _check_lean(full, source.read(landmarks=False), source.path)
            assert full.landmarks or full.version is None  # room renders carry no landmarks
            n += 1
    assert n == len(_fixture_infos(fixtures))


def test_demo_frames_read_without_landmarks(tmp_path: Path) -> None:
    demo = make_demo_dataset(tmp_path)
    sources = load(demo.synthesisai).sources
    assert len(sources) >= 3
    for source in sources:
        full = source.read()
        assert full.landmarks
        removed = _check_lean(full, source.read(landmarks=False), source.path)
        assert removed  # screen_space_pos at least


def test_no_landmark_work_without_landmarks(tmp_path: Path, monkeypatch) -> None:
    """read(landmarks=False) neither builds nor checks the groups."""
    demo = make_demo_dataset(tmp_path)
    sources = load(demo.synthesisai).sources

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("landmark code ran for a read without landmarks")

    monkeypatch.setattr(sai, "landmark_groups", refuse)
    monkeypatch.setattr(sai, "note_defects", refuse)
    for source in sources:
        frame = source.read(landmarks=False)
        assert frame.landmarks == {} and frame.camera is not None
    with pytest.raises(AssertionError, match="landmark code ran"):
        sources[0].read()
