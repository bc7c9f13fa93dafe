"""The public surface: a short top-level list, every other name in its own module."""

from __future__ import annotations

import subprocess
import sys

import pytest

import camgeom

SHORT_LIST = {
    "Camera",
    "CamgeomError",
    "FisheyeDistortion",
    "OpenCVDistortion",
    "PointCloud",
    "__version__",
    "cam_from_world_look_at",
    "compose_poses",
    "convert_pixels",
    "convert_points",
    "convert_pose",
    "distort_image",
    "fov_from_intrinsics",
    "in_image",
    "intrinsics_from_focal_length",
    "intrinsics_from_fov",
    "invert_pose",
    "load",
    "points_from_depth",
    "principal_point_from_shift",
    "project_points",
    "read_depth",
    "reproject_points",
    "synthesisai_fisheye_camera",
    "transform_points",
    "undistort_image",
    "unproject_points",
    "verify",
    "verify_dataset",
    "warp_image",
}


def test_all_is_the_short_list_and_every_name_resolves() -> None:
    assert set(camgeom.__all__) == SHORT_LIST
    assert len(camgeom.__all__) == len(SHORT_LIST)
    for name in camgeom.__all__:
        assert getattr(camgeom, name) is not None
    assert sorted(dir(camgeom)) == sorted(SHORT_LIST)


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("FormatError", "camgeom.errors"),
        ("Report", "camgeom.verification"),
        ("Frame", "camgeom.datasets"),
        ("read_exr", "camgeom.io"),
        ("draw_landmarks", "camgeom.drawing"),
    ],
)
def test_other_names_live_in_their_modules(name: str, home: str) -> None:
    import importlib

    assert not hasattr(camgeom, name) or name in camgeom.__dict__
    with pytest.raises(AttributeError, match=home.replace(".", r"\.")):
        getattr(camgeom, name)
    assert getattr(importlib.import_module(home), name) is not None


def test_verify_is_a_function_and_verification_the_module() -> None:
    import camgeom.verification

    assert callable(camgeom.verify) and camgeom.verify is camgeom.verification.verify
    assert camgeom.verification.__name__ == "camgeom.verification"
    with pytest.raises(ModuleNotFoundError):
        __import__("camgeom.verify")


def test_errors_are_camgeom_errors() -> None:
    import camgeom.errors as errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), camgeom.CamgeomError)


def test_import_loads_no_readers_and_no_verifier() -> None:
    code = (
        "import sys, camgeom; "
        "bad = [m for m in ('camgeom.datasets', 'camgeom.verification', 'camgeom.io', 'camgeom.demo')"
        " if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
