"""The direct scanline EXR decoder (camgeom.io._exrscan) against the OpenEXR bindings."""

from __future__ import annotations

import io
import multiprocessing
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camgeom._kernels.exrzip import unfilter_blocks
from camgeom.errors import FormatError
from camgeom.io import _exrscan, read_exr, write_exr
from camgeom.io._exrscan import decode_scanline

_COMPRESSION = {
    "none": OpenEXR.NO_COMPRESSION,
    "zips": OpenEXR.ZIPS_COMPRESSION,
    "zip": OpenEXR.ZIP_COMPRESSION,
}
_DTYPES = [np.float16, np.float32, np.uint32]


def _by_openexr(path: Path) -> dict[str, np.ndarray]:
    exr = OpenEXR.File(str(path), separate_channels=True)
    return {name: ch.pixels for name, ch in exr.channels().items()}


def _assert_same(direct: dict[str, np.ndarray] | None, path: Path) -> None:
    """Same names, shapes, dtypes and bits as OpenEXR (NaN payloads included)."""
    assert direct is not None, f"{path} was not decoded directly"
    reference = _by_openexr(path)
    assert list(direct) == list(reference)
    for name, pixels in reference.items():
        got = direct[name]
        assert got.dtype == pixels.dtype and got.shape == pixels.shape, name
        assert got.flags.c_contiguous and got.flags.writeable
        np.testing.assert_array_equal(got.view(np.uint8), pixels.view(np.uint8), err_msg=name)


def _write(
    path: Path, channels: dict[str, np.ndarray], compression: str, *, x0=0, y0=0, decreasing=False
) -> Path:
    h, w = next(iter(channels.values())).shape
    header = {
        "compression": _COMPRESSION[compression],
        "type": OpenEXR.scanlineimage,
        "lineOrder": OpenEXR.DECREASING_Y if decreasing else OpenEXR.INCREASING_Y,
        "dataWindow": (np.array([x0, y0], np.int32), np.array([x0 + w - 1, y0 + h - 1], np.int32)),
        "displayWindow": (np.array([0, 0], np.int32), np.array([w - 1, h - 1], np.int32)),
    }
    OpenEXR.File(header, channels).write(str(path))
    return path


def _pixels(rng: np.random.Generator, dtype, shape, smooth: bool) -> np.ndarray:
    if dtype == np.uint32:
        if smooth:
            return (np.arange(shape[0] * shape[1], dtype=np.uint32) // 3).reshape(shape)
        return rng.integers(0, 2**32, shape, dtype=np.uint32)
    if smooth:  # compresses well: blocks are deflated
        yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
        return (1.0 + 0.01 * xx + 0.02 * yy).astype(dtype)
    raw = rng.integers(0, 256, (*shape, np.dtype(dtype).itemsize), dtype=np.uint8)
    return raw.view(dtype).reshape(shape)  # every bit pattern: NaNs, infinities, subnormals


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 37),
    kinds=st.lists(st.sampled_from(range(3)), min_size=1, max_size=4),
    compression=st.sampled_from(sorted(_COMPRESSION)),
    smooth=st.booleans(),
    x0=st.integers(-5, 5),
    y0=st.integers(-20, 20),
    decreasing=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_openexr_bit_for_bit(
    tmp_path, h, w, kinds, compression, smooth, x0, y0, decreasing, seed
) -> None:
    rng = np.random.default_rng(seed)
    names = ["R", "G", "B", "depth.Z"][: len(kinds)]
    channels = {
        n: _pixels(rng, _DTYPES[k], (h, w), smooth) for n, k in zip(names, kinds, strict=True)
    }
    path = _write(tmp_path / "p.exr", channels, compression, x0=x0, y0=y0, decreasing=decreasing)
    _assert_same(decode_scanline(path), path)


def test_stored_and_deflated_blocks_in_one_file(tmp_path: Path) -> None:
    """OpenEXR keeps a block as it is when deflating does not shrink it: both kinds decode."""
    rng = np.random.default_rng(3)
    z = np.ones((64, 50), np.float32)
    z[16:32] = rng.random((16, 50), dtype=np.float32)  # noise: stored as is
    path = _write(tmp_path / "mixed.exr", {"Z": z}, "zip")
    data = path.read_bytes()
    sizes = []
    for at in np.frombuffer(data, "<u8", 4, _table(data)).tolist():
        sizes.append(int.from_bytes(data[at + 4 : at + 8], "little"))
    assert sizes[1] == 16 * 50 * 4 and min(sizes) < 16 * 50 * 4  # one stored, others deflated
    _assert_same(decode_scanline(path), path)


@pytest.mark.parametrize("compression", ["zip", "zips", "none"])
def test_files_larger_than_one_batch(tmp_path: Path, compression: str) -> None:
    """Blocks are inflated a batch at a time (_BATCH_BYTES): rows land in order across batches."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:301, 0:397]
    z = (1.0 + 0.001 * xx + 0.002 * yy).astype(np.float32)
    z[40:70] = rng.random((30, 397), dtype=np.float32)  # noise: stored blocks among deflated ones
    half = (z * 3).astype(np.float16)
    ids = (xx * 7 + yy).astype(np.uint32)
    path = _write(tmp_path / "big.exr", {"Z": z, "H": half, "id": ids}, compression, y0=-9)
    assert z.nbytes + half.nbytes + ids.nbytes > 3 * _exrscan._BATCH_BYTES
    for threads in (1, 2, 3):  # block ranges decoded by the calling thread and a pool
        _assert_same(decode_scanline(path, threads=threads), path)


def test_a_damaged_block_in_any_thread_s_range_means_none(tmp_path: Path) -> None:
    z = (1.0 + 0.001 * np.arange(256 * 64, dtype=np.float32)).reshape(256, 64)
    good = _write(tmp_path / "good.exr", {"Z": z}, "zip").read_bytes()
    offsets = np.frombuffer(good, "<u8", 16, _table(good)).tolist()
    for k in (0, 7, 8, 15):  # the first and the last block of each half
        data = bytearray(good)
        data[offsets[k] + 8 + 2] ^= 0x55  # inside the deflate stream
        path = tmp_path / f"bad{k}.exr"
        path.write_bytes(bytes(data))
        assert decode_scanline(path, threads=2) is None, k
    assert decode_scanline(tmp_path / "good.exr", threads=2) is not None


def _table(data: bytes) -> int:
    """Where the offset table of a single-part file starts (after the header's final NUL)."""
    pos = 8
    while data[pos] != 0:
        name_end = data.index(b"\0", pos)
        type_end = data.index(b"\0", name_end + 1)
        size = int.from_bytes(data[type_end + 1 : type_end + 5], "little")
        pos = type_end + 5 + size
    return pos + 1


@pytest.mark.parametrize("compression", ["rle", "piz", "pxr24", "b44", "dwaa"])
def test_other_compressions_are_left_to_openexr(tmp_path: Path, compression: str) -> None:
    z = np.linspace(1, 2, 48, dtype=np.float32).reshape(6, 8)
    path = write_exr(tmp_path / "o.exr", {"Z": z}, compression=compression)
    assert decode_scanline(path) is None
    assert read_exr(path)["Z"].shape == (6, 8)


def test_files_for_openexr_are_not_read_in_full(tmp_path: Path, monkeypatch) -> None:
    """A large tiled or PIZ file is turned down from its first bytes, not read whole twice."""
    rng = np.random.default_rng(2)
    z = rng.random((300, 300), dtype=np.float32)
    piz = write_exr(tmp_path / "piz.exr", {"Z": z}, compression="piz")
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize = 32, 32
    tiled = tmp_path / "tiled.exr"
    OpenEXR.File({"type": OpenEXR.tiledimage, "tiles": tiles}, {"Z": z}).write(str(tiled))
    big = _write(tmp_path / "zip.exr", {"Z": z}, "zip")
    read: list[int] = []

    class Counting(io.FileIO):
        def read(self, size: int = -1) -> bytes:
            data = super().read(size)
            read.append(len(data))
            return data

    monkeypatch.setattr(_exrscan, "open", lambda p, mode: Counting(p, mode), raising=False)
    for path in (piz, tiled):
        assert path.stat().st_size > 2 * _exrscan._PEEK
        read.clear()
        assert decode_scanline(path) is None
        assert sum(read) <= _exrscan._PEEK, path.name
    read.clear()
    _assert_same(decode_scanline(big), big)  # a file it decodes: read whole after the peek
    assert big.stat().st_size > _exrscan._PEEK and read[-1] == big.stat().st_size


def test_tiled_multipart_and_subsampled_files_are_left_to_openexr(tmp_path: Path) -> None:
    z = np.ones((8, 8), np.float32)
    tiled = tmp_path / "tiled.exr"
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize = 4, 4
    OpenEXR.File({"type": OpenEXR.tiledimage, "tiles": tiles}, {"Z": z}).write(str(tiled))
    parts = tmp_path / "parts.exr"
    zipped = [OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION}, {"Z": z}, n) for n in "ab"]
    OpenEXR.File(zipped).write(str(parts))
    sub = tmp_path / "sub.exr"  # the chlist's xSampling of Z set to 2
    data = bytearray(_write(tmp_path / "one.exr", {"Z": z}, "zip").read_bytes())
    at = data.index(b"Z\0", data.index(b"chlist\0")) + 2 + 8
    assert data[at : at + 4] == (1).to_bytes(4, "little")
    data[at : at + 4] = (2).to_bytes(4, "little")
    sub.write_bytes(bytes(data))
    for path in (tiled, parts, sub):
        assert decode_scanline(path) is None, path.name
    assert decode_scanline(tmp_path / "missing.exr") is None
    assert decode_scanline(tmp_path / "one.exr") is not None


def test_damaged_files_fall_back_and_keep_their_errors(tmp_path: Path) -> None:
    """Never a wrong array: a damaged file is left to OpenEXR, whose error is kept."""
    rng = np.random.default_rng(0)
    z = (1 + 0.001 * np.arange(40 * 33, dtype=np.float32).reshape(40, 33)).astype(np.float32)
    good = _write(tmp_path / "good.exr", {"G": z, "R": z + 1}, "zip").read_bytes()
    for cut in sorted({8, 20, len(good) // 3, len(good) // 2, len(good) - 9, len(good) - 1}):
        path = tmp_path / f"cut{cut}.exr"
        path.write_bytes(good[:cut])
        assert decode_scanline(path) is None, cut
        with pytest.raises(FormatError, match=f"cut{cut}"):
            read_exr(path)
    table = _table(good)
    for i in range(40):  # flipped bytes in the blocks: deflate's checksum catches them
        data = bytearray(good)
        at = int(rng.integers(table + 8 * 3 + 8, len(data)))
        data[at] ^= 0xFF
        path = tmp_path / f"flip{i}.exr"
        path.write_bytes(bytes(data))
        direct = decode_scanline(path)
        if direct is not None:  # a flip OpenEXR decodes too (it has no checksum of its own)
            _assert_same(direct, path)
    data = bytearray(good)
    data[table : table + 8] = (len(good) + 100).to_bytes(8, "little")  # offset past the end
    path = tmp_path / "offset.exr"
    path.write_bytes(bytes(data))
    assert decode_scanline(path) is None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A valid file to damage: all pixel types, decreasing lines, an offset data window."""
    z = (1 + 0.001 * np.arange(40 * 33, dtype=np.float32)).reshape(40, 33)
    channels = {
        "G": z,
        "H": z.astype(np.float16),
        "R": z + 1,
        "id": np.arange(40 * 33, dtype=np.uint32).reshape(40, 33),
    }
    folder = tmp_path_factory.mktemp("corpus")
    return _write(folder / "c.exr", channels, "zip", y0=3, decreasing=True).read_bytes()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255), st.booleans()),
        min_size=1,
        max_size=3,
    ),
    cut=st.one_of(st.none(), st.floats(0, 1)),
    in_header=st.booleans(),
)
def test_damaged_files_never_give_what_openexr_would_not(
    tmp_path_factory, corpus, edits, cut, in_header
) -> None:
    """Any damage: no exception, and pixels only where OpenEXR reads the same bits.

    Replaced or inserted bytes (in the header and offset table, or anywhere) and
    truncation. A file OpenEXR refuses is refused (None), so the caller's fallback
    raises OpenEXR's error as before.
    """
    data = bytearray(corpus)
    span = 420 if in_header else len(data)
    for where, value, insert in edits:
        at = int(where * min(span, len(data)))
        if insert:
            data[at:at] = bytes([value])
        else:
            data[at] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path_factory.mktemp("damaged") / "d.exr"
    path.write_bytes(bytes(data))
    got = decode_scanline(path)
    if got is None:
        return
    try:
        reference = _by_openexr(path)
    except Exception as exc:
        pytest.fail(f"decoded a file OpenEXR refuses ({exc})")
    assert list(got) == list(reference)
    for name, pixels in reference.items():
        np.testing.assert_array_equal(got[name].view(np.uint8), pixels.view(np.uint8))


def _patched(good: bytes, find: bytes, offset: int, new: bytes) -> bytes:
    at = good.index(find) + offset
    return good[:at] + new + good[at + len(new) :]


def _after(name: bytes, kind: bytes) -> tuple[bytes, int]:
    """Where an attribute's value starts: after its name, type name and size."""
    key = name + b"\0" + kind + b"\0"
    return key, len(key) + 4


_DAMAGE = {
    "pLinear 2": (b"G\0", 2 + 4, b"\x02"),
    "unknown version flag": (b"\x76\x2f\x31\x01", 5, b"\x20"),
    "display window inverted": (
        *_after(b"displayWindow", b"box2i"),
        (9).to_bytes(4, "little", signed=True),
    ),
    "data window beyond the limit": (
        *_after(b"dataWindow", b"box2i"),
        (-(2**30)).to_bytes(4, "little", signed=True),
    ),
    "pixel aspect ratio 0": (*_after(b"pixelAspectRatio", b"float"), struct.pack("<f", 0.0)),
    "pixel aspect ratio NaN": (
        *_after(b"pixelAspectRatio", b"float"),
        struct.pack("<f", float("nan")),
    ),
    "pixel aspect ratio 1e7": (*_after(b"pixelAspectRatio", b"float"), struct.pack("<f", 1e7)),
    "negative screen window width": (
        *_after(b"screenWindowWidth", b"float"),
        struct.pack("<f", -1.0),
    ),
    "attribute name not UTF-8": (b"type\0string", 1, b"\xff"),
    "type name of a required attribute": (b"dataWindow\0box2i", 13, b"_"),
    "channels out of order": (b"H\0", 0, b"Z"),
}


@pytest.mark.parametrize("damage", sorted(_DAMAGE))
def test_headers_openexr_refuses_are_refused(tmp_path: Path, damage: str) -> None:
    """Each header rule of OpenEXR's, one at a time: OpenEXR refuses (or reads otherwise), so do we."""
    z = (1 + 0.001 * np.arange(20 * 9, dtype=np.float32)).reshape(20, 9)
    good = _write(tmp_path / "g.exr", {"G": z, "H": z + 1, "R": z + 2}, "zip").read_bytes()
    find, offset, new = _DAMAGE[damage]
    path = tmp_path / "d.exr"
    path.write_bytes(_patched(good, find, offset, new))
    assert decode_scanline(path) is None
    if damage == "channels out of order":  # OpenEXR reads it, in its own (sorted) order
        assert list(_by_openexr(path)) == ["G", "R", "Z"]
    else:
        with pytest.raises(Exception):  # noqa: B017 - whatever the bindings raise
            _by_openexr(path)


def test_a_block_that_runs_into_the_next_is_refused(tmp_path: Path) -> None:
    z = (1 + 0.001 * np.arange(48 * 9, dtype=np.float32)).reshape(48, 9)
    good = bytearray(_write(tmp_path / "g.exr", {"Z": z}, "zip").read_bytes())
    first = int(np.frombuffer(bytes(good), "<u8", 1, _table(bytes(good)))[0])
    packed = int.from_bytes(good[first + 4 : first + 8], "little")
    good[first + 4 : first + 8] = (packed + 5).to_bytes(4, "little")  # 5 bytes of block 2
    path = tmp_path / "d.exr"
    path.write_bytes(bytes(good))
    assert decode_scanline(path) is None


def test_header_claiming_a_huge_image_allocates_nothing(tmp_path: Path) -> None:
    z = np.ones((4, 4), np.float32)
    data = bytearray(_write(tmp_path / "s.exr", {"Z": z}, "zip").read_bytes())
    at = data.index(b"dataWindow\0box2i\0") + len(b"dataWindow\0box2i\0") + 4
    data[at + 8 : at + 12] = (2**28).to_bytes(4, "little")  # xMax: 268 million columns
    path = tmp_path / "huge.exr"
    path.write_bytes(bytes(data))
    decode_scanline(tmp_path / "s.exr")  # imports and scratch buffers outside the trace
    tracemalloc.start()
    try:
        assert decode_scanline(path) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # not the 4 GB the header claims


def test_vendor_files_decode_directly(fixtures: Path) -> None:
    """The vendors' depth files (ZIP and ZIPS) decode directly, to OpenEXR's bits."""
    files = sorted(fixtures.rglob("*.exr"))
    direct = 0
    for path in files:
        got = decode_scanline(path)
        if got is None:
            continue
        _assert_same(got, path)
        direct += 1
    assert direct >= len(files) - 1  # all but the corrupt sample
    assert decode_scanline(fixtures / "synthesisai/exr/corrupt_zero_parts.exr") is None


# ------------------------------------------------------------------ the kernel


def _filter_reference(raw: np.ndarray) -> np.ndarray:
    """OpenEXR's compression pre-filter (ImfZip.cpp), in plain numpy."""
    t = np.concatenate([raw[0::2], raw[1::2]])
    out = t.copy()
    out[1:] = (t[1:].astype(np.int16) - t[:-1].astype(np.int16) + 128) % 256
    return out


@pytest.mark.kernels
@pytest.mark.parametrize("sizes", [[2], [8], [10], [16, 6], [30, 0, 64, 2], [1000, 998]])
def test_unfilter_inverts_the_filter(sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes))
    blocks = [rng.integers(0, 256, n, dtype=np.uint8) for n in sizes]
    filtered = np.array([i % 2 == 0 for i in range(len(sizes))])
    src = np.concatenate(
        [_filter_reference(b) if f else b for b, f in zip(blocks, filtered, strict=True)]
    )
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    dst = np.full_like(src, 7)
    unfilter_blocks(src, dst, starts, filtered)
    np.testing.assert_array_equal(dst, np.concatenate(blocks))


@pytest.mark.kernels
def test_unfilter_at_odd_addresses() -> None:
    rng = np.random.default_rng(5)
    raw = rng.integers(0, 256, 90, dtype=np.uint8)
    src = np.empty(91, np.uint8)[1:]
    src[:] = _filter_reference(raw)
    dst = np.empty(93, np.uint8)[3:]
    unfilter_blocks(src, dst, np.array([0, 90], np.int64), np.array([True]))
    np.testing.assert_array_equal(dst, raw)


def _decode_in_child(path: str, queue) -> None:  # pragma: no cover - runs in the child
    got = decode_scanline(Path(path), threads=2)
    queue.put(None if got is None else {k: v.tobytes() for k, v in got.items()})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_decodes_on_threads_of_its_own(tmp_path: Path) -> None:
    """The parent's pool threads do not exist in a forked child: it must not wait on them."""
    z = (1.0 + 0.001 * np.arange(256 * 64, dtype=np.float32)).reshape(256, 64)
    path = _write(tmp_path / "d.exr", {"Z": z}, "zip")
    assert decode_scanline(path, threads=2) is not None  # the parent's pool now exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_decode_in_child, args=(str(path), queue))
    child.start()
    try:
        got = queue.get(timeout=60)
    finally:
        child.join(timeout=10)
        if child.is_alive():  # pragma: no cover - the failure this test guards against
            child.kill()
    assert child.exitcode == 0
    assert got == {"Z": z.tobytes()}
