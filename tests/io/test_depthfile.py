"""read_depth: default channel choice, explicit channels, TIFF and EXR vendor files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from camgeom.errors import FormatError, InvalidValueError, MissingChannelError, ShapeError
from camgeom.io import read_depth, read_exr, read_tiff, write_exr

DEPTH = (np.arange(12, dtype=np.float32).reshape(3, 4) + 1.0) / 4.0


def _exr(tmp_path: Path, names_offsets: dict[str, float], **kwargs) -> Path:
    """An EXR whose channel ``name`` holds DEPTH + offset."""
    channels = {name: DEPTH + offset for name, offset in names_offsets.items()}
    return write_exr(tmp_path / "d.exr", channels, **kwargs)


# ------------------------------------------------------------------ default EXR channel


@pytest.mark.parametrize(
    "channels",
    [
        pytest.param({"Z": 0, "normals.Z": 1, "R": 2, "G": 3, "B": 4}, id="Z"),
        pytest.param(
            {
                "ViewLayer.Depth.Z": 0,
                "ViewLayer.Normal.X": 1,
                "ViewLayer.Normal.Y": 2,
                "ViewLayer.Normal.Z": 3,
                "ViewLayer.Position.Z": 4,
                "ViewLayer.Combined.R": 5,
            },
            id="blender-multilayer",
        ),
        pytest.param({"depth.V": 0, "R": 1, "G": 2, "B": 3}, id="depth-layer"),
        pytest.param({"DEPTH.R": 0, "DEPTH.A": 1}, id="depth-layer-R"),
        pytest.param({"Depth.G": 0, "Z.X": 1}, id="depth-layer-one-channel"),
        pytest.param({"depth.Z": 0, "depth.A": 1}, id="depth-layer-Z"),
        pytest.param({"cam.Z": 0, "normals.X": 1, "normals.Y": 2, "normals.Z": 3}, id="lone-Z"),
        pytest.param({"V": 0, "A": 1}, id="V"),
        pytest.param({"Y": 0, "RY": 1, "BY": 2}, id="Y"),
        pytest.param({"R": 0, "G": 0, "B": 0, "A": 7}, id="R=G=B"),
        pytest.param({"R": 0}, id="R-alone"),
        pytest.param({"range": 0}, id="single-channel"),
    ],
)
def test_default_channel_rules(tmp_path: Path, channels: dict[str, float]) -> None:
    # Every file is built so that the depth channel holds DEPTH + 0 and all others differ.
    depth = read_depth(_exr(tmp_path, channels), background="keep")
    assert depth.dtype == np.float32 and depth.shape == (3, 4)
    np.testing.assert_array_equal(depth, DEPTH)


def test_datagen_layout_in_half(tmp_path: Path) -> None:
    z = DEPTH.copy()
    z[0, 0] = 65504.0
    path = write_exr(tmp_path / "d.exr", {"R": z, "G": z, "B": z}, half=["R", "G", "B"])
    depth = read_depth(path, background="keep")
    assert depth.dtype == np.float32
    np.testing.assert_array_equal(depth, z.astype(np.float16).astype(np.float32))
    assert depth[0, 0] == 65504.0


def test_identical_rgb_with_nan_background(tmp_path: Path) -> None:
    z = DEPTH.copy()
    z[1, 1] = np.nan
    depth = read_depth(write_exr(tmp_path / "d.exr", {"R": z, "G": z, "B": z}), background="keep")
    assert np.isnan(depth[1, 1])
    np.testing.assert_array_equal(depth, z)


def test_colour_image_is_not_depth(tmp_path: Path) -> None:
    path = _exr(tmp_path, {"R": 0, "G": 0, "B": 1})
    with pytest.raises(MissingChannelError, match=r"R, G, B channels differ.*\[B, G, R\]"):
        read_depth(path, background="keep")
    np.testing.assert_array_equal(read_depth(path, channel="B", background="keep"), DEPTH + 1)


def test_normals_z_is_never_taken_for_depth(tmp_path: Path) -> None:
    path = _exr(tmp_path, {"normals.X": 0, "normals.Y": 1, "normals.Z": 2, "A": 3})
    with pytest.raises(MissingChannelError, match=r"no depth channel.*normals\.Z.*channel="):
        read_depth(path, background="keep")


def test_several_depth_layer_channels_are_ambiguous(tmp_path: Path) -> None:
    path = _exr(tmp_path, {"depth.A": 0, "depth.G": 1})
    with pytest.raises(
        MissingChannelError, match=r"several depth-layer channels.*depth\.A, depth\.G"
    ):
        read_depth(path, background="keep")


def test_several_lone_z_channels_are_ambiguous(tmp_path: Path) -> None:
    path = _exr(tmp_path, {"a.Z": 0, "b.Z": 1})
    with pytest.raises(MissingChannelError, match=r"several Z channels.*a\.Z, b\.Z"):
        read_depth(path, background="keep")


def test_uint_channel_is_not_depth(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "id.exr", {"Z": np.ones((2, 2), np.uint32)})
    with pytest.raises(FormatError, match=r"'Z'.*uint32"):
        read_depth(path, background="keep")


# ------------------------------------------------------------------ explicit EXR channel


def test_explicit_channel_by_suffix_and_layer(tmp_path: Path) -> None:
    path = _exr(
        tmp_path, {"ViewLayer.Depth.Z": 0, "ViewLayer.Mist.Z": 1, "normals.X": 2, "normals.Y": 3}
    )
    np.testing.assert_array_equal(read_depth(path, channel="Mist.Z", background="keep"), DEPTH + 1)
    np.testing.assert_array_equal(
        read_depth(path, channel="Depth", background="keep"), DEPTH
    )  # one-channel layer
    with pytest.raises(MissingChannelError, match=r"layer of 2 channels.*normals\.X, normals\.Y"):
        read_depth(path, channel="normals", background="keep")
    with pytest.raises(MissingChannelError, match=r"'Z' is ambiguous"):
        read_depth(path, channel="Z", background="keep")
    with pytest.raises(MissingChannelError, match=r"no channel 'W'"):
        read_depth(path, channel="W", background="keep")
    with pytest.raises(InvalidValueError, match=r"channel name \(str\), got 0"):
        read_depth(path, channel=0, background="keep")


# ------------------------------------------------------------------ TIFF


def test_tiff_single_channel(tmp_path: Path) -> None:
    path = tmp_path / "d.tif"
    tifffile.imwrite(path, DEPTH.astype(np.float16), compression="zlib")
    depth = read_depth(path, background="keep")
    assert depth.dtype == np.float32
    np.testing.assert_array_equal(depth, DEPTH.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(read_depth(path, channel=0, background="keep"), depth)
    with pytest.raises(MissingChannelError, match="one channel"):
        read_depth(path, channel=1, background="keep")


def test_tiff_integer_depth_is_not_scaled(tmp_path: Path) -> None:
    path = tmp_path / "mm.tiff"
    mm = np.array([[0, 1500], [65535, 42]], dtype=np.uint16)
    tifffile.imwrite(path, mm)
    depth = read_depth(path, background="keep")
    assert depth.dtype == np.float32
    np.testing.assert_array_equal(depth, mm.astype(np.float32))


def test_tiff_multichannel_needs_a_channel(tmp_path: Path) -> None:
    path = tmp_path / "n.tif"
    image = np.stack([DEPTH, DEPTH + 1, DEPTH + 2], axis=-1)
    tifffile.imwrite(path, image, photometric="rgb")
    with pytest.raises(ShapeError, match=r"one channel \(H, W\), got shape \(3, 4, 3\).*0\.\.2"):
        read_depth(path, background="keep")
    np.testing.assert_array_equal(read_depth(path, channel=2, background="keep"), DEPTH + 2)
    with pytest.raises(MissingChannelError, match=r"3 channels.*0\.\.2, got 3"):
        read_depth(path, channel=3, background="keep")
    with pytest.raises(InvalidValueError, match="sample index"):
        read_depth(path, channel="R", background="keep")
    with pytest.raises(InvalidValueError, match="sample index"):
        read_depth(path, channel=True, background="keep")


# ------------------------------------------------------------------ errors


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "depth.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(FormatError, match=r"depth\.png.*\.exr, \.tif, \.tiff.*'\.png'"):
        read_depth(path, background="keep")


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.exr"):
        read_depth(tmp_path / "nope.exr", background="keep")
    with pytest.raises(FileNotFoundError, match=r"nope\.tif"):
        read_depth(tmp_path / "nope.tif", background="keep")


def test_truncated_exr(tmp_path: Path) -> None:
    path = _exr(tmp_path, {"Z": 0})
    cut = tmp_path / "cut.exr"
    cut.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(FormatError, match=r"cut\.exr"):
        read_depth(cut, background="keep")


# ------------------------------------------------------------------ vendor files


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("rel", "shape", "background", "n_background", "pixel", "value"),
    [
        (
            "datagen/faces_nn/datapoint_00016/camera/depth.exr",
            (128, 128),
            1e10,
            6127,
            (64, 64),
            1.533233880996704,
        ),
        (
            "datagen/faces_multicam/datapoint_00010/camera_1/depth.exr",
            (1024, 1024),
            1e10,
            None,
            None,
            None,
        ),
        (
            "datagen/hic_home_security/scene_00001/frames/001/high_doorbell_camera/depth.exr",
            (512, 512),
            65504.0,
            24297,
            (256, 170),
            26.0,
        ),
        (
            "datagen/hic_in_cabin/scene_00001/frames/001/media_dashboard_camera/depth.exr",
            (283, 506),
            None,
            None,
            (141, 253),
            1.3720703125,
        ),
        (
            "datagen/legacy_2022/environment_00001/camera/depth.exr",
            (1024, 1024),
            65504.0,
            321234,
            (512, 512),
            1.5498046875,
        ),
        ("synthesisai/v1_2_faces/0.depth.tif", (512, 512), 0.0, 154719, (256, 256), 0.9755859375),
        ("synthesisai/v1_faces/0.depth.tif", (1024, 1024), np.inf, 655252, (512, 512), 1.111328125),
        ("synthesisai/v1_5_docs/24.depth.tif", (1024, 1024), 0.0, 731779, (512, 512), 1.427734375),
        ("synthesisai/v1_1_docs/188.depth.tif", (512, 512), 0.0, 153147, (256, 256), 1.369140625),
    ],
)
def test_vendor_depth(fixtures: Path, rel, shape, background, n_background, pixel, value) -> None:
    path = fixtures / rel
    depth = read_depth(path, background="keep")
    assert depth.shape == shape and depth.dtype == np.float32
    if background is not None:
        assert np.any(depth == np.float32(background))  # sentinel left untouched
    if n_background is not None:
        assert int((depth == np.float32(background)).sum()) == n_background
    if pixel is not None:
        assert depth[pixel] == np.float32(value)
    reference = read_exr(path)["R"] if path.suffix == ".exr" else read_tiff(path)
    np.testing.assert_array_equal(depth, reference)
    # the default turns exactly the sentinels into NaN and leaves every depth as stored
    masked = read_depth(path)
    if n_background is not None:
        assert int(np.isnan(masked).sum()) == n_background
    keep = ~np.isnan(masked)
    np.testing.assert_array_equal(masked[keep], depth[keep])
    assert np.all(np.isfinite(masked[keep])) and np.all(masked[keep] > 0)


@pytest.mark.fixtures
def test_vendor_normals_tiff_is_rejected_without_channel(fixtures: Path) -> None:
    with pytest.raises(ShapeError, match=r"0\.normals\.tif.*\(512, 512, 3\)"):
        read_depth(fixtures / "synthesisai/v1_2_faces/0.normals.tif", background="keep")


@pytest.mark.fixtures
def test_vendor_normal_maps_exr_is_not_depth(fixtures: Path) -> None:
    with pytest.raises(MissingChannelError, match=r"normal_maps\.exr.*colour image"):
        read_depth(
            fixtures / "datagen/faces_nn/datapoint_00016/camera/normal_maps.exr", background="keep"
        )


@pytest.mark.fixtures
def test_vendor_exr_damaged_and_header_only(fixtures: Path) -> None:
    with pytest.raises(FormatError, match=r"corrupt_zero_parts\.exr"):
        read_depth(fixtures / "synthesisai/exr/corrupt_zero_parts.exr", background="keep")
    z = read_depth(
        fixtures / "synthesisai/exr/vray_header_only.exr", background="keep"
    )  # picks Z, not normals.Z
    assert z.shape == (1335, 1780) and z.dtype == np.float32 and np.all(z == 0.0)


def test_background_is_nan_by_default_and_kept_on_request(tmp_path: Path) -> None:
    z = DEPTH.copy()
    z[0, 0], z[0, 1], z[1, 0], z[1, 1] = 1e10, 0.0, np.inf, 65504.0
    path = write_exr(tmp_path / "d.exr", {"R": z, "G": z, "B": z})
    depth = read_depth(path)
    assert np.isnan(depth[:2, :2]).all()
    np.testing.assert_array_equal(depth[2:], z[2:])
    np.testing.assert_array_equal(read_depth(path, background="keep"), z)
    with pytest.raises(InvalidValueError, match="background"):
        read_depth(path, background="zero")
