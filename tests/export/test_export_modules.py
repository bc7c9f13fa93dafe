"""The export and command-line modules keep every name where callers found it before a split."""

from __future__ import annotations

import subprocess
import sys


def test_read_model_is_the_same_function_from_the_format_module():
    from camgeom.export import colmap, colmap_read

    assert colmap.read_model is colmap_read.read_model
    assert "read_model" in colmap.__all__


def test_colmap_reader_imports_first_in_a_fresh_interpreter():
    code = (
        "import camgeom.export.colmap_read as r, camgeom.export.colmap as c; "
        "assert c.read_model is r.read_model"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_every_export_job_name_is_still_reachable_from_the_jobs_module():
    from camgeom import export
    from camgeom.export import jobs, nerfstudio_job

    # the public names of camgeom.export.jobs before the nerfstudio job had its own module
    names = (
        "FUSED_STRIDE IMAGE_MODES POINTS ColmapExportJob NerfstudioExportJob "
        "export_colmap export_nerfstudio lens_model"
    ).split()
    assert sorted(jobs.__all__) == sorted(names)
    for name in [*names, "colmap_model", "scene_folder", "foreground_mask"]:
        assert getattr(jobs, name) is not None, name
    for name in nerfstudio_job.__all__:
        assert getattr(jobs, name) is getattr(nerfstudio_job, name), name
    assert export.export_colmap is jobs.export_colmap
    assert export.export_nerfstudio is nerfstudio_job.export_nerfstudio


def test_nerfstudio_job_imports_first_in_a_fresh_interpreter():
    code = (
        "import camgeom.export.nerfstudio_job as n, camgeom.export.jobs as j; "
        "assert j.export_nerfstudio is n.export_nerfstudio"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_command_line_keeps_its_names_and_commands():
    import argparse

    from camgeom import _cli_common, cli

    for name in "main build_parser cmd_info cmd_verify cmd_project cmd_pointcloud cmd_demo".split():
        assert callable(getattr(cli, name)), name
    assert (cli.EXIT_OK, cli.EXIT_FAIL, cli.EXIT_INPUT) == (0, 1, 2)
    assert cli._Console is _cli_common._Console
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == ["info", "verify", "project", "pointcloud", "export", "demo"]
