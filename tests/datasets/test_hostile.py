"""Hostile and damaged metadata and paths: each is a CamgeomError of one frame, naming file and key.

Every test here is a reproducer that raised a plain exception, allocated without
bound, looped or read outside the dataset before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import camgeom
from camgeom.datasets._common import MAX_IMAGE_SIDE
from camgeom.datasets._json import parse_json_bytes
from camgeom.errors import FormatError, MissingKeyError


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.fixture
def faces(fixtures: Path, tmp_path: Path) -> Path:
    """A private copy of one Datagen Faces datapoint; returns its camera folder."""
    shutil.copytree(fixtures / "datagen/faces_nn/datapoint_00016", tmp_path / "datapoint_00016")
    return tmp_path / "datapoint_00016" / "camera"


@pytest.fixture
def sai(fixtures: Path, tmp_path: Path) -> Path:
    """A private copy of Synthesis AI v1.2 render 0 and its metadata.jsonl; returns the folder."""
    for name in ("0.info.json", "0.rgb.png", "0.depth.tif", "metadata.jsonl"):
        shutil.copyfile(fixtures / "synthesisai/v1_2_faces" / name, tmp_path / name)
    return tmp_path


# ------------------------------------------------------------------ JSON
def test_deeply_nested_json_is_a_format_error() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(FormatError, match=r"x\.json: .*nested more than"):
        parse_json_bytes(data, "x.json")


@pytest.mark.parametrize(
    "name", ["key_points/face_standard_key_points.json", "../semantic_segmentation_metadata.json"]
)
def test_deep_but_parseable_json_is_refused_before_readers_recurse(faces: Path, name: str) -> None:
    depth = 1010  # parses (orjson allows 1024 levels), then the readers' recursion overflowed
    text = '{"face": {"standard": ' + '{"a": ' * depth + "1" + "}" * depth + "}}"
    (faces / name).write_text(text)
    with pytest.raises(FormatError, match=r"nested more than \d+ levels deep"):
        camgeom.load(faces)[0]
    assert parse_json_bytes(b'{"a": "' + b"[" * 500 + b'"}', "x") == {"a": "[" * 500}


def test_huge_numbers_read_as_inf_and_are_refused_by_key(faces: Path) -> None:
    assert parse_json_bytes(b'{"a": 1e400, "b": ' + b"1" + b"0" * 400 + b"}", "x") == {
        "a": float("inf"),
        "b": float("inf"),
    }
    meta = faces / "camera_metadata.json"
    text = meta.read_text()
    doc = json.loads(text)
    doc["intrinsic_matrix"][0][0] = "HUGE"
    meta.write_text(json.dumps(doc).replace('"HUGE"', "1" + "0" * 400))
    with pytest.raises(
        FormatError, match=r"camera_metadata\.json: intrinsic_matrix holds non-finite"
    ):
        camgeom.load(faces)[0]


# ------------------------------------------------------------------ Datagen
def test_datagen_non_numeric_keypoint_names_the_key(faces: Path) -> None:
    path = faces / "key_points" / "face_standard_key_points.json"
    _edit(path, lambda d: d["face"]["standard"]["01"]["global_3d"].update(x="abc"))
    with pytest.raises(
        FormatError,
        match=r"face_standard_key_points\.json: expected numbers at "
        r"face\.standard\.01\.global_3d",
    ):
        camgeom.load(faces)[0]


def test_datagen_keypoint_pixel_holding_a_list_names_the_key(faces: Path) -> None:
    path = faces / "key_points" / "face_standard_key_points.json"
    _edit(path, lambda d: d["face"]["standard"]["02"]["pixel_2d"].update(y=[1, 2]))
    with pytest.raises(FormatError, match=r"face\.standard\.02\.pixel_2d"):
        camgeom.load(faces)[0]


def test_datagen_non_ascii_digit_key_is_a_name(faces: Path) -> None:
    path = faces / "key_points" / "face_standard_key_points.json"
    _edit(path, lambda d: d["face"]["standard"].update({"\u00b2": d["face"]["standard"]["01"]}))
    ibug = camgeom.load(faces)[0].landmarks["ibug68"]
    assert "\u00b2" in ibug.names and len(ibug) == 69


def test_datagen_actor_eye_pixels_of_wrong_type_are_dropped(faces: Path) -> None:
    shutil.rmtree(faces / "key_points")  # eyes then come from the actor metadata
    actor = faces.parent / "actor_metadata.json"
    _edit(actor, lambda d: d["pupil_circle"]["2d"].update(camera=5))
    eyes = camgeom.load(faces)[0].landmarks["eyes"]
    assert eyes.world is not None and eyes.pixels is None


def test_datagen_request_datapoints_not_a_list_is_ignored(faces: Path) -> None:
    _edit(faces.parent / "datapoint_request.json", lambda d: d.update(datapoints=5))
    frame = camgeom.load(faces)[0]
    assert frame.metadata.euler is None


def test_datagen_request_yaw_not_a_number_names_file_and_key(faces: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["datapoints"][0]["camera"]["extrinsic_params"]["rotation"]["yaw"] = "x"

    _edit(faces.parent / "datapoint_request.json", change)
    with pytest.raises(
        FormatError, match=r"datapoint_request\.json: expected a number at .*rotation\.yaw"
    ):
        camgeom.load(faces)[0]


def test_datagen_resolution_is_bounded_by_the_image_header(faces: Path) -> None:
    _edit(faces / "camera_metadata.json", lambda d: d["resolution_px"].update(x=8000, y=8000))
    with pytest.raises(FormatError, match=r"resolution_px 8000x8000 differs from the image"):
        camgeom.load(faces)[0]


def test_datagen_resolution_without_image_is_capped(faces: Path) -> None:
    _edit(faces / "camera_metadata.json", lambda d: d["resolution_px"].update(x=40000, y=40000))
    (faces / "visible_spectrum_01.png").unlink()
    start = time.perf_counter()
    with pytest.raises(FormatError, match=rf"40000x40000 .* outside 1\.\.{MAX_IMAGE_SIDE}"):
        camgeom.load(faces)[0]
    assert time.perf_counter() - start < 5


def test_datagen_lights_metadata_is_accepted(faces: Path) -> None:
    lights = faces.parent / "lights_metadata.json"
    lights.write_text(json.dumps({"version": "1.0.0", "lights": []}))
    ds = camgeom.load(lights)
    assert len(ds) == 1 and ds.vendors == ("datagen",)


def test_relative_path_loads(faces: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(faces.parent.parent)
    ds = camgeom.load("datapoint_00016/camera")
    assert ds.frame_ids == ("datapoint_00016/camera",)
    assert ds[0].camera is not None


def test_relative_hic_camera_folder_loads(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = fixtures / "datagen/hic_in_cabin/scene_00001/frames/001"
    shutil.copytree(src, tmp_path / "frames/001")
    monkeypatch.chdir(tmp_path)
    ds = camgeom.load("frames/001/media_dashboard_camera")
    assert len(ds) == 1 and ds[0].camera is not None


# ------------------------------------------------------------------ Synthesis AI
def test_synthesisai_infinite_jsonl_resolution_falls_back_to_the_image(sai: Path) -> None:
    lines = (sai / "metadata.jsonl").read_text().splitlines()
    doc = json.loads(lines[0])
    doc["render"]["resolution"]["w"] = "INF"
    lines[0] = json.dumps(doc).replace('"INF"', "Infinity")
    (sai / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    frame = camgeom.load(sai / "0.info.json")[0]
    assert (frame.width, frame.height) == (512, 512)


def test_synthesisai_rigs_of_wrong_type_are_ignored(sai: Path) -> None:
    lines = (sai / "metadata.jsonl").read_text().splitlines()
    doc = json.loads(lines[0])
    doc["scene"]["camera_and_light_rigs"] = [1, {"cameras": [2, None]}]
    lines[0] = json.dumps(doc)
    (sai / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    assert camgeom.load(sai / "0.info.json")[0].camera is not None


@pytest.mark.parametrize("ptnum", [300_000_000, 2**70, 1e300])
def test_synthesisai_ptnum_bomb_fails_fast(sai: Path, ptnum: float) -> None:
    info = sai / "0.info.json"
    _edit(info, lambda d: d["landmarks"][3].update(ptnum=ptnum))
    start = time.perf_counter()
    with pytest.raises(
        FormatError, match=r"0\.info\.json: landmarks ptnum .* beyond what 68 listed"
    ):
        camgeom.load(info)[0]
    assert time.perf_counter() - start < 5


def test_synthesisai_containers_layout_is_named(sai: Path) -> None:
    _edit(sai / "0.info.json", lambda d: d["camera"].pop("intrinsics"))
    with pytest.raises(
        MissingKeyError,
        match=r"missing key camera\.intrinsics\. Layout detected: "
        r"Synthesis AI 'containers'",
    ):
        camgeom.load(sai / "0.info.json")[0]


# ------------------------------------------------------------------ paths
def _geogen(folder: Path, image: str) -> Path:
    from camgeom.poses import cam_from_world_look_at

    folder.mkdir(parents=True)
    pose = cam_from_world_look_at([0.0, -1.0, 0.1], target=[0.0, 0.0, 0.0], up=[0, 0, 1])
    cam = {
        "image": image,
        "resolution": [8, 8],
        "focal_length_mm": 50.0,
        "sensor_width_mm": 36.0,
        "cam_from_world": pose.tolist(),
    }
    (folder / "metadata.json").write_text(json.dumps({"name": "s", "cameras": [cam]}))
    return folder / "metadata.json"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    (tmp_path / "secret").mkdir()
    path = tmp_path / "secret" / "secret.png"
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("kind", ["relative", "absolute", "symlink"])
def test_geogen_image_outside_the_root_is_refused(tmp_path: Path, secret: Path, kind: str) -> None:
    folder = tmp_path / "data" / "subj"
    if kind == "relative":
        meta = _geogen(folder, "../../secret/secret.png")
    elif kind == "absolute":
        meta = _geogen(folder, str(secret))
    else:
        meta = _geogen(folder, "0.png")
        os.symlink(secret, folder / "0.png")
    ds = camgeom.load(tmp_path / "data")
    with pytest.raises(FormatError, match=r"cameras\[0\]\.image names .* outside the dataset root"):
        ds[0]
    frame = camgeom.load(meta.parent.parent, allow_outside_root=True)[0]
    assert frame.read_image()[0, 0].tolist() == [7, 7, 7]


def test_geogen_image_inside_the_root_is_read(tmp_path: Path) -> None:
    meta = _geogen(tmp_path / "subj", "views/0.png")
    (meta.parent / "views").mkdir()
    Image.fromarray(np.full((8, 8, 3), 9, np.uint8)).save(meta.parent / "views" / "0.png")
    assert camgeom.load(meta)[0].read_image()[0, 0].tolist() == [9, 9, 9]


def test_symlink_loops_walk_each_folder_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "7_ldmks.txt").write_text("1 2\n" * 70)
    for i in range(8):
        os.symlink(".", data / f"loop{i}")
    start = time.perf_counter()
    ds = camgeom.load(data)
    assert len(ds) == 1
    assert time.perf_counter() - start < 2


# ------------------------------------------------------------------ segmentation mappings
def test_datagen_segmentation_colour_of_wrong_type_names_the_key(faces: Path) -> None:
    path = faces.parent / "semantic_segmentation_metadata.json"
    doc = json.loads(path.read_text())
    key = next(k for k in doc if k != "version")
    first = doc[key]
    while isinstance(first, dict) and not {"R", "G", "B"} <= set(first):
        first = next(v for k, v in first.items() if k != "version")
    first["G"] = ["x", 2]
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match=r"semantic_segmentation_metadata\.json: expected three "):
        camgeom.load(faces)[0]


def test_synthesisai_segment_id_of_wrong_type_names_the_key(fixtures: Path, tmp_path: Path) -> None:
    for name in ("0.info.json", "0.segments.png"):
        shutil.copyfile(fixtures / "synthesisai/v1_2_faces" / name, tmp_path / name)
    info = tmp_path / "0.info.json"
    _edit(info, lambda d: d["segments_mapping"].update(hair=[1, "a"]))
    with pytest.raises(FormatError, match=r"0\.info\.json: expected a class id .* 'hair'"):
        camgeom.load(info)[0]
