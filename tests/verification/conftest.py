"""Frames built by hand for the verification tests (no vendor reader involved)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from camgeom import Camera
from camgeom.datasets import CameraMetadata, Frame


def make_frame(
    K: Any,
    *,
    width: int = 640,
    height: int = 480,
    cam_from_world: Any = None,
    **metadata: Any,
) -> Frame:
    """A frame with a camera and the given stored metadata, nothing else."""
    pose = np.eye(4) if cam_from_world is None else cam_from_world
    return Frame(
        camera=Camera(K, pose, width, height),
        vendor="geogen",  # any vendor: the verifier must not care which
        version=None,
        frame_id="handmade/0",
        scene_id="handmade",
        camera_name="camera",
        metadata=CameraMetadata(**metadata),
    )


@pytest.fixture
def frame_factory():
    """:func:`make_frame`, for tests that build frames by hand."""
    return make_frame
