"""nerfstudio export: read back by an independent parser written from nerfstudio's format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.export import export_nerfstudio

TOL_PX = 1e-6


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


def parse_transforms(path: Path) -> list[dict]:
    """Cameras of a transforms.json, from nerfstudio's documented format only.

    ``transform_matrix`` is camera-to-world with the camera looking down -z and
    +y up (OpenGL / Blender); intrinsics are pixels with the centre of the
    top-left pixel at (0.5, 0.5) (nerfstudio casts rays through ``i + 0.5``).
    """
    doc = json.loads(path.read_text())
    cams = []
    for f in doc["frames"]:
        c2w = np.array(f["transform_matrix"], float)
        c2w_cv = c2w.copy()
        c2w_cv[:3, 1:3] *= -1.0  # y up, z back -> y down, z forward
        R = c2w_cv[:3, :3].T
        t = -R @ c2w_cv[:3, 3]
        cams.append({**f, "R": R, "t": t})
    return cams


def project(cam: dict, X: np.ndarray) -> np.ndarray:
    p = X @ cam["R"].T + cam["t"]
    x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
    return np.stack([cam["fl_x"] * x + cam["cx"], cam["fl_y"] * y + cam["cy"]], axis=1)


@pytest.mark.parametrize("which", ["datagen", "synthesisai"])
def test_landmarks_reproject_through_an_independent_parser(demo, tmp_path: Path, which) -> None:
    ds = camgeom.load(getattr(demo, which))
    s = export_nerfstudio(ds, tmp_path, workers=1, progress=False)
    assert s.exit_code == 0 and s.totals["frames"] == len(ds)
    cams = parse_transforms(tmp_path / "transforms.json")
    assert len(cams) == len(ds)
    frames = {f.image_path.read_bytes(): f for f in ds}
    n = 0
    for cam in cams:
        frame = frames[(tmp_path / cam["file_path"]).read_bytes()]
        assert (cam["w"], cam["h"]) == (frame.camera.width, frame.camera.height)
        assert cam["camera_model"] == "OPENCV"
        for lm in frame.landmarks.values():
            if lm.world is None:
                continue
            uv, z = frame.camera.project(lm.world)
            ok = z > 0
            assert np.abs(project(cam, lm.world[ok]) - uv[ok]).max() < TOL_PX
            n += int(ok.sum())
    assert n > 100


def test_depth_is_planar_z_in_metres(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.synthesisai)  # range depth
    assert ds[0].depth_kind == "range"
    export_nerfstudio(ds, tmp_path, workers=1, progress=False)
    doc = json.loads((tmp_path / "transforms.json").read_text())
    assert doc["depth_unit_scale_factor"] == 1.0
    cams = parse_transforms(tmp_path / "transforms.json")
    for cam, frame in zip(cams, sorted(ds, key=lambda f: f.frame_id), strict=True):
        z = tifffile.imread(tmp_path / cam["depth_file_path"]).astype(float)
        rng = frame.read_depth()
        assert z.dtype == np.float64 and z.shape == rng.shape
        valid = np.isfinite(rng)
        assert (z[~valid] == 0).all()
        # a pixel's 3D point from the stored z, seen by the same camera, lands on that pixel
        v, u = np.nonzero(valid)
        uv = np.stack([u + 0.5, v + 0.5], axis=1)
        xn = (uv[:, 0] - cam["cx"]) / cam["fl_x"]
        yn = (uv[:, 1] - cam["cy"]) / cam["fl_y"]
        r = z[valid] * np.sqrt(xn**2 + yn**2 + 1.0)
        np.testing.assert_allclose(r, rng[valid], rtol=1e-6)


def test_export_load_export_is_byte_stable(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.datagen)
    export_nerfstudio(ds, tmp_path / "a", workers=1, progress=False)
    back = camgeom.load(tmp_path / "a")
    assert back.vendors == ("nerfstudio",)
    assert set(back.frame_ids) == set(ds.frame_ids)
    for f in back:
        ref = ds[f.frame_id]
        world = ref.landmarks["ibug68"].world
        assert np.abs(f.camera.project(world)[0] - ref.camera.project(world)[0]).max() < TOL_PX
        assert f.depth_kind == "z"
        np.testing.assert_allclose(f.read_depth(), ref.read_depth(), rtol=1e-6)
    export_nerfstudio(back, tmp_path / "b", workers=1, progress=False)
    a = (tmp_path / "a" / "transforms.json").read_bytes()
    b = (tmp_path / "b" / "transforms.json").read_bytes()
    assert a == b


def test_no_depth_option(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.datagen)
    export_nerfstudio(ds, tmp_path, depth=False, images="copy", workers=1, progress=False)
    doc = json.loads((tmp_path / "transforms.json").read_text())
    assert "depth_unit_scale_factor" not in doc
    assert all("depth_file_path" not in f for f in doc["frames"])
    assert not any(p.is_symlink() for p in tmp_path.rglob("*.png"))


def test_lens_fields_read_back_and_project_like_nerfstudio(tmp_path: Path) -> None:
    """An OPENCV frame (k1, k2, k3, p1, p2) read back projects with nerfstudio's model."""
    from camgeom.export.nerfstudio import frame_entry, transforms_bytes

    c2w = np.eye(4)
    c2w[:3, 3] = [0.1, -0.2, 2.0]  # camera 2 m out along +z, looking back at the origin (-z)
    K = np.array([[150.0, 0.0, 64.5], [0.0, 149.0, 47.25], [0.0, 0.0, 1.0]])
    dist = {"k1": -0.12, "k2": 0.03, "k3": -0.004, "k4": 0.0, "p1": 0.001, "p2": -0.0015}
    entry = frame_entry(
        file_path="a.png",
        K=K,
        width=128,
        height=96,
        world_from_cam_opengl=c2w,
        camera_model="OPENCV",
        distortion=dist,
    )
    (tmp_path / "transforms.json").write_bytes(transforms_bytes([entry]))
    frame = camgeom.load(tmp_path / "transforms.json")[0]
    assert frame.camera.distortion is not None
    X = np.array([[0.05, 0.02, 0.1], [-0.2, 0.1, 0.0], [0.3, -0.25, -0.1]])
    (cam,) = parse_transforms(tmp_path / "transforms.json")
    p = X @ cam["R"].T + cam["t"]
    x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
    r2 = x * x + y * y
    radial = 1 + dist["k1"] * r2 + dist["k2"] * r2**2 + dist["k3"] * r2**3
    xd = x * radial + 2 * dist["p1"] * x * y + dist["p2"] * (r2 + 2 * x * x)
    yd = y * radial + dist["p1"] * (r2 + 2 * y * y) + 2 * dist["p2"] * x * y
    expect = np.stack([cam["fl_x"] * xd + cam["cx"], cam["fl_y"] * yd + cam["cy"]], axis=1)
    uv, _ = frame.camera.project(X)
    assert np.abs(uv - expect).max() < TOL_PX


@pytest.mark.parametrize("which", ["datagen", "synthesisai"])
def test_masks_are_binary_pngs_of_the_foreground(demo, tmp_path: Path, which) -> None:
    from PIL import Image

    ds = camgeom.load(getattr(demo, which))
    out = tmp_path / "out"
    s = export_nerfstudio(ds, out, workers=1, progress=False)
    assert s.totals["masks"] == len(ds)
    frames = {f.image_path.read_bytes(): f for f in ds}
    for cam in parse_transforms(out / "transforms.json"):
        frame = frames[(out / cam["file_path"]).read_bytes()]
        assert cam["mask_path"].endswith(".mask.png") and not Path(cam["mask_path"]).is_absolute()
        assert out.resolve() in (out / cam["mask_path"]).resolve().parents
        img = Image.open(out / cam["mask_path"])
        assert img.mode == "L" and img.size == (cam["w"], cam["h"])
        m = np.asarray(img)
        assert set(np.unique(m).tolist()) == {0, 255}
        keys = [k for k in frame.segmentation_mapping if k != "background"]
        np.testing.assert_array_equal(m == 255, frame.segment_mask(keys))
        bg = frame.segment_mask(["background"])
        assert bg.any() and not (m[bg] == 255).any()
    assert {p.parent for p in tmp_path.rglob("*") if p.is_file()} <= {
        out,
        *[p for p in out.rglob("*") if p.is_dir()],
    }


def test_ply_points_are_world_points_inside_the_masks(demo, tmp_path: Path) -> None:
    import trimesh
    from PIL import Image

    ds = camgeom.load(demo.synthesisai)
    out = tmp_path / "out"
    s = export_nerfstudio(ds, out, ply=True, workers=1, progress=False)
    doc = json.loads((out / "transforms.json").read_text())
    assert doc["ply_file_path"] == "points3D.ply"
    cloud = trimesh.load(out / doc["ply_file_path"])
    pts = np.asarray(cloud.vertices, float)
    assert len(pts) == s.totals["points"] > 100
    hit = np.zeros(len(pts), bool)
    for entry in doc["frames"]:
        K = np.array([[entry["fl_x"], 0, entry["cx"]], [0, entry["fl_y"], entry["cy"]], [0, 0, 1]])
        cam = camgeom.Camera.from_pose(
            K,
            entry["transform_matrix"],
            entry["w"],
            entry["h"],
            convention="opengl",
            kind="world_from_cam",
        )
        uv, z = cam.project(pts)
        mask = np.asarray(Image.open(out / entry["mask_path"])) == 255
        ok = (z > 0) & (uv >= 0).all(1) & (uv[:, 0] < entry["w"]) & (uv[:, 1] < entry["h"])
        inside = np.zeros(len(pts), bool)
        ij = np.floor(uv[ok]).astype(int)
        inside[ok] = mask[ij[:, 1], ij[:, 0]]
        hit |= inside
    assert hit.all()
    # nothing is written outside --out
    assert all(out in p.parents for p in tmp_path.rglob("*") if p != out)


def test_masks_and_ply_round_trip_byte_stable(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.synthesisai)
    export_nerfstudio(ds, tmp_path / "a", ply=True, workers=1, progress=False)
    back = camgeom.load(tmp_path / "a")
    export_nerfstudio(back, tmp_path / "b", ply=True, workers=1, progress=False)
    for name in ("transforms.json", "points3D.ply"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_alpha_gives_the_mask_without_a_class_mapping(demo) -> None:
    import dataclasses

    from camgeom.export.jobs import foreground_mask
    from camgeom.io import read_tiff

    frame = camgeom.load(demo.synthesisai)[0]
    alpha_only = dataclasses.replace(frame, segmentation_mapping={})
    mask = foreground_mask(alpha_only)
    alpha = np.asarray(read_tiff(frame.alpha_path))
    alpha = alpha if alpha.ndim == 2 else alpha[..., 0]
    assert mask is not None and mask.any() and not mask.all()
    np.testing.assert_array_equal(mask, alpha > 0)
    bare = dataclasses.replace(alpha_only, alpha_path=None)
    assert foreground_mask(bare) is None


def test_cli_ply_and_no_masks(demo, tmp_path: Path) -> None:
    from camgeom.cli import main

    out = tmp_path / "out"
    argv = ["export", "nerfstudio", str(demo.synthesisai), "--out", str(out), "--workers", "1"]
    assert main([*argv, "--ply", "--no-masks", "--quiet"]) == 0
    doc = json.loads((out / "transforms.json").read_text())
    assert (out / doc["ply_file_path"]).is_file()
    assert all("mask_path" not in f for f in doc["frames"])
    assert not list(out.rglob("*.mask.png"))


def test_a_lens_nerfstudio_cannot_hold_fails_only_its_frame(tmp_path: Path) -> None:
    """A FULL_OPENCV lens with rational terms: that frame fails, the others are written."""
    from PIL import Image

    model = tmp_path / "src" / "sparse" / "0"
    model.mkdir(parents=True)
    (model / "cameras.txt").write_text(
        "1 OPENCV 160 120 250 260 81 59 -0.1 0.02 0.001 -0.002\n"
        "2 FULL_OPENCV 160 120 200 210 81 59 -0.1 0.02 0.001 -0.002 0.003 0.01 0.002 0.001\n"
        "3 PINHOLE 160 120 200 210 80 60\n"
    )
    (model / "images.txt").write_text(
        "1 1 0 0 0 0.1 0.2 2.0 1 a.png\n\n"
        "2 1 0 0 0 -0.1 0.2 2.0 2 b.png\n\n"
        "3 1 0 0 0 0.0 -0.2 2.0 3 c.png\n\n"
    )
    (model / "points3D.txt").write_text("")
    (tmp_path / "src" / "images").mkdir()
    for name in "abc":
        Image.new("RGB", (160, 120)).save(tmp_path / "src" / "images" / f"{name}.png")
    s = export_nerfstudio(
        camgeom.load(tmp_path / "src"), tmp_path / "out", workers=1, progress=False
    )
    assert (s.done, s.failed) == (2, 1)
    (failure,) = s.failures
    assert failure.frame_id == "b" and "FULL_OPENCV" in failure.message
    doc = json.loads((tmp_path / "out" / "transforms.json").read_text())
    assert sorted(Path(f["file_path"]).name.split(".")[0] for f in doc["frames"]) == ["a", "c"]
