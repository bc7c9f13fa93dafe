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
