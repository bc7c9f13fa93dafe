"""Projection against the vendors' own 2D labels, JSON parsed directly (no readers).

Synthesis AI: ``transform_world2cam.mat_4x4`` maps world points to the OpenGL
camera frame; ``screen_space_pos * (W, H)`` are camgeom pixels. Datagen v1.1.0:
``extrinsic_matrix`` maps world to the OpenCV frame; ``pixel_2d`` is (row, col).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from camgeom.camera import Camera
from camgeom.conventions import convert_pixels

# Known vendor defects (FORMATS.md), named so that a change in them is noticed.
V15_IBUG_EYEBROWS = list(range(17, 27))  # v1.5 iBUG-68 points 17-26: 3-21 px off
DUPLICATED_RIGHT_PUPIL = ("1", "1.1")  # right pupil carries the left pupil's position


def _walk(obj, path=""):
    """Yield (group path, point dict) for every labelled point."""
    if isinstance(obj, dict):
        if "world_space_pos" in obj and "screen_space_pos" in obj:
            yield path, obj
            return
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v, path)


def _synthesis_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "synthesisai").glob("v1*/*.info.json"))


def _synthesis_camera(info: dict) -> Camera:
    K = np.array(info["camera"]["intrinsics"], float)
    W, H = round(2 * K[0, 2]), round(2 * K[1, 2])  # vendor K is centred: cx = W/2
    M = np.array(info["camera"]["transform_world2cam"]["mat_4x4"], float)
    return Camera.from_pose(K, M, W, H, convention="opengl")


def test_synthesis_fixture_landmarks_project_onto_their_labels(fixtures):
    files = _synthesis_files(fixtures)
    assert len(files) >= 9
    seen_defects = {"eyebrows": 0, "pupils": 0}
    n_points = 0
    for f in files:
        info = json.loads(f.read_text())
        cam = _synthesis_camera(info)
        version = str(info["version"])
        groups: dict[str, list[dict]] = {}
        for g, p in _walk({k: info[k] for k in ("landmarks", "pupil_coordinates") if k in info}):
            groups.setdefault(g, []).append(p)
        for g, pts in groups.items():
            world = np.array([p["world_space_pos"] for p in pts])
            labels = convert_pixels(
                np.array([p["screen_space_pos"] for p in pts]),
                "screen_space",
                "camgeom",
                width=cam.width,
                height=cam.height,
            )
            uv, z = cam.project(world)
            err = np.abs(uv - labels).max(axis=-1)
            n_points += len(pts)
            if g in ("landmarks", "landmarks.ibug68"):
                # iBUG-68 labels are rounded to 4 decimals: <= 0.5e-4 * 1024 px
                ok = np.ones(len(pts), bool)
                if version == "1.5":
                    ok[V15_IBUG_EYEBROWS] = False
                    assert (err[~ok] > 2.5).all(), f"{f.name}: eyebrow defect changed: {err[~ok]}"
                    seen_defects["eyebrows"] += 1
                assert err[ok].max() < 0.1, f"{f}: {g} max {err[ok].max():.3g} px"
            elif g == "pupil_coordinates.pupil_right" and version in DUPLICATED_RIGHT_PUPIL:
                left = info["pupil_coordinates"]["pupil_left"]
                assert pts[0]["camera_space_pos"] == left["camera_space_pos"]
                assert err.max() > 10  # the duplicated position cannot reproduce the label
                seen_defects["pupils"] += 1
            else:
                assert err.max() < 1e-3, f"{f}: {g} max {err.max():.3g} px"
            assert (z > 0).all()
            if "camera_space_pos" in pts[0]:
                cs = np.array([p["camera_space_pos"] for p in pts]) * [1, -1, -1]  # GL -> CV
                pc = world @ cam.cam_from_world[:3, :3].T + cam.cam_from_world[:3, 3]
                if not (g == "pupil_coordinates.pupil_right" and version in DUPLICATED_RIGHT_PUPIL):
                    np.testing.assert_allclose(pc, cs, atol=1e-6)
    assert seen_defects == {"eyebrows": 2, "pupils": 3}
    assert n_points == 1302  # every labelled point in the fixtures


def _datagen_points(obj):
    if isinstance(obj, dict):
        if "global_3d" in obj and "pixel_2d" in obj:
            yield obj
            return
        for v in obj.values():
            yield from _datagen_points(v)


@pytest.mark.parametrize("kind", ["faces_nn", "faces_multicam", "hic_home_security"])
def test_datagen_v110_keypoints_project_onto_pixel_2d(fixtures, kind):
    metas = sorted((fixtures / "datagen" / kind).rglob("camera_metadata.json"))
    assert metas
    for meta_path in metas:
        meta = json.loads(meta_path.read_text())
        assert meta["version"] == "1.1.0"
        E = np.vstack([np.array(meta["extrinsic_matrix"], float), [0, 0, 0, 1]])
        cam = Camera(
            np.array(meta["intrinsic_matrix"], float),
            E,
            int(meta["resolution_px"]["x"]),
            int(meta["resolution_px"]["y"]),
        )
        pts = [
            p
            for f in sorted((meta_path.parent / "key_points").glob("*.json"))
            if f.name != "all_key_points.json"
            for p in _datagen_points(json.loads(f.read_text()))
        ]
        assert len(pts) > 60
        world = np.array([[p["global_3d"][a] for a in "xyz"] for p in pts], float)
        rc = np.array([[p["pixel_2d"]["x"], p["pixel_2d"]["y"]] for p in pts], float)
        labels = convert_pixels(rc, "row_col", "camgeom")
        uv, _ = cam.project(world)
        err = np.abs(uv - labels)
        integer = all(
            float(p["pixel_2d"]["x"]).is_integer() and float(p["pixel_2d"]["y"]).is_integer()
            for p in pts
        )
        if kind == "hic_home_security":
            assert integer
            assert err.max() <= 0.5 + 1e-9, f"{meta_path}: {err.max()}"
        else:
            assert not integer
            assert err.max() < 1e-6, f"{meta_path}: {err.max()}"
        # the unswapped reading is grossly wrong: the swap is real
        assert np.abs(uv - rc).max() > 5
