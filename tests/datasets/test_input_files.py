"""FrameSource.input_files: every file a frame is read from, so that reruns see every change.

The reference is what the readers really open: a Python audit hook records each
file opened while a frame is read and its pixel files are decoded, and every
one of them (and every path the frame names) must be among the source's input
files. Then the jobs: changing a side file (a depth map, a keypoint file, a
datapoint's JSON) redoes exactly that frame.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import camgeom
from camgeom.datasets import Dataset
from camgeom.demo import make_demo_dataset
from camgeom.jobs.pointcloud import pointclouds_from_dataset
from camgeom.jobs.project import project_dataset, source_inputs
from camgeom.jobs.verify import run_verify

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(os.path.abspath(os.fsdecode(args[0])))


sys.addaudithook(_audit)  # hooks cannot be removed: it records only inside _opened()


class _opened:
    """Records the files opened (by Python code) inside the ``with`` block."""

    def __enter__(self) -> list[str]:
        global _OPENED
        _OPENED = []
        return _OPENED

    def __exit__(self, *exc: object) -> None:
        global _OPENED
        _OPENED = None


def _read_everything(frame: camgeom.Frame) -> None:
    """Decode every pixel file the frame names (errors are the frame's, not this test's)."""
    for read in (frame.read_depth, frame.read_image, frame.read_normals, frame.read_segmentation):
        try:
            read()
        except (camgeom.CamgeomError, OSError):
            pass


def _frame_paths(frame: camgeom.Frame) -> list[Path]:
    fields = ("image_path", "depth_path", "normals_path", "segmentation_path", "alpha_path")
    return [p for p in (getattr(frame, f) for f in fields) if p is not None]


def _check_dataset(ds: Dataset, root: Path) -> int:
    """Every file opened under ``root`` while reading each frame is an input file."""
    root_text = os.path.join(os.path.abspath(root), "")
    checked = 0
    for source in ds.sources:
        inputs = {os.path.abspath(p) for p in source.input_files()}
        assert inputs, source
        with _opened() as opened:
            try:
                frame = source.read()
            except camgeom.CamgeomError:
                frame = None  # a damaged sample: what it opened is still checked
            if frame is not None:
                _read_everything(frame)
        if frame is None:
            missing = sorted({p for p in opened if p.startswith(root_text)} - inputs)
            assert not missing, f"{source.frame_id}: read but not fingerprinted: {missing}"
            continue
        missing = sorted({p for p in opened if p.startswith(root_text)} - inputs)
        assert not missing, f"{source.frame_id}: read but not fingerprinted: {missing}"
        named = {os.path.abspath(p) for p in _frame_paths(frame) if p.is_file()}
        assert named <= inputs, f"{source.frame_id}: {sorted(named - inputs)}"
        checked += 1
    return checked


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    return make_demo_dataset(tmp_path_factory.mktemp("inputs") / "demo")


def test_vendor_samples_open_only_their_input_files(fixtures: Path) -> None:
    for vendor in ("synthesisai", "datagen"):
        root = fixtures / vendor
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "exr"):
            ds = camgeom.load(folder)
            assert _check_dataset(ds, folder) >= 1, folder


def test_demo_layouts_open_only_their_input_files(demo) -> None:
    for folder in (demo.synthesisai, demo.datagen):
        assert _check_dataset(camgeom.load(folder), folder) == len(camgeom.load(folder))


def test_exported_layouts_open_only_their_input_files(demo, tmp_path: Path) -> None:
    from camgeom.export import export_colmap, export_nerfstudio

    ds = camgeom.load(demo.datagen)
    export_colmap(ds, tmp_path / "colmap", progress=False)
    export_nerfstudio(ds, tmp_path / "nerf", progress=False)
    for folder in (tmp_path / "colmap", tmp_path / "nerf"):
        exported = camgeom.load(folder)
        assert _check_dataset(exported, folder) == len(exported) > 0


def test_facesynthetics_and_geogen_open_only_their_input_files(tmp_path: Path) -> None:
    fs = tmp_path / "fs"
    fs.mkdir()
    pts = np.random.default_rng(0).uniform(0, 64, size=(70, 2)).round(3)
    (fs / "000001_ldmks.txt").write_text("".join(f"{x} {y}\n" for x, y in pts))
    Image.new("RGB", (64, 64)).save(fs / "000001.png")
    Image.new("L", (64, 64)).save(fs / "000001_seg.png")
    assert _check_dataset(camgeom.load(fs), fs) == 1
    assert source_inputs(camgeom.load(fs).sources[0]) == [
        str(fs / "000001.png"),
        str(fs / "000001_ldmks.txt"),
        str(fs / "000001_seg.png"),
    ]

    gg = tmp_path / "gg"
    gg.mkdir()
    pose = np.eye(4)
    pose[2, 3] = 2.0
    cam = {"resolution": [64, 64], "focal_length_mm": 50.0, "sensor_width_mm": 36.0}
    doc = {
        "name": "subject",
        "convention": "opencv",
        "cameras": [
            {**cam, "cam_from_world": pose.tolist(), "image": "a.png"},
            {**cam, "cam_from_world": pose.tolist(), "name": "b"},
        ],
    }
    (gg / "metadata.json").write_text(json.dumps(doc))
    Image.new("RGB", (64, 64)).save(gg / "a.png")
    Image.new("RGB", (64, 64)).save(gg / "b.png")
    ds = camgeom.load(gg)
    assert _check_dataset(ds, gg) == 2
    assert [source_inputs(s) for s in ds.sources] == [
        [str(gg / "a.png"), str(gg / "metadata.json")],
        [str(gg / "b.png"), str(gg / "metadata.json"), str(gg / "subject" / "b.png")],
    ]


def test_input_files_are_sorted_unique_and_skip_hidden_files(demo, tmp_path: Path) -> None:
    data = tmp_path / "dg"
    shutil.copytree(demo.datagen, data)
    camera = next(data.rglob("camera_metadata.json")).parent
    (camera / ".DS_Store").write_bytes(b"x")
    (camera / "key_points" / ".hidden.json").write_text("{}")
    (source,) = [s for s in camgeom.load(data).sources if Path(s.path) == camera]
    files = source.input_files()
    assert files == sorted(set(files))
    assert not [f for f in files if os.path.basename(f).startswith(".")]
    keypoints = sorted(str(p) for p in (camera / "key_points").glob("[!.]*.json"))
    assert keypoints and set(keypoints) <= set(files)


# ------------------------------------------------------------------ the jobs


def _touch_later(path: Path) -> None:
    """Move the file's modification time on (a rewrite within the clock's resolution)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _frame_files(data: Path, pattern: str) -> Iterator[Path]:
    return iter(sorted(data.rglob(pattern)))


def test_project_redoes_the_frame_whose_keypoint_file_changed(demo, tmp_path: Path) -> None:
    data = _copy(demo.datagen, tmp_path / "data")
    out = tmp_path / "out"
    ds = camgeom.load(data)
    assert project_dataset(ds, out, workers=1, progress=False).done == len(ds)
    kp = next(_frame_files(data, "key_points/*.json"))
    doc = json.loads(kp.read_text())
    kp.write_text(json.dumps(doc, indent=1))  # same values, new bytes
    _touch_later(kp)
    again = project_dataset(camgeom.load(data), out, workers=1, progress=False)
    assert (again.done, again.kept) == (1, len(ds) - 1)


@pytest.mark.parametrize(
    "name", ["actor_metadata.json", "datapoint_request.json", "semantic_segmentation_metadata.json"]
)
def test_project_redoes_the_frame_whose_datapoint_json_changed(
    fixtures: Path, tmp_path: Path, name: str
) -> None:
    data = tmp_path / "data"
    for dp in ("datapoint_00016", "datapoint_00019"):
        shutil.copytree(fixtures / "datagen" / "faces_nn" / dp, data / dp)
    out = tmp_path / "out"
    ds = camgeom.load(data)
    assert project_dataset(ds, out, workers=1, progress=False).done == 2
    _touch_later(data / "datapoint_00019" / name)
    again = project_dataset(camgeom.load(data), out, workers=1, progress=False)
    assert (again.done, again.kept) == (1, 1)


def test_pointcloud_redoes_the_frame_whose_depth_map_changed(demo, tmp_path: Path) -> None:
    data = _copy(demo.synthesisai, tmp_path / "data")
    out = tmp_path / "out"
    ds = camgeom.load(data)
    first = pointclouds_from_dataset(ds, out, workers=1, progress=False).frames
    assert first.done == len(ds)
    depth_file = next(_frame_files(data, "*.depth.tif"))
    depth = tifffile.imread(depth_file)
    tifffile.imwrite(depth_file, depth * 2)
    _touch_later(depth_file)
    again = pointclouds_from_dataset(camgeom.load(data), out, workers=1, progress=False).frames
    assert (again.done, again.kept) == (1, len(ds) - 1)
    stem = depth_file.name.split(".")[0]
    redone = [f for f in out.rglob("*.points.ply") if f.name.split(".")[0] == stem]
    assert redone
    # a depth map that appears later (a frame rendered without one) redoes its frame too
    extra = next(p for p in _frame_files(data, "*.info.json"))
    sibling = extra.with_name(extra.name.replace(".info.json", ".normals.tif"))
    existed = sibling.exists()
    if existed:
        sibling.unlink()
    third = pointclouds_from_dataset(camgeom.load(data), out, workers=1, progress=False).frames
    assert third.done == (1 if existed else 0)


def test_verify_with_out_rechecks_the_frame_whose_depth_map_was_damaged(
    demo, tmp_path: Path
) -> None:
    data = _copy(demo.synthesisai, tmp_path / "data")
    out = tmp_path / "out"
    n = len(camgeom.load(data))
    with run_verify(camgeom.load(data), out, workers=1, progress=False) as run:
        assert run.passed and run.summary.done == n
    depth_file = next(_frame_files(data, "*.depth.tif"))
    with open(depth_file, "r+b") as fh:
        fh.truncate(1000)
    with run_verify(camgeom.load(data), out, workers=1, progress=False) as run:
        assert (run.summary.done, run.summary.kept) == (1, n - 1)
        assert not run.passed
