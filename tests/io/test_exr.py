"""OpenEXR reading, header inspection and writing (camgeom.io.exr)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from camgeom.errors import (
    FormatError,
    InvalidValueError,
    MissingChannelError,
    OutputExistsError,
    ShapeError,
)
from camgeom.io import exr_header, read_exr, write_exr
from camgeom.io.exr import COMPRESSIONS, _part_labels

VRAY = "synthesisai/exr/vray_header_only.exr"
CORRUPT = "synthesisai/exr/corrupt_zero_parts.exr"
DATAGEN_F32 = "datagen/faces_nn/datapoint_00016/camera/depth.exr"
DATAGEN_HALF = "datagen/hic_home_security/scene_00001/frames/001/high_doorbell_camera/depth.exr"
DATAGEN_2022 = "datagen/legacy_2022/environment_00001/camera/depth.exr"

VRAY_CHANNELS = {
    **dict.fromkeys(["A", "B", "G", "R"], "HALF"),
    "Z": "FLOAT",
    **{f"cryptomatte{i}.{c}": "FLOAT" for i in ("", "00", "01", "02") for c in "ABGR"},
    **{f"diffuse.{c}": "HALF" for c in "BGR"},
    **{f"normals.{c}": "HALF" for c in "XYZ"},
}

LOSSLESS = ["none", "rle", "zips", "zip", "piz"]


def _legacy_types(path: Path) -> dict[str, str]:
    """Channel pixel types from the (independent) legacy OpenEXR.InputFile header reader."""
    header = OpenEXR.InputFile(str(path)).header()
    return {name: str(ch.type) for name, ch in header["channels"].items()}


def _ramp(h: int = 6, w: int = 5) -> np.ndarray:
    return (np.arange(h * w, dtype=np.float32).reshape(h, w) / 7.0) + 0.25


# ------------------------------------------------------------------ write/read round trips


@pytest.mark.parametrize("compression", LOSSLESS)
def test_float32_round_trip_is_exact(tmp_path: Path, compression: str) -> None:
    depth = _ramp()
    depth[0, 0], depth[0, 1], depth[1, 0] = np.inf, 1e10, np.nan
    path = write_exr(tmp_path / "d.exr", {"Z": depth}, compression=compression)
    back = read_exr(path)
    assert list(back) == ["Z"]
    assert back["Z"].dtype == np.float32 and back["Z"].shape == (6, 5)
    np.testing.assert_array_equal(back["Z"], depth)  # NaN == NaN here
    assert exr_header(path)["compression"] == compression


def test_half_channels_are_promoted_to_float32_exactly(tmp_path: Path) -> None:
    values = np.array([[0.1, 1.5, 65504.0], [70000.0, -2.0, 0.0]])
    with pytest.warns(RuntimeWarning, match="overflow"):  # 70000 does not fit in half
        path = write_exr(tmp_path / "h.exr", {"R": values, "Z": values}, half=["R"])
    back = read_exr(path)
    assert back["R"].dtype == np.float32
    with np.errstate(over="ignore"):
        expected_half = values.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(back["R"], expected_half)
    assert back["R"][1, 0] == np.inf  # beyond the half range
    assert back["R"][0, 0] == np.float32(0.0999755859375)  # nearest half to 0.1
    np.testing.assert_array_equal(back["Z"], values.astype(np.float32))
    assert exr_header(path)["channels"] == {"R": "HALF", "Z": "FLOAT"}


def test_dtypes_choose_the_pixel_type(tmp_path: Path) -> None:
    ids = np.arange(6, dtype=np.uint32).reshape(2, 3) * 1_000_003
    path = write_exr(
        tmp_path / "t.exr",
        {
            "f16": np.ones((2, 3), np.float16),
            "f64": np.ones((2, 3)),
            "i": np.ones((2, 3), int),
            "id": ids,
            "mask": np.ones((2, 3), bool),
        },
    )
    assert exr_header(path)["channels"] == {
        "f16": "HALF",
        "f64": "FLOAT",
        "i": "FLOAT",
        "id": "UINT",
        "mask": "FLOAT",
    }
    assert _legacy_types(path) == exr_header(path)["channels"]
    back = read_exr(path)
    assert back["id"].dtype == np.uint32  # ids are not squeezed through float32
    np.testing.assert_array_equal(back["id"], ids)
    assert back["f16"].dtype == np.float32


def test_write_does_not_modify_inputs(tmp_path: Path) -> None:
    depth = np.linspace(0.0, 1.0, 12).reshape(3, 4)
    copy = depth.copy()
    write_exr(tmp_path / "d.exr", {"Z": depth}, half=["Z"])
    np.testing.assert_array_equal(depth, copy)
    assert depth.dtype == np.float64


def test_non_contiguous_input_is_written_correctly(tmp_path: Path) -> None:
    big = _ramp(6, 10)
    view = big[:, ::2]
    back = read_exr(write_exr(tmp_path / "v.exr", {"Z": view}))["Z"]
    np.testing.assert_array_equal(back, view)


@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
        elements=st.floats(width=32, allow_nan=False),
    ),
    st.sampled_from(LOSSLESS),
)
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, depth, compression) -> None:
    folder = tmp_path_factory.mktemp("rt")
    path = write_exr(folder / "d.exr", {"depth.Z": depth}, compression=compression)
    back = read_exr(path, "Z")
    np.testing.assert_array_equal(back["depth.Z"], depth)
    assert exr_header(path)["size"] == (depth.shape[1], depth.shape[0])


def test_attributes_are_written_and_reported(tmp_path: Path) -> None:
    path = write_exr(
        tmp_path / "a.exr", {"Z": _ramp()}, attributes={"comment": "synthetic", "frame": 7}
    )
    attrs = exr_header(path)["attributes"]
    assert attrs["comment"] == "synthetic"
    assert attrs["frame"] == 7
    assert attrs["dataWindow"] == ((0, 0), (4, 5))


def test_tiled_file(tmp_path: Path) -> None:
    z = np.arange(40 * 30, dtype=np.float32).reshape(40, 30)
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize = 16, 8
    header = {"type": OpenEXR.tiledimage, "tiles": tiles, "compression": OpenEXR.ZIP_COMPRESSION}
    path = tmp_path / "tiled.exr"
    OpenEXR.File(header, {"Z": z}).write(str(path))
    np.testing.assert_array_equal(read_exr(path)["Z"], z)
    attrs = exr_header(path)["attributes"]
    assert attrs["type"] == "tiledimage"
    assert attrs["tiles"] == {
        "x_size": 16,
        "y_size": 8,
        "mode": "ONE_LEVEL",
        "rounding_mode": "ROUND_DOWN",
    }


# ------------------------------------------------------------------ writer errors


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "d.exr", {"Z": _ramp()})
    with pytest.raises(OutputExistsError, match=r"d\.exr already exists"):
        write_exr(path, {"Z": _ramp() + 1})
    np.testing.assert_array_equal(read_exr(path)["Z"], _ramp())
    write_exr(path, {"Z": _ramp() + 1}, overwrite=True)
    np.testing.assert_array_equal(read_exr(path)["Z"], _ramp() + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.exr"]


@pytest.mark.parametrize(
    ("channels", "kwargs", "error", "match"),
    [
        ({}, {}, InvalidValueError, "non-empty mapping"),
        ({"Z": np.ones(4)}, {}, ShapeError, r"channels\['Z'\].*shape \(H, W\), got \(4,\)"),
        ({"Z": np.ones((2, 2, 3))}, {}, ShapeError, "one channel per array"),
        ({"Z": np.ones((2, 2)), "R": np.ones((2, 3))}, {}, ShapeError, "same shape"),
        ({"Z": np.ones((0, 3))}, {}, ShapeError, "non-empty"),
        ({"Z": np.ones((2, 2))}, {"compression": "lzw"}, InvalidValueError, "compression.*'zip'"),
        ({"Z": np.ones((2, 2))}, {"half": ["R"]}, InvalidValueError, r"half.*\['R'\]"),
        ({"Z": np.array([["a", "b"]])}, {}, InvalidValueError, "numeric"),
        ({"": np.ones((2, 2))}, {}, InvalidValueError, "non-empty str"),
    ],
)
def test_write_errors(tmp_path: Path, channels, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        write_exr(tmp_path / "bad.exr", channels, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_compression_names_cover_the_bindings() -> None:
    assert {"none", "zip", "zips", "piz", "rle", "pxr24", "b44", "dwaa"} <= set(COMPRESSIONS)
    assert COMPRESSIONS["zip"] == OpenEXR.ZIP_COMPRESSION
    assert COMPRESSIONS["none"] == OpenEXR.NO_COMPRESSION


# ------------------------------------------------------------------ channel lookup


LAYERED_OFFSETS = {
    "ViewLayer.Depth.Z": 0,
    "ViewLayer.Normal.X": 1,
    "ViewLayer.Normal.Y": 2,
    "ViewLayer.Normal.Z": 3,
    "ViewLayer.Position.X": 4,
    "ViewLayer.Combined.R": 5,
    "R": 6,
}


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    """A Blender-like multilayer file; channel values are _ramp() + LAYERED_OFFSETS[name]."""
    channels = {name: _ramp() + offset for name, offset in LAYERED_OFFSETS.items()}
    return write_exr(tmp_path / "layers.exr", channels)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ViewLayer.Depth.Z", ["ViewLayer.Depth.Z"]),
        ("Depth.Z", ["ViewLayer.Depth.Z"]),
        ("depth.Z", ["ViewLayer.Depth.Z"]),  # case-insensitive fallback
        ("Depth", ["ViewLayer.Depth.Z"]),  # a one-channel layer
        ("R", ["R"]),  # exact beats the suffix match ViewLayer.Combined.R
        ("Combined.R", ["ViewLayer.Combined.R"]),
        ("Normal", ["ViewLayer.Normal.X", "ViewLayer.Normal.Y", "ViewLayer.Normal.Z"]),
        ("ViewLayer.Normal", ["ViewLayer.Normal.X", "ViewLayer.Normal.Y", "ViewLayer.Normal.Z"]),
    ],
)
def test_lookup_by_full_name_suffix_or_layer(layered: Path, query: str, expected) -> None:
    out = read_exr(layered, query)
    assert sorted(out) == expected
    for name, arr in out.items():
        np.testing.assert_array_equal(arr, _ramp() + LAYERED_OFFSETS[name])


def test_lookup_keeps_requested_order_and_drops_repeats(layered: Path) -> None:
    out = read_exr(layered, ["R", "Depth.Z", "ViewLayer.Depth.Z"])
    assert list(out) == ["R", "ViewLayer.Depth.Z"]
    np.testing.assert_array_equal(out["R"], _ramp() + 6)


def test_ambiguous_suffix_lists_candidates(layered: Path) -> None:
    with pytest.raises(
        MissingChannelError,
        match=r"'X' is ambiguous.*ViewLayer\.Normal\.X, ViewLayer\.Position\.X",
    ):
        read_exr(layered, "X")


def test_ambiguous_layer_lists_layers(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "l.exr", {"a.depth.Z": _ramp(), "b.depth.Z": _ramp()})
    with pytest.raises(
        MissingChannelError, match=r"Layer 'depth' is ambiguous.*a\.depth, b\.depth"
    ):
        read_exr(path, "depth")


def test_missing_channel_lists_available(layered: Path) -> None:
    with pytest.raises(
        MissingChannelError,
        match=r"layers\.exr has no channel 'Alpha'.*\[R, ViewLayer\.Combined\.R",
    ):
        read_exr(layered, ["R", "Alpha"])


def test_channel_names_must_be_strings(layered: Path) -> None:
    with pytest.raises(InvalidValueError, match="channel names"):
        read_exr(layered, ["R", 3])  # type: ignore[list-item]


# ------------------------------------------------------------------ multi-part files


def _write_multipart(path: Path, names: tuple[str, str] = ("left", "right")) -> None:
    a = _ramp()
    parts = [
        OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION}, {"R": a, "Z": a + 1}, names[0]),
        OpenEXR.Part(
            {"compression": OpenEXR.PIZ_COMPRESSION},
            {"R": (a + 2).astype(np.float16), "depth.V": a + 3},
            names[1],
        ),
    ]
    OpenEXR.File(parts).write(str(path))


def test_multipart_channels_are_flattened(tmp_path: Path) -> None:
    path = tmp_path / "stereo.exr"
    _write_multipart(path)
    out = read_exr(path)
    assert sorted(out) == ["Z", "depth.V", "left.R", "right.R"]
    np.testing.assert_array_equal(out["left.R"], _ramp())
    np.testing.assert_array_equal(out["right.R"], (_ramp() + 2).astype(np.float16))
    assert out["right.R"].dtype == np.float32
    np.testing.assert_array_equal(out["depth.V"], _ramp() + 3)
    # lookups work on the flattened names
    assert list(read_exr(path, "right.R")) == ["right.R"]
    with pytest.raises(MissingChannelError, match=r"'R' is ambiguous.*left\.R, right\.R"):
        read_exr(path, "R")


def test_multipart_header(tmp_path: Path) -> None:
    path = tmp_path / "stereo.exr"
    _write_multipart(path)
    info = exr_header(path)
    assert info["channels"] == {
        "left.R": "FLOAT",
        "Z": "FLOAT",
        "right.R": "HALF",
        "depth.V": "FLOAT",
    }
    assert [p["name"] for p in info["parts"]] == ["left", "right"]
    assert [p["compression"] for p in info["parts"]] == ["zip", "piz"]
    assert info["parts"][1]["channels"] == {"R": "HALF", "depth.V": "FLOAT"}
    assert info["compression"] == "zip"
    assert info["size"] == (5, 6)


def test_part_labels() -> None:
    assert _part_labels(["left", "right"]) == ["left", "right"]
    assert _part_labels(["", "x"]) == ["part0", "part1"]
    assert _part_labels(["a", "a"]) == ["part0", "part1"]


# ------------------------------------------------------------------ damaged files


def test_truncated_files_raise_format_error(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "full.exr", {"Z": _ramp(64, 48), "R": _ramp(64, 48)})
    data = path.read_bytes()
    header_len = data.index(b"\0\0") + 2  # rough: cuts inside or right after the header
    for n in sorted({len(data) - 10, len(data) // 2, header_len + 40, 100, 10, 0}):
        cut = tmp_path / f"cut_{n}.exr"
        cut.write_bytes(data[:n])
        with pytest.raises(FormatError, match=rf"cut_{n}\.exr"):
            read_exr(cut)


def test_random_bytes_are_not_an_exr(tmp_path: Path) -> None:
    path = tmp_path / "noise.exr"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(FormatError, match=r"noise\.exr is not an OpenEXR file.*magic"):
        read_exr(path)
    with pytest.raises(FormatError, match="not an OpenEXR file"):
        exr_header(path)


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.exr"):
        read_exr(tmp_path / "missing.exr")
    with pytest.raises(FileNotFoundError, match=r"missing\.exr"):
        exr_header(tmp_path / "missing.exr")


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_exr(tmp_path)


@pytest.mark.fixtures
def test_corrupt_vendor_file(fixtures: Path) -> None:
    path = fixtures / CORRUPT
    with pytest.raises(FormatError, match=r"corrupt_zero_parts\.exr.*damaged"):
        read_exr(path)
    # Its header is intact: it lists the V-Ray channels of a smaller render.
    info = exr_header(path)
    assert info["channels"] == VRAY_CHANNELS
    assert info["size"] == (712, 534)
    assert info["attributes"]["cameraFov"] == pytest.approx(120.0002670288086)


# ------------------------------------------------------------------ vendor files


@pytest.mark.fixtures
def test_vray_header_lists_real_channels(fixtures: Path) -> None:
    path = fixtures / VRAY
    info = exr_header(path)
    assert info["channels"] == VRAY_CHANNELS
    assert _legacy_types(path) == VRAY_CHANNELS  # independent reader agrees
    assert info["size"] == (1780, 1335)
    assert info["compression"] == "zips"
    attrs = info["attributes"]
    assert attrs["cameraFov"] == pytest.approx(29.610824584960938)
    assert attrs["cameraFocalLength"] == pytest.approx(15.224676132202148)
    assert attrs["vrayInfo/vraycore"] == "4.30.03"
    assert attrs["dataWindow"] == ((0, 0), (1779, 1334))
    assert attrs["lineOrder"] == "INCREASING_Y"
    assert len(info["parts"]) == 1


@pytest.mark.fixtures
def test_vray_pixels(fixtures: Path) -> None:
    out = read_exr(fixtures / VRAY, ["Z", "A", "normals"])
    assert list(out) == ["Z", "A", "normals.X", "normals.Y", "normals.Z"]
    for arr in out.values():
        assert arr.shape == (1335, 1780) and arr.dtype == np.float32
    assert np.all(out["Z"] == 0.0) and np.all(out["A"] == 1.0)


@pytest.mark.fixtures
def test_datagen_float32_depth(fixtures: Path) -> None:
    path = fixtures / DATAGEN_F32
    assert exr_header(path)["channels"] == {"B": "FLOAT", "G": "FLOAT", "R": "FLOAT"}
    out = read_exr(path)
    assert sorted(out) == ["B", "G", "R"]
    r = out["R"]
    assert r.shape == (128, 128) and r.dtype == np.float32
    np.testing.assert_array_equal(out["G"], r)
    np.testing.assert_array_equal(out["B"], r)
    assert r.max() == np.float32(1e10) and int((r == np.float32(1e10)).sum()) == 6127
    assert r.min() == np.float32(1.5220524072647095)
    assert r[64, 64] == np.float32(1.533233880996704)


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("rel", "shape", "n_background", "minimum"),
    [
        (DATAGEN_HALF, (512, 512), 24297, 0.5986328125),
        (DATAGEN_2022, (1024, 1024), 321234, 1.5390625),
    ],
)
def test_datagen_half_depth(fixtures: Path, rel: str, shape, n_background: int, minimum) -> None:
    path = fixtures / rel
    assert exr_header(path)["channels"] == {"B": "HALF", "G": "HALF", "R": "HALF"}
    r = read_exr(path, "R")["R"]
    assert r.shape == shape and r.dtype == np.float32
    assert r.max() == 65504.0 and int((r == 65504.0).sum()) == n_background
    assert r.min() == minimum
    # promoted exactly: every value is representable in half precision
    np.testing.assert_array_equal(r.astype(np.float16).astype(np.float32), r)


def test_non_utf8_byte_in_a_channel_name_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "names.exr"
    write_exr(path, {"Zq": np.ones((2, 3), np.float32)})
    data = bytearray(path.read_bytes())
    data[data.index(b"Zq\x00") + 1] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"names\.exr: part 0 holds a name that is not UTF-8"):
        exr_header(path)
    with pytest.raises(FormatError, match=r"names\.exr"):
        read_exr(path)
