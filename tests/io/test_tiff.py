"""TIFF reading (camgeom.io.read_tiff) on written files and vendor samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from camgeom.errors import FormatError
from camgeom.io import read_tiff

V1_2_DEPTH = "synthesisai/v1_2_faces/0.depth.tif"
V1_2_NORMALS = "synthesisai/v1_2_faces/0.normals.tif"
V1_2_ALPHA = "synthesisai/v1_2_faces/0.alpha.tif"
V1_DEPTH = "synthesisai/v1_faces/0.depth.tif"


@pytest.mark.parametrize(
    ("dtype", "compression"),
    [
        (np.float32, None),
        (np.float32, "zlib"),
        (np.uint16, "lzw"),
        (np.uint8, None),
        (np.float64, "zlib"),
    ],
)
def test_round_trip_keeps_dtype(tmp_path: Path, dtype, compression) -> None:
    image = (np.arange(30).reshape(5, 6) * 3).astype(dtype)
    path = tmp_path / "img.tif"
    tifffile.imwrite(path, image, compression=compression)
    back = read_tiff(path)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, image)


def test_float16_deflate_is_promoted_exactly(tmp_path: Path) -> None:
    image = np.array([[0.0, 0.1, 1.5], [np.inf, 65504.0, -3.0]], dtype=np.float16)
    path = tmp_path / "depth.tiff"
    tifffile.imwrite(path, image, compression="zlib")
    back = read_tiff(path)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, image.astype(np.float32))
    assert back[0, 1] == np.float32(0.0999755859375)


def test_multichannel_is_samples_last(tmp_path: Path) -> None:
    image = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    path = tmp_path / "n.tif"
    tifffile.imwrite(path, image, photometric="rgb")
    back = read_tiff(path)
    assert back.shape == (2, 3, 3)
    np.testing.assert_array_equal(back, image)


def test_truncated_file_raises_format_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    image = rng.random((64, 64)).astype(np.float16)
    full = tmp_path / "full.tif"
    tifffile.imwrite(full, image, compression="zlib")
    data = full.read_bytes()
    for n in (len(data) - 100, len(data) // 2, 50, 4, 0):
        cut = tmp_path / f"cut_{n}.tif"
        cut.write_bytes(data[:n])
        with pytest.raises(FormatError, match=rf"cut_{n}\.tif"):
            read_tiff(cut)


def test_random_bytes_raise_format_error(tmp_path: Path) -> None:
    path = tmp_path / "noise.tif"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(FormatError, match=r"noise\.tif.*not a TIFF"):
        read_tiff(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.tif"):
        read_tiff(tmp_path / "missing.tif")
    with pytest.raises(IsADirectoryError):
        read_tiff(tmp_path)


@pytest.mark.fixtures
def test_synthesisai_float16_depth(fixtures: Path) -> None:
    path = fixtures / V1_2_DEPTH
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        stored = tif.asarray()
    assert stored.dtype == np.float16
    depth = read_tiff(path)
    assert depth.shape == (512, 512) and depth.dtype == np.float32
    np.testing.assert_array_equal(depth, stored.astype(np.float32))
    assert int((depth == 0).sum()) == 154719  # background sentinel 0 kept
    assert depth.max() == np.float32(1.14453125)
    assert depth[256, 256] == np.float32(0.9755859375)
    assert depth[128, 256] == np.float32(1.009765625)


@pytest.mark.fixtures
def test_synthesisai_float32_depth_with_inf_background(fixtures: Path) -> None:
    depth = read_tiff(fixtures / V1_DEPTH)
    assert depth.shape == (1024, 1024) and depth.dtype == np.float32
    assert int(np.isposinf(depth).sum()) == 655252
    assert not np.any(depth == 0)
    finite = depth[np.isfinite(depth)]
    assert finite.min() == np.float32(1.0458984375)
    assert depth[512, 512] == np.float32(1.111328125)


@pytest.mark.fixtures
def test_synthesisai_normals(fixtures: Path) -> None:
    normals = read_tiff(fixtures / V1_2_NORMALS)
    assert normals.shape == (512, 512, 3) and normals.dtype == np.float32
    np.testing.assert_array_equal(
        normals[256, 256], np.array([0.40649414, -0.59277344, 0.6948242], dtype=np.float16)
    )
    length = np.linalg.norm(normals, axis=-1)
    # unit vectors up to half-float rounding, except antialiased silhouette pixels
    assert np.median(length) == pytest.approx(1.0, abs=1e-3)
    assert np.mean(np.abs(length - 1.0) < 1e-2) > 0.98


@pytest.mark.fixtures
def test_synthesisai_alpha_keeps_uint8(fixtures: Path) -> None:
    alpha = read_tiff(fixtures / V1_2_ALPHA)
    assert alpha.dtype == np.uint8 and alpha.shape == (512, 512)
    assert alpha[256, 256] == 255 and alpha.min() == 0


# ---------------------------------------------------------------- damaged headers and data
def _image_length_value_offset(path: Path) -> int:
    with tifffile.TiffFile(path) as tif:
        return int(tif.pages[0].tags["ImageLength"].valueoffset)


def test_flipped_bit_in_image_length_is_a_format_error(tmp_path: Path, fixtures: Path) -> None:
    src = fixtures / V1_2_DEPTH
    data = bytearray(src.read_bytes())
    data[_image_length_value_offset(src) + 1] ^= 0x80  # 512 rows -> 33280 rows
    path = tmp_path / "flipped.tif"
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"flipped\.tif.*33280 rows.*ImageLength"):
        read_tiff(path)


def test_uncompressed_strips_shorter_than_the_header_says(tmp_path: Path) -> None:
    path = tmp_path / "short.tif"
    tifffile.imwrite(path, np.ones((8, 4), np.float32))
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags["StripByteCounts"]
        offset, count = int(tag.valueoffset), int(tag.value[0])
    assert count == 128
    data = bytearray(path.read_bytes())
    data[offset : offset + 4] = (64).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"short\.tif.*needs 128 bytes, its strips hold 64"):
        read_tiff(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 200])
def test_truncated_alpha_is_a_format_error_not_an_empty_array(
    tmp_path: Path, fixtures: Path, keep: float
) -> None:
    data = (fixtures / V1_2_ALPHA).read_bytes()
    n = int(keep) if keep > 1 else int(len(data) * keep)
    path = tmp_path / "0.alpha.tif"
    path.write_bytes(data[:n])
    with pytest.raises(FormatError, match=r"0\.alpha\.tif"):
        read_tiff(path)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_after_a_tiff_magic_are_a_format_error(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "random.tif"
    path.write_bytes(b"II*\x00" + np.random.default_rng(seed).bytes(400))
    with pytest.raises(FormatError, match=r"random\.tif"):
        read_tiff(path)


def test_strip_beyond_the_end_of_the_file_is_truncation(tmp_path: Path) -> None:
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, np.ones((64, 64), np.float32), rowsperstrip=16)
    data = path.read_bytes()
    with tifffile.TiffFile(path) as tif:
        last = int(tif.pages[0].dataoffsets[-1])
    ifd_first = data[: last + 10]  # tifffile writes the IFD before the data
    path.write_bytes(ifd_first)
    with pytest.raises(FormatError, match=r"cut\.tif.*beyond the end"):
        read_tiff(path)
