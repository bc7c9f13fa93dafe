"""Frame: validation, pixel-file readers and segment masks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from camgeom.datasets import (
    BACKGROUND_DEPTH_VALUES,
    CameraMetadata,
    Frame,
    load,
    mask_background_depth,
)
from camgeom.errors import FormatError, InvalidValueError


def test_camera_metadata_arrays_read_only() -> None:
    meta = CameraMetadata(stored_K=np.eye(3).tolist(), location=[1, 2, 3])
    assert meta.stored_K.dtype == np.float64 and not meta.stored_K.flags.writeable
    assert meta.focal_length_mm is None and meta.extras == {}


def test_frame_validates_vendor_and_depth_kind() -> None:
    with pytest.raises(InvalidValueError, match="vendor"):
        Frame(camera=None, vendor="acme", version=None, frame_id="a", scene_id="a", camera_name="c")
    with pytest.raises(InvalidValueError, match="depth_kind"):
        Frame(
            camera=None,
            vendor="geogen",
            version=None,
            frame_id="a",
            scene_id="a",
            camera_name="c",
            depth_kind="planar",
        )
    frame = Frame(
        camera=None, vendor="geogen", version=None, frame_id="a", scene_id="a", camera_name="c"
    )
    with pytest.raises(FormatError, match="frame a: this geogen frame has no image file"):
        frame.read_image()


def test_mask_background_depth_values() -> None:
    raw = np.array([0.0, 0.0025, np.inf, 1e10, 65504.0, 1.25, 3.5, -np.inf], dtype=np.float32)
    out = mask_background_depth(raw)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(out), [1, 1, 1, 1, 1, 0, 0, 1])
    assert raw[0] == 0.0  # input untouched
    half = np.float32(np.float16(0.0025))  # the same background stored as half float
    assert np.isnan(mask_background_depth(np.array([half], dtype=np.float32)))[0]
    assert len(BACKGROUND_DEPTH_VALUES) == 6


@given(st.lists(st.floats(0.0009765625, 512.0, width=32), min_size=1, max_size=50))
def test_mask_background_keeps_real_depths(values: list[float]) -> None:
    arr = np.array(values, dtype=np.float32)
    keep = ~np.isin(arr, np.float32([0.0025, np.float16(0.0025)]))
    out = mask_background_depth(arr)
    np.testing.assert_array_equal(out[keep], arr[keep])
    assert np.isnan(out[~keep]).all()


# ---------------------------------------------------------------------- segment masks


def test_segment_mask_integer_ids(fixtures: Path) -> None:
    """Synthesis AI: one id per class; a name's mask is exactly its id's pixels."""
    frame = load(fixtures / "synthesisai" / "v1_5_docs" / "24.info.json")[0]
    raw = np.asarray(Image.open(frame.segmentation_path))
    hair = frame.segmentation_mapping["hair"]
    mask = frame.segment_mask("hair")
    assert mask.dtype == bool and mask.shape == raw.shape == (1024, 1024)
    np.testing.assert_array_equal(mask, raw == hair)
    assert 1000 < mask.sum() < raw.size // 2
    both = frame.segment_mask(["hair", "background"])
    np.testing.assert_array_equal(both, (raw == hair) | (raw == 0))


def test_segment_mask_colours_and_name_parts(fixtures: Path) -> None:
    """Datagen: RGB colours; "hair" selects human.head.hair, "eye" every eye part."""
    frame = load(fixtures / "datagen" / "faces_nn" / "datapoint_00016")[0]
    rgb = np.asarray(Image.open(frame.segmentation_path).convert("RGB")).astype(int)
    mapping = frame.segmentation_mapping

    def pixels_of(name: str) -> np.ndarray:
        return np.all(rgb == np.array(mapping[name]), axis=-1)

    np.testing.assert_array_equal(frame.segment_mask(["hair"]), pixels_of("human.head.hair"))
    eye_parts = [k for k in mapping if ".eye." in k]
    assert len(eye_parts) == 6
    expected = np.any([pixels_of(k) for k in eye_parts], axis=0)
    np.testing.assert_array_equal(frame.segment_mask(["eye"]), expected)
    assert frame.segment_mask(["human.head.hair"]).sum() == pixels_of("human.head.hair").sum() > 0


def test_segment_mask_unknown_name_lists_every_known_name(fixtures: Path) -> None:
    frame = load(fixtures / "synthesisai" / "v1_5_docs" / "24.info.json")[0]
    names = sorted(frame.segmentation_mapping)
    assert len(names) > 30
    with pytest.raises(InvalidValueError, match="segment 'no_such_part' is not in") as info:
        frame.segment_mask(["hair", "no_such_part"])
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert all(name in message for name in names)


def test_segment_mask_without_segmentation(fixtures: Path, tmp_path: Path) -> None:
    (tmp_path / "0_ldmks.txt").write_text("1 2\n" * 70)
    frame = load(tmp_path)[0]
    with pytest.raises(FormatError, match="frame 0: this facesynthetics frame has no segmentation"):
        frame.segment_mask(["skin"])
    info = fixtures / "synthesisai" / "room" / "0.info.json"
    shutil.copy(info, tmp_path / "0.info.json")
    Image.new("L", (4, 4)).save(tmp_path / "0.segments.png")
    # the room-format objects give a mapping; without objects there is none
    doc = json.loads(info.read_text())
    doc.pop("objects", None)
    doc.pop("segments_mapping", None)
    (tmp_path / "0.info.json").write_text(json.dumps(doc))
    frame = load(tmp_path / "0.info.json")[0]
    with pytest.raises(FormatError, match="has no segmentation class mapping"):
        frame.segment_mask(["wall"])


# ---------------------------------------------------------------------- pixel files


def test_read_image_sixteen_bit_grey_and_alpha(tmp_path: Path) -> None:
    (tmp_path / "0_ldmks.txt").write_text("1 2\n" * 70)
    grey = np.array([[0, 257, 65535], [128, 32896, 1000]], dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "0.png")
    img = load(tmp_path)[0].read_image()
    assert img.dtype == np.uint8 and img.shape == (2, 3, 3)
    np.testing.assert_array_equal(img[..., 0], [[0, 1, 255], [0, 128, 4]])
    np.testing.assert_array_equal(img[..., 0], img[..., 2])
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 7
    Image.fromarray(rgba, "RGBA").save(tmp_path / "0.png")
    np.testing.assert_array_equal(load(tmp_path)[0].read_image()[0, 0], [200, 0, 0])


def test_normals_masked_by_alpha_without_depth(fixtures: Path, tmp_path: Path) -> None:
    """Without a depth map the Synthesis AI alpha TIFF marks the pixels with no surface."""
    src = fixtures / "synthesisai" / "v1_2_faces"
    for suffix in (".info.json", ".normals.tif", ".alpha.tif"):
        shutil.copy(src / f"0{suffix}", tmp_path / f"0{suffix}")
    frame = load(tmp_path / "0.info.json")[0]
    assert frame.depth_path is None and frame.alpha_path is not None
    alpha = tifffile.imread(frame.alpha_path)
    alpha = alpha if alpha.ndim == 2 else alpha[..., 0]
    normals = frame.read_normals()
    np.testing.assert_array_equal(np.isnan(normals[..., 0]), alpha == 0)
    stored = tifffile.imread(frame.normals_path).astype(np.float32)
    fg = alpha > 0
    np.testing.assert_array_equal(normals[fg], stored[fg] * np.float32([1, -1, -1]))


def test_source_read_without_landmarks_for_any_reader() -> None:
    from camgeom.datasets import Landmarks
    from camgeom.datasets.frame import FrameSource

    group = Landmarks(("0", "1"), [[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]], None, None)

    def reader() -> Frame:
        return Frame(None, "facesynthetics", None, "f", "s", "c", landmarks={"g": group})

    source = FrameSource("facesynthetics", Path("f"), "f", reader, lambda: "s")
    assert list(source.read().landmarks) == ["g"]
    lean = source.read(landmarks=False)
    assert dict(lean.landmarks) == {} and lean.frame_id == "f"
