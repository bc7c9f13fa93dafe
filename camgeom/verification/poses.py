"""Checks of the stored extrinsics: rigidity, inverse pairs, look-at, quaternion, Euler.

The stored matrices are read as stored (``CameraMetadata.stored_cam_from_world``
and ``stored_world_from_cam``, in the OpenCV camera frame after the reader
undid layout quirks) and may be anything, rigid or not: nothing here assumes
the reader validated them. Stored rotations in the vendor's own camera axes
(quaternions) are compared in those axes, ``CameraMetadata.axis_convention``;
stored Euler angles go through the vendor's ``CameraMetadata.euler_rule``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from camgeom._validation import check_pose
from camgeom.conventions import convert_pose
from camgeom.errors import CamgeomError
from camgeom.poses import (
    cam_from_world_look_at,
    rotation_from_euler_rule,
    rotation_from_quaternion,
)
from camgeom.verification.report import Check, failure, measured, noted, skipped
from camgeom.verification.tolerances import TOL_INVERSE, TOL_M, TOL_ROT

if TYPE_CHECKING:
    from camgeom.datasets import CameraMetadata
    from camgeom.poses import EulerRule

__all__ = ["pose_checks"]


def pose_checks(meta: CameraMetadata) -> list[Check]:
    """Check the stored poses of one camera against each other and the stored angles.

    Parameters
    ----------
    meta : CameraMetadata
        What the vendor stored.

    Returns
    -------
    list of Check
        ``pose.rigid.cam_from_world`` / ``.world_from_cam``, ``pose.inverse_pair``,
        ``extrinsics.rotation_vs_orientation`` and ``.translation_vs_location``,
        ``pose.quaternion`` (+ ``pose.quaternion_order``) and ``pose.euler``,
        where the metadata allow.
    """
    cam_from_world = meta.stored_cam_from_world
    world_from_cam = meta.stored_world_from_cam
    out: list[Check] = []
    for name, pose in (("cam_from_world", cam_from_world), ("world_from_cam", world_from_cam)):
        if pose is not None:
            out.append(_rigid(name, pose, meta.matrix_layout))
    if cam_from_world is not None and world_from_cam is not None:
        out.append(
            measured(
                "pose.inverse_pair",
                float(np.abs(cam_from_world @ world_from_cam - np.eye(4)).max()),
                TOL_INVERSE,
                message="stored world-to-camera @ camera-to-world against the identity",
                hint="the two stored transforms are not inverses of each other",
            )
        )
    if (
        cam_from_world is not None
        and meta.location is not None
        and meta.look_at is not None
        and meta.up is not None
    ):
        out += _look_at_checks(meta, cam_from_world)
    if meta.quaternion is not None:
        out += _quaternion_checks(meta)
    if meta.euler is not None:
        out.append(_euler_check(meta))
    return out


def _rigid(kind: str, pose: np.ndarray, layout: str | None) -> Check:
    """Rigidity of a stored matrix, tested as stored (it may be a scale, shear or reflection)."""
    name = f"pose.rigid.{kind}"
    message = "stored matrix: orthonormal rotation, det +1, last row 0 0 0 1"
    if layout:
        message += f" (stored layout: {layout})"
    try:
        check_pose(pose, f"stored_{kind}", atol=TOL_ROT)
    except CamgeomError as exc:
        return failure(
            name,
            message,
            hint=f"the stored matrix is not a rigid transform (scale, shear or reflection): {exc}",
            tolerance=TOL_ROT,
        )
    return Check(name, "pass", "error", tolerance=TOL_ROT, message=message)


def _look_at_checks(meta: CameraMetadata, cam_from_world: np.ndarray) -> list[Check]:
    try:
        expect = _look_at(*(_bytes(v) for v in (meta.location, meta.look_at, meta.up)))
    except CamgeomError as exc:
        return [failure("extrinsics.stored_vs_location", str(exc))]
    rotation = cam_from_world[:3, :3]
    rot = float(np.abs(rotation - expect[:3, :3]).max())
    trans = float(np.linalg.norm(cam_from_world[:3, 3] - expect[:3, 3]))
    t_legacy = -rotation.T @ meta.location
    sign_bug = np.linalg.norm(cam_from_world[:3, 3] - t_legacy) < TOL_M and trans > TOL_M
    return [
        measured(
            "extrinsics.rotation_vs_orientation",
            rot,
            TOL_ROT,
            message="stored rotation against the one built from look_at and up vectors",
            hint="stored rotation disagrees with the stated look-at/up orientation",
        ),
        measured(
            "extrinsics.translation_vs_location",
            trans,
            TOL_M,
            unit="m",
            message="stored translation against -R @ location",
            hint=(
                "stored translation is -R^T @ location instead of -R @ location (legacy files): "
                "camgeom rebuilds the camera from location and orientation"
                if sign_bug
                else "stored translation does not put the camera at its stated location"
            ),
        ),
    ]


def _bytes(v: np.ndarray | None) -> bytes:
    return np.asarray(v, dtype=np.float64).tobytes()


@functools.lru_cache(maxsize=64)
def _look_at(location: bytes, look_at: bytes, up: bytes) -> np.ndarray:
    """``cam_from_world_look_at`` of float64 vectors given as bytes (read-only result).

    Cached: the diagnosis checks several corrected poses against one stored
    location and orientation.
    """
    pose = cam_from_world_look_at(
        np.frombuffer(location), look_at=np.frombuffer(look_at), up=np.frombuffer(up)
    )
    pose.flags.writeable = False
    return pose


@functools.lru_cache(maxsize=64)
def _euler_rotation(angles: bytes, rule: EulerRule) -> np.ndarray:
    """:func:`rotation_from_euler_rule` of float64 angles given as bytes (cached, read-only)."""
    rotation = rotation_from_euler_rule(np.frombuffer(angles), rule)
    rotation.flags.writeable = False
    return rotation


def _vendor_rotation(meta: CameraMetadata) -> np.ndarray | str:
    """The stored cam_from_world rotation in the vendor's own camera axes, or why not."""
    if meta.stored_cam_from_world is None:
        return "no stored cam_from_world matrix to compare with"
    if meta.axis_convention is None:
        return "the metadata do not say which camera axes the stored rotation uses"
    try:
        pose = convert_pose(meta.stored_cam_from_world, "opencv", meta.axis_convention)
    except CamgeomError as exc:
        return (
            f"the stored cam_from_world cannot be expressed in {meta.axis_convention!r} axes: {exc}"
        )
    return pose[:3, :3]


def _quaternion_checks(meta: CameraMetadata) -> list[Check]:
    q = np.asarray(meta.quaternion, float)
    order = meta.quaternion_order or "wxyz"
    label = meta.quaternion_label or "quaternion"
    r_vendor = _vendor_rotation(meta)
    if isinstance(r_vendor, str):
        return [skipped("pose.quaternion", r_vendor)]
    try:
        err_real = float(
            np.abs(rotation_from_quaternion(q, order=order, normalize=True) - r_vendor).max()
        )
    except CamgeomError as exc:
        return [failure("pose.quaternion", str(exc))]
    out = [
        measured(
            "pose.quaternion",
            err_real,
            TOL_ROT,
            message=f"{label} read as {order} against the stored matrix "
            f"({meta.axis_convention} camera axes)",
            hint="the stored quaternion does not describe the stored rotation",
        )
    ]
    key_order = label.rsplit("_", 1)[-1] if "_" in label else None
    if key_order in ("wxyz", "xyzw") and key_order != order:
        err_label = float(
            np.abs(rotation_from_quaternion(q, order=key_order, normalize=True) - r_vendor).max()
        )
        if err_real <= TOL_ROT < err_label:
            out.append(
                noted(
                    "pose.quaternion_order",
                    f"{label} holds ({', '.join(order)}), not ({', '.join(key_order)}): read in its "
                    f"name's order the rotation is off by {err_label:.3g}; camgeom reads it as {order}",
                )
            )
    return out


def _euler_check(meta: CameraMetadata) -> Check:
    if meta.euler_rule is None:
        return skipped(
            "pose.euler",
            f"no rule known for turning the stored angles ({meta.euler_sequence or 'unnamed'}) "
            "into a rotation",
        )
    if meta.stored_cam_from_world is None:
        return skipped("pose.euler", "no stored cam_from_world matrix to compare with")
    rule = meta.euler_rule
    try:
        rotation = _euler_rotation(_bytes(meta.euler), rule)
    except CamgeomError as exc:
        return failure("pose.euler", f"stored Euler angles {meta.euler!r}: {exc}")
    return measured(
        "pose.euler",
        float(np.abs(rotation - meta.stored_cam_from_world[:3, :3]).max()),
        TOL_ROT,
        message=(
            f"stored Euler angles ({meta.euler_sequence or 'as stored'}) through the vendor's rule "
            f"(sequence {rule.sequence!r}, signs {rule.signs}, {rule.axes} axes) against the "
            "stored matrix"
        ),
        hint="stored Euler angles disagree with the stored matrix",
    )
