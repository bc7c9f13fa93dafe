"""FaceSynthetics reader, on files written here (no public sample is stored)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from camgeom.datasets import load
from camgeom.datasets.facesynthetics import SEGMENTATION_CLASSES, read_frame, read_ldmks
from camgeom.errors import FormatError


def _sample(
    folder: Path, sid: str = "000042", *, rows: int = 70, images: bool = True
) -> np.ndarray:
    rng = np.random.default_rng(int(sid))
    pts = rng.uniform(0, 512, size=(rows, 2)).round(3)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sid}_ldmks.txt").write_text("".join(f"{x} {y}\n" for x, y in pts))
    if images:
        Image.new("RGB", (512, 512), (1, 2, 3)).save(folder / f"{sid}.png")
        seg = np.zeros((512, 512), dtype=np.uint8)
        seg[100:200, 100:200] = SEGMENTATION_CLASSES["nose"]
        Image.fromarray(seg).save(folder / f"{sid}_seg.png")
    return pts


def test_frame_without_camera_or_3d(tmp_path: Path) -> None:
    pts = _sample(tmp_path)
    frame = read_frame(tmp_path / "000042_ldmks.txt")
    assert frame.vendor == "facesynthetics" and frame.camera is None
    assert (frame.width, frame.height) == (512, 512)
    ibug, pupils = frame.landmarks["ibug68"], frame.landmarks["pupils"]
    assert ibug.world is None and pupils.world is None
    np.testing.assert_array_equal(ibug.pixels, pts[:68])  # x = column: already (u, v)
    np.testing.assert_array_equal(pupils.pixels, pts[68:])
    assert ibug.names[0] == "1" and pupils.names == ("69", "70")
    assert ibug.pixels_decimals == 3
    assert frame.notes and "pixel" in frame.notes[0]
    assert frame.depth_path is None and frame.depth_kind is None
    seg = frame.read_segmentation()
    assert seg[150, 150] == frame.segmentation_mapping["nose"] == 2
    assert frame.read_image()[0, 0].tolist() == [1, 2, 3]
    with pytest.raises(FormatError, match="has no depth file"):
        frame.read_depth()


def test_load_folder_png_and_ldmks(tmp_path: Path) -> None:
    _sample(tmp_path, "7")
    _sample(tmp_path, "10")
    _sample(tmp_path, "3", images=False)
    ds = load(tmp_path)
    assert ds.frame_ids == ("3", "7", "10")
    assert ds.vendors == ("facesynthetics",)
    assert len(ds.scenes()) == 3
    assert load(tmp_path / "10.png")[0].frame_id == "10"
    assert load(tmp_path / "10_seg.png")[0].frame_id == "10"
    assert load(tmp_path / "3_ldmks.txt")[0].image_path is None


@pytest.mark.parametrize("rows", [68, 69, 71])
def test_wrong_row_count(tmp_path: Path, rows: int) -> None:
    _sample(tmp_path, rows=rows, images=False)
    with pytest.raises(
        FormatError, match=rf"000042_ldmks\.txt: expected 70 rows 'x y' .* got {rows}"
    ):
        read_ldmks(tmp_path / "000042_ldmks.txt")


def test_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "1_ldmks.txt"
    path.write_text("1 2\n" * 10 + "1 2 3\n" + "1 2\n" * 59)
    with pytest.raises(FormatError, match=r"line 11 must hold two numbers 'x y', got 3 fields"):
        read_ldmks(path)
    path.write_text("1 2\n" * 69 + "1 nan\n")
    with pytest.raises(FormatError, match="finite"):
        read_ldmks(path)
    path.write_text("1 2\n" * 69 + "1 x\n")
    with pytest.raises(FormatError, match="numbers"):
        read_ldmks(path)


def test_structured_fields_and_segment_mask(tmp_path: Path) -> None:
    _sample(tmp_path)
    frame = read_frame(tmp_path / "000042_ldmks.txt")
    meta = frame.metadata
    assert meta.pixel_convention == "camgeom" and meta.axis_convention is None
    assert meta.pose_kind is None and meta.stored_cam_from_world is None
    assert (meta.width, meta.height) == (512, 512)
    nose = frame.segment_mask("nose")
    assert nose.shape == (512, 512) and nose.sum() == 100 * 100 and nose[150, 150]
    assert frame.segment_mask(["nose", "background"]).all()
    assert not frame.segment_mask(["hair"]).any()
