"""write_ply: binary PLY point clouds, read back with trimesh and with a plain parser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from camgeom.errors import InvalidValueError, OutputExistsError, ShapeError
from camgeom.io import write_ply

_PLY_DTYPES = {"float": "<f4", "double": "<f8", "uchar": "u1"}


def _parse_ply(path: Path) -> tuple[list[str], np.ndarray]:
    """Minimal independent reader: header lines and the vertex records."""
    data = path.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    lines = data[:end].decode("ascii").splitlines()
    assert lines[:2] == ["ply", "format binary_little_endian 1.0"]
    fields = [
        (ln.split()[2], _PLY_DTYPES[ln.split()[1]]) for ln in lines if ln.startswith("property")
    ]
    count = int(next(ln for ln in lines if ln.startswith("element vertex")).split()[2])
    body = np.frombuffer(data[end:], dtype=np.dtype(fields))
    assert body.shape == (count,)  # no trailing bytes, nothing missing
    return lines, body


def _cloud(n: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    points = rng.normal(size=(n, 3)) + np.array([0.0, 0.0, 2.0])
    normals = rng.normal(size=(n, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    colors = rng.integers(0, 256, size=(n, 3), dtype=np.uint8)
    return points, normals, colors


def test_points_only(tmp_path: Path) -> None:
    points, _, _ = _cloud()
    path = write_ply(tmp_path / "p.ply", points)
    assert path == tmp_path / "p.ply"
    lines, body = _parse_ply(path)
    assert lines[2:] == [
        "element vertex 7",
        "property float x",
        "property float y",
        "property float z",
        "end_header",
    ]
    np.testing.assert_array_equal(
        np.column_stack([body["x"], body["y"], body["z"]]), points.astype(np.float32)
    )
    loaded = trimesh.load(path)
    assert isinstance(loaded, trimesh.PointCloud)
    np.testing.assert_allclose(loaded.vertices, points, rtol=0, atol=1e-6)


def test_points_colors_normals_read_back_with_trimesh(tmp_path: Path) -> None:
    points, normals, colors = _cloud()
    path = write_ply(tmp_path / "c.ply", points, colors=colors, normals=normals)
    loaded = trimesh.load(path)
    assert isinstance(loaded, trimesh.PointCloud)
    np.testing.assert_allclose(loaded.vertices, points, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(loaded.colors[:, :3], colors)
    np.testing.assert_array_equal(loaded.colors[:, 3], 255)  # opaque when only RGB given
    raw = loaded.metadata["_ply_raw"]["vertex"]["data"]
    assert raw.dtype.names == ("x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "alpha")
    read_normals = np.column_stack([raw["nx"], raw["ny"], raw["nz"]])
    np.testing.assert_allclose(read_normals, normals, rtol=0, atol=1e-7)


def test_rgba_and_float_colors(tmp_path: Path) -> None:
    points = np.zeros((4, 3))
    rgba = np.array(
        [[0.0, 0.5, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0], [0.2, 0.4, 0.6, 0.8], [1, 1, 1, 1]]
    )
    path = write_ply(tmp_path / "f.ply", points, colors=rgba)
    _, body = _parse_ply(path)
    got = np.column_stack([body["red"], body["green"], body["blue"], body["alpha"]])
    # hand-derived: round(255 * value), 127.5 rounds to even 128
    expected = np.array(
        [[0, 128, 255, 255], [255, 0, 0, 0], [51, 102, 153, 204], [255, 255, 255, 255]]
    )
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(trimesh.load(path).colors, expected)


def test_integer_colors_in_0_255(tmp_path: Path) -> None:
    colors = np.array([[0, 10, 255], [3, 2, 1]], dtype=np.int64)
    _, body = _parse_ply(write_ply(tmp_path / "i.ply", np.ones((2, 3)), colors=colors))
    np.testing.assert_array_equal(
        np.column_stack([body["red"], body["green"], body["blue"]]), colors
    )


def test_empty_cloud(tmp_path: Path) -> None:
    lines, body = _parse_ply(
        write_ply(tmp_path / "e.ply", np.zeros((0, 3)), colors=np.zeros((0, 3)))
    )
    assert "element vertex 0" in lines and body.size == 0


def test_inputs_are_not_modified(tmp_path: Path) -> None:
    points, normals, _ = _cloud()
    colors = np.full((7, 3), 0.5)
    before = (points.copy(), normals.copy(), colors.copy())
    write_ply(tmp_path / "x.ply", points, colors=colors, normals=normals)
    for arr, copy in zip((points, normals, colors), before, strict=True):
        np.testing.assert_array_equal(arr, copy)


def test_overwrite_rules(tmp_path: Path) -> None:
    path = write_ply(tmp_path / "o.ply", np.zeros((1, 3)))
    original = path.read_bytes()
    with pytest.raises(OutputExistsError, match=r"o\.ply already exists"):
        write_ply(path, np.ones((2, 3)))
    assert path.read_bytes() == original
    write_ply(path, np.ones((2, 3)), overwrite=True)
    assert _parse_ply(path)[1].size == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.ply"]


def test_direct_write_same_bytes_and_overwrite_rules(tmp_path: Path) -> None:
    pts, normals, colors = _cloud()
    atomic = write_ply(tmp_path / "a.ply", pts, colors=colors, normals=normals)
    direct = write_ply(tmp_path / "d.ply", pts, colors=colors, normals=normals, atomic=False)
    assert direct.read_bytes() == atomic.read_bytes()
    with pytest.raises(OutputExistsError, match=r"d\.ply already exists"):
        write_ply(direct, np.zeros((1, 3)), atomic=False)
    assert direct.read_bytes() == atomic.read_bytes()
    write_ply(direct, np.zeros((1, 3)), atomic=False, overwrite=True)
    assert _parse_ply(direct)[1].size == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ply", "d.ply"]


@pytest.mark.parametrize(
    ("points", "kwargs", "error", "match"),
    [
        (np.zeros((3, 2)), {}, ShapeError, r"`points` to have shape \(\.\.\., 3\), got \(3, 2\)"),
        (np.zeros((2, 2, 3)), {}, ShapeError, r"`points` to have shape \(N, 3\)"),
        (np.array([[0.0, np.nan, 1.0]]), {}, InvalidValueError, "`points` to be finite"),
        (np.zeros((2, 3)), {"colors": np.zeros((3, 3))}, ShapeError, r"\(2, 3\) or \(2, 4\)"),
        (np.zeros((2, 3)), {"colors": np.full((2, 3), 1.5)}, InvalidValueError, r"\[0, 1\]"),
        (np.zeros((2, 3)), {"colors": np.full((2, 3), np.nan)}, InvalidValueError, "NaN"),
        (np.zeros((2, 3)), {"colors": np.full((2, 3), 300)}, InvalidValueError, "0..255"),
        (np.zeros((2, 3)), {"colors": np.full((2, 3), "r")}, InvalidValueError, "numeric"),
        (np.zeros((2, 3)), {"normals": np.zeros((1, 3))}, ShapeError, r"`normals`.*\(2, 3\)"),
        (np.zeros((2, 3)), {"normals": np.full((2, 3), np.inf)}, InvalidValueError, "finite"),
    ],
)
def test_errors_write_nothing(tmp_path: Path, points, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        write_ply(tmp_path / "bad.ply", points, **kwargs)
    assert list(tmp_path.iterdir()) == []


@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(0, 20), st.just(3)),
        elements=st.floats(-1e6, 1e6, allow_nan=False),
    ),
    st.data(),
)
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, points, data) -> None:
    n = points.shape[0]
    colors = data.draw(hnp.arrays(np.uint8, (n, 4)))
    path = write_ply(tmp_path_factory.mktemp("ply") / "r.ply", points, colors=colors)
    _, body = _parse_ply(path)
    np.testing.assert_array_equal(
        np.column_stack([body["x"], body["y"], body["z"]]).reshape(n, 3), points.astype(np.float32)
    )
    np.testing.assert_array_equal(
        np.column_stack([body["red"], body["green"], body["blue"], body["alpha"]]).reshape(n, 4),
        colors,
    )


@pytest.mark.parametrize(
    ("points", "kwargs", "name"),
    [
        (np.array([[0.0, 1e39, 1.0]]), {}, "points"),
        (np.array([[0.0, 0.0, 1.0]]), {"normals": np.array([[-1e300, 0.0, 0.0]])}, "normals"),
    ],
)
def test_values_beyond_float32_are_refused_not_stored_as_inf(tmp_path, points, kwargs, name):
    with pytest.raises(InvalidValueError, match=f"`{name}` to be finite and within the float32"):
        write_ply(tmp_path / "big.ply", points, **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "layout",
    ["float32", "float64", "strided", "fortran", "big-endian"],
)
def test_points_only_body_is_the_float32_rows(tmp_path, layout) -> None:
    points = np.random.default_rng(5).normal(size=(40, 3)).astype(np.float32)
    given_points = {
        "float32": points,
        "float64": points.astype(np.float64),
        "strided": np.repeat(points, 2, axis=0)[::2],
        "fortran": np.asfortranarray(points),
        "big-endian": points.astype(">f4"),
    }[layout]
    path = write_ply(tmp_path / "p.ply", given_points)
    data = path.read_bytes()
    assert data.endswith(b"end_header\n" + points.astype("<f4").tobytes())
    np.testing.assert_array_equal(trimesh.load(path).vertices, points.astype(np.float64))
