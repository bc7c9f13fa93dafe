"""Datagen reader: Faces, HIC and 2022 layouts, quirks, errors."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from scipy.spatial.transform import Rotation

from camgeom.datasets import load
from camgeom.datasets.datagen import DATAGEN_EULER_RULE, read_frame
from camgeom.datasets.datagen.camera import camera_unversioned
from camgeom.errors import FormatError, MissingKeyError, UnknownVersionError
from camgeom.poses import rotation_from_euler_rule

DG = "datagen"
FACE = "faces_nn/datapoint_00016/camera"
MULTI = "faces_multicam/datapoint_00010/camera_1"
HIC = "hic_home_security/scene_00001/frames/001/high_doorbell_camera"
CABIN = "hic_in_cabin/scene_00001/frames/001/media_dashboard_camera"
LEGACY = "legacy_2022/environment_00001/camera"


def _copy_camera(fixtures: Path, tmp_path: Path, rel: str) -> Path:
    """Copy a camera folder and its datapoint files into tmp_path/<datapoint>/<camera>."""
    src = fixtures / DG / rel
    dp = tmp_path / src.parent.name
    dp.mkdir()
    for f in src.parent.iterdir():
        if f.is_file():
            shutil.copy(f, dp / f.name)
    shutil.copytree(src, dp / src.name)
    return dp / src.name


def _edit(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def _exr(path: Path, channel: str) -> np.ndarray:
    return OpenEXR.File(str(path), separate_channels=True).channels()[channel].pixels


# ---------------------------------------------------------------------- keypoints


def test_pixel_2d_row_col_swapped(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / FACE)
    stored = frame.raw["keypoints"]["face_standard_key_points.json"]["face"]["standard"]["01"]
    assert stored["pixel_2d"] == {"x": 41.40326854059461, "y": 20.322995688931133}
    np.testing.assert_array_equal(
        frame.landmarks["ibug68"].pixels[0], [20.322995688931133, 41.40326854059461]
    )
    assert "datagen pixel_2d is (row, col): swapped to (u, v)" in frame.notes


def test_faces_groups(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / FACE)
    assert {k: len(v) for k, v in frame.landmarks.items()} == {
        "ibug68": 68,
        "mediapipe_dense": 468,
        "ears": 110,
        "head": 81,
        "eyes": 56,
    }
    ibug = frame.landmarks["ibug68"]
    assert ibug.names == tuple(str(i) for i in range(1, 69))  # stored "01".."68"
    assert ibug.visible[:3].tolist() == [True, False, False]  # "is_visible": "true"/"false"
    assert ibug.pixels_decimals is None  # float labels
    ears = frame.landmarks["ears"]
    assert ears.names[0] == "left.0" and ears.names[-1] == "right.54"  # 0-based keys
    assert frame.landmarks["mediapipe_dense"].names[-1] == "467"
    eyes = frame.landmarks["eyes"]
    assert "left.pupil.center" in eyes.names and "right.iris.circle.11" in eyes.names
    assert eyes.visible is None


def test_hic_groups_integer_labels_no_visibility(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / HIC)
    assert {k: len(v) for k, v in frame.landmarks.items()} == {
        "ibug68": 68,
        "mediapipe_dense": 468,
        "eyes": 58,
        "body": 33,
        "hands": 42,
        "feet": 6,
    }
    for lm in frame.landmarks.values():
        assert lm.visible is None
        assert lm.pixels_decimals == 0
        np.testing.assert_array_equal(lm.pixels_rounding, [0.5, 0.5])
        np.testing.assert_array_equal(lm.pixels, np.round(lm.pixels))
    assert "eye.left.outer" in frame.landmarks["body"].names
    assert frame.landmarks["hands"].names[0] == "right.finger.thumb.ip"
    assert frame.scene_id == "frame:scene_00001/frames/001"
    assert frame.frame_id == "scene_00001/frames/001/high_doorbell_camera"


def test_all_key_points_only(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, FACE)
    for f in (cam / "key_points").iterdir():
        if f.name != "all_key_points.json":
            f.unlink()
    frame = read_frame(cam)
    ref = read_frame(fixtures / DG / FACE)
    assert list(frame.landmarks) == list(ref.landmarks)
    for name in ref.landmarks:
        np.testing.assert_array_equal(frame.landmarks[name].world, ref.landmarks[name].world)
        np.testing.assert_array_equal(frame.landmarks[name].pixels, ref.landmarks[name].pixels)
    assert "all_key_points.json section 'ear' read as group 'ears'" in frame.notes


def test_legacy_v1_keypoint_files(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / LEGACY)
    stored = frame.raw["keypoints"]["standard_keypoints.json"]
    assert stored["keypoints_2d_coordinates"]["1"] == [367, 255]  # (row, col)
    ibug = frame.landmarks["ibug68"]
    np.testing.assert_array_equal(ibug.pixels[0], [255, 367])
    assert ibug.visible[9] == np.False_ and ibug.visible[0] == np.True_
    assert len(frame.landmarks["mediapipe_dense"]) == 468
    assert frame.landmarks["mediapipe_dense"].names[0] == "0"


# ---------------------------------------------------------------------- camera


def test_v110_camera_is_the_stored_matrices(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / MULTI)
    meta = frame.raw["camera_metadata"]
    np.testing.assert_array_equal(frame.camera.K, meta["intrinsic_matrix"])
    np.testing.assert_array_equal(frame.camera.cam_from_world[:3], meta["extrinsic_matrix"])
    md = frame.metadata
    assert md.fov_x == pytest.approx(math.radians(9.99999970909292), abs=1e-15)
    assert md.focal_length_mm == 50.0
    assert md.sensor_width_mm == 8.748866081237793
    np.testing.assert_array_equal(md.location, [0.0, -1.3499999046325684, 1.5099999904632568])
    np.testing.assert_allclose(md.location, frame.camera.center, atol=1e-6)
    np.testing.assert_allclose(md.look_at, frame.camera.world_from_cam[:3, 2], atol=1e-6)
    assert frame.version == "1.1.0"


@pytest.mark.parametrize("rel", [FACE, MULTI, "faces_multicam/datapoint_00011/camera_2", HIC])
def test_look_at_rebuild_reproduces_stored_v110(fixtures: Path, rel: str) -> None:
    """The rebuild used for unversioned files, checked where the stored matrices are right."""
    path = fixtures / DG / rel / "camera_metadata.json"
    meta = json.loads(path.read_text())
    notes: list[str] = []
    camera, _ = camera_unversioned(meta, path, None, "camera", notes)
    np.testing.assert_allclose(camera.cam_from_world[:3], meta["extrinsic_matrix"], atol=1e-6)
    np.testing.assert_allclose(camera.K, meta["intrinsic_matrix"], rtol=1e-6, atol=1e-9)


def test_euler_from_request_reproduces_rotation(fixtures: Path) -> None:
    for rel in (
        MULTI,
        "faces_multicam/datapoint_00011/camera_2",
        "faces_multicam/datapoint_00012/camera_3",
    ):
        frame = read_frame(fixtures / DG / rel)
        yaw, pitch, roll = frame.metadata.euler
        assert frame.metadata.euler_sequence == "yaw,pitch,roll" and frame.metadata.euler_degrees
        R = Rotation.from_euler("yxz", (-yaw, -pitch, roll), degrees=True).as_matrix()
        R = R @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
        np.testing.assert_allclose(R, frame.camera.cam_from_world[:3, :3], atol=1e-6)


@pytest.mark.parametrize(
    "rel",
    [
        MULTI,
        "faces_multicam/datapoint_00011/camera_2",
        "faces_multicam/datapoint_00012/camera_3",
    ],
)
def test_euler_rule_reproduces_stored_rotation(fixtures: Path, rel: str) -> None:
    """The structured rule a verifier uses, against the stored extrinsic matrix."""
    meta = read_frame(fixtures / DG / rel).metadata
    assert meta.euler_rule == DATAGEN_EULER_RULE and meta.euler_degrees
    assert np.count_nonzero(meta.euler) >= 1  # (yaw, pitch, roll): (0, -45.3, 0) ... (75, 0, 0)
    R = rotation_from_euler_rule(meta.euler, meta.euler_rule)
    stored = np.array(
        json.loads((fixtures / DG / rel / "camera_metadata.json").read_text())["extrinsic_matrix"]
    )
    np.testing.assert_array_equal(meta.stored_cam_from_world[:3], stored)
    np.testing.assert_allclose(R, meta.stored_cam_from_world[:3, :3], atol=1e-6)


@pytest.mark.parametrize(
    ("rel", "pose_kind", "euler"),
    [
        (FACE, "cam_from_world", True),
        (HIC, "cam_from_world", False),
        (CABIN, "cam_from_world", False),
        (LEGACY, "cam_from_world", False),
    ],
)
def test_structured_metadata_fields(fixtures: Path, rel: str, pose_kind: str, euler: bool) -> None:
    meta = read_frame(fixtures / DG / rel).metadata
    assert meta.axis_convention == "opencv" and meta.matrix_layout == "row_major"
    assert meta.pose_kind == pose_kind
    assert meta.pixel_convention == "row_col" and meta.square_pixels is True
    assert meta.shift_units is None and meta.stored_K_includes_shift is None
    assert (meta.euler_rule is not None) is euler
    assert meta.quaternion is None


def test_head_pose_kept_in_raw(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / "faces_multicam/datapoint_00009/camera")
    head = frame.raw["actor_metadata"]["head_metadata"]
    rot, look = head["head_rotation"], head["head_six_dof"]["look_at_vector"]
    v = Rotation.from_euler("XZY", [rot["pitch"], rot["yaw"], rot["roll"]], degrees=True).apply(
        [0, -1, 0]
    )
    np.testing.assert_allclose(v, [look["x"], look["y"], look["z"]], atol=1e-4)


def test_unversioned_legacy_camera_rebuilt(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / LEGACY)
    assert frame.version is None
    assert (
        "unversioned Datagen metadata: camera rebuilt from location/look-at/up and horizontal FOV; "
        "stored matrices ignored"
    ) in frame.notes
    fx = 512 / math.tan(math.radians(7.999999938029066) / 2)
    np.testing.assert_allclose(frame.camera.K, [[fx, 0, 512], [0, fx, 512], [0, 0, 1]], rtol=1e-12)
    # the stored extrinsic (t = -R^T C) is kept for verification, and is far off
    stored = frame.metadata.stored_cam_from_world
    np.testing.assert_array_equal(stored[:3], frame.raw["camera_metadata"]["extrinsic_matrix"])
    np.testing.assert_allclose(stored[:3, :3], frame.camera.cam_from_world[:3, :3], atol=1e-6)
    C = frame.metadata.location
    np.testing.assert_allclose(stored[:3, 3], -stored[:3, :3].T @ C, atol=1e-6)
    lm = frame.landmarks["ibug68"]
    p = lm.world @ stored[:3, :3].T + stored[:3, 3]
    uv = (p @ frame.metadata.stored_K.T)[:, :2] / p[:, 2:]
    assert np.abs(uv - lm.pixels).max() > 1000


def test_in_cabin_stored_fy_inconsistent(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / CABIN)
    K = frame.metadata.stored_K
    assert K[1, 1] / K[0, 0] == pytest.approx(506 / 283, rel=1e-9)
    assert frame.camera.K[0, 0] == frame.camera.K[1, 1]
    assert (frame.camera.width, frame.camera.height) == (506, 283)
    np.testing.assert_allclose(frame.camera.K[:2, 2], [253.0, 141.5])


# ---------------------------------------------------------------------- pixel data


@pytest.mark.parametrize(("rel", "sentinel"), [(FACE, 1e10), (HIC, 65504.0)])
def test_depth_planar_z_sentinels_to_nan(fixtures: Path, rel: str, sentinel: float) -> None:
    frame = read_frame(fixtures / DG / rel)
    assert frame.depth_kind == "z"
    raw = _exr(frame.depth_path, "R").astype(np.float32)
    depth = frame.read_depth()
    np.testing.assert_array_equal(np.isnan(depth), raw == np.float32(sentinel))
    np.testing.assert_array_equal(depth[~np.isnan(depth)], raw[raw != np.float32(sentinel)])


def test_normals_decoded_and_converted(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / FACE)
    assert frame.normals_convention == "datagen_rgb"
    rgb = np.stack([_exr(frame.normals_path, c) for c in "RGB"], axis=-1).astype(np.float32)
    normals = frame.read_normals()
    surface = np.isfinite(frame.read_depth())
    np.testing.assert_array_equal(np.isnan(normals).any(axis=2), ~surface)
    np.testing.assert_allclose(normals[surface], (2 * rgb[surface] - 1) * [1, -1, -1], atol=1e-7)


def test_segmentation_colours_are_16_bit_scaled(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / FACE)
    hair16 = frame.raw["semantic_segmentation_metadata"]["human"]["head"]["hair"]
    assert frame.segmentation_mapping["human.head.hair"] == (
        hair16["R"] // 256,
        hair16["G"] // 256,
        hair16["B"] // 256,
    )
    seg = frame.read_segmentation()
    colours = {tuple(c) for c in np.unique(seg.reshape(-1, 3), axis=0).tolist()}
    assert colours - {(0, 0, 0)} <= set(frame.segmentation_mapping.values())


def test_legacy_exr_segmentation(fixtures: Path) -> None:
    frame = read_frame(fixtures / DG / LEGACY)
    assert frame.segmentation_path.name == "semantic_segmentation.exr"
    seg = frame.read_segmentation()
    assert seg.dtype == np.float32 and seg.shape == (1024, 1024, 3)
    assert frame.segmentation_mapping["nose"] == (0.17139, 0.29614, 0.0369)
    nose = np.all(np.abs(seg - np.float16([0.17139, 0.29614, 0.0369])) < 1e-3, axis=-1)
    assert nose.sum() > 100
    assert frame.image_path.name == "infrared_spectrum.png"


def test_several_images_per_camera(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, FACE)
    img = Image.open(cam / "visible_spectrum_01.png")
    img.save(cam / "visible_spectrum_02.png")
    ds = load(tmp_path)
    assert ds.frame_ids == (
        "datapoint_00016/camera:visible_spectrum_01.png",
        "datapoint_00016/camera:visible_spectrum_02.png",
    )
    frames = list(ds)
    assert [f.image_path.name for f in frames] == [
        "visible_spectrum_01.png",
        "visible_spectrum_02.png",
    ]
    assert frames[0].scene_id == frames[1].scene_id


def test_scene_ids(fixtures: Path) -> None:
    a, b, c = (
        read_frame(fixtures / DG / f"faces_multicam/datapoint_000{i}")
        for i in ("10/camera_1", "11/camera_2", "12/camera_3")
    )
    assert a.scene_id == b.scene_id == c.scene_id
    assert a.scene_id.startswith("actor:6ce2da06-311d-4b0c-b966-7544c0008826/")
    assert read_frame(fixtures / DG / FACE).scene_id != a.scene_id


# ---------------------------------------------------------------------- errors


def test_missing_key(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, FACE)
    _edit(cam / "camera_metadata.json", lambda d: d.pop("intrinsic_matrix"))
    with pytest.raises(
        MissingKeyError, match=r"camera/camera_metadata\.json: missing key intrinsic_matrix$"
    ):
        read_frame(cam)


def test_missing_key_unversioned(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, LEGACY)
    _edit(cam / "camera_metadata.json", lambda d: d["orientation"].pop("up_vector"))
    with pytest.raises(MissingKeyError, match=r"missing key orientation\.up_vector"):
        read_frame(cam)


def test_nan_in_extrinsic(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, FACE)
    _edit(
        cam / "camera_metadata.json",
        lambda d: d["extrinsic_matrix"][1].__setitem__(3, float("nan")),
    )
    with pytest.raises(FormatError, match=r"extrinsic_matrix holds non-finite"):
        read_frame(cam)


def test_unknown_camera_version(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, FACE)
    _edit(cam / "camera_metadata.json", lambda d: d.__setitem__("version", "1.2.0"))
    with pytest.warns(
        UserWarning,
        match=r"camera_metadata\.json: unknown Datagen camera_metadata version '1\.2\.0'",
    ):
        frame = read_frame(cam)
    assert frame.version == "1.2.0"
    _edit(
        cam / "camera_metadata.json",
        lambda d: (d.__setitem__("version", "2.0.0"), d.pop("extrinsic_matrix")),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(
            UnknownVersionError, match=r"version '2\.0\.0' and the file does not fit"
        ):
            read_frame(cam)


def test_corrupt_and_broken_keypoints(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, FACE)
    path = cam / "key_points" / "head_key_points.json"
    path.write_text(path.read_text()[:100])
    with pytest.raises(FormatError, match=r"head_key_points\.json: corrupt JSON"):
        read_frame(cam)
    shutil.copy(fixtures / DG / FACE / "key_points" / "head_key_points.json", path)
    _edit(
        cam / "key_points" / "face_standard_key_points.json",
        lambda d: d["face"]["standard"]["05"]["global_3d"].pop("z"),
    )
    with pytest.raises(MissingKeyError, match=r"missing key face\.standard\.05\.global_3d"):
        read_frame(cam)


def test_not_a_camera_folder(tmp_path: Path) -> None:
    with pytest.raises(
        FormatError, match=r"not a Datagen camera folder \(no camera_metadata\.json\)"
    ):
        read_frame(tmp_path)


def test_read_without_landmarks_leaves_keypoint_files_unread(
    fixtures: Path, tmp_path: Path
) -> None:
    cam = _copy_camera(fixtures, tmp_path, "faces_nn/datapoint_00016/camera")
    source = load(cam).sources[0]
    full = source.read()
    lean = source.read(landmarks=False)
    assert full.landmarks and dict(lean.landmarks) == {}
    assert lean.camera is not None and full.camera is not None
    np.testing.assert_array_equal(lean.camera.K, full.camera.K)
    np.testing.assert_array_equal(lean.camera.cam_from_world, full.camera.cam_from_world)
    assert (lean.depth_path, lean.image_path, lean.scene_id) == (
        full.depth_path,
        full.image_path,
        full.scene_id,
    )
    # a damaged keypoint file fails a full read only
    kp = cam / "key_points" / "face_standard_key_points.json"
    kp.write_text("{ not json")
    with pytest.raises(FormatError, match="corrupt JSON"):
        source.read()
    assert source.read(landmarks=False).camera is not None


def test_bulk_keypoint_parse_equals_the_per_leaf_parse(
    fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from camgeom.datasets.datagen import keypoints

    sources = load(fixtures / DG).sources
    bulk = [s.read() for s in sources]
    monkeypatch.setattr(keypoints, "_group_fast", lambda *args: None)
    compared = 0
    for source, a in zip(sources, bulk, strict=True):
        b = source.read()
        assert list(a.landmarks) == list(b.landmarks) and a.notes == b.notes
        for name, x in a.landmarks.items():
            y = b.landmarks[name]
            assert (x.names, x.pixels_decimals, x.source) == (y.names, y.pixels_decimals, y.source)
            for field in ("world", "pixels", "visible"):
                u, v = getattr(x, field), getattr(y, field)
                assert (u is None) == (v is None)
                if u is not None:
                    np.testing.assert_array_equal(u, v)
            compared += 1
    assert compared >= 100


def test_segmentation_mapping_follows_the_file_content(fixtures: Path, tmp_path: Path) -> None:
    cam = _copy_camera(fixtures, tmp_path, "faces_nn/datapoint_00016/camera")
    before = dict(read_frame(cam).segmentation_mapping)
    meta = cam.parent / "semantic_segmentation_metadata.json"
    doc = json.loads(meta.read_text())
    doc["a_new_class"] = {"R": 65535, "G": 0, "B": 256}
    meta.write_text(json.dumps(doc))
    after = read_frame(cam).segmentation_mapping
    assert after["a_new_class"] == (255, 0, 1)
    assert {k: v for k, v in after.items() if k != "a_new_class"} == before


@given(
    st.lists(
        st.one_of(st.text(max_size=4), st.from_regex(r"[0-9]{1,3}", fullmatch=True), st.none()),
        max_size=6,
    )
)
def test_key_tests_in_bulk_agree_with_the_per_key_tests(keys):
    from camgeom.datasets.datagen.keypoints import _LEADING_ZERO, _all_numbers, _is_number

    assert _all_numbers(keys) == all(_is_number(k) for k in keys)
    names = [k for k in keys if isinstance(k, str) and "\x00" not in k]
    leading = any(n[:1] == "0" and len(n) > 1 for n in names)
    assert bool(_LEADING_ZERO.search("\x00".join(names))) == leading


def test_keypoint_groups_are_read_only_columns_of_one_length(fixtures):
    frame = read_frame(fixtures / "datagen/faces_nn/datapoint_00016/camera")
    assert frame.landmarks
    for name, group in frame.landmarks.items():
        n = len(group.names)
        assert all(type(s) is str for s in group.names), name
        assert group.world.shape == (n, 3) and group.world.dtype == np.float64
        assert group.pixels is None or (
            group.pixels.shape == (n, 2) and group.pixels.dtype == np.float64
        )
        assert group.visible is None or (
            group.visible.shape == (n,) and group.visible.dtype == bool
        )
        for arr in (group.world, group.pixels, group.visible):
            if arr is not None:
                assert not arr.flags.writeable, name
                with pytest.raises(ValueError):
                    arr[0] = arr[0]
