"""Tests of camgeom.demo.scene: the two world frames and the cameras, against hand-derived values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from camgeom.demo.datagen import DATAGEN
from camgeom.demo.scene import (
    DATAGEN_FROM_SYNTHESIS,
    SYNTHESIS_FROM_DATAGEN,
    datagen_views,
    make_scene,
    synthesis_views,
    to_synthesis_world,
    world_from_head,
)
from camgeom.demo.synthesisai import SYNTHESIS

# x_synthesis = x, y_synthesis = z, z_synthesis = -y (Datagen: z up, the actor faces -y;
# Synthesis AI: y up, the actor faces +z)
S = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def _scene_and_views(seed: int = 0):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng)
    return scene, synthesis_views(scene, rng), datagen_views(scene, rng)


def test_world_change_is_the_documented_axis_swap():
    np.testing.assert_array_equal(to_synthesis_world(np.array([1.0, 2.0, 3.0])), [1.0, 3.0, -2.0])
    np.testing.assert_array_equal(SYNTHESIS_FROM_DATAGEN[:3, :3], S)
    np.testing.assert_array_equal(SYNTHESIS_FROM_DATAGEN[:3, 3], 0.0)
    np.testing.assert_array_equal(SYNTHESIS_FROM_DATAGEN @ DATAGEN_FROM_SYNTHESIS, np.eye(4))
    # the actor faces -y in Datagen's world and +z in Synthesis AI's
    np.testing.assert_array_equal(to_synthesis_world(np.array([0.0, -1.0, 0.0])), [0.0, 0.0, 1.0])


def test_layouts_name_their_world_up():
    assert SYNTHESIS.world_up.tolist() == [0.0, 1.0, 0.0]
    assert DATAGEN.world_up.tolist() == [0.0, 0.0, 1.0]
    assert not np.signbit(SYNTHESIS.world_up).any() and not np.signbit(DATAGEN.world_up).any()
    np.testing.assert_array_equal(DATAGEN.points(np.array([[1.0, 2.0, 3.0]])), [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(SYNTHESIS.points(np.array([[1.0, 2.0, 3.0]])), [[1.0, 3.0, -2.0]])


@pytest.mark.parametrize("seed", [0, 5])
def test_head_pose_in_both_worlds(seed):
    scene, _, _ = _scene_and_views(seed)
    yaw = math.radians(scene.head_yaw_deg)
    rot_z = np.array(
        [[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0, 0, 1.0]]
    )
    dg = world_from_head(scene, DATAGEN.world)
    np.testing.assert_allclose(dg[:3, :3], rot_z, atol=1e-15)
    np.testing.assert_array_equal(dg[:3, 3], scene.head_centre)
    syn = world_from_head(scene, SYNTHESIS.world)
    np.testing.assert_allclose(syn[:3, :3], S @ rot_z @ S.T, atol=1e-15)
    np.testing.assert_array_equal(syn[:3, 3], S @ scene.head_centre)
    np.testing.assert_array_equal(syn[3], [0.0, 0.0, 0.0, 1.0])
    # a yaw turns about the up axis of each world
    np.testing.assert_allclose(syn[:3, :3] @ [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], atol=1e-15)


def test_cameras_look_at_the_head_upright():
    scene, syn_views, dg_views = _scene_and_views()
    for view in syn_views:
        # the orbit rig has no offset: the head centre is on the optical axis
        pose = view.cam_from_world
        p = pose[:3, :3] @ scene.head_centre + pose[:3, 3]
        assert p[2] == pytest.approx(view.extra["rig"]["location"]["z"], rel=1e-12)
        np.testing.assert_allclose(p[:2], 0.0, atol=1e-12)
        # the image's up (-y of the OpenCV camera) has a positive world z (Datagen frame)
        assert (-pose[1, :3]) @ [0.0, 0.0, 1.0] > 0.8
        np.testing.assert_allclose(view.centre, -pose[:3, :3].T @ pose[:3, 3], atol=1e-15)
    for view in dg_views:
        pose = view.cam_from_world
        R = pose[:3, :3]
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-15)
        assert abs(R[0, 2]) < 1e-15  # the image's x axis is horizontal: no roll
        assert (-R[1]) @ [0.0, 0.0, 1.0] > 0.8
        head = R @ scene.head_centre + pose[:3, 3]
        assert head[2] > 1.0  # in front of the camera
