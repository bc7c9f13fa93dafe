"""Shared test set-up: hypothesis profile and the vendor fixtures folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "camgeom",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    parent=settings.get_profile("camgeom"),
    max_examples=600,
)
"""10x the examples of the default profile: ``pytest --hypothesis-profile=long``."""
settings.load_profile("camgeom")

ROOT = Path(__file__).resolve().parents[1]


def fixtures_root() -> Path:
    """The vendor fixtures folder: $CAMGEOM_FIXTURES or ../shared/fixtures."""
    env = os.environ.get("CAMGEOM_FIXTURES")
    return Path(env) if env else (ROOT.parent / "shared" / "fixtures")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """Path of the vendor fixtures; skips (or fails under CI=true) when absent."""
    root = fixtures_root()
    if not root.is_dir():
        msg = (
            f"vendor fixtures not found at {root}; set CAMGEOM_FIXTURES to the folder "
            "holding datagen/ and synthesisai/"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI=true: a missing fixtures folder is an error)")
        pytest.skip(msg)
    return root
