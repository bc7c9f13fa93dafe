"""Synthesis AI reading internals: the fast landmark table and nesting checked where it matters."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from camgeom.conventions import convert_pixels, convert_points
from camgeom.datasets._common import stored_pose
from camgeom.datasets._json import MAX_NESTING, check_depth, parse_json_bytes
from camgeom.datasets.synthesisai import read_frame
from camgeom.datasets.synthesisai.landmarks import (
    _column_factors,
    _fast_table,
    _members,
    _specs,
    _table,
)
from camgeom.errors import FormatError

SAI = "synthesisai"
DEEP = 1010  # orjson parses it (1,024 levels at most); recursing into it overflows Python's stack


def _deep(leaf: str = "1") -> str:
    """A marker that :func:`_edit` writes as ``leaf`` nested in DEEP lists (json.dumps cannot)."""
    return f"@deep:{leaf}@"


def _info_files(fixtures: Path) -> list[Path]:
    return sorted((fixtures / SAI).glob("*/*.info.json"))


# ------------------------------------------------------------------ the landmark table
def test_fast_table_equals_the_checked_path_on_every_fixture(fixtures: Path) -> None:
    files = _info_files(fixtures)
    with_points = 0
    for path in files:
        info = json.loads(path.read_text())
        members = _members(_specs(info, path, []), path)
        if not members:
            continue
        fast = _fast_table(members)
        assert fast is not None, path
        checked = np.concatenate([_table(m, sig, path) for m, sig in members])
        np.testing.assert_array_equal(fast, checked, err_msg=str(path))
        with_points += 1
    assert with_points >= 5, files  # v1, v1.1, v1.2, v1.5 renders


@pytest.mark.parametrize(
    "value",
    [["0.5", "0.5"], [0.5], [0.5, 0.5, 0.5], [[0.5], 0.5], {"x": 0.5, "y": 0.5}, None, "ab"],
)
def test_fast_table_leaves_every_odd_value_to_the_checked_path(fixtures: Path, value: Any) -> None:
    path = fixtures / SAI / "v1_5_docs/24.info.json"
    info = json.loads(path.read_text())
    info["landmarks"]["kinect_v2"][3]["screen_space_pos"] = value
    members = _members(_specs(info, path, []), path)
    assert _fast_table(members) is None


def test_column_factors_are_the_pixel_and_axis_conventions() -> None:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 8))
    got = table * _column_factors(640, 480)
    np.testing.assert_array_equal(
        got[:, :2], convert_pixels(table[:, :2], "screen_space", "camgeom", width=640, height=480)
    )
    np.testing.assert_array_equal(got[:, 2:5], table[:, 2:5])
    np.testing.assert_array_equal(got[:, 5:8], convert_points(table[:, 5:8], "opengl", "opencv"))


# ------------------------------------------------------------------ nesting
@pytest.fixture
def v15(fixtures: Path, tmp_path: Path) -> Path:
    """A private copy of the v1.5 render 24 whose metadata.jsonl line names render 24."""
    for name in ("24.info.json", "24.rgb.png", "24.segments.png"):
        shutil.copyfile(fixtures / SAI / "v1_5_docs" / name, tmp_path / name)
    line = (fixtures / SAI / "v1_5_docs/metadata.jsonl").read_text()
    (tmp_path / "metadata.jsonl").write_text(line.replace('"render_id":0,', '"render_id":24,'))
    return tmp_path / "24.info.json"


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    text = json.dumps(doc)
    for leaf in ("1", '"x"'):
        marker = json.dumps(_deep(leaf))
        text = text.replace(marker, "[" * DEEP + leaf + "]" * DEEP)
    path.write_text(text)


def _set(keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = keys.split(".")
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return change


@pytest.mark.parametrize(
    ("keys", "where"),
    [
        ("version", "version"),
        ("identity_metadata.id", "identity_metadata.id"),  # compared with metadata.jsonl
        ("render.zmin", "render.zmin"),
        ("segments_mapping.default", "segments_mapping"),
    ],
)
def test_deep_values_the_reader_prints_are_refused_naming_the_key(
    v15: Path, keys: str, where: str
) -> None:
    _edit(v15, _set(keys, _deep()))
    with pytest.raises(FormatError, match=rf"24\.info\.json: .*{where}"):
        read_frame(v15)


def test_deeply_nested_landmark_groups_are_refused(v15: Path) -> None:
    _edit(v15, _set("landmarks", _deep()))
    text = v15.read_text().replace(
        "[" * DEEP + "1" + "]" * DEEP, '{"g": ' * DEEP + "[]" + "}" * DEEP
    )
    v15.write_text(text)
    with pytest.raises(
        FormatError, match=rf"nested more than {MAX_NESTING} levels deep at landmarks"
    ):
        read_frame(v15)


def test_a_deep_camera_matrix_is_a_format_error(v15: Path) -> None:
    _edit(v15, _set("camera.intrinsics", _deep()))
    with pytest.raises(FormatError, match=r"24\.info\.json: expected .*camera\.intrinsics"):
        read_frame(v15)


def test_a_deep_point_name_fails_its_group(v15: Path) -> None:
    _edit(v15, lambda d: d["landmarks"]["kinect_v2"][0].update(name=_deep('"x"')))
    frame = read_frame(v15)
    with pytest.raises(FormatError, match=r"landmarks\.kinect_v2\[0\]\.name"):
        frame.landmarks["kinect_v2"]
    assert len(frame.landmarks["mpeg4"]) == 54


def test_a_deep_value_the_reader_never_reads_is_kept_as_stored(v15: Path) -> None:
    _edit(v15, _set("gesture.extra", _deep()))
    frame = read_frame(v15)
    assert [len(frame.landmarks[k]) for k in ("ibug68", "coco_whole_body")] == [68, 133]
    node = frame.raw["info"]["gesture"]["extra"]
    for _ in range(DEEP - 1):
        node = node[0]
    assert node == [1]
    assert "Frame(synthesisai 1.5" in repr(frame)


def test_unchecked_parse_still_refuses_deep_files_json_loads_would_recurse_into() -> None:
    deep = b"[" * 300 + b"]" * 300
    assert parse_json_bytes(b'{"a": ' + deep + b"}", "x", check_nesting=False)["a"] == json.loads(
        deep
    )
    with pytest.raises(FormatError, match=r"x: .*nested more than"):
        parse_json_bytes(b'{"a": NaN, "b": ' + deep + b"}", "x", check_nesting=False)
    with pytest.raises(FormatError, match=r"x: .*nested more than"):
        parse_json_bytes(b'{"a": ' + deep + b"}", "x")


def test_check_depth_counts_like_the_file_scan() -> None:
    value: Any = []
    for _ in range(MAX_NESTING - 1):
        value = {"a": value}
    check_depth(value, "v", "x")  # MAX_NESTING levels: accepted, as by parse_json_bytes
    parse_json_bytes(json.dumps(value).encode(), "x")
    with pytest.raises(FormatError, match=r"x: JSON nested more than 128 levels deep at v"):
        check_depth([value], "v", "x")
    with pytest.raises(FormatError, match=r"nested more than"):
        parse_json_bytes(json.dumps([value]).encode(), "x")


@pytest.mark.parametrize("convention", ["opengl", "opencv", "blender", "RUB", "LUF"])
@pytest.mark.parametrize("kind", ["cam_from_world", "world_from_cam"])
def test_stored_pose_relabels_axes_as_convert_points_does(convention: str, kind: str) -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(4, 4))  # not rigid: stored poses are kept as stored
    expected = matrix.copy()
    if convention != "opencv" and kind == "cam_from_world":
        expected[:3] = convert_points(matrix[:3].T, convention, "opencv").T
    elif convention != "opencv":
        expected[:3, :3] = convert_points(matrix[:3, :3], convention, "opencv")
    np.testing.assert_array_equal(stored_pose(matrix, convention, kind=kind), expected)


@pytest.mark.parametrize("value", [-1, 2**32, True, 1.0, "3", None])
def test_segments_mapping_refuses_any_value_that_is_not_a_class_id(v15: Path, value: Any) -> None:
    _edit(v15, _set("segments_mapping.default", value))
    with pytest.raises(FormatError, match=r"expected a class id .* 'default'"):
        read_frame(v15)


def test_segments_mapping_of_class_ids_is_kept(v15: Path) -> None:
    _edit(v15, lambda d: d["segments_mapping"].update(default=0, top=2**32 - 1))
    mapping = read_frame(v15).segmentation_mapping
    assert (mapping["default"], mapping["top"]) == (0, 2**32 - 1)


_ODD_VALUES = [
    0,
    1,
    1.0,
    True,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    2**70,
    "0.5",
    None,
    [],
    [0.5],
    [1, 2, 3, 4],
    [[1, 2], 3],
    {"a": 1},
]


@pytest.mark.parametrize(
    "key", ["screen_space_pos", "world_space_pos", "camera_space_pos", "id", "in_frustum"]
)
@pytest.mark.parametrize("value", _ODD_VALUES, ids=repr)
def test_fast_table_agrees_with_the_checked_path_or_defers_to_it(
    fixtures: Path, key: str, value: Any
) -> None:
    path = fixtures / SAI / "v1_5_docs/24.info.json"
    info = json.loads(path.read_text())
    info["landmarks"]["mpeg4"][7][key] = value
    members = _members(_specs(info, path, []), path)
    fast = _fast_table(members)
    try:
        checked = np.concatenate([_table(m, sig, path) for m, sig in members])
    except FormatError:
        assert fast is None  # the read then fails with the checked path's error
        return
    if fast is not None:  # in_frustum is kept as a flag: stored values equal to 1 are True
        np.testing.assert_array_equal(fast[:, :11], checked[:, :11])
        np.testing.assert_array_equal(fast[:, 11] == 1.0, checked[:, 11] == 1.0)
