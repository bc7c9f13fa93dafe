"""Synthesis AI fisheye renders: the camera of a frame's ``*.dist.png`` images.

Synthesis AI's ``fisheye-distortion`` post-process writes, beside a render's
pinhole images, distorted copies named ``<stem>.<kind>.dist.png``. Their
camera is :func:`camgeom.warp.synthesisai_fisheye_camera` of the frame's
camera, with the tool's default coefficients (the files do not store them).
"""

from __future__ import annotations

from collections.abc import Collection

from camgeom.camera import Camera
from camgeom.warp import synthesisai_fisheye_camera

__all__ = ["distorted_camera", "has_distorted_images"]


def has_distorted_images(stem: str, siblings: Collection[str]) -> bool:
    """True if a ``<stem>.dist.png`` or ``<stem>.<kind>.dist.png`` file is among ``siblings``.

    A render's source carries only the names that start with its stem (see
    :func:`camgeom.datasets.load`), so this scan is short.
    """
    prefix = f"{stem}."
    return any(n.startswith(prefix) and n.endswith(".dist.png") for n in siblings)


def distorted_camera(camera: Camera | None, stem: str, siblings: Collection[str]) -> Camera | None:
    """The camera of the frame's ``*.dist.png`` images, or None when it has none.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[500.0, 0, 256], [0, 500, 256], [0, 0, 1]])
    >>> cam = Camera(K, np.eye(4), 512, 512)
    >>> distorted_camera(cam, "0", {"0.rgb.png"}) is None
    True
    >>> distorted_camera(cam, "0", {"0.rgb.png", "0.rgb.dist.png"}).distortion.k1
    0.17149
    """
    if camera is None or not has_distorted_images(stem, siblings):
        return None
    return synthesisai_fisheye_camera(camera)
