"""COLMAP export: read back by pycolmap, by camgeom's reader, and checked against camgeom."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import camgeom
from camgeom.camera import Camera
from camgeom.datasets.colmap import frame_id_of
from camgeom.demo import make_demo_dataset
from camgeom.export import ExportError, export_colmap
from camgeom.export.colmap import (
    ColmapCamera,
    ColmapImage,
    ColmapModel,
    ColmapPoint,
    model_bytes,
    read_model,
    write_model,
)
from camgeom.export.jobs import lens_model, scene_folder

pycolmap = pytest.importorskip("pycolmap")

TOL_PX = 1e-6


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


def _models(out: Path) -> list[Path]:
    return sorted(p for p in (out / "sparse").iterdir() if p.is_dir())


def _cam_from_world(image) -> np.ndarray:
    rigid = image.cam_from_world() if callable(image.cam_from_world) else image.cam_from_world
    pose = np.eye(4)
    pose[:3] = np.asarray(rigid.matrix())
    return pose


def _check_against_camgeom(model_dir: Path, frames: dict, *, label_tol: float | None) -> int:
    """Every observation of the model, projected by pycolmap, against camgeom's projection.

    COLMAP holds a rotation; a vendor's stored matrix is rigid only to its
    stored precision (float32). pycolmap's projection must equal camgeom's
    through the pose as written within 1e-6 px, and differ from the frame's own
    camera by no more than the first-order effect of that rotation difference.
    """
    rec = pycolmap.Reconstruction(str(model_dir))
    rec.update_point_3d_errors()
    checked = 0
    for image in rec.images.values():
        frame = frames[frame_id_of(image.name)]
        cam = rec.cameras[image.camera_id]
        pose = _cam_from_world(image)
        stored = frame.camera.cam_from_world
        dR = np.linalg.norm(pose[:3, :3] - stored[:3, :3], 2)
        assert dR < 2e-6
        np.testing.assert_array_equal(pose[:3, 3], stored[:3, 3])
        assert (cam.width, cam.height) == (frame.camera.width, frame.camera.height)
        as_written = Camera(frame.camera.K, pose, cam.width, cam.height)
        f = max(frame.camera.K[0, 0], frame.camera.K[1, 1])
        for p2d in image.points2D:
            if not p2d.has_point3D():
                continue
            xyz = rec.points3D[p2d.point3D_id].xyz
            uv_colmap = cam.img_from_cam(pose[:3, :3] @ xyz + pose[:3, 3])
            assert np.abs(uv_colmap - as_written.project(xyz)[0]).max() < TOL_PX
            uv_camgeom, z = frame.camera.project(xyz)
            bound = TOL_PX + 3 * f * dR * np.linalg.norm(xyz) / z * (
                1 + np.abs(uv_camgeom).max() / f
            )
            assert np.abs(uv_colmap - uv_camgeom).max() < bound
            if label_tol is not None:
                assert np.hypot(*(np.asarray(p2d.xy) - uv_colmap)) <= label_tol + bound
            checked += 1
    return checked


def _max_error(model_dir: Path) -> float:
    """pycolmap's own reprojection errors of the tracks, recomputed from the model."""
    rec = pycolmap.Reconstruction(str(model_dir))
    rec.update_point_3d_errors()
    return max(p.error for p in rec.points3D.values())


@pytest.mark.parametrize("binary", [False, True])
def test_demo_multiview_reads_back_in_pycolmap(demo, tmp_path: Path, binary: bool) -> None:
    ds = camgeom.load(demo.datagen)
    s = export_colmap(ds, tmp_path, binary=binary, workers=1, progress=False)
    assert s.exit_code == 0
    (model,) = _models(tmp_path)
    assert model.name == scene_folder(ds[0].scene_id)
    assert sorted(p.name for p in model.iterdir()) == sorted(
        f"{n}.{'bin' if binary else 'txt'}" for n in ("cameras", "images", "points3D")
    )
    frames = {f.frame_id: f for f in ds}
    assert _check_against_camgeom(model, frames, label_tol=TOL_PX) > 50
    rec = pycolmap.Reconstruction(str(model))
    assert rec.num_cameras() == rec.num_images() == len(ds)
    assert _max_error(model) < TOL_PX
    assert max(p.error for p in rec.points3D.values()) < TOL_PX  # as written by camgeom
    # the two views share their landmarks: tracks of length 2
    assert max(p.track.length() for p in rec.points3D.values()) == 2
    # images are linked into the output folder, bytes unchanged
    for image in rec.images.values():
        src = frames[frame_id_of(image.name)].image_path
        assert (tmp_path / image.name).read_bytes() == src.read_bytes()


def test_single_view_dataset_is_one_model(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.synthesisai)
    assert export_colmap(ds, tmp_path, workers=1, progress=False).exit_code == 0
    (model,) = _models(tmp_path)
    assert model.name == "0"
    frames = {f.frame_id: f for f in ds}
    _check_against_camgeom(model, frames, label_tol=TOL_PX)
    rec = pycolmap.Reconstruction(str(model))
    assert rec.num_images() == len(ds)
    assert max(p.track.length() for p in rec.points3D.values()) == 1
    assert _max_error(model) < TOL_PX


def test_datagen_multicam_one_model_per_scene_shared_landmarks(fixtures, tmp_path: Path) -> None:
    ds = camgeom.load(fixtures / "datagen" / "faces_multicam")
    scenes = ds.scenes()
    s = export_colmap(ds, tmp_path, binary=True, workers=1, progress=False)
    assert s.exit_code == 0
    assert {m.name for m in _models(tmp_path)} == {scene_folder(k) for k in scenes}
    frames = {f.frame_id: f for f in ds}
    for key, scene in scenes.items():
        model = tmp_path / "sparse" / scene_folder(key)
        rec = pycolmap.Reconstruction(str(model))
        # one camera per sensor, every view registered
        assert rec.num_cameras() == rec.num_images() == len(scene)
        names = {frame_id_of(im.name) for im in rec.images.values()}
        assert names == set(scene.frame_ids)
        if len(scene) > 1:  # a landmark is one 3D point seen by every view
            assert rec.compute_mean_track_length() > 1.5
        # labels agree with the stored (float32) pose; COLMAP's rotation is that pose's
        # nearest rotation, so the errors are those of float32 rigidity, far below 1e-3 px
        assert _max_error(model) < 1e-3
        _check_against_camgeom(model, frames, label_tol=TOL_PX)


def test_rounded_vendor_labels_within_stored_precision(fixtures, tmp_path: Path) -> None:
    ds = camgeom.load(fixtures / "synthesisai" / "v1_2_faces")
    s = export_colmap(ds, tmp_path, groups=["ibug68"], workers=1, progress=False)
    assert s.exit_code == 0
    rounding = ds[0].landmarks["ibug68"].pixels_rounding
    assert rounding is not None
    frames = {f.frame_id: f for f in ds}
    for model in _models(tmp_path):
        n = _check_against_camgeom(model, frames, label_tol=float(np.hypot(*rounding)) + 1e-9)
        assert n > 0
        assert _max_error(model) > 1e-3  # really rounded labels


def test_pixel_convention_is_camgeoms(tmp_path: Path) -> None:
    """COLMAP and camgeom both put the centre of the top-left pixel at (0.5, 0.5)."""
    K = np.array([[100.0, 0.0, 32.0], [0.0, 100.0, 24.0], [0.0, 0.0, 1.0]])
    cam = Camera(K, np.eye(4), 64, 48)
    write_model(
        ColmapModel(
            (ColmapCamera(1, "PINHOLE", 64, 48, (100.0, 100.0, 32.0, 24.0)),),
            (ColmapImage(1, 1, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), "a.png"),),
        ),
        tmp_path,
    )
    pc = pycolmap.Reconstruction(str(tmp_path)).cameras[1]
    # the ray through the top-left pixel's centre
    ray = cam.unproject([0.5, 0.5], 1.0)
    assert np.allclose(pc.img_from_cam(ray), [0.5, 0.5], atol=1e-12)
    assert np.allclose(pc.cam_from_img(np.array([0.5, 0.5])), ray[:2], atol=1e-12)
    # the optical axis hits (cx, cy) = the image centre, the corner of four pixels
    assert np.allclose(pc.img_from_cam(np.array([0.0, 0.0, 1.0])), [32.0, 24.0])


def _example_model() -> ColmapModel:
    cams = (
        ColmapCamera(1, "PINHOLE", 64, 48, (100.0, 101.5, 32.25, 24.0)),
        ColmapCamera(2, "OPENCV_FISHEYE", 64, 48, (90.0, 90.0, 31.0, 23.0, 0.1, -0.01, 0.0, 0.0)),
    )
    q = (0.9238795325112867, 0.0, 0.3826834323650898, 0.0)
    imgs = (
        ColmapImage(
            1,
            1,
            q,
            (0.1, -0.2, 3.0),
            "a_b/x.png",
            np.array([[1.5, 2.5], [3.0, 4.0]]),
            np.array([1, -1]),
        ),
        ColmapImage(2, 2, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), "y.jpg"),
    )
    pts = (ColmapPoint(1, (0.1, 0.2, 0.3), (1, 2, 3), 0.25, (1,), (0,)),)
    return ColmapModel(cams, imgs, pts)


@pytest.mark.parametrize("binary", [False, True])
def test_model_round_trip_and_pycolmap_agrees(tmp_path: Path, binary: bool) -> None:
    model = _example_model()
    write_model(model, tmp_path / "m", binary=binary)
    back = read_model(tmp_path / "m")
    assert model_bytes(back, binary=binary) == model_bytes(model, binary=binary)
    rec = pycolmap.Reconstruction(str(tmp_path / "m"))
    assert rec.cameras[2].model_name == "OPENCV_FISHEYE"
    assert list(rec.cameras[2].params) == list(model.cameras[1].params)
    assert rec.images[1].name == "a_b/x.png"
    np.testing.assert_allclose(
        _cam_from_world(rec.images[1])[:3], model.images[0].cam_from_world[:3]
    )
    assert rec.points3D[1].track.length() == 1
    # pycolmap's own files read back by camgeom's reader
    out = tmp_path / ("pb" if binary else "pt")
    out.mkdir()
    (rec.write_binary if binary else rec.write_text)(str(out))
    again = read_model(out)
    assert again.cameras == model.cameras
    assert [im.name for im in again.images] == ["a_b/x.png", "y.jpg"]
    np.testing.assert_array_equal(again.images[0].xys, model.images[0].xys)


def test_export_then_load_projects_the_same(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.datagen)
    export_colmap(ds, tmp_path, workers=1, progress=False)
    back = camgeom.load(tmp_path)
    assert back.vendors == ("colmap",)
    assert set(back.frame_ids) == set(ds.frame_ids)
    for f in back:
        ref = ds[f.frame_id]
        assert f.scene_id == ref.scene_id
        lm = f.landmarks["points3D"]
        uv, _ = f.camera.project(lm.world)
        uv_ref, _ = ref.camera.project(lm.world)
        assert np.abs(uv - uv_ref).max() < TOL_PX
        assert np.abs(lm.pixels - uv).max() < TOL_PX
        assert f.image_path is not None and f.image_path.is_file()


def test_rerun_keeps_frames_and_writes_only_into_out(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.synthesisai)
    before = sorted((p.relative_to(demo.root), p.stat().st_mtime_ns) for p in demo.root.rglob("*"))
    out = tmp_path / "out"
    first = export_colmap(ds, out, binary=True, images="copy", workers=1, progress=False)
    files = {p: p.read_bytes() for p in (out / "sparse" / "0").iterdir()}
    second = export_colmap(ds, out, binary=True, images="copy", workers=1, progress=False)
    assert (first.done, second.done, second.kept) == (len(ds), 0, len(ds))
    assert {p: p.read_bytes() for p in (out / "sparse" / "0").iterdir()} == files
    after = sorted((p.relative_to(demo.root), p.stat().st_mtime_ns) for p in demo.root.rglob("*"))
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert not any((out / n).is_symlink() for n in os.listdir(out))  # copies were asked


def test_points_none_and_bad_options(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.synthesisai)
    s = export_colmap(ds, tmp_path, points="none", workers=1, progress=False)
    assert s.totals["points3D"] == 0
    assert len(read_model(tmp_path / "sparse" / "0").points) == 0
    with pytest.raises(ValueError, match="points"):
        export_colmap(ds, tmp_path, points="dense", progress=False)
    with pytest.raises(ValueError, match="images"):
        export_colmap(ds, tmp_path, images="move", progress=False)


def test_pinhole_camera_is_pinhole() -> None:
    cam = Camera(np.diag([100.0, 100.0, 1.0]), np.eye(4), 64, 48)
    assert lens_model(cam)[:2] == ("PINHOLE", [])


def test_distorted_camera_projects_like_pycolmap(tmp_path: Path) -> None:
    import camgeom.lens as lens

    K = np.array([[120.0, 0.0, 33.0], [0.0, 118.0, 23.5], [0.0, 0.0, 1.0]])
    pose = np.eye(4)
    pose[:3, 3] = [0.05, -0.02, 0.3]
    pts = np.array([[0.1, 0.05, 1.2], [-0.12, 0.08, 1.0], [0.0, 0.0, 2.0]])
    for dist, name in [
        (lens.OpenCVDistortion(-0.1, 0.02, 0.001, -0.002), "OPENCV"),
        (lens.FisheyeDistortion(0.05, -0.01, 0.002, 0.0), "OPENCV_FISHEYE"),
    ]:
        cam = Camera(K, pose, 64, 48, distortion=dist)
        model, extra, _ = lens_model(cam)
        assert model == name
        write_model(
            ColmapModel((ColmapCamera(1, model, 64, 48, (120.0, 118.0, 33.0, 23.5, *extra)),), ()),
            tmp_path / name,
        )
        pc = pycolmap.Reconstruction(str(tmp_path / name)).cameras[1]
        uv, _ = cam.project(pts)
        cam_pts = pts @ pose[:3, :3].T + pose[:3, 3]
        for p, expect in zip(cam_pts, uv, strict=True):
            assert np.abs(pc.img_from_cam(p) - expect).max() < TOL_PX


def test_export_error_is_a_camgeom_error() -> None:
    assert issubclass(ExportError, camgeom.CamgeomError)


def test_quaternions_match_scipy_on_every_branch() -> None:
    from scipy.spatial.transform import Rotation

    from camgeom.export.colmap import qvecs_from_rotations

    rots = Rotation.random(500, random_state=3)
    special = Rotation.from_rotvec(np.pi * np.eye(3))  # 180 degrees: the x, y, z branches
    R = np.concatenate([rots.as_matrix(), special.as_matrix(), np.eye(3)[None]])
    expect = Rotation.from_matrix(R).as_quat()[:, [3, 0, 1, 2]]
    expect[expect[:, 0] < 0] *= -1.0
    got = qvecs_from_rotations(R)
    # q and -q are one rotation when qw == 0
    same = np.minimum(np.abs(got - expect).max(1), np.abs(got + expect).max(1))
    assert same.max() < 1e-12
    # a float32-rounded matrix gets its nearest rotation's quaternion
    noisy = R.astype(np.float32).astype(float)
    near = qvecs_from_rotations(noisy)
    assert np.abs(np.linalg.norm(near, axis=1) - 1).max() < 1e-15
    assert np.minimum(np.abs(near - got).max(1), np.abs(near + got).max(1)).max() < 1e-6


def test_fused_depth_cloud_seeds_points3d(demo, tmp_path: Path) -> None:
    ds = camgeom.load(demo.synthesisai)  # range depth, converted to z
    s = export_colmap(ds, tmp_path, points="fused", workers=1, progress=False)
    assert s.exit_code == 0
    (model,) = _models(tmp_path)
    rec = pycolmap.Reconstruction(str(model))
    assert rec.num_points3D() > 100
    assert _max_error(model) < TOL_PX  # each sample seen at its own pixel centre
    frames = {f.frame_id: f for f in ds}
    for image in rec.images.values():
        frame = frames[frame_id_of(image.name)]
        rgb = frame.read_image()
        z = frame.read_depth()
        for p2d in list(image.points2D)[:50]:
            u, v = p2d.xy
            assert (u - 0.5) % 4 == 2 and (v - 0.5) % 4 == 2  # every 4th pixel, centred
            point = rec.points3D[p2d.point3D_id]
            col, row = int(u), int(v)
            assert tuple(point.color) == tuple(rgb[row, col])
            # the point lies on the stored depth ray of its pixel
            cam_pt = (
                frame.camera.cam_from_world[:3, :3] @ point.xyz + frame.camera.cam_from_world[:3, 3]
            )
            assert abs(np.linalg.norm(cam_pt) - z[row, col]) < 1e-5 * z[row, col]


def test_a_vertex_named_by_two_groups_is_one_point(fixtures, tmp_path: Path) -> None:
    """Datagen's face_standard and face_dense share vertices: one 3D point each, and
    the exported model verifies as the dataset does (no duplicated points3D)."""
    from camgeom.verification import verify

    src = fixtures / "datagen" / "faces_nn"
    ds = camgeom.load(src)
    frame = ds[0]
    world = np.concatenate([lm.world for lm in frame.landmarks.values() if lm.world is not None])
    assert len(np.unique(world, axis=0)) < len(world)  # the source repeats positions
    assert export_colmap(ds, tmp_path, workers=1, progress=False).exit_code == 0
    exported = camgeom.load(tmp_path)
    for f in exported:
        pts = f.landmarks["points3D"].world
        assert len(np.unique(pts, axis=0)) == len(pts)
        report = verify(f)
        assert not [c for c in report.failures if "duplicates" in c.name], str(report)
    assert all(verify(f).passed for f in exported) == all(verify(f).passed for f in ds)


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("SIMPLE_PINHOLE", (200.0, 80.0, 60.0)),
        ("SIMPLE_RADIAL", (200.0, 80.0, 60.0, -0.05)),
        ("RADIAL", (200.0, 80.0, 60.0, -0.05, 0.01)),
    ],
)
@pytest.mark.parametrize("binary", [False, True])
def test_colmaps_simple_models_load_and_project_like_pycolmap(
    tmp_path: Path, model: str, params: tuple[float, ...], binary: bool
) -> None:
    """COLMAP's default camera models (SIMPLE_RADIAL is what a reconstruction starts with)."""
    folder = tmp_path / "sparse" / "0"
    q = np.array([0.9, 0.1, 0.2, 0.3])
    pose_q, pose_t = tuple((q / np.linalg.norm(q)).tolist()), (0.1, -0.2, 2.0)
    write_model(
        ColmapModel(
            (ColmapCamera(1, model, 160, 120, params),),
            (ColmapImage(1, 1, pose_q, pose_t, "a.png"),),
        ),
        folder,
        binary=binary,
    )
    rec = pycolmap.Reconstruction(str(folder))
    pc = rec.cameras[1]
    assert pc.model.name == model
    frame = camgeom.load(tmp_path)[0]
    np.testing.assert_allclose(frame.camera.K, pc.calibration_matrix(), atol=1e-12)
    pts = np.array([[0.1, 0.05, 0.2], [-0.3, 0.2, 0.1], [0.0, 0.0, 0.0]])
    uv, _ = frame.camera.project(pts)
    world_to_cam = rec.images[1].cam_from_world()
    for p, got in zip(pts, uv, strict=True):
        expect = pc.img_from_cam(world_to_cam * p)
        assert np.abs(expect - got).max() < TOL_PX


@pytest.mark.parametrize("groups", [["nosuch"], ["IBUG68"]])
def test_groups_that_no_frame_has_fail_the_frames(demo, tmp_path: Path, groups) -> None:
    """As in camgeom project: a mistyped group is not an empty model that exits 0."""
    ds = camgeom.load(demo.synthesisai)
    s = export_colmap(ds, tmp_path, groups=groups, workers=1, progress=False)
    assert s.failed == len(ds) and s.exit_code == 1
    assert "None of the landmark groups" in s.failures[0].message
    assert "ibug68" in s.failures[0].message  # the names it has
    ok = export_colmap(ds, tmp_path / "ok", groups=["nosuch", "ibug68"], workers=1, progress=False)
    assert ok.failed == 0
