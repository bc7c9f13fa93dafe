"""``camgeom export colmap|nerfstudio``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from camgeom.cli import main
from camgeom.demo import make_demo_dataset
from camgeom.export.colmap import read_model


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo")


def test_export_colmap_binary(demo, tmp_path: Path, capsys) -> None:
    out = tmp_path / "colmap"
    argv = ["export", "colmap", str(demo.synthesisai), "--out", str(out), "--binary", "-q"]
    assert main([*argv, "--workers", "1", "--groups", "ibug68"]) == 0
    assert "3 frame(s) done" in capsys.readouterr().out
    model = read_model(out / "sparse" / "0")
    assert len(model.images) == 3 and len(model.points) == 3 * 68
    assert (out / "sparse" / "0" / "images.bin").is_file()
    # a rerun keeps every frame
    assert main([*argv, "--workers", "1", "--groups", "ibug68"]) == 0
    assert "0 frame(s) done, 3 kept" in capsys.readouterr().out


def test_export_nerfstudio(demo, tmp_path: Path) -> None:
    out = tmp_path / "ns"
    assert (
        main(
            [
                "export",
                "nerfstudio",
                str(demo.datagen),
                "--out",
                str(out),
                "-q",
                "--workers",
                "1",
                "--no-depth",
                "--images",
                "copy",
            ]
        )
        == 0
    )
    doc = json.loads((out / "transforms.json").read_text())
    assert len(doc["frames"]) == 2
    assert all((out / f["file_path"]).is_file() for f in doc["frames"])


def test_bad_arguments_exit_2_before_any_frame(demo, tmp_path: Path, capsys) -> None:
    out = tmp_path / "x"
    assert main(["export", "colmap", str(demo.datagen), "--out", str(out), "--workers", "0"]) == 2
    assert not out.exists()
    assert main(["export", "colmap", str(tmp_path / "missing"), "--out", str(out)]) == 2
    with pytest.raises(SystemExit):
        main(["export", "ply", str(demo.datagen), "--out", str(out)])
    assert "error" in capsys.readouterr().err
