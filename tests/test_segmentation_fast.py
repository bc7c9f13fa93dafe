"""Fast segmentation paths give what the plain definitions give.

* grayscale PNGs decoded by libpng (imagecodecs) equal Pillow's decode, and
  damaged ones are still a FormatError naming the file;
* segment_names, which splits each class name once, selects what the scan of
  every name for every term selected;
* segment_mask's lookup table for uint8 / uint16 id images equals ``np.isin``.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import imagecodecs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from camgeom.datasets import _pixels
from camgeom.errors import FormatError, InvalidValueError


# ---------------------------------------------------------------------- PNG decoding
def _pil_segmentation(path: Path) -> np.ndarray:
    """The Pillow-only decode read_segmentation used for every PNG."""
    with Image.open(path) as img:
        if img.mode in ("RGBA", "P", "LA"):
            img = img.convert("RGB")
        return np.array(img)


def _assert_same_array(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


_FILTERS = [imagecodecs.PNG.FILTER[n] for n in ("NONE", "SUB", "UP", "AVG", "PAETH", "ALL")]
"""libpng row filters for the imagecodecs writer: each of the five alone, then its choice."""


def _write_png(path: Path, arr: np.ndarray, writer: str, level: int) -> Path:
    if writer == "pil":
        Image.fromarray(arr).save(path, compress_level=level)
    elif writer == "imagecodecs":
        # an output buffer of its own: png_encode underestimates it for thin noise images
        out = bytearray(2 * arr.nbytes + 4096)
        data = imagecodecs.png_encode(arr, level=level, filter=_FILTERS[level % 6], out=out)
        path.write_bytes(bytes(data))
    else:
        assert cv2.imwrite(str(path), arr, [cv2.IMWRITE_PNG_COMPRESSION, level])
    return path


def _chunks(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, type) of every chunk of a PNG."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        out.append((pos, data[pos + 4 : pos + 8]))
        pos += 12 + length
    return out


def _with_ihdr(data: bytes, **fields: int) -> bytes:
    """``data`` with IHDR fields replaced (valid CRC): width, height, depth, colour."""
    names = ("width", "height", "depth", "colour", "compression", "filter", "interlace")
    values = dict(zip(names, struct.unpack_from(">IIBBBBB", data, 16), strict=True))
    values.update(fields)
    body = b"IHDR" + struct.pack(">IIBBBBB", *(values[n] for n in names))
    return data[:12] + body + struct.pack(">I", zlib.crc32(body)) + data[33:]


gray_images = st.sampled_from([np.uint8, np.uint16]).flatmap(
    lambda dtype: hnp.arrays(
        dtype,
        st.tuples(st.integers(1, 37), st.integers(1, 37)),
        elements=st.integers(0, np.iinfo(dtype).max),
    )
)


@given(
    arr=gray_images,
    writer=st.sampled_from(["pil", "imagecodecs", "cv2"]),
    level=st.integers(0, 9),
    stripes=st.booleans(),
)
def test_gray_png_decodes_as_pillow_does(tmp_path_factory, arr, writer, level, stripes):
    if stripes:  # long runs, as in real masks: other filter choices than noise gets
        arr = np.repeat(arr[:, :1], arr.shape[1], axis=1)
    path = _write_png(tmp_path_factory.mktemp("png") / "seg.png", arr, writer, level)
    data = path.read_bytes()
    assert _pixels._plain_gray_png(data, Image.MAX_IMAGE_PIXELS)  # the libpng path is taken
    got = _pixels.read_segmentation(path)
    _assert_same_array(got, _pil_segmentation(path))
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("shape", [(1, 1), (1, 29), (29, 1), (3, 1001), (1001, 3), (17, 13)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_thin_and_odd_gray_pngs(tmp_path, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    arr = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    for writer in ("pil", "imagecodecs", "cv2"):
        path = _write_png(tmp_path / f"{writer}.png", arr, writer, 6)
        _assert_same_array(_pixels.read_segmentation(path), _pil_segmentation(path))


def test_fixture_segmentation_pngs_decode_as_pillow_does(fixtures):
    paths = sorted(fixtures.rglob("*seg*.png"))
    gray = [p for p in paths if _pixels._plain_gray_png(p.read_bytes(), Image.MAX_IMAGE_PIXELS)]
    assert len(gray) >= 8, gray  # the Synthesis AI 16-bit masks take the libpng path
    for path in paths:  # colour masks (Datagen) stay on Pillow
        _assert_same_array(_pixels.read_segmentation(path), _pil_segmentation(path))


def test_pngs_libpng_would_change_stay_on_pillow(tmp_path):
    """Transparency (libpng adds alpha), interlace, colour and low bit depths: Pillow."""
    arr = (np.arange(60).reshape(6, 10) * 911 % 65536).astype(np.uint16)
    cases = {}
    for dtype in (np.uint8, np.uint16):
        a = arr.astype(dtype) if dtype == np.uint16 else (arr % 256).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG", transparency=int(a[0, 1]))
        cases[f"trns{a.itemsize}"] = buf.getvalue()
        buf = io.BytesIO()  # Adam7 of one pixel: its first pass only, the same bytes
        Image.fromarray(a[:1, :1]).save(buf, format="PNG")
        cases[f"interlaced{a.itemsize}"] = _with_ihdr(buf.getvalue(), interlace=1)
    buf = io.BytesIO()
    Image.fromarray(arr > 500).save(buf, format="PNG")  # 1-bit
    cases["bilevel"] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(np.stack([arr % 256] * 3, -1).astype(np.uint8)).save(buf, format="PNG")
    cases["rgb"] = buf.getvalue()
    for name, data in cases.items():
        assert not _pixels._plain_gray_png(data, Image.MAX_IMAGE_PIXELS), name
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        _assert_same_array(_pixels.read_segmentation(path), _pil_segmentation(path))
    # the limit of Pillow's decompression-bomb check stays Pillow's to apply
    plain = _write_png(tmp_path / "plain.png", arr, "pil", 6).read_bytes()
    assert _pixels._plain_gray_png(plain, 60)
    assert not _pixels._plain_gray_png(plain, 59)
    assert _pixels._plain_gray_png(plain, None)


def _gray16_png() -> bytes:
    rng = np.random.default_rng(3)
    arr = np.repeat(rng.integers(0, 40, (31, 1), dtype=np.uint16), 23, axis=1)
    arr[::5] = rng.integers(0, 65535, (7, 23), dtype=np.uint16)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def gray16_png() -> bytes:
    return _gray16_png()


@pytest.mark.parametrize("keep", [33, 40, 60, 0.5, -13, -16])
def test_truncated_gray_png_is_a_format_error(tmp_path, gray16_png, keep):
    n = int(len(gray16_png) * keep) if isinstance(keep, float) else keep
    path = tmp_path / "cut.segments.png"
    path.write_bytes(gray16_png[:n])
    with pytest.raises(FormatError, match=r"cut\.segments\.png: cannot read the segmentation"):
        _pixels.read_segmentation(path)


@given(where=st.floats(0.0, 1.0), mask=st.integers(1, 255))
def test_flipped_idat_bytes_are_a_format_error(tmp_path_factory, where, mask):
    """Pillow skips the IDAT checksum and can decode a flipped byte to wrong ids; libpng can't."""
    gray16_png = _gray16_png()
    (offset, _) = next(c for c in _chunks(gray16_png) if c[1] == b"IDAT")
    (length,) = struct.unpack_from(">I", gray16_png, offset)
    at = offset + 8 + min(int(where * (length + 4)), length + 3)  # payload or its CRC
    bad = bytearray(gray16_png)
    bad[at] ^= mask
    path = tmp_path_factory.mktemp("flip") / "flip.segments.png"
    path.write_bytes(bytes(bad))
    with pytest.raises(FormatError, match=r"flip\.segments\.png: cannot read the segmentation"):
        _pixels.read_segmentation(path)


@pytest.mark.parametrize(
    "lie",
    [
        {"height": 62},  # more rows than the data hold: Pillow pads them silently
        {"height": 32},
        {"width": 24},
        {"width": 22},
        {"depth": 8},
        {"height": 0},
        {"width": 0},
    ],
)
def test_png_whose_ihdr_lies_is_a_format_error(tmp_path, gray16_png, lie):
    path = tmp_path / "lie.segments.png"
    path.write_bytes(_with_ihdr(gray16_png, **lie))
    with pytest.raises(FormatError, match=r"lie\.segments\.png: cannot read the segmentation"):
        _pixels.read_segmentation(path)


def test_missing_segmentation_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match=r"gone\.png: cannot read the segmentation image"):
        _pixels.read_segmentation(tmp_path / "gone.png")


# ---------------------------------------------------------------------- segment names
def _segment_names_by_scan(mapping, names):
    """segment_names as it was: every term scans (and splits) every key."""
    if isinstance(names, str):
        names = [names]
    wanted: dict[str, None] = {}
    for term in names:
        hits = [k for k in mapping if k == term or term in k.replace("/", ".").split(".")]
        if not hits:
            raise InvalidValueError(
                f"segment {term!r} is not in the segmentation mapping; known names: "
                f"{', '.join(sorted(mapping))}."
            )
        wanted.update(dict.fromkeys(hits))
    return list(wanted)


_PARTS = ["human", "hair", "eye", "left", "right", "background", "eye_left", "a", ""]
class_names = st.lists(
    st.lists(st.sampled_from(_PARTS), min_size=1, max_size=4).flatmap(
        lambda parts: st.lists(
            st.sampled_from([".", "/"]), min_size=len(parts) - 1, max_size=len(parts) - 1
        ).map(lambda seps: parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True)))
    ),
    max_size=12,
)


@given(
    keys=class_names,
    terms=st.lists(
        st.one_of(st.sampled_from(_PARTS + ["human.hair", "eye/left", "x"]), st.text(max_size=3)),
        max_size=5,
    ),
    single=st.booleans(),
    data=st.data(),
)
def test_segment_names_select_what_the_scan_selected(keys, terms, single, data):
    mapping = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    if mapping:  # whole class names as terms too
        terms = [*data.draw(st.lists(st.sampled_from(list(mapping)), max_size=3)), *terms]
    names = terms[0] if single and terms else terms
    try:
        want = _segment_names_by_scan(mapping, names)
    except InvalidValueError as exc:
        with pytest.raises(InvalidValueError) as got:
            _pixels.segment_names(mapping, names)
        assert str(got.value) == str(exc)
    else:
        assert _pixels.segment_names(mapping, names) == want


def test_segment_names_of_a_mapping_with_many_classes():
    mapping = {f"human/part{i}.{side}": i for i in range(60) for side in ("left", "right")}
    mapping["background"] = 0
    names = ["left", "part7", "background", "human", "human/part3.right"]
    assert _pixels.segment_names(mapping, names) == _segment_names_by_scan(mapping, names)
    for bad in (["left", "leg"], [3], ["part7.left"]):
        with pytest.raises(InvalidValueError, match="is not in the segmentation mapping"):
            _pixels.segment_names(mapping, bad)


# ---------------------------------------------------------------------- segment mask
def _id_value(i: int, form: int):
    """A class id as mappings store it: int, numpy scalar, one-element list or array."""
    return [i, np.int64(i), [i], np.array([i])][form]


@given(
    data=st.data(),
    dtype=st.sampled_from([np.uint8, np.uint16]),
    shape=st.tuples(st.integers(1, 9), st.integers(1, 9)),
)
def test_lookup_table_mask_equals_isin(data, dtype, shape):
    top = int(np.iinfo(dtype).max)
    # pixels near 0 and near the type's top, so both ends of the table are hit
    values = st.one_of(st.integers(0, 6), st.integers(top - 3, top))
    seg = data.draw(hnp.arrays(dtype, shape, elements=values))
    ids = data.draw(
        st.lists(
            st.one_of(
                st.integers(0, 6),  # present or absent from the image
                st.integers(top - 3, top + 3),  # around the type's largest value
                st.integers(-(2**40), -1),  # negative: labels nothing
                st.integers(top + 1, 2**40),  # above the type: labels nothing
            ),
            max_size=6,
        )
    )
    forms = data.draw(st.lists(st.integers(0, 3), min_size=len(ids), max_size=len(ids)))
    mapping = {f"c{n}": _id_value(i, f) for n, (i, f) in enumerate(zip(ids, forms, strict=True))}
    mapping["unused"] = 1
    got = _pixels.segment_mask(seg, mapping, [k for k in mapping if k != "unused"])
    assert got.dtype == np.bool_ and got.shape == seg.shape
    np.testing.assert_array_equal(got, np.isin(seg, ids))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint32, np.int64, ">u2"])
def test_other_integer_id_images_keep_isin(dtype):
    seg = np.array([[0, 1, 2], [3, 1, -1 if np.dtype(dtype).kind == "i" else 5]], dtype=dtype)
    mapping = {"a": 1, "b": -1, "c": 3, "d": 70000, "background": 0}
    for keys in (["a"], ["b", "c"], ["d"], [], list(mapping)):
        want = np.isin(seg, [mapping[k] for k in keys])
        np.testing.assert_array_equal(_pixels.segment_mask(seg, mapping, keys), want)


def test_lookup_table_mask_of_a_synthesisai_sized_mapping():
    rng = np.random.default_rng(7)
    seg = rng.integers(0, 100, (120, 160)).astype(np.uint16)
    mapping = {f"class{i}": i for i in range(93)} | {"big": 65535, "over": 65536, "neg": -5}
    keys = [k for k in mapping if k != "class0"]
    want = np.isin(seg, [mapping[k] for k in keys])
    np.testing.assert_array_equal(_pixels.segment_mask(seg, mapping, keys), want)
    np.testing.assert_array_equal(_pixels.segment_mask(seg.astype(np.uint8), mapping, keys), want)
