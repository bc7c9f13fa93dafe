"""Draw landmarks on images: points, connections, labels, vendor-vs-projected comparisons.

Pixel coordinates follow camgeom's convention: ``uv = (u, v) = (column, row)``,
pixel ``(c, r)`` covers ``[c, c+1) x [r, r+1)`` and its centre is
``(c + 0.5, r + 0.5)``. A point is drawn centred on the pixel that contains it,
``(floor(u), floor(v))``; Pillow, which draws here, addresses pixels by their
integer index, so no half-pixel shift is left to the caller.

Invisible points (``visible=False``) are drawn hollow, and connections touching
one are drawn dimmed. Points with NaN (or infinite) coordinates are skipped,
with their connections. The input image is never modified.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from camgeom._connections import CONNECTION_SETS, MEDIAPIPE_IRIS_CONNECTIONS
from camgeom._validation import check_array, check_positive_int
from camgeom.errors import InvalidValueError, ShapeError

__all__ = ["draw_landmarks", "draw_landmarks_comparison"]

Color = tuple[int, int, int]

DEFAULT_COMPARISON_COLORS: tuple[Color, Color] = ((0, 255, 0), (255, 0, 255))
"""Vendor labels in green, recomputed projections in magenta."""

_LAYOUTS = ("overlay", "side_by_side")


def draw_landmarks(
    image: Any,
    uv: Any,
    *,
    visible: Any = None,
    connections: str | Sequence[tuple[int, int]] | None = None,
    labels: bool = False,
    color: Sequence[int] = (0, 255, 0),
    radius: int | None = None,
) -> np.ndarray:
    """Return a copy of ``image`` with landmarks drawn on it.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 3) or (H, W, 4)
        uint8, or float in [0, 1] (values outside are clipped, NaN is black).
        Grey images are expanded to RGB; an alpha channel is dropped.
    uv : array_like, shape (N, 2), float
        Landmark pixel coordinates (u, v) = (column, row) in camgeom's convention
        (centre of pixel (c, r) at (c + 0.5, r + 0.5)). NaN rows are skipped.
    visible : array_like of bool, shape (N,), optional, keyword-only
        Visibility per point; invisible points are drawn hollow. Default: all visible.
    connections : str or sequence of (int, int), optional, keyword-only
        Lines to draw: index pairs, or a named set, ``"ibug68"`` (needs N = 68)
        or ``"mediapipe468"`` (MediaPipe face-mesh contours; N = 468, or 478 to
        add the iris rings).
    labels : bool, keyword-only
        Write each point's index next to it.
    color : sequence of 3 int, keyword-only
        RGB colour, 0-255.
    radius : int, optional, keyword-only
        Point radius in pixels (default: ``max(1, round(max(H, W) / 160))``).

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
        A new RGB image.

    Raises
    ------
    ShapeError
        ``image``, ``uv``, ``visible`` or ``connections`` have the wrong shape, or a
        named connection set does not fit the number of points.
    InvalidValueError
        An unsupported image dtype, a bad colour or radius, an unknown connection
        set name or a connection index out of range.

    Examples
    --------
    >>> import numpy as np
    >>> out = draw_landmarks(np.zeros((40, 30), np.uint8), [[10.5, 20.5]], radius=1)
    >>> out.shape, out.dtype, out[20, 10].tolist(), out[0, 0].tolist()
    ((40, 30, 3), dtype('uint8'), [0, 255, 0], [0, 0, 0])
    """
    rgb = _as_rgb(image)
    points = _check_uv(uv, "uv")
    vis = _check_visible(visible, len(points))
    pairs = _resolve_connections(connections, len(points))
    col = _check_color(color, "color")
    r = _check_radius(radius, rgb.shape)
    canvas = Image.fromarray(rgb)
    _draw(canvas, ImageDraw.Draw(canvas), canvas.size, points, vis, pairs, labels, col, r)
    return np.asarray(canvas, dtype=np.uint8).copy()


def draw_landmarks_comparison(
    image: Any,
    uv_vendor: Any,
    uv_projected: Any,
    *,
    visible: Any = None,
    connections: str | Sequence[tuple[int, int]] | None = None,
    labels: bool = False,
    colors: Sequence[Sequence[int]] = DEFAULT_COMPARISON_COLORS,
    radius: int | None = None,
    layout: str = "overlay",
) -> np.ndarray:
    """Show a vendor's 2D labels and recomputed projections of its 3D labels together.

    Parameters
    ----------
    image : array_like, shape (H, W), (H, W, 3) or (H, W, 4)
        As in :func:`draw_landmarks`.
    uv_vendor, uv_projected : array_like, shape (N, 2), float
        The vendor's labels and the projections, in camgeom pixels (u, v).
    visible : array_like of bool, shape (N,), optional, keyword-only
        Visibility per point (applies to both sets).
    connections, labels, radius : keyword-only
        As in :func:`draw_landmarks` (labels are written for the vendor's points).
    colors : pair of RGB colours, keyword-only
        Vendor colour and projection colour (default green and magenta).
    layout : {"overlay", "side_by_side"}, keyword-only
        ``"overlay"``: both sets on one image, each vendor point joined to its
        projection by a line in the projection colour, so label errors show as
        line segments. ``"side_by_side"``: vendor on the left panel, projections on
        the right one; the result is ``(H, 2 W, 3)`` and pixel ``(c, r)`` of the
        right panel is at column ``W + c``.

    Returns
    -------
    ndarray, shape (H, W, 3) or (H, 2 W, 3), uint8

    Raises
    ------
    ShapeError
        ``uv_vendor`` and ``uv_projected`` differ in shape, or any check of
        :func:`draw_landmarks` fails.
    InvalidValueError
        An unknown ``layout`` or a bad colour pair.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((20, 20, 3), np.uint8)
    >>> out = draw_landmarks_comparison(img, [[5.5, 5.5]], [[14.5, 5.5]], radius=1)
    >>> out[5, 5].tolist(), out[5, 14].tolist()
    ([0, 255, 0], [255, 0, 255])
    >>> draw_landmarks_comparison(img, [[5.5, 5.5]], [[14.5, 5.5]], layout="side_by_side").shape
    (20, 40, 3)
    """
    if layout not in _LAYOUTS:
        raise InvalidValueError(f"Expected `layout` to be one of {_LAYOUTS!r}, got {layout!r}.")
    rgb = _as_rgb(image)
    vendor = _check_uv(uv_vendor, "uv_vendor")
    projected = _check_uv(uv_projected, "uv_projected")
    if vendor.shape != projected.shape:
        raise ShapeError(
            f"Expected `uv_vendor` and `uv_projected` to have the same shape, got "
            f"{vendor.shape} and {projected.shape}: pass the same landmarks in the same order."
        )
    if len(colors) != 2:
        raise InvalidValueError(f"Expected `colors` to hold 2 RGB colours, got {len(colors)}.")
    col_v = _check_color(colors[0], "colors[0]")
    col_p = _check_color(colors[1], "colors[1]")
    vis = _check_visible(visible, len(vendor))
    pairs = _resolve_connections(connections, len(vendor))
    r = _check_radius(radius, rgb.shape)

    if layout == "side_by_side":
        left = Image.fromarray(rgb)
        right = Image.fromarray(rgb.copy())
        _draw(left, ImageDraw.Draw(left), left.size, vendor, vis, pairs, labels, col_v, r)
        _draw(right, ImageDraw.Draw(right), right.size, projected, vis, pairs, False, col_p, r)
        return np.concatenate([np.asarray(left), np.asarray(right)], axis=1).astype(np.uint8)

    canvas = Image.fromarray(rgb)
    draw = ImageDraw.Draw(canvas)
    size = canvas.size
    ends, ok = _clip(vendor, projected, size)
    ends = ends[ok].astype(np.int64)
    # A label within the pixel of its projection makes a one-pixel line: stamp those at once.
    dot = (ends[:, 0] == ends[:, 2]) & (ends[:, 1] == ends[:, 3])
    if dot.any():
        w, h = size
        col, row = ends[dot, 0], ends[dot, 1]
        inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        mask = np.zeros((h, w), dtype=np.uint8)
        mask[row[inside], col[inside]] = 255
        canvas.paste(col_p, (0, 0, w, h), Image.fromarray(mask, mode="L"))
    for seg in ends[~dot].tolist():
        draw.line(tuple(seg), fill=col_p, width=1)
    _draw(canvas, draw, size, projected, vis, pairs, False, col_p, r)
    _draw(canvas, draw, size, vendor, vis, pairs, labels, col_v, r)
    return np.asarray(canvas, dtype=np.uint8).copy()


# --------------------------------------------------------------------------- checks


def _as_rgb(image: Any) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))) or arr.size == 0:
        raise ShapeError(
            f"Expected `image` to have shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}."
        )
    if arr.dtype == np.uint8:
        out = arr
    elif np.issubdtype(arr.dtype, np.floating):
        out = np.round(np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise InvalidValueError(
            f"Expected `image` to be uint8 or float in [0, 1], got dtype {arr.dtype}. "
            "Scale other integer images to uint8 first (e.g. 16-bit: image >> 8)."
        )
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=2)
    return np.array(out[..., :3], dtype=np.uint8, order="C", copy=True)


def _check_uv(uv: Any, name: str) -> np.ndarray:
    arr = check_array(uv, name, (2,), finite=False)
    if arr.ndim != 2:
        raise ShapeError(f"Expected `{name}` to have shape (N, 2), got {arr.shape}.")
    return arr


def _check_visible(visible: Any, n: int) -> np.ndarray:
    if visible is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(visible)
    if arr.shape != (n,):
        raise ShapeError(
            f"Expected `visible` to have shape ({n},) (one flag per point), got {arr.shape}."
        )
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isin(arr, (0, 1))):
            raise InvalidValueError(
                f"Expected `visible` to hold booleans, got dtype {arr.dtype}. Vendor strings "
                "such as 'true'/'false' must be converted first."
            )
        arr = arr.astype(bool)
    return arr


def _resolve_connections(connections: Any, n: int) -> np.ndarray:
    if connections is None:
        return np.zeros((0, 2), dtype=np.int64)
    if isinstance(connections, str):
        if connections not in CONNECTION_SETS:
            raise InvalidValueError(
                f"Expected `connections` to be one of {tuple(CONNECTION_SETS)!r} or a list of "
                f"(i, j) pairs, got {connections!r}."
            )
        pairs, counts = CONNECTION_SETS[connections]
        if n not in counts:
            want = " or ".join(f"({c}, 2)" for c in counts)
            raise ShapeError(
                f"Expected `uv` to have shape {want} for connections={connections!r}, got ({n}, 2)."
            )
        if connections == "mediapipe468" and n == 478:
            pairs = pairs + MEDIAPIPE_IRIS_CONNECTIONS
        return np.asarray(pairs, dtype=np.int64)
    try:
        arr = np.asarray(connections, dtype=np.int64)
    except (TypeError, ValueError):
        raise InvalidValueError(
            "Expected `connections` to be a named set or a list of (i, j) integer pairs."
        ) from None
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ShapeError(f"Expected `connections` to have shape (M, 2), got {arr.shape}.")
    bad = (arr < 0) | (arr >= n)
    if np.any(bad):
        first = arr[np.argwhere(bad)[0, 0]]
        raise InvalidValueError(
            f"Expected `connections` indices in [0, {n}) (one per point of `uv`), got pair "
            f"({first[0]}, {first[1]})."
        )
    return arr


def _check_color(color: Any, name: str) -> Color:
    try:
        values = [int(c) for c in color]
        ok = len(values) == 3 and all(
            0 <= c <= 255 and c == float(cc) for c, cc in zip(values, color, strict=True)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidValueError(
            f"Expected `{name}` to be 3 integers in 0-255 (R, G, B), got {color!r}."
        )
    return (values[0], values[1], values[2])


def _check_radius(radius: Any, shape: tuple[int, ...]) -> int:
    if radius is None:
        return max(1, round(max(shape[0], shape[1]) / 160))
    return check_positive_int(radius, "radius")


# --------------------------------------------------------------------------- drawing


def _draw(
    canvas: Image.Image,
    draw: ImageDraw.ImageDraw,
    size: tuple[int, int],
    points: np.ndarray,
    visible: np.ndarray,
    pairs: np.ndarray,
    labels: bool,
    color: Color,
    radius: int,
) -> None:
    finite = np.all(np.isfinite(points), axis=1)
    dim = tuple(c // 2 for c in color)
    width = 1 if radius < 4 else 2
    if len(pairs):
        both = visible[pairs[:, 0]] & visible[pairs[:, 1]]
        segments = _clipped_segments(points[pairs[:, 0]], points[pairs[:, 1]], size, keep=True)
        for seg, bright in zip(segments, both.tolist(), strict=True):
            if seg is not None:
                draw.line(seg, fill=color if bright else dim, width=width)
    w, h = size
    with np.errstate(invalid="ignore"):
        cr = np.floor(points)
        shown = finite & (cr[:, 0] + radius >= 0) & (cr[:, 1] + radius >= 0)
        shown &= (cr[:, 0] - radius < w) & (cr[:, 1] - radius < h)
    index = np.flatnonzero(shown)
    if not labels:
        # One colour, so drawing order does not matter: stamp every dot at once.
        mask = np.zeros((h, w), dtype=np.uint8)
        centres = cr[index].astype(np.int64)
        for filled in (True, False):
            sel = visible[index] == filled
            dc, dr = _dot_offsets(radius, filled)
            cols = (centres[sel, 0, None] + dc).ravel()
            rows = (centres[sel, 1, None] + dr).ravel()
            inside = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)
            mask[rows[inside], cols[inside]] = 255
        canvas.paste(color, (0, 0, w, h), Image.fromarray(mask, mode="L"))
        return
    font = _font(radius)
    for k, (c, r), vis in zip(
        index.tolist(), cr[index].astype(np.int64).tolist(), visible[index].tolist(), strict=True
    ):
        box = (c - radius, r - radius, c + radius, r + radius)
        if vis:
            draw.ellipse(box, fill=color)
        else:
            draw.ellipse(box, outline=color, width=1)
        draw.text((c + radius + 1, r - radius - 1), str(k), fill=color, font=font, anchor="lb")


@functools.lru_cache(maxsize=32)
def _dot_offsets(radius: int, filled: bool) -> tuple[np.ndarray, np.ndarray]:
    """(column, row) offsets from its centre of the pixels Pillow paints for one dot."""
    m = radius + 2  # centre, with a margin in case Pillow paints past the box
    stamp = Image.new("L", (2 * m + 1, 2 * m + 1), 0)
    box = (m - radius, m - radius, m + radius, m + radius)
    if filled:
        ImageDraw.Draw(stamp).ellipse(box, fill=255)
    else:
        ImageDraw.Draw(stamp).ellipse(box, outline=255, width=1)
    rows, cols = np.nonzero(np.asarray(stamp))
    return cols - m, rows - m


def _font(radius: int) -> Any:
    try:
        return ImageFont.load_default(size=max(8, 2 * radius + 7))
    except (TypeError, OSError, ValueError):  # Pillow without FreeType: bitmap font
        return ImageFont.load_default()


def _clipped_segments(
    a: np.ndarray, b: np.ndarray, size: tuple[int, int], *, keep: bool = False
) -> list[Any]:
    """Lines between the pixels holding ``a[i]`` and ``b[i]``, clipped to near the image.

    Liang-Barsky clipping of every segment at once to ``[-2, W + 2] x [-2, H + 2]``;
    each result is ``(c0, r0, c1, r1)`` in integer pixels. Segments with a
    non-finite end or outside the rectangle are left out, or are ``None`` when
    ``keep`` is set (one entry per segment).
    """
    ends, ok = _clip(a, b, size)
    if not keep:
        return [tuple(e) for e in ends[ok].astype(np.int64).tolist()]
    ends[~ok] = 0
    return [
        tuple(e) if good else None
        for e, good in zip(ends.astype(np.int64).tolist(), ok.tolist(), strict=True)
    ]


def _clip(a: Any, b: Any, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Clipped segment ends ``(N, 4)`` (floored, float) and which segments are kept ``(N,)``."""
    w, h = size
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    d = b - a
    t0 = np.zeros(len(a))
    t1 = np.ones(len(a))
    ok = np.all(np.isfinite(a), axis=1) & np.all(np.isfinite(b), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in (
            (-d[:, 0], a[:, 0] + 2.0),
            (d[:, 0], w + 2.0 - a[:, 0]),
            (-d[:, 1], a[:, 1] + 2.0),
            (d[:, 1], h + 2.0 - a[:, 1]),
        ):
            ok &= ~((p == 0.0) & (q < 0.0))
            t = q / p
            t0 = np.where(p < 0.0, np.maximum(t0, t), t0)
            t1 = np.where(p > 0.0, np.minimum(t1, t), t1)
        ok &= t0 <= t1
        ends = np.floor(np.concatenate([a + t0[:, None] * d, a + t1[:, None] * d], axis=1))
    return ends, ok
