"""The command line, run as a real subprocess."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import trimesh

CMD = [sys.executable, "-m", "camgeom.cli"]


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [*CMD, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "demo"
    r = run("demo", root, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    return root, r.stdout


def test_help_teaches():
    r = run("--help")
    assert r.returncode == 0
    for word in ("info", "verify", "project", "pointcloud", "demo", "examples:", "exit codes"):
        assert word in r.stdout
    r = run("pointcloud", "--help")
    assert "--fuse" in r.stdout and "example:" in r.stdout
    assert run().returncode == 2


def test_demo_runs_every_job_and_writes_outputs(demo):
    root, out = demo
    assert "PASS" in out and "Outputs in" in out
    for vendor in ("synthesisai", "datagen"):
        rep = json.loads((root / f"{vendor}.verify.json").read_text())
        assert rep["passed"] is True and rep["frames"] >= 2
        assert list((root / f"{vendor}.overlays").rglob("*.png"))
        assert list((root / f"{vendor}.pointclouds").rglob("*.fused.ply"))


def test_demo_point_clouds_match_the_analytic_surfaces(demo):
    root, _ = demo
    truth = json.loads((root / "data" / "ground_truth.json").read_text())
    for vendor in ("synthesisai", "datagen"):
        scene = truth[vendor]["scene"]
        for ply in sorted((root / f"{vendor}.pointclouds").glob("*.ply")):
            pts = np.asarray(trimesh.load(ply, process=False).vertices, dtype=float)
            assert len(pts) > 1000
            dist = np.full(len(pts), np.inf)
            for s in scene["spheres"]:
                dist = np.minimum(
                    dist, np.abs(np.linalg.norm(pts - s["centre"], axis=1) - s["radius"])
                )
            for p in scene["planes"]:
                dist = np.minimum(dist, np.abs((pts - p["point"]) @ np.asarray(p["normal"], float)))
            # PLY stores float32: 1e-4 m is far above float32 rounding at a few metres
            assert dist.max() < 1e-4, (ply.name, dist.max())


def test_info(fixtures):
    r = run("info", fixtures / "datagen" / "faces_nn", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "vendor:   datagen" in r.stdout and "frames:   10" in r.stdout and "ibug68" in r.stdout
    r = run("info", fixtures / "synthesisai" / "v1_5_docs", "-q")
    assert "synthesisai" in r.stdout and "1.5" in r.stdout


def test_verify_exit_codes(fixtures, tmp_path):
    ok = run("verify", fixtures / "synthesisai" / "v1_2_faces", "--quiet")
    assert ok.returncode == 0, ok.stdout
    bad = run(
        "verify", fixtures / "synthesisai" / "v1_faces", "--quiet", "--json", tmp_path / "r.json"
    )
    assert bad.returncode == 1
    assert "landmarks.duplicates.pupils" in bad.stdout
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False
    # an existing JSON report is kept unless --overwrite
    again = run(
        "verify", fixtures / "synthesisai" / "v1_faces", "--quiet", "--json", tmp_path / "r.json"
    )
    assert again.returncode == 2 and "--overwrite" in again.stderr
    missing = run("verify", tmp_path / "nope", "--quiet")
    assert missing.returncode == 2 and "nope" in missing.stderr
    (tmp_path / "empty").mkdir()
    assert run("verify", tmp_path / "empty", "--quiet").returncode == 2
    strict = run(
        "verify", fixtures / "datagen" / "faces_nn" / "datapoint_00016", "--quiet", "--strict"
    )
    assert strict.returncode == 1 and "occlusion" in strict.stdout


def test_project_writes_overlays_and_labels(fixtures, tmp_path):
    out = tmp_path / "proj"
    r = run(
        "project",
        fixtures / "datagen" / "faces_nn" / "datapoint_00016",
        "--out",
        out,
        "--groups",
        "ibug68",
        "-q",
    )
    assert r.returncode == 0, r.stderr
    png = next(out.glob("*.png"))
    from PIL import Image

    assert Image.open(png).size == (128, 128)
    rows = list(csv.DictReader(next(out.glob("*.csv")).open()))
    assert len(rows) == 68 and {r["group"] for r in rows} == {"ibug68"}
    u, lu = float(rows[0]["u"]), float(rows[0]["label_u"])
    assert abs(u - lu) < 1e-6  # projection equals the (swapped-back) vendor label
    doc = json.loads(next(out.glob("*.landmarks.json")).read_text())
    assert doc["landmarks"][0]["name"] == rows[0]["name"]
    # outputs kept without --overwrite
    mtime = png.stat().st_mtime_ns
    r2 = run(
        "project",
        fixtures / "datagen" / "faces_nn" / "datapoint_00016",
        "--out",
        out,
        "--groups",
        "ibug68",
        "-q",
    )
    assert r2.returncode == 0 and "1 kept" in r2.stdout and png.stat().st_mtime_ns == mtime


def test_pointcloud_segments_colors_normals_and_a_failing_frame(fixtures, tmp_path):
    data = tmp_path / "data"
    for dp in ("datapoint_00016", "datapoint_00017"):
        shutil.copytree(fixtures / "datagen" / "faces_nn" / dp, data / dp)
    (data / "datapoint_00017" / "camera" / "depth.exr").write_bytes(b"not an exr")
    out = tmp_path / "pc"
    r = run(
        "pointcloud",
        data,
        "--out",
        out,
        "--frame",
        "world",
        "--segments",
        "hair",
        "--colors",
        "--normals",
        "-q",
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 failed" in r.stdout and "datapoint_00017" in r.stderr
    plys = list(out.rglob("*.ply"))
    assert len(plys) == 1
    raw = trimesh.load(plys[0], process=False)
    assert len(raw.vertices) > 50
    assert raw.colors.shape[0] == len(raw.vertices)
    r = run(
        "pointcloud", data / "datapoint_00016", "--out", out, "--segments", "no_such_part", "-q"
    )
    assert r.returncode == 1 and "no_such_part" in r.stderr


def test_demo_runs_again_reusing_its_data(demo):
    root, _ = demo
    truth = (root / "data" / "ground_truth.json").read_bytes()
    r = run("demo", root, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "using the existing demo dataset" in r.stdout
    assert (root / "data" / "ground_truth.json").read_bytes() == truth


# ----------------------------------------------------------------------------- dataset jobs


def _sai_copy(fixtures, dest):
    shutil.copytree(fixtures / "synthesisai" / "v1_2_faces", dest)
    return len(list(dest.glob("*.info.json")))


def test_dotted_folder_gives_one_overlay_per_frame(fixtures, tmp_path):
    n = _sai_copy(fixtures, tmp_path / "data" / "sai.v2")
    out = tmp_path / "out"
    r = run("project", tmp_path / "data", "--out", out, "--workers", "1", "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{n} frame(s) done" in r.stdout
    assert len(list(out.rglob("*.overlay.png"))) == n == 5
    r = run("project", tmp_path / "data", "--out", out, "--overwrite", "--workers", "1", "-q")
    assert r.returncode == 0 and len(list(out.rglob("*.overlay.png"))) == n


def test_folders_a_space_b_and_a_underscore_b_do_not_collide(fixtures, tmp_path):
    n = _sai_copy(fixtures, tmp_path / "data" / "a b")
    _sai_copy(fixtures, tmp_path / "data" / "a_b")
    out = tmp_path / "out"
    r = run("project", tmp_path / "data", "--out", out, "--workers", "2", "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(list(out.rglob("*.landmarks.csv"))) == 2 * n


def test_rerun_with_other_options_redoes_the_frames(demo, tmp_path):
    root, _ = demo
    data, out = root / "data" / "datagen", tmp_path / "pc"
    r = run("pointcloud", data, "--out", out, "--frame", "world", "--fuse", "--workers", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert "2 frame(s) done" in r.stdout and "1 fused scene(s) done" in r.stdout
    before = {p: p.read_bytes() for p in out.rglob("*.points.ply")}
    r = run("pointcloud", data, "--out", out, "--fuse", "--workers", "1", "-q")
    assert "2 frame(s) done, 0 kept" in r.stdout and "0 fused scene(s) done, 1 kept" in r.stdout
    assert all(p.read_bytes() != b for p, b in before.items())
    out = tmp_path / "proj"
    run("project", data, "--out", out, "--groups", "ibug68", "--workers", "1", "-q")
    r = run("project", data, "--out", out, "--groups", "hands", "--workers", "1", "-q")
    assert "2 frame(s) done, 0 kept" in r.stdout
    for csv_path in out.rglob("*.landmarks.csv"):
        assert {row["group"] for row in csv.DictReader(csv_path.open())} == {"hands"}


def test_frame_killed_between_outputs_resumes(demo, tmp_path):
    root, _ = demo
    data, out = root / "data" / "synthesisai", tmp_path / "out"
    run("project", data, "--out", out, "--workers", "1", "-q")
    lost = next(out.rglob("*.overlay.png"))
    lost.unlink()
    r = run("project", data, "--out", out, "--workers", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert "1 frame(s) done, 2 kept" in r.stdout
    assert lost.is_file()


def test_plain_exception_in_one_frame_fails_only_that_frame(demo, tmp_path, monkeypatch, capsys):
    import camgeom.jobs.project as project_job
    from camgeom.cli import main

    real = project_job._landmark_columns

    def flaky(frame, groups):
        if frame.frame_id.endswith("1"):
            return 1 / 0
        return real(frame, groups)

    monkeypatch.setattr(project_job, "_landmark_columns", flaky)
    root, _ = demo
    code = main(
        ["project", str(root / "data" / "synthesisai"), "--out", str(tmp_path), "-q"]
        + ["--workers", "1"]
    )
    cap = capsys.readouterr()
    assert code == 1
    assert "2 frame(s) done, 0 kept (unchanged since the last run), 1 failed" in cap.out
    assert "ZeroDivisionError" in cap.err and "Traceback" not in cap.err + cap.out


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "{data}", "--occlusion-threshold", "2"),
        ("pointcloud", "{data}", "--out", "{out}", "--stride", "0"),
        ("pointcloud", "{data}", "--out", "{out}", "--max-depth", "nan"),
        ("pointcloud", "{data}", "--out", "{out}", "--max-depth", "0"),
        ("project", "{data}", "--out", "{out}", "--workers", "0"),
        ("project", "{data}", "--out", "{file}"),
        ("verify", "{data}", "--json", "{out}/missing/report.json"),
        ("demo", "{file}"),
        ("demo", ""),
        ("project", "{data}", "--out", "{out}", "--groups", ""),
        ("project", "{data}", "--out", "{out}", "--groups", " , "),
        ("pointcloud", "{data}", "--out", "{out}", "--segments", ""),
        ("export", "colmap", "{data}", "--out", "{out}", "--groups", ""),
    ],
)
def test_bad_arguments_exit_2_before_any_frame(demo, tmp_path, args):
    root, _ = demo
    (tmp_path / "file").write_text("x")
    values = {"data": root / "data" / "datagen", "out": tmp_path / "out", "file": tmp_path / "file"}
    r = run(*(a.format(**values) for a in args))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    assert "frame" not in r.stdout and not (tmp_path / "out").exists()


def test_locked_output_folder_exits_2(demo, tmp_path):
    from camgeom.jobs.lock import RunLock, prepare_output_dir

    root, _ = demo
    with RunLock(prepare_output_dir(tmp_path)):
        r = run("project", root / "data" / "datagen", "--out", tmp_path, "--workers", "1", "-q")
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


def test_info_and_verify_agree_on_an_unreadable_folder(tmp_path):
    (tmp_path / "0.info.json").write_text("{ not json")
    codes = {run(cmd, tmp_path, "-q").returncode for cmd in ("info", "verify")}
    assert codes == {2}


def test_verify_into_a_closed_pipe_prints_no_traceback(demo):
    root, _ = demo
    cmd = " ".join([*CMD, "verify", "-q", str(root / "data" / "synthesisai")]) + " | head -1"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert r.stdout.count("\n") == 1 and "Traceback" not in r.stderr


def test_verify_table_names_the_worst_frame(demo):
    root, _ = demo
    r = run("verify", root / "data" / "datagen", "-q")
    assert "worst frame" in r.stdout and "datapoint_00001/camera_" in r.stdout


_AFTER_DEMO = """
import numpy as np
from camgeom.depth import points_from_depth
from camgeom.projection import project_points
K = np.array([[300.0, 0.0, 160.0], [0.0, 300.0, 120.0], [0.0, 0.0, 1.0]])
pose = np.eye(4)
pose[2, 3] = 3.0
for n in (68, 50_000):
    project_points(np.random.default_rng(1).normal(0, 0.1, (n, 3)), K, pose)
for h, w in ((48, 64), (480, 640)):
    depth = np.full((h, w), 2.0, np.float32)
    Kd = np.array([[300.0, 0.0, w / 2], [0.0, 300.0, h / 2], [0.0, 0.0, 1.0]])
    for kind in ("z", "range"):
        points_from_depth(depth, Kd, depth_kind=kind)
"""


def test_demo_leaves_every_kernel_in_the_numba_cache(tmp_path):
    """After `camgeom demo`, a new process projecting and back-projecting compiles nothing."""
    cache = tmp_path / "numba-cache"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONWARNINGS="ignore")
    env.pop("NUMBA_DISABLE_JIT", None)
    r = subprocess.run(
        [*CMD, "demo", str(tmp_path / "demo"), "-q"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stdout + r.stderr
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert any(p.suffix == ".nbc" for p in before)
    r = subprocess.run([sys.executable, "-c", _AFTER_DEMO], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    after = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert sorted(set(after) - set(before)) == []
    assert after == before  # no index rewritten either
