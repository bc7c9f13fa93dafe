"""The project and pointcloud dataset jobs: outputs, resume, degradation, Dask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trimesh
from PIL import Image

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.errors import InvalidValueError
from camgeom.jobs.pointcloud import pointclouds_from_dataset
from camgeom.jobs.project import project_dataset


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_dataset(tmp_path_factory.mktemp("jobs") / "demo")


def tree(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".camgeom" not in p.parts
    }


def test_project_writes_loadable_outputs_and_resumes(demo, tmp_path):
    ds = camgeom.load(demo.datagen)
    s = project_dataset(ds, tmp_path, workers=1, progress=False)
    assert (s.done, s.kept, s.failed) == (len(ds), 0, 0)
    files = tree(tmp_path)
    assert len(files) == 3 * len(ds)
    for name in files:
        if name.endswith(".png"):
            Image.open(tmp_path / name).load()
        elif name.endswith(".json"):
            assert json.loads((tmp_path / name).read_text())["landmarks"]
    again = project_dataset(ds, tmp_path, workers=1, progress=False)
    assert (again.done, again.kept) == (0, len(ds))
    # one output lost (a run killed between outputs): exactly that frame is redone
    next(tmp_path.rglob("*.overlay.png")).unlink()
    again = project_dataset(ds, tmp_path, workers=1, progress=False)
    assert (again.done, again.kept) == (1, len(ds) - 1)
    assert tree(tmp_path) == files


def test_project_other_groups_redo_every_frame(demo, tmp_path):
    ds = camgeom.load(demo.datagen)
    project_dataset(ds, tmp_path, groups=["ibug68"], workers=1, progress=False)
    s = project_dataset(ds, tmp_path, groups=["hands"], workers=1, progress=False)
    assert (s.done, s.kept) == (len(ds), 0)
    for csv in tmp_path.rglob("*.landmarks.csv"):
        groups = {line.split(",")[0] for line in csv.read_text().splitlines()[1:]}
        assert groups == {"hands"}


def test_project_without_rgb_draws_on_black_and_warns(demo, tmp_path):
    data = tmp_path / "data"
    import shutil

    shutil.copytree(demo.datagen, data)
    ds = camgeom.load(data)
    image = ds[0].image_path
    image.write_bytes(b"not an image")
    s = project_dataset(camgeom.load(data), tmp_path / "out", workers=1, progress=False)
    assert s.failed == 0 and s.warned == 1
    assert "RGB image unreadable" in s.warnings[0].message


def test_pointcloud_fuse_counts_scenes_apart_and_frame_option_redoes(demo, tmp_path):
    ds = camgeom.load(demo.synthesisai)
    s = pointclouds_from_dataset(ds, tmp_path, fuse=True, workers=1, progress=False)
    assert (s.frames.done, s.scenes.done, s.exit_code) == (len(ds), len(ds), 0)
    camera = tree(tmp_path)
    s = pointclouds_from_dataset(ds, tmp_path, frame="world", fuse=True, workers=1, progress=False)
    # the frame option shapes only the per-frame clouds: fused scenes are kept
    assert (s.frames.done, s.frames.kept, s.scenes.done, s.scenes.kept) == (len(ds), 0, 0, len(ds))
    world = tree(tmp_path)
    changed = {k for k in camera if camera[k] != world[k]}
    assert changed == {k for k in camera if k.endswith(".points.ply")}
    for name in world:
        assert len(trimesh.load(tmp_path / name, process=False).vertices) > 0


def test_pointcloud_colors_degrade_per_frame(demo, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(demo.datagen, data)
    ds = camgeom.load(data)
    ds[0].image_path.unlink()
    s = pointclouds_from_dataset(
        camgeom.load(data), tmp_path / "out", colors=True, workers=1, progress=False
    )
    assert (s.frames.done, s.frames.failed, s.frames.warned) == (len(ds), 0, 1)
    assert "no RGB image" in s.frames.warnings[0].message


@pytest.mark.parametrize(
    "kwargs", [{"stride": 0}, {"max_depth": float("nan")}, {"max_depth": -1.0}, {"frame": "cam"}]
)
def test_pointcloud_refuses_bad_options_before_any_frame(demo, tmp_path, kwargs):
    with pytest.raises(InvalidValueError):
        pointclouds_from_dataset(camgeom.load(demo.datagen), tmp_path / "o", **kwargs)
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as c:
        yield c.scheduler_address


def test_dask_cluster_outputs_equal_local_run(demo, tmp_path, cluster):
    for vendor in (demo.synthesisai, demo.datagen):
        ds = camgeom.load(vendor)
        local, remote = tmp_path / f"{vendor.name}-local", tmp_path / f"{vendor.name}-dask"
        project_dataset(ds, local, workers=1, progress=False)
        s = project_dataset(ds, remote, scheduler=cluster, progress=False)
        assert (s.backend, s.done, s.failed) == ("dask", len(ds), 0)
        opts = {"frame": "world", "colors": True, "normals": True, "fuse": True}
        pointclouds_from_dataset(ds, local, workers=1, progress=False, **opts)
        p = pointclouds_from_dataset(ds, remote, scheduler=cluster, progress=False, **opts)
        assert p.exit_code == 0 and p.frames.backend == "dask"
        assert tree(local) == tree(remote)
        assert len(tree(local)) == 4 * len(ds) + p.scenes.done


def test_landmark_csv_reads_back_like_the_csv_module_writes_it():
    import csv
    import io

    from camgeom.jobs.project import LANDMARK_FIELDS, _csv_text

    rows = [
        {
            "group": 'a,"b"',
            "name": "x\ny",
            "u": 1.5,
            "v": None,
            "depth_z": 1e-5,
            "in_image": True,
            "visible": None,
            "label_u": 1e16,
            "label_v": -0.0,
        },
        {
            "group": "ibug68",
            "name": "01",
            "u": 0.1 + 0.2,
            "v": 127.25,
            "depth_z": 1.6000000238418579,
            "in_image": False,
            "visible": False,
            "label_u": None,
            "label_v": 64.5,
        },
    ]
    text = _csv_text(rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(LANDMARK_FIELDS)
    writer.writerows(r.values() for r in rows)
    ours, theirs = (
        list(csv.reader(io.StringIO(text))),
        list(csv.reader(io.StringIO(buf.getvalue()))),
    )
    assert ours[0] == theirs[0] == list(LANDMARK_FIELDS)
    for mine, ref in zip(ours[1:], theirs[1:], strict=True):
        for field, a, b in zip(LANDMARK_FIELDS, mine, ref, strict=True):
            if a != b:  # only the text of tiny numbers differs: 0.00001 against 1e-05
                assert field == "depth_z" and float(a) == float(b) == 1e-5
    assert text.splitlines()[-1] == buf.getvalue().splitlines()[-1]  # ordinary numbers: same bytes
    assert _csv_text([]) == ",".join(LANDMARK_FIELDS) + "\n"


@pytest.mark.parametrize(
    "names", [("1", "2", "3"), ('a,"b"', "x\ny", "é ü"), ("a\\b", "t\there", "~ {}")]
)
def test_landmark_json_and_csv_from_columns_equal_the_row_writers(names):
    import csv
    import io

    import orjson

    from camgeom.jobs.project import LANDMARK_FIELDS, _csv_from_columns, _landmarks_json

    columns = {
        "group": ["ibug68", "ibug68", "ears"],
        "name": list(names),
        "u": [1.5, None, 1e-5],
        "v": [0.1 + 0.2, 127.25, 1e20],
        "depth_z": [1.6000000238418579, None, -0.0],
        "in_image": [True, False, False],
        "visible": [None, True, False],
        "label_u": [None, None, 3],
        "label_v": [64.5, 2.0, None],
    }
    rows = [dict(zip(LANDMARK_FIELDS, v, strict=True)) for v in zip(*columns.values(), strict=True)]
    head = {"frame_id": "sai.v2/0", "vendor": "synthesisai", "pixel_convention": "camgeom"}
    expected = orjson.dumps({**head, "landmarks": rows}, option=orjson.OPT_INDENT_2)
    assert _landmarks_json(head, columns) == expected
    empty = {f: [] for f in LANDMARK_FIELDS}
    assert _landmarks_json(head, empty) == orjson.dumps(
        {**head, "landmarks": []}, option=orjson.OPT_INDENT_2
    )
    parsed = list(csv.reader(io.StringIO(_csv_from_columns(columns))))
    assert parsed[0] == list(LANDMARK_FIELDS)
    assert [r[1] for r in parsed[1:]] == list(names)
    assert [r[5] for r in parsed[1:]] == ["True", "False", "False"]
    assert [r[6] for r in parsed[1:]] == ["", "True", "False"]


def test_json_cells_of_any_column_are_orjson_values():
    import orjson

    from camgeom.jobs.project import _json_cells

    columns = [[], [1.5, None, 2], [None, "a,b", 3], ["x", 1], ['q"', "é"], [True, None, False]]
    for values in columns:
        assert _json_cells(values) == [orjson.dumps(v).decode() for v in values]


def test_pointcloud_fuse_leaves_out_a_damaged_view(demo, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(demo.datagen, data)
    ds = camgeom.load(data)
    scenes = ds.scenes()
    scene_id, scene = next((k, v) for k, v in scenes.items() if len(v) >= 2)
    bad, good = scene[0], scene[1]
    bad.depth_path.write_bytes(bad.depth_path.read_bytes()[:500])  # truncated
    s = pointclouds_from_dataset(
        camgeom.load(data), tmp_path / "out", fuse=True, workers=1, progress=False
    )
    assert s.frames.failed == 1 and s.scenes.failed == 0 and s.scenes.done == len(scenes)
    note = next(w.message for w in s.scenes.warnings if bad.frame_id in w.message)
    assert "left out of the fused cloud" in note and "FormatError" in note
    fused = next((tmp_path / "out").rglob("*.fused.ply"))
    kept_views = [v for v in scene if v.frame_id != bad.frame_id]
    assert good.frame_id in [v.frame_id for v in kept_views]
    n_fused = len(trimesh.load(fused, process=False).vertices)
    n_good = sum(
        len(camgeom.points_from_depth(v.read_depth(), v.camera.K, depth_kind=v.depth_kind).points)
        for v in kept_views
    )
    assert n_fused == n_good > 0
    # every view damaged: the scene fails, with the first view's error
    for v in kept_views:
        v.depth_path.write_bytes(v.depth_path.read_bytes()[:500])
    s = pointclouds_from_dataset(
        camgeom.load(data), tmp_path / "out2", fuse=True, workers=1, progress=False
    )
    assert s.scenes.failed >= 1
    assert any(f.frame_id == scene_id for f in s.scenes.failures)
