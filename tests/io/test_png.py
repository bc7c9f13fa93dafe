"""camgeom.io.png: every PNG reader decodes our files to the pixels we wrote."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from camgeom.errors import CamgeomError, InvalidValueError
from camgeom.io.png import png_bytes

_shapes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(1, 40)),
    st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 4])),
)


def _pil(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return np.asarray(img)


@settings(max_examples=60, deadline=None)
@given(st.data(), _shapes, st.booleans())
def test_pil_and_opencv_read_back_the_pixels(data, shape, filtered) -> None:
    kind = data.draw(st.sampled_from(["random", "flat", "gradient"]))
    if kind == "random":
        image = data.draw(arrays(np.uint8, shape))
    elif kind == "flat":
        image = np.full(shape, data.draw(st.integers(0, 255)), np.uint8)
    else:
        image = (np.indices(shape).sum(axis=0) * 37 % 256).astype(np.uint8)
    encoded = png_bytes(image, filtered=filtered)
    expect = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    np.testing.assert_array_equal(_pil(encoded), expect)
    cv2 = pytest.importorskip("cv2")
    decoded = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)
    if expect.ndim == 3:  # OpenCV returns BGR(A)
        order = [2, 1, 0] if expect.shape[2] == 3 else [2, 1, 0, 3]
        decoded = decoded[..., order]
    np.testing.assert_array_equal(decoded, expect)


def test_the_rows_are_filtered_as_documented() -> None:
    image = np.array([[[10, 20, 30], [0, 0, 255]], [[11, 19, 30], [255, 1, 0]]], np.uint8)
    data = png_bytes(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert data[16:29] == bytes([0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0])  # 2x2, 8-bit RGB
    length = int.from_bytes(data[33:37], "big")
    assert data[37:41] == b"IDAT"
    rows = zlib.decompress(data[41 : 41 + length])
    # filter byte 2 ("Up"), then each byte minus the one above it, modulo 256
    assert rows == bytes([2, 10, 20, 30, 0, 0, 255, 2, 1, 255, 0, 255, 1, 1])
    plain = zlib.decompress(png_bytes(image, filtered=False)[41:-16])
    assert plain == bytes([0, 10, 20, 30, 0, 0, 255, 0, 11, 19, 30, 255, 1, 0])


def test_strided_and_non_contiguous_images() -> None:
    base = (np.arange(7 * 9 * 4) % 251).astype(np.uint8).reshape(7, 9, 4)
    view = base[::2, 1::3, :3]  # not contiguous
    np.testing.assert_array_equal(_pil(png_bytes(view)), view)
    np.testing.assert_array_equal(_pil(png_bytes(base[..., 0].T)), base[..., 0].T)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), np.uint16),
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((4,), np.uint8),
        np.zeros((2, 2, 2, 3), np.uint8),
        np.zeros((0, 4), np.uint8),
        np.zeros((4, 0, 3), np.uint8),
    ],
)
def test_refuses_what_it_cannot_write(bad) -> None:
    with pytest.raises(InvalidValueError) as info:
        png_bytes(bad)
    assert isinstance(info.value, CamgeomError) and isinstance(info.value, ValueError)
