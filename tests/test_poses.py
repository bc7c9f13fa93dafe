"""Rigid poses against scipy and hand-derived values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation

from camgeom.errors import InvalidValueError, NonRigidPoseError, ShapeError
from camgeom.poses import (
    EulerRule,
    cam_from_world_look_at,
    compose_poses,
    invert_pose,
    is_rigid,
    nearest_rotation,
    pose_from_euler,
    pose_from_quaternion,
    pose_from_rotation_translation,
    quaternion_from_rotation,
    rotation_from_euler,
    rotation_from_euler_rule,
    rotation_from_quaternion,
    transform_points,
)

angles = arrays(np.float64, (3,), elements=st.floats(-np.pi, np.pi))
vec = arrays(np.float64, (3,), elements=st.floats(-100, 100))
quats = arrays(np.float64, (4,), elements=st.floats(-1, 1)).filter(
    lambda q: np.linalg.norm(q) > 0.1
)


def random_poses(n, seed=0):
    rng = np.random.default_rng(seed)
    return pose_from_rotation_translation(
        Rotation.random(n, random_state=rng).as_matrix(), rng.normal(size=(n, 3))
    )


@given(angles, vec, angles, vec)
def test_compose_invert_identities(a1, t1, a2, t2):
    a, b = pose_from_euler("xyz", a1, t1), pose_from_euler("XYZ", a2, t2)
    np.testing.assert_allclose(compose_poses(a, invert_pose(a)), np.eye(4), atol=1e-12)
    np.testing.assert_allclose(invert_pose(invert_pose(a)), a, atol=1e-12)
    np.testing.assert_allclose(
        invert_pose(compose_poses(a, b)), compose_poses(invert_pose(b), invert_pose(a)), atol=1e-10
    )
    np.testing.assert_allclose(invert_pose(a), np.linalg.inv(a), atol=1e-9)


@given(quats)
def test_quaternions_match_scipy_in_both_orders(q):
    q = q / np.linalg.norm(q)
    ref = Rotation.from_quat(q).as_matrix()  # scipy: xyzw
    np.testing.assert_allclose(rotation_from_quaternion(q, order="xyzw"), ref, atol=1e-12)
    np.testing.assert_allclose(
        rotation_from_quaternion(q[[3, 0, 1, 2]], order="wxyz"), ref, atol=1e-12
    )
    back = quaternion_from_rotation(ref, order="xyzw")
    assert back[3] >= 0
    np.testing.assert_allclose(np.abs(back @ q), 1.0, atol=1e-9)


def test_quaternion_errors_and_order_is_required():
    with pytest.raises(TypeError):
        rotation_from_quaternion([1.0, 0, 0, 0])  # type: ignore[call-arg]
    with pytest.raises(InvalidValueError, match="scalar"):
        rotation_from_quaternion([1.0, 0, 0, 0], order="ijkw")
    with pytest.raises(InvalidValueError, match="normalize=True"):
        rotation_from_quaternion([2.0, 0, 0, 0], order="wxyz")
    np.testing.assert_allclose(
        rotation_from_quaternion([2.0, 0, 0, 0], order="wxyz", normalize=True), np.eye(3)
    )
    with pytest.raises(InvalidValueError, match="zero"):
        rotation_from_quaternion([0.0, 0, 0, 0], order="wxyz", normalize=True)
    with pytest.raises(ShapeError, match=r"\(\.\.\., 4\), got \(3,\)"):
        rotation_from_quaternion([0.0, 0, 1], order="wxyz")


_SEQUENCES = [
    "".join(p)
    for n in (1, 2, 3)
    for p in itertools.product("xyz", repeat=n)
    if all(a != b for a, b in itertools.pairwise(p))
]


@given(
    st.sampled_from(_SEQUENCES + [q.upper() for q in _SEQUENCES]),
    st.lists(st.floats(-7.0, 7.0), min_size=3, max_size=3),
)
def test_euler_of_every_sequence_matches_scipy(seq, values):
    """Extrinsic and intrinsic, proper (zyz) and Tait-Bryan (xyz), one to three axes."""
    a = np.array(values[: len(seq)])
    np.testing.assert_allclose(
        rotation_from_euler(seq, a), Rotation.from_euler(seq, a).as_matrix(), atol=1e-12
    )
    batch = np.stack([a, -a, 2 * a]).reshape(3, 1, len(seq))
    np.testing.assert_allclose(
        rotation_from_euler(seq, batch),
        Rotation.from_euler(seq, batch.reshape(3, len(seq))).as_matrix().reshape(3, 1, 3, 3),
        atol=1e-12,
    )


@pytest.mark.parametrize("seq", ["xX", "xxy", "abc", "XYZx", "", "XXZ"])
def test_euler_sequence_errors(seq):
    with pytest.raises(InvalidValueError, match=r"seq|Euler sequence"):
        rotation_from_euler(seq, np.zeros(max(len(seq), 1)))


@given(st.sampled_from(["xyz", "XYZ", "zyx", "yxz", "YXZ", "XZY"]), angles)
def test_euler_matches_scipy(seq, a):
    np.testing.assert_allclose(
        rotation_from_euler(seq, a), Rotation.from_euler(seq, a).as_matrix(), atol=1e-12
    )
    np.testing.assert_allclose(
        rotation_from_euler(seq, np.degrees(a), degrees=True),
        Rotation.from_euler(seq, a).as_matrix(),
        atol=1e-12,
    )


def test_batched_leading_dimensions_broadcast():
    rng = np.random.default_rng(3)
    R = Rotation.random(6, random_state=rng).as_matrix().reshape(2, 3, 3, 3)
    t = rng.normal(size=(3, 3))  # broadcasts against (2, 3)
    P = pose_from_rotation_translation(R, t)
    assert P.shape == (2, 3, 4, 4)
    pts = rng.normal(size=(2, 3, 5, 3))
    out = transform_points(P[..., None, :, :], pts)
    ref = np.einsum("abij,abnj->abni", R, pts) + t[None, :, None, :]
    np.testing.assert_allclose(out, ref, atol=1e-12)
    assert is_rigid(P).shape == (2, 3) and is_rigid(P).all()
    e = rotation_from_euler("xyz", rng.normal(size=(4, 2, 3)))
    assert e.shape == (4, 2, 3, 3)


def test_rigidity_checks():
    good = random_poses(3)
    assert is_rigid(good).all()
    scaled = good.copy()
    scaled[1, :3, :3] *= 1.01
    mirrored = good.copy()
    mirrored[2, :3, 0] *= -1
    assert is_rigid(scaled).tolist() == [True, False, True]
    assert is_rigid(mirrored).tolist() == [True, True, False]
    assert not is_rigid(good[0].T)
    with pytest.raises(NonRigidPoseError, match="orthonormal"):
        invert_pose(scaled)
    with pytest.raises(NonRigidPoseError, match="reflection"):
        invert_pose(mirrored)
    with pytest.raises(NonRigidPoseError, match="transposed"):
        invert_pose(good[0].T)
    bad = good[0].copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidValueError, match="finite"):
        invert_pose(bad)
    # within tolerance passes, and nearest_rotation repairs small drift
    drift = good[0].copy()
    drift[:3, :3] *= 1 + 1e-8
    assert is_rigid(drift)
    np.testing.assert_allclose(nearest_rotation(scaled[1, :3, :3]), good[1, :3, :3], atol=1e-12)
    assert np.linalg.det(nearest_rotation(mirrored[2, :3, :3])) > 0


def test_look_at_hand_derived_and_conventions():
    # camera at (0, -1.6, 0.12) looking along +y with z up: Datagen's stored extrinsic
    pose = cam_from_world_look_at([0.0, -1.6, 0.12], look_at=[0, 1, 0], up=[0, 0, 1])
    np.testing.assert_allclose(
        pose[:3], [[1, 0, 0, 0], [0, 0, -1, 0.12], [0, 1, 0, 1.6]], atol=1e-15
    )
    # the target appears on the optical axis, in front
    eye, target = np.array([1.0, 2.0, 3.0]), np.array([-2.0, 0.5, 0.0])
    p = cam_from_world_look_at(eye, target=target, up=[0, 0, 1])
    tc = transform_points(p, target)
    np.testing.assert_allclose(tc[:2], 0, atol=1e-12)
    assert tc[2] == pytest.approx(np.linalg.norm(target - eye))
    # the world up direction appears up (negative y in OpenCV)
    assert transform_points(p, eye + [0, 0, 1])[1] < 0
    gl = cam_from_world_look_at(eye, target=target, up=[0, 0, 1], convention="opengl")
    assert transform_points(gl, target)[2] < 0 and transform_points(gl, eye + [0, 0, 1])[1] > 0
    with pytest.raises(InvalidValueError, match="parallel"):
        cam_from_world_look_at(eye, look_at=[0, 0, 1], up=[0, 0, 2])
    with pytest.raises(InvalidValueError, match="exactly one"):
        cam_from_world_look_at(eye, target=target, look_at=[0, 1, 0], up=[0, 0, 1])


def test_datagen_request_euler_reproduces_stored_rotation(fixtures):
    """FORMATS.md: yaw/pitch/roll in datapoint_request.json give the stored rotation."""
    import json

    checked = 0
    for req in sorted((fixtures / "datagen" / "faces_nn").glob("*/datapoint_request.json")):
        data = json.loads(req.read_text())
        cam = _find_key(data, "yaw")
        if cam is None:
            continue
        meta = json.loads((req.parent / "camera" / "camera_metadata.json").read_text())
        R = rotation_from_euler(
            "yxz", [-cam["yaw"], -cam["pitch"], cam["roll"]], degrees=True
        ) @ np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
        stored = np.array(meta["extrinsic_matrix"])[:, :3]
        np.testing.assert_allclose(R, stored, atol=2e-7)
        checked += 1
    assert checked >= 5


def _find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj and "pitch" in obj:
            return obj
        for v in obj.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


@given(quats, vec)
def test_pose_from_quaternion_matches_scipy_in_both_orders(q, t):
    expected = np.eye(4)
    expected[:3, :3] = Rotation.from_quat(q).as_matrix()  # scipy: scalar last
    expected[:3, 3] = t
    np.testing.assert_allclose(
        pose_from_quaternion(q, t, order="xyzw", normalize=True), expected, atol=1e-12
    )
    wxyz = q[[3, 0, 1, 2]]
    np.testing.assert_allclose(
        pose_from_quaternion(wxyz, t, order="wxyz", normalize=True), expected, atol=1e-12
    )
    with pytest.raises(InvalidValueError):
        pose_from_quaternion(q, t, order="zyxw")


def test_euler_rule_hand_derived() -> None:
    # Datagen's rule at yaw 90: the camera turns from +y to look along +x (world z up), as
    # faces_multicam camera_3 (yaw 75) looks along (0.966, 0.259, 0) = (sin 75, cos 75, 0).
    rule = EulerRule(
        "yxz", signs=(-1.0, -1.0, 1.0), degrees=True, right=((1, 0, 0), (0, 0, -1), (0, 1, 0))
    )
    R = rotation_from_euler_rule([90.0, 0.0, 0.0], rule)
    # hand-derived: from_euler("y", -90 deg) @ right
    ry = np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(R, ry @ np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]), atol=1e-15)
    # the optical axis (third row of cam_from_world) in world coordinates
    np.testing.assert_allclose(R[2], [1.0, 0.0, 0.0], atol=1e-15)


@given(angles)
def test_euler_rule_kinds_and_axes_agree(a):
    base = EulerRule("xyz", gives="cam_from_world", axes="opencv")
    R = rotation_from_euler_rule(a, base)
    # the same numbers declared as world_from_cam give the inverse rotation
    inv = rotation_from_euler_rule(a, EulerRule("xyz", gives="world_from_cam", axes="opencv"))
    np.testing.assert_allclose(inv, R.T, atol=1e-12)
    # declared in OpenGL axes: OpenCV rotation is diag(1, -1, -1) @ R_gl
    gl = rotation_from_euler_rule(a, EulerRule("xyz", axes="opengl"))
    np.testing.assert_allclose(gl, np.diag([1.0, -1.0, -1.0]) @ R, atol=1e-12)
    # order and signs permute and negate the stored angles
    swapped = rotation_from_euler_rule(
        a[[2, 0, 1]], EulerRule("xyz", order=(1, 2, 0), signs=(1, 1, 1))
    )
    np.testing.assert_allclose(swapped, R, atol=1e-12)


def test_euler_rule_rejects_bad_rules() -> None:
    with pytest.raises(InvalidValueError, match="three axis letters"):
        EulerRule("yaw,pitch,roll")
    with pytest.raises(InvalidValueError, match="permutation"):
        EulerRule("xyz", order=(0, 0, 1))
    with pytest.raises(InvalidValueError, match="gives"):
        EulerRule("xyz", gives="c2w")
    with pytest.raises(NonRigidPoseError):
        EulerRule("xyz", right=((2, 0, 0), (0, 1, 0), (0, 0, 1)))
