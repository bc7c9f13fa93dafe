"""Tests of camgeom.drawing: pixel placement, shapes, dtypes, connections and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camgeom._connections import (
    CONNECTION_SETS,
    IBUG68_CONNECTIONS,
    MEDIAPIPE468_CONNECTIONS,
    MEDIAPIPE_IRIS_CONNECTIONS,
)
from camgeom.drawing import draw_landmarks, draw_landmarks_comparison
from camgeom.errors import InvalidValueError, ShapeError

GREEN = [0, 255, 0]
BLACK = [0, 0, 0]


def _painted(out: np.ndarray) -> set[tuple[int, int]]:
    """(col, row) of every non-black pixel."""
    rows, cols = np.nonzero(np.any(out != 0, axis=2))
    return set(zip(cols.tolist(), rows.tolist(), strict=True))


def test_point_colours_the_pixel_that_contains_it():
    out = draw_landmarks(np.zeros((40, 30), np.uint8), [[10.5, 20.5]], radius=1)
    assert out[20, 10].tolist() == GREEN  # row 20, column 10
    # radius 1 is a plus sign centred on that pixel
    assert _painted(out) == {(10, 20), (9, 20), (11, 20), (10, 19), (10, 21)}


@pytest.mark.parametrize(("u", "v"), [(10.0, 20.0), (10.999, 20.999), (10.5, 20.01)])
def test_any_position_inside_a_pixel_lands_on_that_pixel(u, v):
    out = draw_landmarks(np.zeros((40, 30, 3), np.uint8), [[u, v]], radius=1)
    assert out[20, 10].tolist() == GREEN
    assert out[20, 11].tolist() == GREEN and out[20, 12].tolist() == BLACK


def test_pixel_edges_follow_the_continuous_convention():
    # u = 11.0 is the left edge of column 11: it belongs to column 11, not 10
    out = draw_landmarks(np.zeros((10, 20), np.uint8), [[11.0, 3.0]], radius=1)
    assert out[3, 11].tolist() == GREEN and out[3, 9].tolist() == BLACK


@given(
    u=st.floats(0.0, 63.999, allow_nan=False),
    v=st.floats(0.0, 47.999, allow_nan=False),
    radius=st.integers(1, 4),
)
def test_drawn_disc_is_centred_on_the_containing_pixel(u, v, radius):
    out = draw_landmarks(np.zeros((48, 64), np.uint8), [[u, v]], radius=radius)
    col, row = int(np.floor(u)), int(np.floor(v))
    painted = _painted(out)
    assert (col, row) in painted
    cols = [c for c, _ in painted]
    rows = [r for _, r in painted]
    # symmetric about the pixel where the image does not clip it
    if radius <= col < 64 - radius:
        assert min(cols) == col - radius and max(cols) == col + radius
    if radius <= row < 48 - radius:
        assert min(rows) == row - radius and max(rows) == row + radius


def test_output_shape_dtype_and_input_unchanged():
    rng = np.random.default_rng(0)
    for image in (
        rng.integers(0, 255, (12, 16), dtype=np.uint8),
        rng.integers(0, 255, (12, 16, 3), dtype=np.uint8),
        rng.integers(0, 255, (12, 16, 4), dtype=np.uint8),
        rng.random((12, 16, 3)),
        rng.random((12, 16)).astype(np.float32),
    ):
        before = image.copy()
        out = draw_landmarks(image, [[3.5, 4.5]], radius=1)
        assert out.shape == (12, 16, 3) and out.dtype == np.uint8
        np.testing.assert_array_equal(image, before)
        assert not np.shares_memory(out, image)


def test_image_conversion():
    grey = np.full((5, 6), 7, np.uint8)
    out = draw_landmarks(grey, np.zeros((0, 2)))
    assert np.all(out == 7) and out.shape == (5, 6, 3)
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., :3] = (1, 2, 3)
    rgba[..., 3] = 99
    assert draw_landmarks(rgba, np.zeros((0, 2)))[0, 0].tolist() == [1, 2, 3]
    flt = np.full((5, 6, 3), 0.5)
    flt[0, 0] = (-1.0, 2.0, np.nan)
    out = draw_landmarks(flt, np.zeros((0, 2)))
    assert out[1, 1].tolist() == [128, 128, 128] and out[0, 0].tolist() == [0, 255, 0]


def test_invisible_points_are_hollow():
    img = np.zeros((20, 20), np.uint8)
    out = draw_landmarks(img, [[10.5, 10.5], [4.5, 4.5]], visible=[False, True], radius=3)
    assert out[10, 10].tolist() == BLACK  # centre of the hollow ring stays clear
    assert out[10, 7].tolist() == GREEN and out[10, 13].tolist() == GREEN  # ring
    assert out[4, 4].tolist() == GREEN  # the visible one is filled


def test_nan_points_are_skipped_with_their_connections():
    img = np.zeros((20, 20), np.uint8)
    uv = [[2.5, 2.5], [np.nan, 5.0], [15.5, 2.5]]
    out = draw_landmarks(img, uv, connections=[(0, 1), (1, 2)], radius=1)
    assert _painted(out) == _painted(draw_landmarks(img, [[2.5, 2.5], [15.5, 2.5]], radius=1))
    out = draw_landmarks(img, uv, connections=[(0, 2)], radius=1)
    assert all(out[2, c].tolist() == GREEN for c in range(2, 16))  # the line between 0 and 2


def test_connection_colours_dim_when_an_end_is_invisible():
    img = np.zeros((10, 30), np.uint8)
    out = draw_landmarks(
        img, [[2.5, 5.5], [27.5, 5.5]], visible=[True, False], connections=[(0, 1)], radius=1
    )
    assert out[5, 15].tolist() == [0, 127, 0]


def test_points_far_outside_do_not_break_drawing():
    img = np.zeros((10, 10), np.uint8)
    out = draw_landmarks(
        img, [[1e12, -1e12], [-50.0, 5.5], [5.5, 5.5]], connections=[(1, 2), (0, 2)], radius=1
    )
    assert out[5, 0].tolist() == GREEN  # the line toward (-50, 5.5) crosses the left edge
    assert out[5, 5].tolist() == GREEN


def test_labels_write_the_index_next_to_the_point():
    img = np.zeros((40, 60), np.uint8)
    plain = draw_landmarks(img, [[10.5, 20.5]], radius=1)
    labelled = draw_landmarks(img, [[10.5, 20.5]], radius=1, labels=True)
    extra = _painted(labelled) - _painted(plain)
    assert extra, "labels drew nothing"
    assert all(c > 11 and r < 20 for c, r in extra)  # to the upper right of the point


def test_custom_colour():
    out = draw_landmarks(np.zeros((5, 5), np.uint8), [[2.5, 2.5]], color=(255, 0, 10), radius=1)
    assert out[2, 2].tolist() == [255, 0, 10]


def test_named_connection_sets_have_valid_indices():
    ibug = np.array(IBUG68_CONNECTIONS)
    assert ibug.min() == 0 and ibug.max() == 67 and len(ibug) == 16 + 4 + 4 + 3 + 4 + 6 + 6 + 12 + 8
    # every point of the 68 is on some line
    assert set(ibug.ravel()) == set(range(68))
    mp = np.array(MEDIAPIPE468_CONNECTIONS)
    assert len(mp) == 124 and mp.min() >= 0 and mp.max() < 468
    assert len(set(map(tuple, mp))) == 124  # no duplicate pairs
    iris = np.array(MEDIAPIPE_IRIS_CONNECTIONS)
    assert iris.min() >= 468 and iris.max() < 478 and len(iris) == 8
    # known pairs of FACEMESH_CONTOURS (lips start, face oval closes at 10)
    assert (61, 146) in MEDIAPIPE468_CONNECTIONS and (109, 10) in MEDIAPIPE468_CONNECTIONS
    assert set(CONNECTION_SETS) == {"ibug68", "mediapipe468"}


def test_named_connections_draw_lines():
    rng = np.random.default_rng(1)
    uv = rng.uniform(5, 95, (68, 2))
    img = np.zeros((100, 100), np.uint8)
    points_only = _painted(draw_landmarks(img, uv, radius=1))
    with_lines = _painted(draw_landmarks(img, uv, connections="ibug68", radius=1))
    assert points_only < with_lines
    uv478 = rng.uniform(5, 95, (478, 2))
    a = draw_landmarks(img, uv478[:468], connections="mediapipe468", radius=1)
    b = draw_landmarks(img, uv478, connections="mediapipe468", radius=1)
    assert _painted(a) < _painted(b)


def test_comparison_overlay_and_side_by_side():
    img = np.zeros((20, 20, 3), np.uint8)
    vendor, projected = [[5.5, 5.5]], [[14.5, 5.5]]
    out = draw_landmarks_comparison(img, vendor, projected, radius=1)
    assert out.shape == (20, 20, 3)
    assert out[5, 5].tolist() == GREEN and out[5, 14].tolist() == [255, 0, 255]
    assert out[5, 10].tolist() == [255, 0, 255]  # the error segment between them
    side = draw_landmarks_comparison(img, vendor, projected, radius=1, layout="side_by_side")
    assert side.shape == (20, 40, 3)
    assert side[5, 5].tolist() == GREEN and side[5, 20 + 14].tolist() == [255, 0, 255]
    assert side[5, 14].tolist() == BLACK and side[5, 20 + 5].tolist() == BLACK
    np.testing.assert_array_equal(img, 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"image": np.zeros((4, 4, 2), np.uint8)}, ShapeError, r"`image` to have shape \(H, W\)"),
        ({"image": np.zeros(4, np.uint8)}, ShapeError, r"`image`"),
        ({"image": np.zeros((4, 4), np.uint16)}, InvalidValueError, r"uint8 or float"),
        ({"uv": np.zeros((3, 3))}, ShapeError, r"`uv` to have shape \(\.\.\., 2\), got \(3, 3\)"),
        ({"uv": np.zeros(2)}, ShapeError, r"`uv` to have shape \(N, 2\), got \(2,\)"),
        ({"uv": np.zeros((2, 2, 2))}, ShapeError, r"\(N, 2\)"),
        ({"visible": [True]}, ShapeError, r"`visible` to have shape \(2,\)"),
        ({"visible": ["true", "false"]}, InvalidValueError, r"booleans"),
        (
            {"connections": "ibug68"},
            ShapeError,
            r"\(68, 2\) for connections='ibug68', got \(2, 2\)",
        ),
        ({"connections": "mediapipe468"}, ShapeError, r"\(468, 2\) or \(478, 2\)"),
        ({"connections": "dlib"}, InvalidValueError, r"one of \('ibug68', 'mediapipe468'\)"),
        ({"connections": [(0, 2)]}, InvalidValueError, r"in \[0, 2\).*\(0, 2\)"),
        ({"connections": [(0, 1, 1)]}, ShapeError, r"\(M, 2\)"),
        ({"color": (0, 300, 0)}, InvalidValueError, r"`color` to be 3 integers"),
        ({"color": (0, 255)}, InvalidValueError, r"`color`"),
        ({"radius": 0}, InvalidValueError, r"`radius` to be a positive integer"),
    ],
)
def test_errors(kwargs, error, match):
    args = {"image": np.zeros((8, 8), np.uint8), "uv": np.zeros((2, 2))}
    args.update(kwargs)
    image, uv = args.pop("image"), args.pop("uv")
    with pytest.raises(error, match=match):
        draw_landmarks(image, uv, **args)


def test_comparison_errors():
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(ShapeError, match=r"same shape, got \(2, 2\) and \(3, 2\)"):
        draw_landmarks_comparison(img, np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(InvalidValueError, match=r"`layout` to be one of"):
        draw_landmarks_comparison(img, np.zeros((2, 2)), np.zeros((2, 2)), layout="stacked")
    with pytest.raises(InvalidValueError, match=r"2 RGB colours"):
        draw_landmarks_comparison(img, np.zeros((2, 2)), np.zeros((2, 2)), colors=[(1, 2, 3)])


def _clip_reference(a, b, xmin, ymin, xmax, ymax):
    """Scalar Liang-Barsky clipping, the reference for the vectorised one."""
    d = b - a
    t0, t1 = 0.0, 1.0
    for p, q in (
        (-d[0], a[0] - xmin),
        (d[0], xmax - a[0]),
        (-d[1], a[1] - ymin),
        (d[1], ymax - a[1]),
    ):
        if p == 0.0:
            if q < 0.0:
                return None
            continue
        t = q / p
        if p < 0.0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    p, q = np.floor(a + t0 * d), np.floor(a + t1 * d)
    return (int(p[0]), int(p[1]), int(q[0]), int(q[1]))


def test_clipped_segments_match_scalar_liang_barsky():
    from camgeom.drawing import _clipped_segments

    rng = np.random.default_rng(7)
    a = rng.uniform(-40, 80, (500, 2))
    b = a + rng.normal(0, 30, (500, 2))
    b[::7, 0] = a[::7, 0]  # vertical segments
    b[::11, 1] = a[::11, 1]  # horizontal segments
    a[::13] = np.nan
    got = _clipped_segments(a, b, (40, 30), keep=True)
    want = [
        None if not np.all(np.isfinite([*p, *q])) else _clip_reference(p, q, -2.0, -2.0, 42.0, 32.0)
        for p, q in zip(a, b, strict=True)
    ]
    assert got == want
    assert any(g is None for g in got) and any(g is not None for g in got)
    assert _clipped_segments(a, b, (40, 30)) == [g for g in want if g is not None]


@pytest.mark.parametrize("radius", [1, 2, 3, 5, 8])
def test_dots_match_pillow_ellipses_drawn_one_by_one(radius):
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(radius)
    uv = rng.uniform(-12, 52, (300, 2))  # many dots cut by the image border
    uv[::17] = np.nan
    visible = rng.random(300) < 0.6
    img = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    want = Image.fromarray(img.copy())
    draw = ImageDraw.Draw(want)
    for (u, v), vis in zip(uv, visible, strict=True):
        if not np.isfinite(u + v):
            continue
        c, r = int(np.floor(u)), int(np.floor(v))
        box = (c - radius, r - radius, c + radius, r + radius)
        if vis:
            draw.ellipse(box, fill=(0, 255, 0))
        else:
            draw.ellipse(box, outline=(0, 255, 0), width=1)
    got = draw_landmarks(img, uv, visible=visible, radius=radius)
    np.testing.assert_array_equal(got, np.asarray(want))
    assert np.any(got != img)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(4, 40),
    st.integers(4, 40),
    st.integers(0, 40),
    st.sampled_from([0.2, 1.5, 15.0]),
    st.integers(0, 2**32 - 1),
)
def test_overlay_lines_equal_one_pillow_line_per_label(h, w, n, spread, seed) -> None:
    """One-pixel lines are stamped in bulk; the result is Pillow's line for every label."""
    from PIL import Image, ImageDraw

    from camgeom import drawing

    rng = np.random.default_rng(seed)
    vendor = rng.uniform(-3.0, max(h, w) + 3.0, (n, 2))
    projected = vendor + rng.normal(0.0, spread, (n, 2))
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    got = drawing.draw_landmarks_comparison(image, vendor, projected)
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    magenta, green = drawing.DEFAULT_COMPARISON_COLORS[1], drawing.DEFAULT_COMPARISON_COLORS[0]
    for seg in drawing._clipped_segments(vendor, projected, canvas.size):
        draw.line(seg, fill=tuple(magenta), width=1)
    radius = max(1, round(max(h, w) / 160))
    vis = np.ones(n, bool)
    pairs = np.zeros((0, 2), np.int64)
    drawing._draw(canvas, draw, canvas.size, projected, vis, pairs, False, tuple(magenta), radius)
    drawing._draw(canvas, draw, canvas.size, vendor, vis, pairs, False, tuple(green), radius)
    np.testing.assert_array_equal(got, np.asarray(canvas))
