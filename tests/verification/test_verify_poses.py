"""Pose checks: Euler rules, stored rigidity, axis conventions from fields, not vendor names."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import camgeom.datasets as ds
from camgeom.poses import EulerRule
from camgeom.verification import verify

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def with_metadata(frame, **changes):
    return dataclasses.replace(frame, metadata=dataclasses.replace(frame.metadata, **changes))


def statuses(report):
    return [(c.name, c.status) for c in report.checks]


def test_datagen_euler_check_runs_and_passes(fixtures):
    fs = list(ds.load(fixtures / "datagen" / "faces_multicam"))
    turned = [f for f in fs if np.abs(f.metadata.euler).max() > 1]
    assert len(turned) >= 3  # yaw 180 / 75, pitch -45.3 / -24.7
    for f in fs:
        c = verify(f)["pose.euler"]
        assert c.status == "pass", c
        assert c.value < 1e-6  # float32 storage
        assert "'yxz'" in c.message


def test_perturbed_datagen_angle_fails(fixtures):
    f = next(
        f for f in ds.load(fixtures / "datagen" / "faces_multicam") if f.metadata.euler[1] != 0
    )
    for axis in range(3):
        bumped = f.metadata.euler.copy()
        bumped[axis] += 1.0  # one degree
        c = verify(with_metadata(f, euler=bumped))["pose.euler"]
        assert c.failed and c.value > 1e-3, (axis, c)


def test_euler_angles_without_a_rule_are_skipped_with_the_reason(fixtures):
    f = next(iter(ds.load(fixtures / "datagen" / "faces_multicam")))
    c = verify(with_metadata(f, euler_rule=None))["pose.euler"]
    assert c.status == "skip" and "rule" in c.message and "yaw,pitch,roll" in c.message


def test_euler_rule_on_a_handmade_frame(frame_factory):
    # OpenGL camera turned 30 degrees about its y axis, stored as extrinsic x-y-z degrees
    rule = EulerRule("xyz", degrees=True, axes="opengl")
    c = np.cos(np.radians(30))
    s = np.sin(np.radians(30))
    r_gl = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    pose = np.eye(4)
    pose[:3, :3] = np.diag([1.0, -1.0, -1.0]) @ r_gl  # the same rotation, OpenCV axes
    f = frame_factory(
        K,
        cam_from_world=pose,
        stored_cam_from_world=pose,
        euler=[0.0, 30.0, 0.0],
        euler_rule=rule,
    )
    assert verify(f)["pose.euler"].value < 1e-12
    wrong = dataclasses.replace(rule, axes="opencv")
    assert verify(with_metadata(f, euler_rule=wrong))["pose.euler"].failed


@pytest.mark.parametrize(
    "bad",
    [
        np.diag([1.1, 1.0, 1.0, 1.0]),  # scale
        np.diag([1.0, 1.0, -1.0, 1.0]),  # reflection
        np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0.5, 0, 0, 1]]),  # transposed
    ],
)
def test_non_rigid_stored_pose_fails_rigid_check(frame_factory, bad):
    """The check reads the pose as stored, not the camera the reader validated."""
    f = frame_factory(
        K, stored_cam_from_world=bad, quaternion=[1.0, 0, 0, 0], axis_convention="opencv"
    )
    r = verify(f)
    c = r["pose.rigid.cam_from_world"]
    assert c.failed and "not a rigid transform" in c.hint
    assert "stored_cam_from_world" in c.hint
    # the camera itself is rigid and the rest of the report still runs
    assert r["intrinsics.principal_point"].status == "pass"
    assert r["pose.quaternion"].status in ("skip", "fail")


def test_rigid_stored_pose_passes(frame_factory):
    f = frame_factory(K, stored_cam_from_world=np.eye(4), matrix_layout="transposed")
    c = verify(f)["pose.rigid.cam_from_world"]
    assert c.status == "pass" and "transposed" in c.message


def test_quaternion_axes_come_from_the_axis_convention_field(fixtures):
    f = next(iter(ds.load(fixtures / "synthesisai" / "v1_2_faces")))
    assert f.metadata.axis_convention == "opengl"
    assert verify(f)["pose.quaternion"].status == "pass"
    assert verify(with_metadata(f, axis_convention="opencv"))["pose.quaternion"].failed
    c = verify(with_metadata(f, axis_convention=None))["pose.quaternion"]
    assert c.status == "skip" and "axes" in c.message


@pytest.mark.parametrize("sub", ["synthesisai/v1_2_faces", "synthesisai/room", "datagen/faces_nn"])
def test_decisions_ignore_vendor_name_and_notes(fixtures, sub):
    f = next(iter(ds.load(fixtures / sub)))
    other = "datagen" if f.vendor == "synthesisai" else "synthesisai"
    anonymous = dataclasses.replace(f, vendor=other, notes=())
    assert [c for c in statuses(verify(anonymous))] == [
        c for c in statuses(verify(f)) if c[0] != "format.quirk"
    ]


def test_room_square_pixels_come_from_the_field(fixtures):
    f = next(iter(ds.load(fixtures / "synthesisai" / "room")))
    assert f.metadata.square_pixels is False
    assert verify(dataclasses.replace(f, notes=()))["intrinsics.square_pixels"].status == "info"
    assert verify(with_metadata(f, square_pixels=True))["intrinsics.square_pixels"].failed
