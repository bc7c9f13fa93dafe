"""Damaged or hostile pixel files are a FormatError of their frame, never a silent result."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import camgeom
from camgeom.datasets import _pixels
from camgeom.errors import CamgeomError, FormatError
from camgeom.verification import verify


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A 1x1 PNG whose IHDR claims ``width`` x ``height`` (valid CRC)."""
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def v12_copy(fixtures, tmp_path):
    """Render 0 of the v1.2 face fixture, copied (512x512)."""
    src = fixtures / "synthesisai" / "v1_2_faces"
    data = tmp_path / "data"
    data.mkdir()
    for p in src.glob("0.*"):
        shutil.copy(p, data / p.name)
    shutil.copy(src / "metadata.jsonl", data / "metadata.jsonl")
    return data


def test_decompression_bomb_png_is_a_format_error(tmp_path):
    path = _png_claiming(tmp_path / "bomb.png", 65536, 65536)
    with pytest.raises(FormatError, match=r"bomb\.png: cannot read the image.*DecompressionBomb"):
        _pixels.read_rgb(path)
    with pytest.raises(FormatError, match=r"bomb\.png: cannot read the segmentation image"):
        _pixels.read_segmentation(path)


@pytest.mark.parametrize("payload", [b"", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n" + bytes(40)])
def test_broken_png_is_a_format_error(tmp_path, payload):
    path = tmp_path / "broken.png"
    path.write_bytes(payload)
    with pytest.raises(FormatError, match=r"broken\.png"):
        _pixels.read_rgb(path)
    with pytest.raises(FormatError, match=r"broken\.png"):
        _pixels.read_segmentation(path)


def test_frame_readers_turn_a_bomb_into_an_error_of_that_frame(v12_copy):
    _png_claiming(v12_copy / "0.rgb.png", 65536, 65536)
    _png_claiming(v12_copy / "0.segments.png", 65536, 65536)
    frame = camgeom.load(v12_copy)[0]
    with pytest.raises(FormatError, match=r"0\.rgb\.png"):
        frame.read_image()
    with pytest.raises(FormatError, match=r"0\.segments\.png"):
        frame.read_segmentation()


def test_check_size_names_the_file_and_both_sizes(tmp_path):
    arr = np.zeros((33280, 2), np.float32)
    with pytest.raises(FormatError, match=r"d\.tif: the depth map is 2x33280 .* 512x512"):
        _pixels.check_size(arr, tmp_path / "d.tif", 512, 512, "depth map")
    assert _pixels.check_size(arr, tmp_path / "d.tif", None, None, "depth map") is arr
    assert _pixels.check_size(arr, tmp_path / "d.tif", 2, 33280, "depth map") is arr


def test_maps_of_another_size_than_the_camera_are_errors_of_the_frame(v12_copy):
    tifffile.imwrite(v12_copy / "0.depth.tif", np.ones((256, 256), np.float16), compression="zlib")
    tifffile.imwrite(
        v12_copy / "0.normals.tif", np.ones((256, 256, 3), np.float16), photometric="rgb"
    )
    Image.fromarray(np.zeros((256, 256), np.uint8)).save(v12_copy / "0.segments.png")
    frame = camgeom.load(v12_copy)[0]
    assert (frame.width, frame.height) == (512, 512)
    with pytest.raises(FormatError, match=r"0\.depth\.tif: the depth map is 256x256"):
        frame.read_depth()
    with pytest.raises(FormatError, match=r"0\.segments\.png: the segmentation image is 256x256"):
        frame.read_segmentation()
    with pytest.raises(FormatError, match=r"0\.segments\.png: the segmentation image is 256x256"):
        frame.segment_mask(next(iter(frame.segmentation_mapping)))
    (v12_copy / "0.depth.tif").unlink()
    frame = camgeom.load(v12_copy)[0]
    with pytest.raises(FormatError, match=r"0\.normals\.tif: the normal map is 256x256"):
        frame.read_normals()


def test_verify_still_names_a_depth_map_of_another_size(v12_copy):
    tifffile.imwrite(v12_copy / "0.depth.tif", np.ones((256, 256), np.float16), compression="zlib")
    check = verify(camgeom.load(v12_copy)[0])["depth.size"]
    assert check.failed and "256x256" in check.message


def test_flipped_image_length_in_the_depth_map_fails_the_frame(v12_copy):
    path = v12_copy / "0.depth.tif"
    with tifffile.TiffFile(path) as tif:
        offset = int(tif.pages[0].tags["ImageLength"].valueoffset)
    data = bytearray(path.read_bytes())
    data[offset + 1] ^= 0x80
    path.write_bytes(bytes(data))
    frame = camgeom.load(v12_copy)[0]
    with pytest.raises(CamgeomError, match=r"0\.depth\.tif"):
        frame.read_depth()
    assert verify(frame)["depth.readable"].failed


def test_truncated_alpha_is_an_error_not_an_empty_mask(v12_copy):
    path = v12_copy / "0.alpha.tif"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(FormatError, match=r"0\.alpha\.tif"):
        _pixels.alpha_mask(path, (512, 512))


def test_cli_project_warns_about_a_bomb_rgb_and_goes_on(v12_copy, tmp_path, capsys):
    from camgeom.cli import main

    _png_claiming(v12_copy / "0.rgb.png", 65536, 65536)
    code = main(["project", str(v12_copy), "--out", str(tmp_path / "out"), "-q", "--workers", "1"])
    out = capsys.readouterr()
    assert code == 0, out
    assert "RGB image unreadable" in out.out + out.err
    assert "0.rgb.png" in out.out + out.err


def test_a_file_that_is_no_image_is_named_plainly(tmp_path: Path) -> None:
    from camgeom.datasets._pixels import read_segmentation

    path = tmp_path / "semantic_segmentation.png"
    path.write_bytes(b"garbage\n")
    with pytest.raises(FormatError, match="damaged or not a PNG") as err:
        read_segmentation(path)
    assert str(path) in str(err.value) and "BytesIO" not in str(err.value)


def test_float_exr_segmentation_masks_only_the_named_class(fixtures) -> None:
    """Datagen's 2022 EXR segmentation holds 0-1 float colours (half-float rounded):
    a class is the pixels within half an 8-bit step of its colour, not within 0.5."""
    import camgeom

    frame = camgeom.load(fixtures / "datagen" / "legacy_2022")[0]
    seg = frame.read_segmentation().astype(np.float64)
    assert seg.dtype.kind == "f" and seg.max() <= 1.0
    masks = {k: frame.segment_mask([k]) for k in frame.segmentation_mapping}
    for name, mask in masks.items():
        colour = np.asarray(frame.segmentation_mapping[name], float).ravel()[:3]
        # independent count: the nearest class colour of each pixel, within 1e-3
        expected = np.abs(seg - colour).max(axis=-1) < 1e-3
        np.testing.assert_array_equal(mask, expected, err_msg=name)
    total = np.sum([m.astype(int) for m in masks.values()], axis=0)
    assert total.max() == 1  # classes are disjoint
    background = np.all(seg == 1.0, axis=-1)
    assert background.sum() > 300_000 and not (total.astype(bool) & background).any()
    assert masks["eyebrows"].sum() == 3085
