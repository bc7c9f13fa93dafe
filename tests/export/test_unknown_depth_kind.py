"""A depth map of unknown kind (Synthesis AI depth in ``N.exr`` only) is never exported as z."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.export import export_colmap, export_nerfstudio
from camgeom.export._job_base import UNKNOWN_DEPTH_KIND
from camgeom.jobs.pointcloud import pointclouds_from_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")
    root = tmp_path_factory.mktemp("exr_depth") / "sai"
    shutil.copytree(demo.synthesisai, root)
    rng = camgeom.read_depth(root / "0.depth.tif", background="keep").astype(np.float32)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {"Z": rng}).write(str(root / "0.exr"))
    (root / "0.depth.tif").unlink()
    frame = camgeom.load(root)["0"]
    assert frame.depth_path == root / "0.exr" and frame.depth_kind is None
    return root


def test_nerfstudio_leaves_the_depth_out_with_a_warning(data: Path, tmp_path: Path) -> None:
    s = export_nerfstudio(camgeom.load(data), tmp_path, ply=True, workers=1, progress=False)
    assert s.failed == 0
    assert [w.frame_id for w in s.warnings if w.message == UNKNOWN_DEPTH_KIND] == ["0"]
    names = {p.name for p in tmp_path.rglob("*.depth32.tif")}
    assert names and not any(n.startswith("0.") for n in names)


def test_colmap_fused_points_leave_the_depth_out_with_a_warning(data: Path, tmp_path: Path):
    s = export_colmap(camgeom.load(data), tmp_path, points="fused", workers=1, progress=False)
    assert s.failed == 0
    assert [w.frame_id for w in s.warnings if w.message == UNKNOWN_DEPTH_KIND] == ["0"]


def test_pointcloud_says_why_it_cannot_back_project(data: Path, tmp_path: Path) -> None:
    s = pointclouds_from_dataset(camgeom.load(data), tmp_path, workers=1, progress=False).frames
    (failure,) = s.failures
    assert failure.frame_id == "0" and "unknown kind" in failure.message
    assert "no camera" not in failure.message
