"""Tests of camgeom.demo: exact depth and labels, file formats, vendor-shaped JSON, output safety.

Every check recomputes the truth independently here (plain-numpy ray/primitive
intersection, pinhole projection, scipy rotations) from the primitives and
cameras in ``ground_truth.json``, and compares it with the files as written.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
import tifffile
from PIL import Image
from scipy.spatial.transform import Rotation

import camgeom.demo as demo
from camgeom.demo import DemoPaths, make_demo_dataset
from camgeom.errors import InvalidValueError, OutputExistsError

GL = np.array([1.0, -1.0, -1.0])


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[DemoPaths, dict]:
    paths = make_demo_dataset(tmp_path_factory.mktemp("demo") / "out")
    return paths, json.loads(paths.ground_truth.read_text())


def frames(truth: dict, layout: str) -> list[dict]:
    return truth[layout]["frames"]


def all_frames(truth: dict):
    for layout in ("synthesisai", "datagen"):
        for frame in truth[layout]["frames"]:
            yield layout, frame


def first_hit(origins: np.ndarray, dirs: np.ndarray, scene: dict) -> tuple[np.ndarray, np.ndarray]:
    """Plain-numpy nearest intersection: (distance, name index); names = spheres then planes."""
    cols = []
    for s in scene["spheres"]:
        c, r = np.array(s["centre"]), s["radius"]
        oc = origins - c
        b = np.sum(oc * dirs, axis=-1)
        disc = b * b - (np.sum(oc * oc, axis=-1) - r * r)
        with np.errstate(invalid="ignore"):
            near = -b - np.sqrt(disc)
        cols.append(np.where((disc >= 0) & (near > 0), near, np.inf))
    for p in scene["planes"]:
        p0, n = np.array(p["point"]), np.array(p["normal"])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((p0 - origins) @ n) / (dirs @ n)
        hit = origins + t[..., None] * dirs
        inside = np.linalg.norm(hit - p0, axis=-1) <= p["radius"]
        cols.append(np.where((t > 0) & inside, t, np.inf))
    allt = np.stack(cols, axis=-1)
    idx = np.argmin(allt, axis=-1)
    t = np.take_along_axis(allt, idx[..., None], axis=-1)[..., 0]
    return t, np.where(np.isfinite(t), idx, -1)


def names_of(scene: dict) -> list[str]:
    return [s["name"] for s in scene["spheres"]] + [p["name"] for p in scene["planes"]]


def pixel_rays(frame: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Camera centre (3,), unit world ray directions (H, W, 3) and their camera-frame z (H, W)."""
    K, pose = np.array(frame["K"]), np.array(frame["cam_from_world"])
    R, t = pose[:3, :3], pose[:3, 3]
    u, v = np.meshgrid(np.arange(frame["width"]) + 0.5, np.arange(frame["height"]) + 0.5)
    pix = np.stack([u, v, np.ones_like(u)], axis=-1)
    d_cam = pix @ np.linalg.inv(K).T
    d_cam /= np.linalg.norm(d_cam, axis=-1, keepdims=True)
    return -R.T @ t, d_cam @ R, d_cam[..., 2]


def project(frame: dict, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    K, pose = np.array(frame["K"]), np.array(frame["cam_from_world"])
    cam = world @ pose[:3, :3].T + pose[:3, 3]
    img = cam @ K.T
    return img[:, :2] / img[:, 2:], cam[:, 2]


def read_exr(path: Path) -> dict[str, np.ndarray]:
    with OpenEXR.File(str(path), separate_channels=True) as f:
        return {name: ch.pixels.copy() for name, ch in f.channels().items()}


def exr_header(path: Path) -> dict:
    with OpenEXR.File(str(path), header_only=True) as f:
        return dict(f.header())


def key_tree(obj):
    """Nested key structure of a JSON object (lists: the structure of their first item)."""
    if isinstance(obj, dict):
        return {k: key_tree(v) for k, v in obj.items()}
    if isinstance(obj, list) and obj and isinstance(obj[0], (dict, list)):
        return [key_tree(obj[0])]
    return None


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- layout


def test_layout_and_paths(built):
    paths, truth = built
    assert paths.synthesisai == paths.root / "synthesisai" and paths.ground_truth.is_file()
    syn = sorted(p.name for p in paths.synthesisai.iterdir())
    expected = {
        f"{i}.{s}"
        for i in range(3)
        for s in ("info.json", "rgb.png", "depth.tif", "normals.tif", "alpha.tif", "segments.png")
    }
    assert set(syn) == expected | {"metadata.jsonl"}
    dp = paths.datagen / "datapoint_00001"
    for cam in ("camera_1", "camera_2"):
        names = {p.name for p in (dp / cam).iterdir()}
        assert names == {
            "camera_metadata.json", "depth.exr", "normal_maps.exr", "visible_spectrum_01.png",
            "semantic_segmentation.png", "key_points",
        }  # fmt: skip
        assert {p.name for p in (dp / cam / "key_points").iterdir()} == {
            "face_standard_key_points.json", "hands_key_points.json", "all_key_points.json",
        }  # fmt: skip
    for _, frame in all_frames(truth):
        for rel in frame["files"].values():
            assert (paths.root / rel).is_file(), rel
    sizes = {(f["width"], f["height"]) for _, f in all_frames(truth)}
    assert {(160, 120), (120, 160), (128, 128)} <= sizes  # non-square both ways


# --------------------------------------------------------------------------- depth and surfaces


@pytest.mark.parametrize("layout", ["synthesisai", "datagen"])
def test_depth_equals_analytic_intersection(built, layout):
    paths, truth = built
    scene = truth[layout]["scene"]
    for frame in frames(truth, layout):
        centre, dirs, dz = pixel_rays(frame)
        t_ref, _ = first_hit(np.broadcast_to(centre, dirs.shape), dirs, scene)
        path = paths.root / frame["files"]["depth"]
        if layout == "synthesisai":
            depth = tifffile.imread(path)
            expected = t_ref  # range: distance along the ray
            background = np.isinf(depth) & (depth > 0)
        else:
            ch = read_exr(path)
            depth = ch["R"]
            expected = t_ref * dz  # planar z
            background = depth == np.float32(1e10)
        assert depth.dtype == np.float32 and depth.shape == (frame["height"], frame["width"])
        np.testing.assert_array_equal(background, ~np.isfinite(t_ref))
        assert 0 < background.sum() < background.size
        err = np.abs(depth[~background] - expected[~background])
        assert err.max() < 1e-5, f"{frame['frame_id']}: {err.max():.2e} m"
        assert float(frame["depth_background"]) == (math.inf if layout == "synthesisai" else 1e10)
        assert frame["depth_kind"] == ("range" if layout == "synthesisai" else "z")


def test_range_and_z_differ_off_axis(built):
    # the two depth kinds agree only at the principal point: a wrong kind is caught
    _, truth = built
    frame = frames(truth, "synthesisai")[0]
    _, _, dz = pixel_rays(frame)
    assert dz.min() < 0.97 and dz.max() > 0.9999


@pytest.mark.parametrize("layout", ["synthesisai", "datagen"])
def test_segmented_pixels_back_project_onto_their_primitive(built, layout):
    paths, truth = built
    scene = truth[layout]["scene"]
    if layout == "datagen":
        meta = json.loads(
            (paths.datagen / "datapoint_00001" / "semantic_segmentation_metadata.json").read_text()
        )
        colour_names = {
            tuple(np.array([meta["human"]["head"]["skin"][s][c] for c in "RGB"]) >> 8): "head"
            for s in ("left", "right")
        }
        for side in ("left", "right"):
            colour_names[tuple(np.array([meta["human"]["hand"][side][c] for c in "RGB"]) >> 8)] = (
                f"hand_{side}"
            )
        colour_names[tuple(np.array([meta["floor"][c] for c in "RGB"]) >> 8)] = "floor"
    seen = set()
    for frame in frames(truth, layout):
        centre, dirs, dz = pixel_rays(frame)
        if layout == "synthesisai":
            info = json.loads((paths.root / frame["files"]["info"]).read_text())
            seg = np.asarray(Image.open(paths.root / frame["files"]["segmentation"]))
            id_names = {v: k for k, v in info["segments_mapping"].items()}
            labels = np.vectorize(id_names.get)(seg)
            stored = tifffile.imread(paths.root / frame["files"]["depth"])
            with np.errstate(invalid="ignore"):
                points = centre + stored[..., None] * dirs
        else:
            seg = np.asarray(Image.open(paths.root / frame["files"]["segmentation"]))
            labels = np.empty(seg.shape[:2], dtype=object)
            for idx in np.ndindex(seg.shape[:2]):
                labels[idx] = colour_names.get(tuple(seg[idx]), "background")
            stored = read_exr(paths.root / frame["files"]["depth"])["R"]
            points = centre + (stored / dz)[..., None] * dirs
        for s in scene["spheres"]:
            mask = labels == s["name"]
            seen.add(s["name"]) if mask.any() else None
            dist = np.linalg.norm(points[mask] - s["centre"], axis=-1)
            assert np.abs(dist - s["radius"]).max(initial=0) < 1e-4
        floor = scene["planes"][0]
        mask = labels == "floor"
        seen.add("floor") if mask.any() else None
        off = (points[mask] - floor["point"]) @ np.array(floor["normal"])
        assert np.abs(off).max(initial=0) < 1e-4
        sentinel = np.float32(np.inf if layout == "synthesisai" else 1e10)
        np.testing.assert_array_equal(labels == "background", stored == sentinel)
        assert sum(frame["pixel_counts"].values()) == frame["width"] * frame["height"]
    assert seen == {"head", "hand_left", "hand_right", "floor"}


@pytest.mark.parametrize("layout", ["synthesisai", "datagen"])
def test_normal_maps_match_analytic_normals(built, layout):
    paths, truth = built
    scene = truth[layout]["scene"]
    names = names_of(scene)
    for frame in frames(truth, layout):
        centre, dirs, _ = pixel_rays(frame)
        t, idx = first_hit(np.broadcast_to(centre, dirs.shape), dirs, scene)
        R = np.array(frame["cam_from_world"])[:3, :3]
        n_world = np.zeros(dirs.shape)
        for k, name in enumerate(names):
            mask = idx == k
            if k < len(scene["spheres"]):
                s = scene["spheres"][k]
                n_world[mask] = (centre + t[mask][:, None] * dirs[mask] - s["centre"]) / s["radius"]
            else:
                n_world[mask] = scene["planes"][k - len(scene["spheres"])]["normal"]
            assert name
        n_world *= np.where(np.sum(n_world * dirs, axis=-1) > 0, -1.0, 1.0)[..., None]
        n_gl = (n_world @ R.T) * GL
        fg = idx >= 0
        if layout == "synthesisai":
            stored = tifffile.imread(paths.root / frame["files"]["normals"])
            assert stored.dtype == np.float16 and stored.shape == dirs.shape
            np.testing.assert_allclose(stored[fg].astype(float), n_gl[fg], atol=2e-3)
            assert np.all(stored[~fg] == np.array([0, 0, 1], np.float16))
        else:
            ch = read_exr(paths.root / frame["files"]["normals"])
            rgb = np.stack([ch["R"], ch["G"], ch["B"]], axis=-1)
            assert rgb.dtype == np.float32
            np.testing.assert_allclose(2.0 * rgb[fg] - 1.0, n_gl[fg], atol=1e-6)
            np.testing.assert_array_equal(rgb[~fg], 0.0)
            assert 0.0 <= rgb.min() and rgb.max() <= 1.0


# --------------------------------------------------------------------------- landmarks


def test_landmarks_lie_on_their_surfaces(built):
    _, truth = built
    on = set()
    for layout, frame in all_frames(truth):
        scene = truth[layout]["scene"]
        spheres = {s["name"]: s for s in scene["spheres"]}
        planes = {p["name"]: p for p in scene["planes"]}
        assert len(frame["landmarks"]["ibug68"]["world"]) == 68
        for lm in frame["landmarks"].values():
            for obj, point in zip(lm["objects"], np.array(lm["world"]), strict=True):
                if obj in spheres:
                    s = spheres[obj]
                    assert np.linalg.norm(point - s["centre"]) == pytest.approx(
                        s["radius"], abs=1e-12
                    )
                else:
                    p = planes[obj]
                    assert (point - p["point"]) @ np.array(p["normal"]) == pytest.approx(
                        0, abs=1e-12
                    )
                on.add(obj)
    assert on == {"head", "hand_left", "hand_right", "floor"}


def test_synthesis_labels_are_exact_projections(built):
    paths, truth = built
    for frame in frames(truth, "synthesisai"):
        info = json.loads((paths.root / frame["files"]["info"]).read_text())
        K = np.array(info["camera"]["intrinsics"])
        gl_cam_from_world = np.array(info["camera"]["transform_world2cam"]["mat_4x4"])
        W, H = frame["width"], frame["height"]
        entries = (
            info["landmarks"]["ibug68"]
            + info["landmarks"]["kinect_v2"]
            + list(info["pupil_coordinates"].values())
        )
        world = np.array([e["world_space_pos"] for e in entries])
        cam_gl = np.array([e["camera_space_pos"] for e in entries])
        ssp = np.array([e["screen_space_pos"] for e in entries])
        np.testing.assert_allclose(
            cam_gl, world @ gl_cam_from_world[:3, :3].T + gl_cam_from_world[:3, 3], atol=1e-12
        )
        p_cv = cam_gl * GL
        uv = (p_cv @ K.T)[:, :2] / p_cv[:, 2:]
        assert np.abs(ssp * (W, H) - uv).max() < 1e-9
        # and the same as the truth file, and the truth's own world -> pixel projection
        truth_uv = np.concatenate(
            [frame["landmarks"][g]["uv"] for g in ("ibug68", "kinect_v2", "pupils")]
        )
        assert np.abs(ssp * (W, H) - truth_uv).max() < 1e-9
        uv_truth, _ = project(frame, world)
        assert np.abs(uv_truth - truth_uv).max() < 1e-9
        for e in entries[:-2]:
            s = np.array(e["screen_space_pos"])
            assert e["in_frustum"] == bool(np.all((s >= 0) & (s <= 1)))
        for e in info["pupil_coordinates"].values():
            assert e["distance_to_camera"] == pytest.approx(
                np.linalg.norm(e["camera_space_pos"]), abs=1e-12
            )
        assert [e["name"] for e in info["landmarks"]["ibug68"]] == [str(i) for i in range(1, 69)]
        assert [e["id"] for e in info["landmarks"]["ibug68"]] == list(range(68))
    in_frustum = [e["in_frustum"] for e in info["landmarks"]["kinect_v2"]]
    assert True in in_frustum and False in in_frustum


def test_datagen_labels_are_exact_projections_with_row_col_swap(built):
    paths, truth = built
    for frame in frames(truth, "datagen"):
        folder = paths.root / Path(frame["files"]["camera_metadata"]).parent
        meta = json.loads((folder / "camera_metadata.json").read_text())
        K = np.array(meta["intrinsic_matrix"])
        E = np.array(meta["extrinsic_matrix"])
        kp = json.loads((folder / "key_points" / "face_standard_key_points.json").read_text())
        std = kp["face"]["standard"]
        assert list(std) == [f"{i:02d}" for i in range(1, 69)]
        world = np.array([[v["global_3d"][c] for c in "xyz"] for v in std.values()])
        row_col = np.array([[v["pixel_2d"]["x"], v["pixel_2d"]["y"]] for v in std.values()])
        img = (K @ (E @ np.c_[world, np.ones(68)].T)).T
        uv = img[:, :2] / img[:, 2:]
        assert np.abs(row_col[:, ::-1] - uv).max() < 1e-9  # pixel_2d.x is the row
        assert np.abs(uv - np.array(frame["landmarks"]["ibug68"]["uv"])).max() < 1e-9
        vis = [v["is_visible"] for v in std.values()]
        assert set(vis) <= {"true", "false"}
        assert [s == "true" for s in vis] == frame["landmarks"]["ibug68"]["visible"]
        hands = json.loads((folder / "key_points" / "hands_key_points.json").read_text())["hands"]
        wrists = np.array(
            [[hands[s]["wrist"]["global_3d"][c] for c in "xyz"] for s in ("left", "right")]
        )
        np.testing.assert_array_equal(wrists, frame["landmarks"]["hands"]["world"])
        all_kp = json.loads((folder / "key_points" / "all_key_points.json").read_text())
        assert all_kp["face"]["standard"] == std and all_kp["hands"] == hands


def test_visibility_is_honest(built):
    """in_image from the projection, occlusion from an independent ray cast to each point."""
    _, truth = built
    kinds = {"occluded_in_image": 0, "outside": 0, "visible": 0}
    for layout, frame in all_frames(truth):
        scene = truth[layout]["scene"]
        pose = np.array(frame["cam_from_world"])
        centre = -pose[:3, :3].T @ pose[:3, 3]
        for lm in frame["landmarks"].values():
            world = np.array(lm["world"])
            uv, z = project(frame, world)
            in_image = (z > 0) & np.all(
                (uv >= 0) & (uv <= (frame["width"], frame["height"])), axis=1
            )
            offset = world - centre
            dist = np.linalg.norm(offset, axis=1)
            t, _ = first_hit(np.broadcast_to(centre, world.shape), offset / dist[:, None], scene)
            unoccluded = t >= dist - 1e-6
            assert lm["in_image"] == in_image.tolist()
            assert lm["unoccluded"] == unoccluded.tolist()
            assert lm["visible"] == (in_image & unoccluded).tolist()
            np.testing.assert_allclose(lm["range"], dist, rtol=1e-14)
            np.testing.assert_allclose(lm["z"], z, rtol=1e-14)
            kinds["occluded_in_image"] += int(np.sum(in_image & ~unoccluded))
            kinds["outside"] += int(np.sum(~in_image))
            kinds["visible"] += int(np.sum(in_image & unoccluded))
    assert all(kinds.values()), kinds  # the demo exercises every case


def test_visible_landmarks_sit_on_the_depth_surface(built):
    paths, truth = built
    errors = []
    for frame in frames(truth, "synthesisai"):
        depth = tifffile.imread(paths.root / frame["files"]["depth"])
        lm = frame["landmarks"]["ibug68"]
        uv = np.array(lm["uv"])
        for (u, v), rng, vis in zip(uv, lm["range"], lm["visible"], strict=True):
            if vis:
                errors.append(abs(float(depth[int(v), int(u)]) - rng))
    errors = np.array(errors)
    # a pixel-centre ray misses a landmark by up to half a pixel footprint (about 3 mm here)
    assert len(errors) > 100 and np.median(errors) < 3e-3 and np.mean(errors < 0.01) > 0.85


# --------------------------------------------------------------------------- cameras


def test_synthesis_camera_metadata_is_consistent(built):
    paths, truth = built
    lines = [json.loads(x) for x in (paths.synthesisai / "metadata.jsonl").read_text().splitlines()]
    assert [x["render_id"] for x in lines] == [0, 1, 2]
    head = np.array(truth["synthesisai"]["scene"]["spheres"][0]["centre"])
    for frame, line in zip(frames(truth, "synthesisai"), lines, strict=True):
        cam = json.loads((paths.root / frame["files"]["info"]).read_text())["camera"]
        W, H = frame["width"], frame["height"]
        f, sw = cam["focal_length_mm"], cam["sensor"]["width_mm"]
        K = np.array(cam["intrinsics"])
        np.testing.assert_allclose(
            K, [[f / sw * W, 0, W / 2], [0, f / sw * W, H / 2], [0, 0, 1]], rtol=1e-15
        )
        assert cam["sensor"]["height_mm"] == pytest.approx(sw * H / W, rel=1e-15)
        assert cam["field_of_view"]["x_axis_rads"] == pytest.approx(
            2 * math.atan(sw / 2 / f), rel=1e-15
        )
        assert cam["field_of_view"]["y_axis_rads"] == pytest.approx(
            2 * math.atan(sw * H / W / 2 / f), rel=1e-15
        )
        gl_cam_from_world = np.array(cam["transform_world2cam"]["mat_4x4"])
        gl_world_from_cam = np.array(cam["transform_cam2world"]["mat_4x4"])
        np.testing.assert_allclose(gl_cam_from_world @ gl_world_from_cam, np.eye(4), atol=1e-14)
        np.testing.assert_allclose(
            np.diag([1, -1, -1, 1]) @ gl_cam_from_world, frame["cam_from_world"], atol=0
        )
        rig = line["scene"]["camera_and_light_rigs"][0]
        spec = rig["cameras"][0]["specifications"]
        assert (spec["resolution_w"], spec["resolution_h"], spec["focal_length"]) == (W, H, f)
        assert Image.open(paths.root / frame["files"]["image"]).size == (W, H)
        loc = rig["location"]
        rot = Rotation.from_euler(
            "YXZ", [loc["yaw"], loc["pitch"], loc["roll"]], degrees=True
        ).as_matrix()
        np.testing.assert_allclose(gl_world_from_cam[:3, :3], rot, atol=1e-14)
        np.testing.assert_allclose(
            gl_world_from_cam[:3, 3], head + rot @ [loc["x"], loc["y"], loc["z"]], atol=1e-14
        )
        np.testing.assert_allclose(frame["rig_orbit_centre"], head, atol=0)


def test_datagen_camera_metadata_is_consistent(built):
    paths, truth = built
    for frame in frames(truth, "datagen"):
        meta = json.loads((paths.root / frame["files"]["camera_metadata"]).read_text())
        W, H = frame["width"], frame["height"]
        assert meta["resolution_px"] == {"x": float(W), "y": float(H)}
        hfov = math.radians(meta["fov"]["horizontal"])
        fx = (W / 2) / math.tan(hfov / 2)
        np.testing.assert_allclose(
            meta["intrinsic_matrix"], [[fx, 0, W / 2], [0, fx, H / 2], [0, 0, 1]], rtol=1e-14
        )
        assert math.radians(meta["fov"]["vertical"]) == pytest.approx(
            2 * math.atan(H / 2 / fx), rel=1e-14
        )
        assert meta["focal_length"] == 50.0
        sw = meta["sensor"]["sensor_width"]
        assert sw == pytest.approx(2 * 50.0 * math.tan(hfov / 2), rel=1e-14)
        assert meta["sensor"]["sensor_height"] == pytest.approx(sw * H / W, rel=1e-14)
        # the camera rebuilt from location / look_at / up is the stored extrinsic matrix
        look = np.array([meta["orientation"]["look_at_vector"][c] for c in "xyz"])
        up = np.array([meta["orientation"]["up_vector"][c] for c in "xyz"])
        loc = np.array([meta["location"][c] for c in "xyz"])
        R = np.stack([np.cross(look, up), -up, look])
        E = np.array(meta["extrinsic_matrix"])
        np.testing.assert_allclose(E[:, :3], R, atol=1e-14)
        np.testing.assert_allclose(E[:, 3], -R @ loc, atol=1e-14)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-14)
        np.testing.assert_array_equal(np.array(frame["cam_from_world"])[:3], E)
        assert abs(up @ [0, 0, 1]) > 0.8  # upright cameras in a z-up world


# --------------------------------------------------------------------------- file formats


def test_synthesis_file_formats_and_sentinels(built):
    paths, truth = built
    for frame in frames(truth, "synthesisai"):
        H, W = frame["height"], frame["width"]
        with tifffile.TiffFile(paths.root / frame["files"]["depth"]) as tif:
            page = tif.pages[0]
            assert page.dtype == np.float32 and page.compression == 8  # DEFLATE, as the vendor's
            depth = page.asarray()
        assert set(np.unique(depth[~np.isfinite(depth)]).tolist()) == {math.inf}
        assert 0.5 < np.nanmin(depth) and np.max(depth[np.isfinite(depth)]) < 100.0  # render.zmax
        rgb = Image.open(paths.root / frame["files"]["image"])
        assert rgb.mode == "RGB" and rgb.size == (W, H)
        seg = Image.open(paths.root / frame["files"]["segmentation"])
        assert seg.mode == "I;16" and seg.size == (W, H)
        info = json.loads((paths.root / frame["files"]["info"]).read_text())
        assert set(np.unique(np.asarray(seg)).tolist()) <= set(info["segments_mapping"].values())
        alpha = tifffile.imread(paths.root / frame["files"]["alpha"])
        assert alpha.dtype == np.uint8 and set(np.unique(alpha).tolist()) <= {0, 255}
        human = np.isin(
            np.asarray(seg),
            [info["segments_mapping"][n] for n in ("head", "hand_left", "hand_right")],
        )
        np.testing.assert_array_equal(alpha == 255, human)


def test_datagen_file_formats_and_sentinels(built):
    paths, truth = built
    for frame in frames(truth, "datagen"):
        H, W = frame["height"], frame["width"]
        depth_path = paths.root / frame["files"]["depth"]
        ch = read_exr(depth_path)
        assert sorted(ch) == ["B", "G", "R"]
        assert all(c.dtype == np.float32 and c.shape == (H, W) for c in ch.values())
        np.testing.assert_array_equal(ch["R"], ch["G"])
        np.testing.assert_array_equal(ch["R"], ch["B"])
        assert set(np.unique(ch["R"][ch["R"] > 100]).tolist()) == {np.float32(1e10)}
        header = exr_header(depth_path)
        assert header["compression"] == OpenEXR.ZIP_COMPRESSION
        img = Image.open(paths.root / frame["files"]["image"])
        assert img.mode == "RGBA" and img.size == (W, H) and np.all(np.asarray(img)[..., 3] == 255)
        seg = Image.open(paths.root / frame["files"]["segmentation"])
        assert seg.mode == "RGB" and seg.size == (W, H)


def test_json_text_style(built):
    paths, _ = built
    info = (paths.synthesisai / "0.info.json").read_text()
    assert info.startswith(
        '{\n    "version": "1.5",\n    "camera": {\n        "intrinsics": [\n'
    ) and info.endswith("}\n")
    meta = (paths.datagen / "datapoint_00001" / "camera_1" / "camera_metadata.json").read_text()
    assert meta.startswith(
        '{\n   "version": "1.1.0",\n   "camera_name": "camera_1",'
    ) and meta.endswith("}")
    line = (paths.synthesisai / "metadata.jsonl").read_text().splitlines()[0]
    assert line.startswith('{"api":0,"version":"1.4","job_id":"')


# --------------------------------------------------------------------------- the real files' shape


def test_synthesis_json_has_the_real_key_structure(built, fixtures):
    paths, _ = built
    real = json.loads((fixtures / "synthesisai/v1_5_docs/24.info.json").read_text())
    ours = json.loads((paths.synthesisai / "0.info.json").read_text())
    assert set(ours) <= set(real)
    assert ours["version"] == real["version"]
    for key in ("camera", "pupil_coordinates", "head_transform", "render"):
        assert key_tree(ours[key]) == key_tree(real[key]), key
    assert key_tree(ours["landmarks"]["ibug68"]) == key_tree(real["landmarks"]["ibug68"])
    assert list(ours["landmarks"]["ibug68"][0]) == list(real["landmarks"]["ibug68"][0])  # key order
    assert list(ours["landmarks"]["kinect_v2"][0]) == list(real["landmarks"]["kinect_v2"][0])
    real_kinect = {e["name"]: e["id"] for e in real["landmarks"]["kinect_v2"]}
    assert all(real_kinect[e["name"]] == e["id"] for e in ours["landmarks"]["kinect_v2"])
    assert (
        np.array(ours["camera"]["intrinsics"]).shape == np.array(real["camera"]["intrinsics"]).shape
    )
    assert all(isinstance(v, int) for v in ours["segments_mapping"].values())
    real_line = json.loads(
        (fixtures / "synthesisai/v1_5_docs/metadata.jsonl").read_text().splitlines()[0]
    )
    our_line = json.loads((paths.synthesisai / "metadata.jsonl").read_text().splitlines()[0])
    assert list(our_line) == list(real_line)
    real_rig = real_line["scene"]["camera_and_light_rigs"][0]
    our_rig = our_line["scene"]["camera_and_light_rigs"][0]
    assert set(our_rig) == set(real_rig)
    assert key_tree(our_rig["cameras"][0]) == key_tree(real_rig["cameras"][0])
    assert key_tree(our_rig["location"]) == key_tree(real_rig["location"])


def test_datagen_json_has_the_real_key_structure(built, fixtures):
    paths, _ = built
    real_cam = fixtures / "datagen/faces_nn/datapoint_00016/camera"
    ours = paths.datagen / "datapoint_00001" / "camera_2"
    for name in ("camera_metadata.json", "key_points/face_standard_key_points.json"):
        real = json.loads((real_cam / name).read_text())
        mine = json.loads((ours / name).read_text())
        assert key_tree(mine) == key_tree(real), name
        assert list(mine) == list(real)
    real_all = json.loads((real_cam / "key_points/all_key_points.json").read_text())
    mine_all = json.loads((ours / "key_points/all_key_points.json").read_text())
    assert key_tree(mine_all["face"]["standard"]) == key_tree(real_all["face"]["standard"])
    real_seg = json.loads((real_cam.parent / "semantic_segmentation_metadata.json").read_text())
    mine_seg = json.loads((ours.parent / "semantic_segmentation_metadata.json").read_text())
    assert mine_seg["version"] == real_seg["version"]
    assert key_tree(mine_seg["human"]["head"]["skin"]) == key_tree(
        real_seg["human"]["head"]["skin"]
    )
    assert mine_seg["background"] == real_seg["background"]


def test_image_files_match_the_real_storage(built, fixtures):
    paths, _ = built

    def tags(path: Path) -> set[str]:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            return {t.name for t in page.tags.values()} | {f"predictor={int(page.predictor)}"}

    syn = fixtures / "synthesisai"
    assert tags(paths.synthesisai / "0.depth.tif") == tags(
        syn / "v1_faces/0.depth.tif"
    )  # float32 +inf
    assert tags(paths.synthesisai / "0.normals.tif") == tags(syn / "v1_5_docs/24.normals.tif")
    resolution = {"XResolution", "YResolution", "ResolutionUnit"}  # tifffile always writes these
    assert tags(paths.synthesisai / "0.alpha.tif") - resolution <= tags(
        syn / "v1_5_docs/24.alpha.tif"
    )
    real_normals = tifffile.imread(syn / "v1_5_docs/24.normals.tif")
    assert tifffile.imread(paths.synthesisai / "0.normals.tif").dtype == real_normals.dtype
    assert (
        Image.open(paths.synthesisai / "0.segments.png").mode
        == Image.open(syn / "v1_5_docs/24.segments.png").mode
    )
    real = fixtures / "datagen/faces_nn/datapoint_00016/camera"
    ours = paths.datagen / "datapoint_00001/camera_1"
    for name in ("depth.exr", "normal_maps.exr"):
        h_real, h_ours = exr_header(real / name), exr_header(ours / name)
        skip = {"dataWindow", "displayWindow"}
        assert {k: str(v) for k, v in h_ours.items() if k not in skip} == {
            k: str(v) for k, v in h_real.items() if k not in skip
        }
    for name in ("visible_spectrum_01.png", "semantic_segmentation.png"):
        r, o = Image.open(real / name), Image.open(ours / name)
        assert (o.mode, o.info.get("dpi")) == (r.mode, r.info.get("dpi"))


# --------------------------------------------------------------------------- loading as vendor data


def test_demo_loads_as_both_vendors(built):
    from camgeom.datasets import load

    paths, truth = built
    for layout, folder in (("synthesisai", paths.synthesisai), ("datagen", paths.datagen)):
        ds = load(folder)
        assert len(ds) == len(frames(truth, layout))
        by_id = {f["frame_id"]: f for f in frames(truth, layout)}
        for fr in ds:
            expected = by_id[fr.frame_id]
            assert fr.vendor == layout
            np.testing.assert_array_equal(fr.camera.K, expected["K"])
            np.testing.assert_allclose(
                fr.camera.cam_from_world, expected["cam_from_world"], atol=1e-15
            )
            assert (fr.camera.width, fr.camera.height) == (expected["width"], expected["height"])
            assert fr.depth_kind == expected["depth_kind"]
            lm = fr.landmarks["ibug68"]
            np.testing.assert_allclose(lm.pixels, expected["landmarks"]["ibug68"]["uv"], atol=1e-9)
            np.testing.assert_array_equal(
                lm.world, np.array(expected["landmarks"]["ibug68"]["world"])
            )
            if layout == "datagen":
                np.testing.assert_array_equal(
                    lm.visible, expected["landmarks"]["ibug68"]["visible"]
                )
            depth = fr.read_depth()
            assert np.count_nonzero(np.isnan(depth)) == expected["pixel_counts"]["background"]


# --------------------------------------------------------------------------- output safety


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    out = tmp_path / "demo"
    make_demo_dataset(out)
    (out / "notes.txt").write_text("mine")
    before = file_hashes(out)
    with pytest.raises(
        OutputExistsError,
        match=r"demo already holds synthesisai, datagen, ground_truth\.json.*overwrite=True",
    ):
        make_demo_dataset(out, seed=1)
    assert file_hashes(out) == before
    (out / "synthesisai" / "0.rgb.png").write_bytes(b"damaged")
    make_demo_dataset(out, overwrite=True)
    assert file_hashes(out) == before  # restored, and the user's file kept
    assert sorted(p.name for p in out.iterdir()) == [
        "datagen",
        "ground_truth.json",
        "notes.txt",
        "synthesisai",
    ]


def test_a_file_in_the_way_is_refused(tmp_path):
    target = tmp_path / "demo"
    target.write_text("x")
    with pytest.raises(OutputExistsError, match=r"is a file"):
        make_demo_dataset(target)


def test_failure_leaves_no_partial_dataset(tmp_path, monkeypatch):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "keep.txt").write_text("mine")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo.datagen, "write_datagen", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        make_demo_dataset(out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]  # no synthesisai/, no staging folder


def test_same_seed_same_bytes_other_seed_other_scene(built, tmp_path):
    paths, truth = built
    again = make_demo_dataset(tmp_path / "again")
    assert file_hashes(again.root) == file_hashes(paths.root)
    other = json.loads(make_demo_dataset(tmp_path / "other", seed=7).ground_truth.read_text())
    assert other["seed"] == 7
    assert (
        other["datagen"]["scene"]["spheres"][0]["centre"]
        != truth["datagen"]["scene"]["spheres"][0]["centre"]
    )


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seed(tmp_path, seed):
    with pytest.raises(InvalidValueError, match=r"`seed` to be a non-negative integer"):
        make_demo_dataset(tmp_path, seed=seed)
    assert list(tmp_path.iterdir()) == []
