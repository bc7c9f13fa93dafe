"""Helpers shared by the readers: stored poses, camera construction, sorting, rounding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from camgeom.conventions import AXIS_CONVENTIONS, axes_matrix, convert_pose
from camgeom.datasets._common import decimals_of, make_camera, natural_key, stored_pose
from camgeom.errors import FormatError

RIGHT_HANDED = [
    c
    for c in [*sorted(AXIS_CONVENTIONS), "LDB", "DRB", "BUR"]
    if np.linalg.det(axes_matrix(c, "opencv")) > 0
]


@given(
    st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=20),
    st.integers(0, 6),
)
def test_decimals_of_rounded_values(values: list[float], d: int) -> None:
    rounded = np.round(np.array(values), d)
    found = decimals_of(rounded)
    assert found is not None and found <= d
    np.testing.assert_allclose(np.round(rounded, found), rounded, atol=1e-9)


def test_decimals_of_unrounded() -> None:
    assert decimals_of(np.array([0.6080426729424198, 0.5])) is None
    assert decimals_of(np.array([np.nan, 3.0])) == 0
    assert decimals_of(np.array([])) is None


def test_natural_key() -> None:
    names = ["10.info.json", "2.info.json", "1.info.json", "datapoint_00010", "datapoint_00009"]
    assert sorted(names, key=natural_key) == [
        "1.info.json",
        "2.info.json",
        "10.info.json",
        "datapoint_00009",
        "datapoint_00010",
    ]


@given(
    st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4).filter(
        lambda q: np.linalg.norm(q) > 0.1
    ),
    st.lists(st.floats(-5.0, 5.0), min_size=3, max_size=3),
    st.sampled_from(RIGHT_HANDED),
    st.sampled_from(["cam_from_world", "world_from_cam"]),
)
def test_stored_pose_is_convert_pose_on_rigid_poses(q, t, convention, kind) -> None:
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_quat(q).as_matrix()
    pose[:3, 3] = t
    expected = convert_pose(pose, convention, "opencv", kind=kind)
    np.testing.assert_array_equal(stored_pose(pose, convention, kind=kind), expected)


def test_stored_pose_keeps_a_non_rigid_pose_as_stored() -> None:
    """convert_pose refuses a scaled matrix; the stored value must survive for a verifier."""
    scaled = np.diag([1.5, 1.5, 1.5, 1.0])
    scaled[:3, 3] = [0.1, 0.2, 0.3]
    cfw = stored_pose(scaled, "opengl", kind="cam_from_world")
    np.testing.assert_array_equal(cfw[:3, :3], np.diag([1.5, -1.5, -1.5]))
    np.testing.assert_array_equal(cfw[:3, 3], [0.1, -0.2, -0.3])
    wfc = stored_pose(scaled, "opengl", kind="world_from_cam")
    np.testing.assert_array_equal(wfc[:3, :3], np.diag([1.5, -1.5, -1.5]))
    np.testing.assert_array_equal(wfc[:3, 3], [0.1, 0.2, 0.3])  # the centre is world-frame
    assert stored_pose(scaled, "opencv", kind="cam_from_world") is not scaled


def test_make_camera_names_the_file_and_what_failed() -> None:
    K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    cam = make_camera(K, flip, (100, 100), "x.json", convention="opengl")
    np.testing.assert_array_equal(cam.cam_from_world, np.eye(4))
    cam = make_camera(K, flip, (100, 100), "x.json", convention="opengl", kind="world_from_cam")
    np.testing.assert_array_equal(cam.cam_from_world, np.eye(4))
    with pytest.raises(FormatError, match=r"x\.json: cameras\[0\]\.pose is not valid: Expected"):
        make_camera(K, np.diag([2.0, 1, 1, 1]), (100, 100), "x.json", what="cameras[0].pose")
