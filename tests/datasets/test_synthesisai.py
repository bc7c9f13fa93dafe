"""Synthesis AI reader: layouts, quirks, metadata.jsonl join, errors."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy.spatial.transform import Rotation

from camgeom.conventions import convert_pose
from camgeom.datasets import load
from camgeom.datasets.synthesisai import SYNTHESIS_EULER_RULE, MetadataJsonl, read_frame
from camgeom.errors import FormatError, MissingKeyError, UnknownVersionError
from camgeom.intrinsics import intrinsics_from_fov
from camgeom.poses import rotation_from_euler_rule

SAI = "synthesisai"


def _copy_render(fixtures: Path, tmp_path: Path, rel: str, *, with_files: bool = False) -> Path:
    """Copy one render's info.json (and optionally its other files) into tmp_path."""
    src = fixtures / SAI / rel
    stem = src.name[: -len(".info.json")]
    for f in src.parent.glob(f"{stem}.*") if with_files else [src]:
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / src.name


def _edit(path: Path, fn) -> Path:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))
    return path


# ---------------------------------------------------------------------- groups


GROUPS_V15_24 = {
    "ibug68": 68,
    "ibug68_contour": 68,
    "kinect_v2": 32,
    "coco_whole_body": 133,
    "mediapipe_body": 33,
    "mediapipe_left_hand": 21,
    "mediapipe_right_hand": 21,
    "mpeg4": 54,
    "pupils": 2,
    "sai_dense": 4840,
    "mediapipe_dense": 468,
}


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("v1_5_docs/24.info.json", GROUPS_V15_24),
        (
            "v1_5_docs/0.info.json",
            {
                "ibug68": 68,
                "ibug68_contour": 68,
                "kinect_v2": 32,
                "coco_whole_body": 133,
                "mediapipe_body": 33,
                "mediapipe_left_hand": 21,
                "mediapipe_right_hand": 21,
                "mediapipe_left_iris": 5,
                "mediapipe_right_iris": 5,
                "mpeg4": 58,
                "pupils": 2,
            },
        ),
        ("v1_2_faces/1.info.json", {"ibug68": 68, "ibug68_contour": 68, "pupils": 2}),
        ("v1_1_docs/188.info.json", {"ibug68": 68, "pupils": 2}),
        ("v1_faces/0.info.json", {"ibug68": 68, "pupils": 2}),
        ("room/0.info.json", {}),
    ],
)
def test_group_names_and_sizes(fixtures: Path, rel: str, expected: dict[str, int]) -> None:
    frame = read_frame(fixtures / SAI / rel)
    assert list(frame.landmarks) == list(expected)
    assert {k: len(frame.landmarks[k]) for k in frame.landmarks} == expected


def test_groups_sorted_by_id_with_stored_names(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_5_docs/24.info.json")
    raw = frame.raw["info"]["landmarks"]
    kinect = frame.landmarks["kinect_v2"]
    # stored out of order (HAND_RIGHT first, id 15); Azure Kinect order puts PELVIS at 0
    assert raw["kinect_v2"][0]["name"] == "HAND_RIGHT"
    assert kinect.names[:4] == ("PELVIS", "SPINE_NAVAL", "SPINE_CHEST", "NECK")
    assert kinect.index("HAND_RIGHT") == 15
    by_name = {p["name"]: p for p in raw["kinect_v2"]}
    np.testing.assert_array_equal(kinect.world[15], by_name["HAND_RIGHT"]["world_space_pos"])
    assert frame.landmarks["mediapipe_body"].names[0] == "nose"
    assert frame.landmarks["coco_whole_body"].names == tuple(str(i) for i in range(1, 134))
    assert frame.landmarks["mpeg4"].names[:4] == ("2.1", "2.2", "2.3", "2.10")
    assert frame.landmarks["ibug68"].names == tuple(str(i) for i in range(1, 69))
    assert frame.landmarks["pupils"].names == ("left", "right")


def test_screen_space_pos_scaled_to_pixels(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_5_docs/0.info.json")  # 1080 x 1920 portrait
    assert (frame.camera.width, frame.camera.height) == (1080, 1920)
    stored = frame.raw["info"]["landmarks"]["ibug68"]
    ssp = np.array([p["screen_space_pos"] for p in stored])
    np.testing.assert_array_equal(frame.landmarks["ibug68"].pixels, ssp * [1080, 1920])
    lm = frame.landmarks["ibug68"]
    assert lm.pixels_decimals == 4
    np.testing.assert_allclose(lm.pixels_rounding, [0.054, 0.096])
    assert frame.landmarks["kinect_v2"].pixels_decimals is None


def test_camera_space_converted_to_opencv(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/0.info.json")
    stored = frame.raw["info"]["pupil_coordinates"]["pupil_left"]["camera_space_pos"]
    np.testing.assert_array_equal(
        frame.landmarks["pupils"].camera_space[0], np.multiply(stored, [1, -1, -1])
    )
    assert frame.landmarks["pupils"].camera_space[0, 2] > 0  # in front: +z in OpenCV


def test_contour_landmarks_aligned_by_point_number(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/1.info.json")
    contour = frame.landmarks["ibug68_contour"]
    stored = frame.raw["info"]["contour_landmarks"]
    assert len(stored) == 67 and 36 not in {p["ptnum"] for p in stored}
    assert contour.world is None
    missing = np.isnan(contour.pixels).any(axis=1)
    assert np.flatnonzero(missing).tolist() == [35]  # ptnum 36 (1-based) absent
    # inner points (28-68) agree with the 0-based `landmarks` within the 4-decimal rounding
    inner = np.arange(27, 68)
    inner = inner[~missing[inner]]
    diff = np.abs(contour.pixels[inner] - frame.landmarks["ibug68"].pixels[inner])
    assert diff.max() < 0.03
    assert any("ptnum counts from 1" in n for n in frame.notes)


# ---------------------------------------------------------------------- dense .obj sets


def test_dense_sets_are_lazy_world_only(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_5_docs/24.info.json")
    assert "sai_dense" in frame.landmarks and "sai_dense" not in frame.landmarks.loaded()
    dense = frame.landmarks["sai_dense"]
    assert dense.world.shape == (4840, 3) and dense.pixels is None
    assert "sai_dense" in frame.landmarks.loaded()
    mp = frame.landmarks["mediapipe_dense"]
    assert mp.world.shape == (468, 3)
    # OBJ header bounds of 24.sai_dense.obj
    np.testing.assert_allclose(dense.world.min(axis=0), [-0.0471929647, 1.49531984, -0.00987516716])
    np.testing.assert_allclose(dense.world.max(axis=0), [0.106397457, 1.69651294, 0.121447831])


def test_info_groups_are_built_on_first_access(fixtures: Path) -> None:
    """Reading checks every point; a group's arrays are built when it is first asked for."""
    frame = read_frame(fixtures / SAI / "v1_5_docs/24.info.json")
    assert list(frame.landmarks) == list(GROUPS_V15_24)  # names known, nothing built for them
    # only the groups the vendor-defect notes look at are built by the read
    assert set(frame.landmarks.loaded()) == {"ibug68", "pupils"}
    kinect = frame.landmarks["kinect_v2"]
    assert frame.landmarks["kinect_v2"] is kinect
    assert set(frame.landmarks.loaded()) == {"ibug68", "pupils", "kinect_v2"}
    # any order of access gives the same arrays, and the frame pickles with unbuilt groups
    other = pickle.loads(pickle.dumps(read_frame(fixtures / SAI / "v1_5_docs/24.info.json")))
    for name in reversed(list(GROUPS_V15_24)):
        a, b = frame.landmarks[name], other.landmarks[name]
        assert a.names == b.names and a.source == b.source
        for key in ("world", "pixels", "camera_space", "distance", "in_frustum"):
            x, y = getattr(a, key), getattr(b, key)
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x, y)
                assert not x.flags.writeable and not y.flags.writeable
    # the raw values, read without camgeom: kinect_v2 sorted by id, screen_space_pos * (W, H)
    raw = json.loads((fixtures / SAI / "v1_5_docs/24.info.json").read_text())
    pts = sorted(raw["landmarks"]["kinect_v2"], key=lambda p: p["id"])
    np.testing.assert_array_equal(kinect.world, [p["world_space_pos"] for p in pts])
    np.testing.assert_allclose(
        kinect.pixels,
        np.array([p["screen_space_pos"] for p in pts]) * [frame.camera.width, frame.camera.height],
    )


def test_reading_frames_does_not_load_numba(fixtures: Path) -> None:
    """The vendor-defect notes project iBUG-68 with numpy: reading metadata loads no kernel."""
    code = (
        "import sys, camgeom\n"
        "for rel in ('v1_5_docs/24.info.json', 'v1_2_faces/0.info.json', 'v1_faces/0.info.json'):\n"
        f"    frame = camgeom.load({str(fixtures / SAI)!r} + '/' + rel)[0]\n"
        "    print(sum('known vendor defect' in n for n in frame.notes))\n"
        "print('numba' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *defects, numba_loaded = done.stdout.split()
    assert numba_loaded == "False"
    assert defects == ["1", "0", "1"]  # v1.5 eyebrow labels, v1 pupils (still found)


def test_bad_point_of_an_unbuilt_group_fails_the_read(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_5_docs/24.info.json")
    _edit(info, lambda d: d["landmarks"]["mpeg4"][7]["world_space_pos"].__setitem__(2, "x"))
    with pytest.raises(
        FormatError, match=r"24\.info\.json: .*landmarks\.mpeg4\[7\]\.world_space_pos"
    ):
        read_frame(info)
    _edit(info, lambda d: d["landmarks"]["mpeg4"][7]["world_space_pos"].__setitem__(2, 1e308))
    _edit(info, lambda d: d["landmarks"]["mpeg4"][8]["world_space_pos"].__setitem__(2, 1e308))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and the overflow stays inside the reader
        frame = read_frame(info)  # the sum overflows: the exact check finds every value finite
    assert frame.landmarks["mpeg4"].world.max() == 1e308


def test_dense_mesh_agrees_with_range_depth(fixtures: Path) -> None:
    """Depth sampled at the dense vertices matches their distance to the camera."""
    frame = read_frame(fixtures / SAI / "v1_5_docs/24.info.json")
    assert frame.depth_kind == "range"
    depth = frame.read_depth()
    world = frame.landmarks["sai_dense"].world
    uv, _ = frame.camera.project(world)
    pose = frame.camera.cam_from_world
    dist = np.linalg.norm(world @ pose[:3, :3].T + pose[:3, 3], axis=1)
    cols, rows = np.floor(uv).astype(int).T
    sampled = depth[rows, cols]
    ok = np.isfinite(sampled)
    assert ok.mean() > 0.9
    # half-float depth (~1 mm steps at 1.45 m); hidden vertices lie behind the surface
    assert np.median(np.abs(sampled[ok] - dist[ok])) < 2e-3


# ---------------------------------------------------------------------- camera


def test_camera_v12_pinned(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/0.info.json")
    cam = frame.camera
    # seed example: f = 100 mm, sensor 33 mm, 512 px
    assert cam.K[0, 0] == 1551.5151515151515 and cam.K[1, 1] == 1551.5151515151515
    assert (cam.K[0, 2], cam.K[1, 2]) == (256.0, 256.0)
    assert (cam.width, cam.height) == (512, 512)
    meta = frame.metadata
    assert meta.fov_x == 0.32705323764198635 and meta.fov_y == 0.32705323764198635
    assert (meta.focal_length_mm, meta.sensor_width_mm, meta.sensor_height_mm) == (
        100.0,
        33.0,
        33.0,
    )
    assert meta.width == 512 and meta.shift_x == 0.0 and meta.shift_y == 0.0
    stored = np.array(frame.raw["info"]["camera"]["transform_world2cam"]["mat_4x4"])
    np.testing.assert_array_equal(cam.cam_from_world, convert_pose(stored, "opengl", "opencv"))
    np.testing.assert_array_equal(meta.stored_cam_from_world, cam.cam_from_world)
    np.testing.assert_allclose(
        meta.stored_world_from_cam @ cam.cam_from_world, np.eye(4), atol=1e-12
    )
    np.testing.assert_allclose(meta.location, cam.center, atol=1e-12)


def test_quaternion_really_xyzw(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/1.info.json")
    meta = frame.metadata
    assert meta.quaternion_order == "xyzw"
    assert meta.quaternion_label == "transform_world2cam.quaternion_wxyz"
    stored_R = np.array(frame.raw["info"]["camera"]["transform_world2cam"]["mat_4x4"])[:3, :3]
    as_xyzw = Rotation.from_quat(meta.quaternion).as_matrix()
    as_wxyz = Rotation.from_quat(np.roll(meta.quaternion, -1)).as_matrix()
    assert np.abs(as_xyzw - stored_R).max() < 1e-12
    assert np.abs(as_wxyz - stored_R).max() > 0.5
    assert "quaternion_wxyz holds (x, y, z, w)" in frame.notes
    # euler_xyz: scipy extrinsic "xyz", degrees
    assert meta.euler_sequence == "xyz" and meta.euler_degrees
    euler_R = Rotation.from_euler("xyz", meta.euler, degrees=True).as_matrix()
    assert np.abs(euler_R - stored_R).max() < 1e-12


def test_room_format(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "room/0.info.json")
    assert frame.version is None
    assert any(n.startswith("room format: 4x4 stored transposed") for n in frame.notes)
    cam = frame.camera
    assert (cam.width, cam.height) == (1780, 1335)
    assert cam.K[0, 0] == 513.8388297637891 and cam.K[1, 1] == 685.1184396850521
    meta = frame.metadata
    # K comes from the stored FOV (non-square pixels) ...
    K_fov = intrinsics_from_fov(meta.fov_x, 1780, 1335, fov_y=meta.fov_y)
    np.testing.assert_allclose(cam.K, K_fov, rtol=1e-6)
    # ... and the stored focal length contradicts it; kept as stored, not "fixed"
    assert meta.focal_length_mm == 100.0
    assert 100.0 / meta.sensor_width_mm * 1780 > 5 * cam.K[0, 0]
    stored = np.array(frame.raw["info"]["camera"]["transform_world2cam"]["mat_4x4"])
    np.testing.assert_array_equal(cam.cam_from_world, convert_pose(stored.T, "opengl", "opencv"))
    # the object's world position projects inside its mask in segments.png
    obj = frame.raw["info"]["objects"][0]
    assert frame.segmentation_mapping == {obj["type"]: obj["mask_id"]}
    mask = np.asarray(Image.open(frame.segmentation_path)) == obj["mask_id"]
    rows, cols = np.nonzero(mask)
    (u, v), _ = cam.project(obj["position"])
    assert cols.min() <= u <= cols.max() + 1 and rows.min() <= v <= rows.max() + 1


def test_room_without_images_takes_size_from_principal_point(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "room/31.info.json")  # no image beside it
    assert (frame.camera.width, frame.camera.height) == (1780, 1335)
    assert any("principal point" in n for n in frame.notes)


# ---------------------------------------------------------------------- metadata.jsonl


def test_jsonl_join(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/3.info.json")
    line = frame.raw["metadata_jsonl"]
    assert line["render_id"] == 3
    assert frame.scene_id == "task:4e8f1eed-1aab-44ba-9735-e18fc59cc5e6"
    assert frame.metadata.extras["focal_length_mm_requested"] == 100.0


def test_jsonl_line_of_another_render_is_not_joined(fixtures: Path) -> None:
    # the v1.5 sample's only jsonl line says render_id 0 but describes render 24
    frame = read_frame(fixtures / SAI / "v1_5_docs/0.info.json")
    assert frame.raw["metadata_jsonl"] is None
    assert any("describes another render (identity 24 vs 303" in n for n in frame.notes)
    assert (frame.camera.width, frame.camera.height) == (1080, 1920)
    assert frame.scene_id == "render:0"


def test_jsonl_without_trailing_newline(fixtures: Path) -> None:
    jsonl = MetadataJsonl(fixtures / SAI / "v1_1_docs/metadata.jsonl")
    assert jsonl.render_ids() == ("188",)
    assert jsonl.line("188")["render"]["resolution"] == {"w": 512, "h": 512}


def test_jsonl_index_streams_and_parses_lazily(tmp_path: Path) -> None:
    path = tmp_path / "metadata.jsonl"
    lines = [json.dumps({"api": 0, "render_id": i, "payload": "x" * (i % 7)}) for i in range(3000)]
    lines[1234] = '{"api": 0, "render_id": 1234, "payload": '  # truncated line
    path.write_text("\n".join(lines) + "\n")
    jsonl = MetadataJsonl(path)
    assert jsonl.line("2999")["payload"] == "x" * (2999 % 7)
    assert jsonl.line("8") == {"api": 0, "render_id": 8, "payload": "x"}
    assert jsonl.line("5000") is None
    assert len(jsonl.render_ids()) == 3000
    assert set(jsonl._cache) == {"2999", "8", "5000"}  # only the asked lines were parsed
    with pytest.raises(FormatError, match=r"metadata.jsonl line 1235: corrupt JSON"):
        jsonl.line("1234")


def test_lens_shift_applied(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_2_faces/0.info.json")
    src = (fixtures / SAI / "v1_2_faces/metadata.jsonl").read_text().splitlines()[0]
    line = json.loads(src)
    spec = line["scene"]["camera"]["specifications"]
    spec["lens_shift_horizontal"], spec["lens_shift_vertical"] = 0.1, -0.05
    (tmp_path / "metadata.jsonl").write_text(json.dumps(line) + "\n")
    frame = read_frame(info)
    assert frame.metadata.shift_x == 0.1 and frame.metadata.shift_y == -0.05
    np.testing.assert_allclose(frame.camera.K[:2, 2], [256 - 0.1 * 512, 256 - 0.05 * 512])
    assert frame.metadata.stored_K[0, 2] == 256.0
    assert any("lens shift" in n for n in frame.notes)


def _non_square_render(fixtures: Path, tmp_path: Path, K: list[list[float]]) -> Path:
    """A 640x480 render: v1.2 info.json with ``K``, and its metadata.jsonl line at 640x480
    with lens shift 0.1 / -0.05."""
    info = _copy_render(fixtures, tmp_path, "v1_2_faces/0.info.json")
    _edit(info, lambda d: d["camera"].__setitem__("intrinsics", K))
    line = json.loads((fixtures / SAI / "v1_2_faces/metadata.jsonl").read_text().splitlines()[0])
    line["render"]["resolution"] = {"w": 640, "h": 480}
    spec = line["scene"]["camera"]["specifications"]
    spec["lens_shift_horizontal"], spec["lens_shift_vertical"] = 0.1, -0.05
    (tmp_path / "metadata.jsonl").write_text(json.dumps(line) + "\n")
    return info


def test_lens_shift_on_a_non_square_image_is_per_axis(fixtures: Path, tmp_path: Path) -> None:
    """Synthesis AI lens shift is a fraction of the width for x and of the height for y.

    On 640x480 that differs from Blender's fraction of the fitted width, which would
    put cy at 240 - 0.05 * 640 = 208.
    """
    info = _non_square_render(fixtures, tmp_path, [[1000.0, 0, 320], [0, 1000.0, 240], [0, 0, 1]])
    frame = read_frame(info)
    assert frame.raw["metadata_jsonl"] is not None  # joined: the stored K is unshifted
    assert (frame.camera.width, frame.camera.height) == (640, 480)
    assert frame.camera.K[0, 2] == 256.0  # 320 - 0.1 * 640
    assert frame.camera.K[1, 2] == 216.0  # 240 - 0.05 * 480
    assert frame.metadata.stored_K[0, 2] == 320.0 and frame.metadata.stored_K[1, 2] == 240.0
    assert frame.metadata.shift_units == "per_axis"
    assert frame.metadata.stored_K_includes_shift is False
    assert any("lens shift from metadata.jsonl applied" in n for n in frame.notes)


def test_join_accepts_a_stored_K_that_includes_the_shift(fixtures: Path, tmp_path: Path) -> None:
    shifted = [[1000.0, 0, 256], [0, 1000.0, 216], [0, 0, 1]]
    frame = read_frame(_non_square_render(fixtures, tmp_path, shifted))
    assert frame.raw["metadata_jsonl"] is not None
    assert (frame.camera.K[0, 2], frame.camera.K[1, 2]) == (256.0, 216.0)
    # the fit-units centre (256, 208) is not a centre of this line: not joined
    fit = [[1000.0, 0, 256], [0, 1000.0, 208], [0, 0, 1]]
    frame = read_frame(_non_square_render(fixtures, tmp_path, fit))
    assert frame.raw["metadata_jsonl"] is None
    assert any("does not match the principal point (256, 208)" in n for n in frame.notes)


@pytest.mark.parametrize(
    ("rel", "pose_kind", "layout", "square", "euler"),
    [
        ("v1_5_docs/24.info.json", "both", "row_major", True, False),
        ("v1_2_faces/0.info.json", "both", "row_major", True, True),
        ("v1_1_docs/188.info.json", "both", "row_major", True, True),
        ("v1_faces/0.info.json", "both", "row_major", True, False),
        ("room/0.info.json", "both", "transposed", False, False),
    ],
)
def test_structured_metadata_fields(
    fixtures: Path, rel: str, pose_kind: str, layout: str, square: bool, euler: bool
) -> None:
    meta = read_frame(fixtures / SAI / rel).metadata
    assert meta.axis_convention == "opengl"
    assert meta.pose_kind == pose_kind and meta.matrix_layout == layout
    assert meta.pixel_convention == "screen_space"
    assert meta.square_pixels is square
    assert meta.shift_units == "per_axis" and meta.stored_K_includes_shift is False
    assert (meta.euler_rule == SYNTHESIS_EULER_RULE) is euler
    assert (meta.euler is not None) is euler


@pytest.mark.parametrize("rel", ["v1_2_faces/0.info.json", "v1_1_docs/188.info.json"])
def test_euler_rule_reproduces_stored_rotation(fixtures: Path, rel: str) -> None:
    meta = read_frame(fixtures / SAI / rel).metadata
    assert abs(meta.euler).max() > 4.0  # degrees: a real rotation, not the identity
    R = rotation_from_euler_rule(meta.euler, meta.euler_rule)
    np.testing.assert_allclose(R, meta.stored_cam_from_world[:3, :3], atol=1e-12)


def test_stored_poses_hold_the_stored_matrices(fixtures: Path) -> None:
    """Relabelled to OpenCV axes from the raw JSON, not taken from the checked camera."""
    frame = read_frame(fixtures / SAI / "room/0.info.json")
    cam = frame.raw["info"]["camera"]
    w2c = np.array(cam["transform_world2cam"]["mat_4x4"]).T  # room: stored transposed
    c2w = np.array(cam["transform_cam2world"]["mat_4x4"]).T
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    np.testing.assert_array_equal(frame.metadata.stored_cam_from_world, flip @ w2c)
    np.testing.assert_array_equal(frame.metadata.stored_world_from_cam, c2w @ flip)
    np.testing.assert_array_equal(frame.metadata.location, c2w[:3, 3])


# ---------------------------------------------------------------------- pixel data


def test_depth_background_to_nan(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/0.info.json")
    raw = tifffile.imread(frame.depth_path)
    assert raw.dtype == np.float16
    depth = frame.read_depth()
    np.testing.assert_array_equal(np.isnan(depth), raw == 0)
    np.testing.assert_array_equal(depth[raw != 0], raw[raw != 0].astype(np.float32))
    v1 = read_frame(fixtures / SAI / "v1_faces/0.info.json")  # float32, +inf background
    raw1 = tifffile.imread(v1.depth_path)
    assert raw1.dtype == np.float32 and np.isinf(raw1).any()
    np.testing.assert_array_equal(np.isnan(v1.read_depth()), np.isinf(raw1))


def test_depth_constant_0p0025_background(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_2_faces/0.info.json")
    depth = np.full((512, 512), 0.0025, dtype=np.float32)
    depth[200:300, 200:300] = 7.2  # that set stores about 5x the range
    tifffile.imwrite(tmp_path / "0.depth.tif", depth)
    out = read_frame(info).read_depth()
    assert np.isnan(out).sum() == 512 * 512 - 100 * 100
    assert np.all(out[200:300, 200:300] == np.float32(7.2))


def test_normals_converted_from_opengl(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/2.info.json")
    assert frame.normals_convention == "opengl"
    raw = tifffile.imread(frame.normals_path).astype(np.float32)
    normals = frame.read_normals()
    surface = np.isfinite(frame.read_depth())
    np.testing.assert_array_equal(np.isnan(normals).any(axis=2), ~surface)
    np.testing.assert_array_equal(normals[surface], raw[surface] * [1, -1, -1])


def test_segmentation(fixtures: Path) -> None:
    frame = read_frame(fixtures / SAI / "v1_2_faces/0.info.json")
    seg = frame.read_segmentation()
    assert seg.shape == (512, 512)
    assert set(np.unique(seg)) <= set(frame.segmentation_mapping.values())
    assert frame.segmentation_mapping["background"] == 0


# ---------------------------------------------------------------------- errors


def test_truncated_json(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_5_docs/24.info.json")
    info.write_bytes(info.read_bytes()[:5000])
    with pytest.raises(FormatError, match=r"24\.info\.json: corrupt JSON .* looks truncated"):
        read_frame(info)


def test_missing_key_names_file_and_json_path(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_5_docs/24.info.json")
    _edit(info, lambda d: d["camera"]["transform_world2cam"].pop("mat_4x4"))
    with pytest.raises(
        MissingKeyError, match=r"/24\.info\.json: missing key camera\.transform_world2cam\.mat_4x4$"
    ):
        read_frame(info)


def test_missing_landmark_key_names_the_point(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_5_docs/24.info.json")
    _edit(info, lambda d: d["landmarks"]["kinect_v2"][5].pop("world_space_pos"))
    with pytest.raises(
        MissingKeyError, match=r"missing key landmarks\.kinect_v2\[5\]\.world_space_pos"
    ):
        read_frame(info)


def test_nan_values_rejected(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_2_faces/0.info.json")
    _edit(
        info,
        lambda d: d["camera"]["transform_world2cam"]["mat_4x4"][0].__setitem__(3, float("nan")),
    )
    with pytest.raises(FormatError, match=r"camera\.transform_world2cam\.mat_4x4 holds non-finite"):
        read_frame(info)
    info = _copy_render(fixtures, tmp_path, "v1_5_docs/24.info.json")
    _edit(
        info,
        lambda d: d["landmarks"]["coco"]["whole_body"][3]["screen_space_pos"].__setitem__(
            0, float("inf")
        ),
    )
    with pytest.raises(
        FormatError, match=r"landmarks\.coco\.whole_body\[3\]\.screen_space_pos holds non-finite"
    ):
        read_frame(info)


def test_wrong_shape_and_non_rigid(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_2_faces/0.info.json")
    _edit(info, lambda d: d["camera"].__setitem__("intrinsics", [[1, 0, 0], [0, 1, 0]]))
    with pytest.raises(
        FormatError, match=r"expected camera\.intrinsics to have shape \(3, 3\), got \(2, 3\)"
    ):
        read_frame(info)
    info = _copy_render(fixtures, tmp_path, "v1_2_faces/1.info.json")
    _edit(info, lambda d: d["camera"]["transform_world2cam"]["mat_4x4"][0].__setitem__(0, 2.0))
    with pytest.raises(FormatError, match=r"1\.info\.json: the stored camera is not valid"):
        read_frame(info)


def test_unknown_version_warns_when_layout_fits(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_5_docs/24.info.json")
    _edit(info, lambda d: d.__setitem__("version", "1.6"))
    with pytest.warns(
        UserWarning, match=r"24\.info\.json: unknown Synthesis AI info\.json version '1\.6'"
    ):
        frame = read_frame(info)
    assert frame.version == "1.6" and len(frame.landmarks["ibug68"]) == 68


def test_unknown_version_fails_when_layout_does_not_fit(fixtures: Path, tmp_path: Path) -> None:
    info = _copy_render(fixtures, tmp_path, "v1_5_docs/24.info.json")
    _edit(
        info, lambda d: (d.__setitem__("version", "2.0"), d.__setitem__("cameras", d.pop("camera")))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(
            UnknownVersionError,
            match=r"24\.info\.json: unknown .* version '2\.0'.*missing key camera",
        ):
            read_frame(info)


def test_scan_reports_bad_files_and_goes_on(fixtures: Path, tmp_path: Path) -> None:
    for rel in ("v1_2_faces/0.info.json", "v1_2_faces/1.info.json", "v1_2_faces/2.info.json"):
        _copy_render(fixtures, tmp_path, rel)
    (tmp_path / "1.info.json").write_text('{"version": "1.2", "camera": ')
    ds = load(tmp_path)
    assert ds.frame_ids == ("0", "1", "2")
    errors = ds.scan()
    assert [(e.frame_id, e.path.name) for e in errors] == [("1", "1.info.json")]
    assert "corrupt JSON" in errors[0].message
    assert [f.frame_id for f in ds.iter_frames(on_error="skip")] == ["0", "2"]
    with pytest.raises(FormatError, match=r"1\.info\.json"):
        list(ds)


def test_distorted_image_lookup_same_for_a_folder_set_and_a_list() -> None:
    from camgeom.datasets.synthesisai.fisheye import has_distorted_images

    names = ["0.rgb.png", "0.rgb.dist.png", "1.rgb.png", "10.segments.dist.png", "a.b.dist.png"]
    names += ["2.dist.png", "x.dist.png.bak", "3.rgb.dist.png.tmp"]
    stems = ["0", "1", "10", "a", "a.b", "2", "2.dist", "x", "", "b", "0.rgb", "0.rgb.dist", "3"]
    for stem in stems:
        assert has_distorted_images(stem, frozenset(names)) == has_distorted_images(stem, names)
    assert [s for s in stems if has_distorted_images(s, frozenset(names))] == [
        "0",
        "10",
        "a",
        "a.b",
        "2",
        "2.dist",
        "0.rgb",
        "0.rgb.dist",
    ]
