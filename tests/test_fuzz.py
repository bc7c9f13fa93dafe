"""Mutation fuzzing: damaged vendor files give a CamgeomError, never another exception.

A small copy of every vendor's sample files (written here for GeoGen and
FaceSynthetics, which publish none) is made once per session; each example
mutates one file of one copy (a key dropped, a value of the wrong type, a
perturbed or huge number, a truncated file, a flipped byte), runs ``load``,
every frame accessor, ``verify`` and ``read_depth`` (and, in the second test, the
four CLI commands), and restores the file. Any exception that is not a
:class:`~camgeom.errors.CamgeomError` (or ``FileNotFoundError`` for a file a
mutation removed) fails the example.

The example budget scales with the hypothesis profile: ``camgeom`` (the default)
keeps the module within about a minute; ``--hypothesis-profile=long`` runs 10x more.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from PIL import Image

import camgeom
import camgeom.cli
import camgeom.io
from camgeom.errors import CamgeomError

# ------------------------------------------------------------------ the copies
_FIXTURE_CASES: dict[str, list[tuple[str, str]]] = {
    # case name -> (fixture path, path in the copy); a path ending in "/*" copies a folder
    "datagen_faces": [("datagen/faces_nn/datapoint_00016", "datapoint_00016")],
    "datagen_hic": [
        (
            "datagen/hic_in_cabin/scene_00001/frames/001",
            "scene_00001/frames/001",
        )
    ],
    "datagen_legacy": [("datagen/legacy_2022/environment_00001", "environment_00001")],
    "sai_v1_2": [
        (f"synthesisai/v1_2_faces/0.{s}", f"0.{s}")
        for s in ("info.json", "depth.tif", "normals.tif", "alpha.tif", "rgb.png", "segments.png")
    ]
    + [("synthesisai/v1_2_faces/metadata.jsonl", "metadata.jsonl")],
    "sai_v1_5": [
        (f"synthesisai/v1_5_docs/24.{s}", f"24.{s}")
        for s in (
            "info.json",
            "depth.tif",
            "normals.tif",
            "alpha.tif",
            "rgb.png",
            "segments.png",
            "mediapipe_dense.obj",
        )
    ]
    + [("synthesisai/v1_5_docs/metadata.jsonl", "metadata.jsonl")],
    "sai_v1_1": [("synthesisai/v1_1_docs", ".")],
    "sai_v1": [(f"synthesisai/v1_faces/0.{s}", f"0.{s}") for s in ("info.json", "depth.tif")],
    "sai_room": [("synthesisai/room/0.info.json", "0.info.json")],
}
_WRITTEN_CASES = ("geogen", "facesynthetics")
CASES = tuple(_FIXTURE_CASES) + _WRITTEN_CASES

_JSON_SUFFIXES = (".json", ".jsonl")
_TEXT_SUFFIXES = (".txt", ".obj")

# what a value may be replaced with ("10**400" and "Infinity" are written as literals)
_HUGE_INT = "1" + "0" * 400
_REPLACEMENTS: tuple[Any, ...] = (
    "abc",
    5,
    [1],
    None,
    "\u00b2",
    _HUGE_INT,
    "Infinity",
    2**70,
    300_000_000,
    40_000,
    -1,
    0,
    3.5,
    1e308,
    -1e308,
    True,
    "",
    [],
    {},
    ["x", 2],
    {"x": 1},
    "NaN",
)


def _write_geogen(folder: Path) -> None:
    from camgeom.poses import cam_from_world_look_at

    folder.mkdir(parents=True, exist_ok=True)
    cams = []
    for k, eye in enumerate(([0.0, -1.0, 0.1], [1.0, 0.0, 0.1])):
        pose = cam_from_world_look_at(eye, target=[0.0, 0.0, 0.0], up=[0, 0, 1])
        cams.append(
            {
                "image": f"{k}.png",
                "resolution": [64, 48],
                "focal_length_mm": 50.0,
                "sensor_width_mm": 36.0,
                "cam_from_world": pose.tolist(),
            }
        )
        Image.new("RGB", (64, 48), (10, 20, 30)).save(folder / f"{k}.png")
    doc = {"name": "subj_000001", "convention": "opencv", "cameras": cams}
    (folder / "metadata.json").write_text(json.dumps(doc))


def _write_facesynthetics(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 64, size=(70, 2)).round(3)
    (folder / "000001_ldmks.txt").write_text("".join(f"{x} {y}\n" for x, y in pts))
    Image.new("RGB", (64, 64), (1, 2, 3)).save(folder / "000001.png")
    seg = np.zeros((64, 64), dtype=np.uint8)
    seg[10:20, 10:20] = 2
    Image.fromarray(seg).save(folder / "000001_seg.png")


@pytest.fixture(scope="module")
def copies(fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """case -> root of a private copy (fixture files are never written)."""
    base = tmp_path_factory.mktemp("fuzz")
    out: dict[str, Path] = {}
    for case, items in _FIXTURE_CASES.items():
        root = base / case
        for src, dst in items:
            source, target = fixtures / src, root / dst
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        out[case] = root
    _write_geogen(base / "geogen")
    _write_facesynthetics(base / "facesynthetics")
    out["geogen"] = base / "geogen"
    out["facesynthetics"] = base / "facesynthetics"
    return out


def _files(root: Path, *, metadata_only: bool) -> list[Path]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if metadata_only:
        files = [p for p in files if p.suffix in _JSON_SUFFIXES + _TEXT_SUFFIXES]
    return files


# ------------------------------------------------------------------ mutations
class _Choices:
    """The choices of one mutation, drawn from hypothesis (or any ``int_between``)."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def between(self, lo: int, hi: int, label: str) -> int:
        return int(self._data.draw(st.integers(lo, max(lo, hi)), label=label))

    def one_of(self, options: tuple[Any, ...], label: str) -> Any:
        return options[self.between(0, len(options) - 1, label)]


def _json_paths(node: Any, prefix: tuple[Any, ...] = (), limit: int = 4000) -> list[tuple]:
    out: list[tuple[Any, ...]] = []
    stack = [(node, prefix)]
    while stack and len(out) < limit:
        value, where = stack.pop()
        out.append(where)
        if isinstance(value, dict):
            stack.extend((v, (*where, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(value))
    return out


def _dump(doc: Any) -> str:
    text = json.dumps(doc)
    # literals json.dumps cannot write: a 400-digit integer and the bare Infinity / NaN
    return (
        text.replace(f'"{_HUGE_INT}"', _HUGE_INT)
        .replace('"Infinity"', "Infinity")
        .replace('"NaN"', "NaN")
    )


def _mutate_json_doc(doc: Any, pick: _Choices) -> Any:
    paths = _json_paths(doc)
    where = paths[pick.between(0, len(paths) - 1, "json path index")]
    action = pick.one_of(("replace", "drop", "perturb", "nest"), "action")
    if not where:
        return pick.one_of(_REPLACEMENTS, "root value")
    parent = doc
    for key in where[:-1]:
        parent = parent[key]
    key = where[-1]
    old = parent[key]
    if action == "drop":
        if isinstance(parent, dict):
            del parent[key]
        else:
            parent.pop(key)
    elif action == "perturb" and isinstance(old, (int, float)) and not isinstance(old, bool):
        factor = pick.one_of((-1.0, 0.0, 1e-9, 0.5, 2.0, 1e6, 1e300), "factor")
        parent[key] = old * factor if isinstance(old, float) else int(old * factor)
    elif action == "nest":
        parent[key] = [[[[old]]]]
    else:
        parent[key] = pick.one_of(_REPLACEMENTS, "value")
    return doc


def _mutate(path: Path, pick: _Choices) -> None:
    raw = path.read_bytes()
    kinds: tuple[str, ...] = ("truncate", "flip")
    if path.suffix in _JSON_SUFFIXES:
        kinds = ("json", "json", "json", *kinds)
    kind = pick.one_of(kinds, f"mutation of {path.name}")
    if kind == "truncate":
        cut = pick.between(0, len(raw) - 1, "cut")
        path.write_bytes(raw[:cut])
    elif kind == "flip":
        pos = pick.between(0, len(raw) - 1, "byte")
        bit = pick.between(0, 7, "bit")
        flipped = bytearray(raw)
        if flipped:
            flipped[pos] ^= 1 << bit
        path.write_bytes(bytes(flipped))
    elif path.suffix == ".jsonl":
        lines = raw.decode().splitlines()
        i = pick.between(0, len(lines) - 1, "line")
        lines[i] = _dump(_mutate_json_doc(json.loads(lines[i]), pick))
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text(_dump(_mutate_json_doc(json.loads(raw), pick)))


@contextlib.contextmanager
def _mutated(root: Path, pick: _Choices, *, metadata_only: bool) -> Iterator[Path]:
    files = _files(root, metadata_only=metadata_only)
    target = files[pick.between(0, len(files) - 1, "file index")]
    note(f"mutated file: {target.relative_to(root)}")
    original = target.read_bytes()
    try:
        _mutate(target, pick)
        yield target
    finally:
        target.write_bytes(original)


# ------------------------------------------------------------------ what runs
def _allowed(exc: BaseException) -> bool:
    return isinstance(exc, (CamgeomError, FileNotFoundError))


def _attempt(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; an allowed error gives None, any other propagates."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        if _allowed(exc):
            return None
        raise


def _exercise(root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _attempt(camgeom.load, root)
        if ds is None:
            return
        for source in ds.sources:
            _attempt(source.scene_id)
            frame = _attempt(source.read)
            if frame is None:
                continue
            _ = frame.camera, frame.width, frame.height, repr(frame)
            for name in list(frame.landmarks):
                group = _attempt(frame.landmarks.__getitem__, name)
                if group is not None:
                    _ = group.world, group.pixels, group.visible, len(group), repr(group)
            for reader in ("read_depth", "read_image", "read_normals", "read_segmentation"):
                _attempt(getattr(frame, reader))
            if frame.segmentation_mapping:
                _attempt(frame.segment_mask, next(iter(frame.segmentation_mapping)))
            _attempt(camgeom.verify, frame)
            if frame.depth_path is not None:
                _attempt(camgeom.io.read_depth, frame.depth_path, channel=frame.depth_channel)


# builtin error names that must never reach the user through the CLI (MissingKeyError may)
_FOREIGN = re.compile(
    r"(?<![A-Za-z])(TypeError|ValueError|AttributeError|KeyError|IndexError|OverflowError"
    r"|RecursionError|ZeroDivisionError|UnicodeDecodeError|DecompressionBombError|MemoryError"
    r"|AssertionError|NotImplementedError|TypingError|SyntaxError|Traceback)\b"
)


def _run_cli(argv: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        code = camgeom.cli.main(argv)
    text = out.getvalue() + err.getvalue()
    assert code in (0, 1, 2), f"exit code {code} from {argv}:\n{text}"
    return text


def _budget(weight: int) -> int:
    """Examples for a test: ``weight`` per 60 of the active profile's max_examples."""
    return max(1, settings.default.max_examples * weight // 60)


_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


@settings(max_examples=_budget(240), **_SETTINGS)
@given(case=st.sampled_from(CASES), data=st.data())
def test_damaged_files_give_camgeom_errors(copies: dict[str, Path], case: str, data) -> None:
    root = copies[case]
    with _mutated(root, _Choices(data), metadata_only=False):
        _exercise(root)


# the CLI runs every command on the smaller copies (each example runs four jobs)
CLI_CASES = ("datagen_faces", "sai_room", "sai_v1_1", "geogen", "facesynthetics")


@settings(max_examples=_budget(8), **_SETTINGS)
@given(case=st.sampled_from(CLI_CASES), data=st.data())
def test_cli_on_damaged_files(
    copies: dict[str, Path], case: str, data, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = copies[case]
    out = tmp_path_factory.mktemp("cli")
    with _mutated(root, _Choices(data), metadata_only=False):
        texts = [
            _run_cli(["info", str(root), "--quiet"]),
            _run_cli(["verify", str(root), "--quiet"]),
            _run_cli(["project", str(root), "--out", str(out / "p"), "--workers", "1", "--quiet"]),
            _run_cli(
                ["pointcloud", str(root), "--out", str(out / "c"), "--workers", "1", "--quiet"]
                + ["--stride", "4"]
            ),
        ]
    for text in texts:
        bad = sorted(set(_FOREIGN.findall(text)))
        assert not bad, f"{bad} in the CLI output:\n{text}"


def test_copies_load_cleanly(copies: dict[str, Path]) -> None:
    """Undamaged, every copy loads and reads: a failure in the fuzz tests is the mutation's."""
    for case, root in copies.items():
        ds = camgeom.load(root)
        assert len(ds) >= 1, case
        for frame in ds:
            assert frame.frame_id
