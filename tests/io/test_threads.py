"""Decode threads: one setting for EXR and TIFF decoding and background masking."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
import tifffile

from camgeom.errors import InvalidValueError, MissingChannelError
from camgeom.io import _exrscan as exrscan_module
from camgeom.io import (
    decode_threads,
    read_depth,
    read_exr,
    read_tiff,
    set_decode_threads,
    write_exr,
)
from camgeom.io import exr as exr_module
from camgeom.io import tiff as tiff_module
from camgeom.io._threads import DECODE_THREADS_ENV, available_cores


@pytest.fixture(autouse=True)
def _default_threads(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(DECODE_THREADS_ENV, raising=False)
    set_decode_threads(None)
    yield
    set_decode_threads(None)


def test_setting_environment_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert decode_threads() == available_cores() >= 1
    monkeypatch.setenv(DECODE_THREADS_ENV, "3")
    assert decode_threads() == 3
    set_decode_threads(1)  # the call wins over the environment
    assert decode_threads() == 1
    set_decode_threads(None)
    assert decode_threads() == 3
    monkeypatch.setenv(DECODE_THREADS_ENV, "many")
    with pytest.raises(InvalidValueError, match=DECODE_THREADS_ENV):
        decode_threads()
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(InvalidValueError, match="positive integer"):
            set_decode_threads(bad)  # type: ignore[arg-type]


def _recording(monkeypatch: pytest.MonkeyPatch, module, name: str) -> list[dict]:
    calls: list[dict] = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _depth(rows: int = 300, cols: int = 257) -> np.ndarray:
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 3.0, (rows, cols)).astype(np.float32)
    depth[:, :20] = 1e10
    return depth


def _decodes(calls: list[dict]) -> list[dict]:
    """The OpenEXR.File calls that decode pixels (not those that read the header only)."""
    return [c for c in calls if not c.get("header_only")]


def _thread_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads that run the direct decoder's block ranges."""
    names: list[str] = []
    original = exrscan_module._decode_blocks

    def wrapper(*args, **kwargs):
        names.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(exrscan_module, "_decode_blocks", wrapper)
    return names


def test_exr_decodes_on_the_threads_asked_for(tmp_path: Path, monkeypatch) -> None:
    depth = _depth()
    path = write_exr(tmp_path / "d.exr", {"R": depth, "G": depth, "B": depth})
    assert path.stat().st_size >= exr_module._THREADED_BYTES  # large enough for threads
    calls = _recording(monkeypatch, exr_module.OpenEXR, "File")
    direct = _recording(monkeypatch, exr_module, "decode_scanline")
    threads = _thread_names(monkeypatch)
    set_decode_threads(1)
    one = read_exr(path)
    assert direct[-1]["threads"] == 1 and _decodes(calls) == []  # decoded directly
    assert threads == [threading.current_thread().name]
    set_decode_threads(2)
    threads.clear()
    two = read_exr(path)
    assert direct[-1]["threads"] == 2 and _decodes(calls) == []
    assert len(threads) == 2 and threading.current_thread().name in threads
    assert any(t.startswith("camgeom-exr") for t in threads)  # the other part: a pool thread
    for name in one:
        np.testing.assert_array_equal(one[name], two[name])
    np.testing.assert_array_equal(two["R"], depth)
    piz = write_exr(tmp_path / "p.exr", {"R": depth}, compression="piz")  # not decoded directly
    assert piz.stat().st_size >= exr_module._THREADED_BYTES
    read_exr(piz)
    assert calls[-1]["num_threads"] == 2
    assert OpenEXR.global_thread_count() >= 2  # the pool that runs those threads


@pytest.mark.parametrize(("compression", "by_openexr"), [("zip", False), ("piz", True)])
def test_small_exr_decodes_in_the_calling_thread(
    tmp_path: Path, monkeypatch, compression: str, by_openexr: bool
) -> None:
    depth = np.full((32, 32), 2.0, np.float32)
    path = write_exr(tmp_path / "small.exr", {"Z": depth}, compression=compression)
    assert path.stat().st_size < exr_module._THREADED_BYTES
    calls = _recording(monkeypatch, exr_module.OpenEXR, "File")
    direct = _recording(monkeypatch, exr_module, "decode_scanline")
    set_decode_threads(2)
    np.testing.assert_array_equal(read_exr(path)["Z"], depth)
    assert direct[-1]["threads"] == 1  # a pool costs more than it saves here
    if by_openexr:  # PIZ is not decoded directly: OpenEXR decodes it, in this thread too
        assert calls[-1]["num_threads"] == 0
    else:
        assert _decodes(calls) == []  # OpenEXR read the header only


def test_tiff_decodes_on_the_threads_asked_for(tmp_path: Path, monkeypatch) -> None:
    depth = np.minimum(_depth(), 65504.0).astype(np.float16)  # half background: 65504
    path = tmp_path / "d.tif"
    tifffile.imwrite(path, depth, compression="zlib", predictor=3, rowsperstrip=16)
    calls = _recording(monkeypatch, tiff_module.tifffile, "imread")
    for n in (1, 2):
        set_decode_threads(n)
        np.testing.assert_array_equal(read_tiff(path), depth.astype(np.float32))
        assert calls[-1]["maxworkers"] == n


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shape", [(5, 7), (1031, 1025)])
def test_background_masking_matches_the_rule_across_blocks_and_threads(
    tmp_path: Path, threads: int, shape: tuple[int, int]
) -> None:
    # Every sentinel (in both float32 and half spellings), both infinities, NaN,
    # near misses and negative zero, scattered over blocks and thread boundaries.
    values = np.array(
        [0.0, -0.0, 0.0025, np.float16(0.0025), np.inf, -np.inf, 1e10, 65504.0]
        + [np.nan, 1.5, -1.0, 70000.0, 0.0026, 65503.0, 9.9e9],
        dtype=np.float32,
    )
    depth = np.random.default_rng(1).choice(values, size=shape)
    path = tmp_path / "d.tif"
    tifffile.imwrite(path, depth)
    sentinels = np.array([0.0, 0.0025, np.float16(0.0025), 1e10, 65504.0], dtype=np.float32)
    expected = depth.copy()
    expected[np.isin(depth, sentinels) | np.isinf(depth)] = np.nan
    set_decode_threads(threads)
    got = read_depth(path)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got).sum() == np.isnan(expected).sum() > 0


@pytest.mark.parametrize("threads", [1, 2])
def test_rgb_check_sees_one_differing_value_in_any_part(tmp_path: Path, threads: int) -> None:
    # R=G=B is checked in the same threaded block pass that masks the background.
    set_decode_threads(threads)
    r = np.random.default_rng(2).uniform(1, 2, (1100, 1000)).astype(np.float32)
    r[5, 5] = np.nan
    r[7, :3] = 1e10
    path = write_exr(tmp_path / "same.exr", {"R": r, "G": r, "B": r})
    expected = np.where(r == 1e10, np.float32(np.nan), r)
    np.testing.assert_array_equal(read_depth(path), expected)
    np.testing.assert_array_equal(read_depth(path, background="keep"), r)
    for i, flat_index in enumerate((0, r.size // 2 + 3, r.size - 1)):  # first part, second, last
        g = r.copy()
        g.reshape(-1)[flat_index] = np.nextafter(g.reshape(-1)[flat_index], np.float32(3))
        path = write_exr(tmp_path / f"differ{i}.exr", {"R": r, "G": r, "B": g})
        for background in ("nan", "keep"):
            with pytest.raises(MissingChannelError, match="colour image"):
                read_depth(path, background=background)
    g = r.copy()
    g.view(np.uint32)[5, 5] ^= 1  # another NaN payload: not bit-identical
    path = write_exr(tmp_path / "payload.exr", {"R": r, "G": g})
    with pytest.raises(MissingChannelError, match="colour image"):
        read_depth(path)
