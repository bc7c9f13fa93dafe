"""The common model: Landmarks, LazyLandmarks, CameraMetadata, Frame, Dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camgeom.datasets import (
    BACKGROUND_DEPTH_VALUES,
    CameraMetadata,
    Dataset,
    Frame,
    Landmarks,
    LazyLandmarks,
    load,
    mask_background_depth,
)
from camgeom.datasets._common import decimals_of, natural_key
from camgeom.errors import FormatError, InvalidValueError, ShapeError


def test_landmarks_copy_validate_and_freeze() -> None:
    world = np.zeros((2, 3))
    lm = Landmarks(names=("a", "b"), world=world, pixels=[[1, 2], [3, 4]], visible=[1, 0])
    world[0, 0] = 5.0  # the caller's array is copied, not frozen
    assert lm.world[0, 0] == 0.0 and world.flags.writeable
    assert lm.visible.dtype == bool and lm.visible.tolist() == [True, False]
    with pytest.raises(ValueError, match="read-only"):
        lm.pixels[0, 0] = 1.0
    assert lm.index("b") == 1
    with pytest.raises(KeyError, match="no landmark named 'c'"):
        lm.index("c")
    with pytest.raises(ShapeError, match=r"Expected `world` to have shape \(N, 3\), got \(2, 2\)"):
        Landmarks(names=("a", "b"), world=np.zeros((2, 2)), pixels=None, visible=None)
    with pytest.raises(ShapeError, match="to have 3 rows"):
        Landmarks(names=("a", "b", "c"), world=None, pixels=np.zeros((2, 2)), visible=None)


def test_pixels_rounding() -> None:
    lm = Landmarks(("a",), None, [[1.0, 2.0]], None, pixels_decimals=4, pixels_scale=(1024, 512))
    np.testing.assert_allclose(lm.pixels_rounding, [0.0512, 0.0256])
    assert Landmarks(("a",), None, [[1.0, 2.0]], None).pixels_rounding is None


def test_lazy_landmarks_load_once() -> None:
    calls = []

    def loader() -> Landmarks:
        calls.append(1)
        return Landmarks(("0",), [[0.0, 0.0, 1.0]], None, None)

    eager = Landmarks(("x",), None, [[1.0, 1.0]], None)
    lazy = LazyLandmarks({"eager": eager}, {"dense": loader})
    assert list(lazy) == ["eager", "dense"] and len(lazy) == 2 and "dense" in lazy
    assert lazy.loaded() == ("eager",) and not calls
    assert lazy["dense"] is lazy["dense"] and calls == [1]
    with pytest.raises(KeyError, match="no landmark group 'other'; this frame has: eager, dense"):
        lazy["other"]


def test_camera_metadata_arrays_read_only() -> None:
    meta = CameraMetadata(stored_K=np.eye(3).tolist(), location=[1, 2, 3])
    assert meta.stored_K.dtype == np.float64 and not meta.stored_K.flags.writeable
    assert meta.focal_length_mm is None and meta.extras == {}


def test_frame_validates_vendor_and_depth_kind() -> None:
    with pytest.raises(InvalidValueError, match="vendor"):
        Frame(camera=None, vendor="acme", version=None, frame_id="a", scene_id="a", camera_name="c")
    with pytest.raises(InvalidValueError, match="depth_kind"):
        Frame(
            camera=None,
            vendor="geogen",
            version=None,
            frame_id="a",
            scene_id="a",
            camera_name="c",
            depth_kind="planar",
        )
    frame = Frame(
        camera=None, vendor="geogen", version=None, frame_id="a", scene_id="a", camera_name="c"
    )
    with pytest.raises(FormatError, match="frame a: this geogen frame has no image file"):
        frame.read_image()


def test_mask_background_depth_values() -> None:
    raw = np.array([0.0, 0.0025, np.inf, 1e10, 65504.0, 1.25, 3.5, -np.inf], dtype=np.float32)
    out = mask_background_depth(raw)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(out), [1, 1, 1, 1, 1, 0, 0, 1])
    assert raw[0] == 0.0  # input untouched
    half = np.float32(np.float16(0.0025))  # the same background stored as half float
    assert np.isnan(mask_background_depth(np.array([half], dtype=np.float32)))[0]
    assert len(BACKGROUND_DEPTH_VALUES) == 6


@given(st.lists(st.floats(0.0009765625, 512.0, width=32), min_size=1, max_size=50))
def test_mask_background_keeps_real_depths(values: list[float]) -> None:
    arr = np.array(values, dtype=np.float32)
    keep = ~np.isin(arr, np.float32([0.0025, np.float16(0.0025)]))
    out = mask_background_depth(arr)
    np.testing.assert_array_equal(out[keep], arr[keep])
    assert np.isnan(out[~keep]).all()


@given(
    st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=20),
    st.integers(0, 6),
)
def test_decimals_of_rounded_values(values: list[float], d: int) -> None:
    rounded = np.round(np.array(values), d)
    found = decimals_of(rounded)
    assert found is not None and found <= d
    np.testing.assert_allclose(np.round(rounded, found), rounded, atol=1e-9)


def test_decimals_of_unrounded() -> None:
    assert decimals_of(np.array([0.6080426729424198, 0.5])) is None
    assert decimals_of(np.array([np.nan, 3.0])) == 0
    assert decimals_of(np.array([])) is None


def test_natural_key() -> None:
    names = ["10.info.json", "2.info.json", "1.info.json", "datapoint_00010", "datapoint_00009"]
    assert sorted(names, key=natural_key) == [
        "1.info.json",
        "2.info.json",
        "10.info.json",
        "datapoint_00009",
        "datapoint_00010",
    ]


# ---------------------------------------------------------------------- Dataset


def _facesynth(folder: Path, n: int) -> Dataset:
    for i in range(n):
        (folder / f"{i}_ldmks.txt").write_text(f"{i} {i}\n" * 70)
    return load(folder)


def test_dataset_indexing(tmp_path: Path) -> None:
    ds = _facesynth(tmp_path, 5)
    assert len(ds) == 5
    assert ds[0].frame_id == "0" and ds[-1].frame_id == "4"
    assert ds[np.int64(2)].frame_id == "2"
    sub = ds[1:4]
    assert isinstance(sub, Dataset) and sub.frame_ids == ("1", "2", "3")
    assert ds["3"].landmarks["ibug68"].pixels[0, 0] == 3.0
    with pytest.raises(IndexError, match="frame index 5 out of range for a dataset of 5 frames"):
        ds[5]
    with pytest.raises(KeyError, match="no frame with id 'nope'"):
        ds["nope"]
    with pytest.raises(TypeError, match="int, slice or frame id"):
        ds[1.5]  # type: ignore[index]
    assert [f.frame_id for f in ds] == ["0", "1", "2", "3", "4"]
    assert ds.paths[0] == tmp_path / "0_ldmks.txt"
    assert "5 frames" in repr(ds)


def test_iter_frames_modes(tmp_path: Path) -> None:
    ds = _facesynth(tmp_path, 3)
    (tmp_path / "1_ldmks.txt").write_text("1 2\n")
    with pytest.raises(FormatError, match=r"1_ldmks\.txt: expected 70 rows"):
        list(ds.iter_frames())
    assert [f.frame_id for f in ds.iter_frames(on_error="skip")] == ["0", "2"]
    assert ds.errors == []
    assert [f.frame_id for f in ds.iter_frames(on_error="collect")] == ["0", "2"]
    assert [(e.frame_id, e.path.name) for e in ds.errors] == [("1", "1_ldmks.txt")]
    assert "expected 70 rows" in str(ds.errors[0])
    with pytest.raises(InvalidValueError, match="on_error"):
        list(ds.iter_frames(on_error="ignore"))
    assert len(ds.scan()) == 1


def test_scenes_collect_errors(fixtures: Path, tmp_path: Path) -> None:
    import shutil

    for name in ("datapoint_00010", "datapoint_00011"):
        shutil.copytree(fixtures / "datagen" / "faces_multicam" / name, tmp_path / name)
    (tmp_path / "datapoint_00011" / "actor_metadata.json").write_text("{")
    ds = load(tmp_path)
    with pytest.raises(FormatError, match=r"actor_metadata\.json: corrupt JSON"):
        ds.scenes()
    scenes = ds.scenes(on_error="collect")
    assert len(scenes) == 1 and len(ds.errors) == 1
    assert ds.errors[0].frame_id == "datapoint_00011/camera_2"
