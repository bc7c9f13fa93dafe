"""The column writers of COLMAP models against a plain per-item reference writer."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from camgeom.errors import InvalidValueError
from camgeom.export._job_base import pack_array, unpack_array
from camgeom.export.colmap import (
    CAMERA_MODELS,
    ColmapCamera,
    ColmapImage,
    ColmapModel,
    ColmapPoints,
    model_bytes,
    read_model,
    write_model,
)
from camgeom.export.colmap_write import float_tokens, int_tokens

# ----------------------------------------------------------------------------- reference


def _ref_text(model: ColmapModel) -> dict[str, bytes]:
    """COLMAP's text layout, one item at a time with repr (the format's definition)."""
    cams = [
        "# Camera list with one line of data per camera:",
        "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]",
        f"# Number of cameras: {len(model.cameras)}",
    ]
    for c in model.cameras:
        params = " ".join(repr(float(p)) for p in c.params)
        cams.append(f"{c.camera_id} {c.model} {c.width} {c.height} {params}")
    n_obs = sum(len(im.point3D_ids) for im in model.images)
    mean = n_obs / len(model.images) if model.images else 0.0
    ims = [
        "# Image list with two lines of data per image:",
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
        "#   POINTS2D[] as (X, Y, POINT3D_ID)",
        f"# Number of images: {len(model.images)}, mean observations per image: {mean!r}",
    ]
    for im in model.images:
        pose = " ".join(repr(float(v)) for v in (*im.qvec, *im.tvec))
        ims.append(f"{im.image_id} {pose} {im.camera_id} {im.name}")
        ims.append(
            " ".join(
                f"{float(x)!r} {float(y)!r} {int(p)}"
                for (x, y), p in zip(im.xys, im.point3D_ids, strict=True)
            )
        )
    pts = model.points
    n = len(pts)
    pts_lines = [
        "# 3D point list with one line of data per point:",
        "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)",
        f"# Number of points: {n}, mean track length: {(len(pts.track_image) / n if n else 0.0)!r}",
    ]
    for p in pts:
        track = " ".join(f"{i} {j}" for i, j in zip(p.image_ids, p.point2D_idxs, strict=True))
        xyz = " ".join(repr(v) for v in p.xyz)
        r, g, b = p.rgb
        pts_lines.append(f"{p.point3D_id} {xyz} {r} {g} {b} {p.error!r} {track}".rstrip())
    return {
        "cameras.txt": ("\n".join(cams) + "\n").encode(),
        "images.txt": ("\n".join(ims) + "\n").encode(),
        "points3D.txt": ("\n".join(pts_lines) + "\n").encode(),
    }


def _ref_binary(model: ColmapModel) -> dict[str, bytes]:
    """COLMAP's binary layout, one item at a time with struct."""
    cams = [struct.pack("<Q", len(model.cameras))]
    for c in model.cameras:
        cams.append(struct.pack("<iiQQ", c.camera_id, CAMERA_MODELS[c.model][0], c.width, c.height))
        cams.append(struct.pack(f"<{len(c.params)}d", *c.params))
    ims = [struct.pack("<Q", len(model.images))]
    for im in model.images:
        ims.append(struct.pack("<I7dI", im.image_id, *im.qvec, *im.tvec, im.camera_id))
        ims.append(im.name.encode() + b"\0" + struct.pack("<Q", len(im.point3D_ids)))
        for (x, y), p in zip(im.xys, im.point3D_ids, strict=True):
            ims.append(struct.pack("<ddq", x, y, p))
    pts = [struct.pack("<Q", len(model.points))]
    for p in model.points:
        pts.append(struct.pack("<Q3d3BdQ", p.point3D_id, *p.xyz, *p.rgb, p.error, len(p.image_ids)))
        for i, j in zip(p.image_ids, p.point2D_idxs, strict=True):
            pts.append(struct.pack("<II", i, j))
    return {
        "cameras.bin": b"".join(cams),
        "images.bin": b"".join(ims),
        "points3D.bin": b"".join(pts),
    }


# ----------------------------------------------------------------------------- models

EDGES = [0.0, -0.0, 1e-4, -1e-4, 9.999999999999999e-05, 1e16, 9999999999999998.0, 1e-05]
EDGES += [5e-324, 1.7976931348623157e308, float("nan"), float("inf"), -float("inf"), 0.1, 1.0]


def _numbers(rng: np.random.Generator, shape) -> np.ndarray:
    v = rng.standard_normal(shape) * 10.0 ** rng.integers(-25, 25, shape)
    pick = rng.random(shape) < 0.15
    v[pick] = rng.choice(EDGES, int(pick.sum()))
    return v


def _model(rng: np.random.Generator, *, uniform: bool) -> ColmapModel:
    n_images = int(rng.integers(0, 6))
    models = rng.choice(sorted(CAMERA_MODELS), n_images)
    cameras = tuple(
        ColmapCamera(i + 1, str(m), 64, 48, tuple(_numbers(rng, len(CAMERA_MODELS[m][1]))))
        for i, m in enumerate(models)
    )
    images = []
    for i in range(n_images):
        k = int(rng.integers(0, 5))
        images.append(
            ColmapImage(
                i + 1,
                i + 1,
                tuple(_numbers(rng, 4)),  # type: ignore[arg-type]
                tuple(_numbers(rng, 3)),  # type: ignore[arg-type]
                f"dir/{i}.image.png",
                _numbers(rng, (k, 2)),
                rng.integers(-1, 10**6, k),
            )
        )
    n = int(rng.integers(0, 25)) if n_images else 0
    lengths = np.full(n, rng.integers(0, 4)) if uniform else rng.integers(0, 4, n)
    t = int(lengths.sum())
    points = ColmapPoints(
        np.arange(1, n + 1, dtype=np.int64) * 7,
        _numbers(rng, (n, 3)),
        rng.integers(0, 256, (n, 3)).astype(np.uint8),
        _numbers(rng, n),
        np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        rng.integers(1, 2**31, t),
        rng.integers(0, 2**31, t),
    )
    return ColmapModel(cameras, tuple(images), points)


@pytest.mark.parametrize("seed", range(40))
def test_writers_equal_the_per_item_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = _model(rng, uniform=seed % 2 == 0)
    assert model_bytes(model) == _ref_text(model)
    assert model_bytes(model, binary=True) == _ref_binary(model)


def test_large_single_view_model_equals_the_reference(tmp_path) -> None:
    """One observation per point (the single-view layout): the list-slice path of the writers."""
    rng = np.random.default_rng(7)
    n_img, per = 40, 30
    images = tuple(
        ColmapImage(
            i + 1,
            i + 1,
            tuple(rng.random(4)),
            tuple(rng.random(3)),
            f"{i}.image.png",
            rng.random((per, 2)) * 100,
            np.arange(per) + per * i + 1,
        )
        for i in range(n_img)
    )
    cameras = tuple(
        ColmapCamera(i + 1, "PINHOLE", 160, 120, (100.0, 100.0, 80.0, 60.0)) for i in range(n_img)
    )
    n = n_img * per
    points = ColmapPoints(
        np.arange(1, n + 1),
        rng.standard_normal((n, 3)),
        np.full((n, 3), 128, np.uint8),
        rng.random(n) * 1e-3,
        np.arange(n + 1),
        np.repeat(np.arange(1, n_img + 1), per),
        np.tile(np.arange(per), n_img),
    )
    model = ColmapModel(cameras, images, points)
    assert model_bytes(model) == _ref_text(model)
    assert model_bytes(model, binary=True) == _ref_binary(model)
    for binary in (False, True):
        write_model(model, tmp_path / str(binary), binary=binary)
        back = read_model(tmp_path / str(binary))
        assert model_bytes(back, binary=binary) == model_bytes(model, binary=binary)


def test_float_tokens_are_repr_at_every_magnitude() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.standard_normal(20_000) * 10.0 ** rng.integers(-320, 308, 20_000),
            rng.standard_normal(20_000) * 10.0 ** rng.integers(-6, 18, 20_000),
            np.round(rng.standard_normal(2_000) * 1e15),
            np.nextafter(1e-4, [0.0, 1.0]),
            np.nextafter(1e16, [0.0, 2e16]),
            EDGES,
        ]
    )
    assert float_tokens(values) == [repr(v) for v in values.tolist()]
    assert float_tokens(values[:-1].reshape(-1, 2)) == [repr(v) for v in values[:-1].tolist()]
    assert float_tokens(np.zeros(0)) == []
    ints = np.array([0, -1, 2**62, -(2**62), 255])
    assert int_tokens(ints) == [str(v) for v in ints.tolist()]


def test_text_model_refuses_whitespace_anywhere_in_a_name() -> None:
    cam = ColmapCamera(1, "PINHOLE", 64, 48, (50.0, 50.0, 32.0, 24.0))
    for name in ("a b.png", "last.png ", "tab\there.png", "nbsp\u00a0.png"):
        images = (
            ColmapImage(1, 1, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), "ok.png"),
            ColmapImage(2, 1, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), name),
        )
        with pytest.raises(InvalidValueError, match="spaces"):
            model_bytes(ColmapModel((cam,), images))
        assert model_bytes(ColmapModel((cam,), images), binary=True)


def test_packed_arrays_round_trip_exactly() -> None:
    values = np.array([[0.1, -0.0], [np.nan, np.inf], [5e-324, 1e308]])
    back = unpack_array(pack_array(values, "<f8"), "<f8", 2)
    assert back.tobytes() == values.tobytes()
    rgb = np.array([[0, 128, 255]], np.uint8)
    np.testing.assert_array_equal(unpack_array(pack_array(rgb, "u1"), "u1", 3), rgb)
    assert unpack_array(pack_array(np.zeros((0, 3)), "<f8"), "<f8", 3).shape == (0, 3)
