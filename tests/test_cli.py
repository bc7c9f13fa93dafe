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
        assert list((root / f"{vendor}.overlays").glob("*.png"))
        assert list((root / f"{vendor}.pointclouds").glob("*.fused.ply"))


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
    plys = list(out.glob("*.ply"))
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
