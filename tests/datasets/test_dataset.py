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


def _fs_sources(root: Path, n: int) -> list:
    from camgeom.datasets import facesynthetics

    return [facesynthetics.source_for(root / f"{i:06d}_ldmks.txt", root) for i in range(n)]


def test_source_list_packs_full_chunks_and_reads_them_back(tmp_path: Path, monkeypatch) -> None:
    from camgeom.datasets.dataset import SourceList

    monkeypatch.setattr(SourceList, "CHUNK", 4)
    items = _fs_sources(tmp_path, 10)
    packed = SourceList(items)
    assert len(packed._packed) == 2 and len(packed._tail) == 2
    ids = [s.frame_id for s in items]
    assert len(packed) == 10 and [s.frame_id for s in packed] == ids
    assert [packed[i].frame_id for i in (0, 3, 4, 9, -1, -10)] == [
        ids[i] for i in (0, 3, 4, 9, -1, -10)
    ]
    assert [s.frame_id for s in packed[2:9:3]] == ids[2:9:3]
    assert packed[5].path == items[5].path
    with pytest.raises(IndexError):
        packed[10]
    again = pickle.loads(pickle.dumps(packed))
    assert again._cache[0] == -1 and [s.frame_id for s in again] == ids
    ds = Dataset(packed, root=tmp_path)
    assert ds.frame_ids == tuple(ids) and ds.sources is packed
    assert [s.frame_id for s in ds[3:6].sources] == ids[3:6]


def test_source_list_keeps_unpicklable_sources_as_objects(monkeypatch) -> None:
    from camgeom.datasets.dataset import SourceList
    from camgeom.datasets.frame import FrameSource

    monkeypatch.setattr(SourceList, "CHUNK", 3)
    items = [
        FrameSource("facesynthetics", Path(f"{i}"), f"{i}", lambda: None, str) for i in range(7)
    ]
    packed = SourceList(items)
    assert [s.frame_id for s in packed] == [str(i) for i in range(7)]
    assert packed[6] is items[6] and len(packed) == 7


def test_listing_a_large_dataset_costs_little_memory(tmp_path: Path) -> None:
    from camgeom.datasets.dataset import SourceList

    n = 4 * SourceList.CHUNK
    packed = SourceList(_fs_sources(tmp_path / "part_0001", n))
    per_frame = sum(len(b) for b in packed._packed) / (len(packed._packed) * SourceList.CHUNK)
    assert len(packed) == n and per_frame < 100  # bytes a frame, against ~1 KB as objects
