"""camgeom.datasets.load: layout detection from files and folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from camgeom.datasets import load
from camgeom.errors import FormatError

SAI = Path("synthesisai")
DG = Path("datagen")


@pytest.mark.parametrize(
    ("rel", "vendor", "ids"),
    [
        (SAI / "v1_5_docs/24.info.json", "synthesisai", ("24",)),
        (SAI / "v1_5_docs/24.rgb.png", "synthesisai", ("24",)),
        (SAI / "v1_5_docs/24.sai_dense.obj", "synthesisai", ("24",)),
        (SAI / "v1_5_docs/0.clothing_segments.png", "synthesisai", ("0",)),
        (SAI / "v1_2_faces/metadata.jsonl", "synthesisai", ("0", "1", "2", "3", "4")),
        (SAI / "v1_2_faces", "synthesisai", ("0", "1", "2", "3", "4")),
        (SAI / "room", "synthesisai", ("0", "31")),
        (DG / "faces_nn/datapoint_00016/camera", "datagen", ("datapoint_00016/camera",)),
        (DG / "faces_nn/datapoint_00016/camera/depth.exr", "datagen", ("datapoint_00016/camera",)),
        (
            DG / "faces_nn/datapoint_00016/camera/key_points/ears_key_points.json",
            "datagen",
            ("datapoint_00016/camera",),
        ),
        (DG / "faces_nn/datapoint_00016", "datagen", ("camera",)),
        (
            DG / "faces_nn/datapoint_00016/actor_metadata.json",
            "datagen",
            ("datapoint_00016/camera",),
        ),
        (
            DG / "faces_multicam",
            "datagen",
            (
                "datapoint_00008/camera",
                "datapoint_00009/camera",
                "datapoint_00010/camera_1",
                "datapoint_00011/camera_2",
                "datapoint_00012/camera_3",
            ),
        ),
        (
            DG / "hic_home_security/scene_00001",
            "datagen",
            ("frames/001/high_doorbell_camera", "frames/002/high_doorbell_camera"),
        ),
        (
            DG / "hic_in_cabin/scene_00001/frames/002",
            "datagen",
            ("media_dashboard_camera",),
        ),
        (
            DG
            / "hic_in_cabin/scene_00001/frames/002/media_dashboard_camera/key_points/feet_key_points.json",
            "datagen",
            ("scene_00001/frames/002/media_dashboard_camera",),
        ),
        (DG / "legacy_2022", "datagen", ("environment_00001/camera", "environment_00002/camera")),
        (DG / "legacy_2022/environment_00002", "datagen", ("camera",)),
    ],
)
def test_layouts(fixtures: Path, rel: Path, vendor: str, ids: tuple[str, ...]) -> None:
    ds = load(fixtures / rel)
    assert ds.vendors == (vendor,)
    assert ds.frame_ids == ids
    assert ds[0].frame_id == ids[0]


def test_whole_datagen_folder(fixtures: Path) -> None:
    ds = load(fixtures / DG)
    assert len(ds) == 21
    assert ds.frame_ids[0] == "faces_multicam/datapoint_00008/camera"


def test_unknown_file(fixtures: Path, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(
        FormatError,
        match=r"notes\.txt: not a file of a known dataset layout\. Looked for: Synthesis AI",
    ):
        load(path)
    with pytest.raises(FormatError, match="not a file of a known dataset layout"):
        load(fixtures / SAI / "exr" / "vray_header_only.exr")


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    with pytest.raises(
        FormatError, match=r"no dataset found\. Looked for \(up to 6 folder levels down\)"
    ):
        load(tmp_path)
    with pytest.raises(FormatError, match="no such file or folder"):
        load(tmp_path / "missing")


def test_json_that_is_not_geogen(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text('{"images": []}')
    with pytest.raises(FormatError, match="not a file of a known dataset layout"):
        load(path)
    path.write_text("{")
    with pytest.raises(FormatError, match="corrupt JSON"):
        load(path)


def test_a_render_source_carries_only_its_own_names(fixtures, tmp_path):
    """Sources of a large folder stay small (pickled into worker tasks) and read as before."""
    import dataclasses
    import os
    import pickle

    from camgeom.datasets.synthesisai import read_frame

    src = fixtures / "synthesisai" / "v1_2_faces"
    for p in src.iterdir():
        os.symlink(p, tmp_path / p.name)
    for i in range(3000):  # many other renders' files in the same folder
        (tmp_path / f"x{i}.rgb.png").touch()
    (tmp_path / "0.dist.png").touch()  # a fisheye image of render 0 only
    (tmp_path / "0x.rgb.png").touch()  # another stem sharing the prefix "0"
    sources = load(tmp_path).sources
    assert [s.frame_id for s in sources] == ["0", "1", "2", "3", "4"]
    assert all(len(pickle.dumps(s)) < 4000 for s in sources)
    for source in sources:
        got = source.read()
        want = read_frame(tmp_path / f"{source.frame_id}.info.json", jsonl=None)
        for field in dataclasses.fields(got):
            if field.name in ("camera", "distorted_camera", "depth_path", "image_path"):
                assert getattr(got, field.name) == getattr(want, field.name), field.name
        assert (got.distorted_camera is not None) == (source.frame_id == "0")


def test_a_folder_that_cannot_be_read_is_skipped(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probing a camera folder one may not read raises PermissionError in Path.is_file."""
    import os
    import shutil

    data = tmp_path / "data"
    shutil.copytree(fixtures / "datagen/faces_nn/datapoint_00016", data / "datapoint_00016")
    (data / "datapoint_99999" / "camera").mkdir(parents=True)
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if "datapoint_99999" in os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    ds = load(data)
    assert ds.frame_ids == ("datapoint_00016/camera",)
    with pytest.raises(FormatError, match="cannot be read"):
        load(data / "datapoint_99999")
