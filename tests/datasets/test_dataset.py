"""Dataset: lazy indexing, iteration policies, scenes; its frame sources pickle."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from camgeom.datasets import Dataset, load
from camgeom.errors import FormatError, InvalidValueError


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


def test_dataset_pickles_unparsed(fixtures: Path, tmp_path: Path) -> None:
    """Frame sources hold module-level readers with bound arguments: a dataset pickles
    (for worker processes) without parsing a frame, and reads the same frames after."""
    ds = load(fixtures / "synthesisai" / "v1_2_faces")
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.frame_ids == ds.frame_ids and copy.vendors == ("synthesisai",)
    np.testing.assert_array_equal(copy[1].camera.K, ds[1].camera.K)
    assert list(copy.scenes()) == list(ds.scenes())
    for sub in ("datagen/faces_multicam", "datagen/hic_in_cabin"):
        ds = load(fixtures / sub)
        assert pickle.loads(pickle.dumps(ds))[0].frame_id == ds[0].frame_id
    facesynth = _facesynth(tmp_path, 2)
    assert pickle.loads(pickle.dumps(facesynth))["1"].scene_id == "image:1"
