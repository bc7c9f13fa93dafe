"""The fixed-point samplers of camgeom.warp against cv2.remap's arithmetic written in numpy.

Sub-pixel shifts by binary fractions put every output pixel at an exact 1/32-pixel
position (no float rounding to argue about), so each sampler must match the
reference to the bit: at the image's last pixels (where the RGB sampler's 8-byte
loads would run past the image), in images too small for those loads, with and
without a plan, in every output tile.
"""

from __future__ import annotations

import numpy as np
import pytest

from camgeom.camera import Camera
from camgeom.warp import warp_image, warp_plan

pytestmark = pytest.mark.kernels


def _reference(img: np.ndarray, du: float, dv: float, fill: int) -> np.ndarray:
    """cv2.remap's bilinear (1/32 pixel, weights summing to 1024, edge pixels repeated
    for the outer half pixel) of ``img`` at ``(col + 0.5 + du, row + 0.5 + dv)``."""
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    u, v = xs + du, ys + dv
    X = np.floor(32 * (u - 0.5) + 0.5).astype(int)
    Y = np.floor(32 * (v - 0.5) + 0.5).astype(int)
    a, b = X & 31, Y & 31
    x0, y0 = np.clip(X >> 5, 0, w - 1), np.clip(Y >> 5, 0, h - 1)
    x1, y1 = np.clip((X >> 5) + 1, 0, w - 1), np.clip((Y >> 5) + 1, 0, h - 1)
    p = img.astype(np.int64).reshape(h, w, -1)
    weights = [(32 - a) * (32 - b), a * (32 - b), (32 - a) * b, a * b]
    s = sum(
        wi[..., None] * p[yy, xx]
        for wi, yy, xx in zip(weights, (y0, y0, y1, y1), (x0, x1, x0, x1), strict=True)
    )
    ref = ((s + 512) >> 10).astype(img.dtype).reshape(img.shape)
    ref[~((u >= 0) & (u < w) & (v >= 0) & (v < h))] = fill
    return ref


def _shifted(h: int, w: int, du: float, dv: float) -> tuple[Camera, Camera]:
    """A camera and the one whose pixel centres sample it ``du, dv`` pixels further on."""
    K = np.array([[50.0, 0, w / 2], [0, 50, h / 2], [0, 0, 1]])
    K_dst = K - [[0, 0, du], [0, 0, dv], [0, 0, 0]]
    return Camera(K, np.eye(4), w, h), Camera(K_dst, np.eye(4), w, h)


@pytest.mark.parametrize(
    "h, w, du, dv",
    [
        (18, 24, 0.25, 0.75),  # every last-row pixel pair read with a fraction
        (18, 24, -0.5, -0.25),  # the first rows and columns edge-folded
        (33, 300, 0.125, 0.5),  # more than one output tile across and down
        (1, 5, 0.25, 0.0),  # one row: no row below
        (5, 1, 0.0, 0.25),  # one column
        (1, 2, 0.25, 0.0),  # 6 bytes: too small for 8-byte loads
        (2, 2, 0.5, 0.5),
    ],
)
def test_rgb8_sampling_matches_cv2_arithmetic_to_the_bit(
    h: int, w: int, du: float, dv: float
) -> None:
    img = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    src, dst = _shifted(h, w, du, dv)
    ref = _reference(img, du, dv, fill=7)
    np.testing.assert_array_equal(warp_image(img, src, dst, fill=7), ref)
    plan = warp_plan(src, dst)
    np.testing.assert_array_equal(warp_image(img, src, dst, fill=7, plan=plan), ref)


def test_every_sampler_gives_the_same_pixels() -> None:
    # The RGB8 sampler (3 uint8 channels) against the per-channel one (the same image
    # as 3 single-channel images and as uint16), with and without a plan.
    h, w = 21, 40
    img = np.random.default_rng(3).integers(0, 256, (h, w, 3), dtype=np.uint8)
    src, dst = _shifted(h, w, 0.40625, -0.21875)  # 13/32 and -7/32
    ref = _reference(img, 0.40625, -0.21875, fill=0)
    plan = warp_plan(src, dst)
    for p in (None, plan):
        np.testing.assert_array_equal(warp_image(img, src, dst, plan=p), ref)
        per_channel = [warp_image(img[..., c], src, dst, plan=p) for c in range(3)]
        np.testing.assert_array_equal(np.stack(per_channel, -1), ref)
        wide = warp_image(img.astype(np.uint16), src, dst, plan=p)
        np.testing.assert_array_equal(wide, ref.astype(np.uint16))


def test_rgb8_sampling_of_a_read_only_strided_image() -> None:
    # A view (not contiguous, read-only) is copied once, then sampled as any image.
    base = np.random.default_rng(4).integers(0, 256, (20, 60, 3), dtype=np.uint8)
    img = base[:, ::2]
    img.flags.writeable = False
    src, dst = _shifted(20, 30, 0.25, 0.25)
    np.testing.assert_array_equal(warp_image(img, src, dst), _reference(img, 0.25, 0.25, 0))


def test_rgb8_sampling_of_an_image_at_an_odd_address() -> None:
    # The 8-byte loads are unaligned by design: an image whose first byte is at an odd
    # address is sampled in place (no copy) and gives the same pixels.
    buf = np.random.default_rng(5).integers(0, 256, 20 * 30 * 3 + 1, dtype=np.uint8)
    img = buf[1:].reshape(20, 30, 3)
    assert img.ctypes.data % 2 == 1
    src, dst = _shifted(20, 30, 0.75, 0.125)
    np.testing.assert_array_equal(warp_image(img, src, dst), _reference(img, 0.75, 0.125, 0))
