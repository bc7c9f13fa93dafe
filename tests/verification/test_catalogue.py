"""The check catalogue covers every check verify emits, and reads its tolerances from the code."""

from __future__ import annotations

from pathlib import Path

import pytest

import camgeom
from camgeom.demo import make_demo_dataset
from camgeom.errors import CamgeomError
from camgeom.verification import tolerances
from camgeom.verification.catalogue import CATALOGUE, catalogue_markdown, entry_for


def emitted_names(root: Path) -> set[str]:
    """Every check name that verify (with the depth checks) reports on a dataset's frames."""
    ds = camgeom.load(root)
    return {c.name for i in range(len(ds)) for c in camgeom.verify(ds[i]).checks}


@pytest.fixture(scope="module")
def demo_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    paths = make_demo_dataset(tmp_path_factory.mktemp("catalogue") / "demo")
    return emitted_names(paths.synthesisai) | emitted_names(paths.datagen)


def test_demo_checks_are_catalogued(demo_names: set[str]) -> None:
    assert "landmarks.reprojection.ibug68" in demo_names
    missing = sorted(n for n in demo_names if not any(e.matches(n) for e in CATALOGUE))
    assert not missing


@pytest.mark.fixtures
def test_fixture_checks_are_catalogued(fixtures: Path) -> None:
    names: set[str] = set()
    for vendor in sorted(p for p in fixtures.iterdir() if p.is_dir()):
        names |= emitted_names(vendor)
    assert "intrinsics.stored_K_vs_camera" in names
    missing = sorted(n for n in names if not any(e.matches(n) for e in CATALOGUE))
    assert not missing


def test_an_uncatalogued_name_is_refused() -> None:
    with pytest.raises(CamgeomError, match="catalogued check name"):
        entry_for("pose.made_up")
    # a family matches one more part, not a deeper name or the bare prefix
    with pytest.raises(ValueError):
        entry_for("landmarks.reprojection.")
    with pytest.raises(ValueError):
        entry_for("landmarks.reprojection.ibug68.extra")
    assert entry_for("pose.rigid.world_from_cam").name == "pose.rigid.<group>"


def test_entries_are_unique_and_tolerances_exist() -> None:
    names = [e.name for e in CATALOGUE]
    assert len(names) == len(set(names))
    for e in CATALOGUE:
        assert e.severity.split()[0].rstrip(";") in {"error", "warning", "info"}, e.name
        if e.tolerance:
            assert hasattr(tolerances, e.tolerance), e.tolerance


def test_tolerance_text_follows_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tolerances, "TOL_PX", 0.25)
    assert entry_for("landmarks.reprojection.ibug68").tolerance_text == "TOL_PX = 0.25 px"
    assert "TOL_PX = 0.25 px" in catalogue_markdown()


def test_markdown_has_one_row_per_entry() -> None:
    rows = catalogue_markdown().splitlines()
    assert len(rows) == 2 + len(CATALOGUE)
    # a | inside a cell is escaped so the table keeps six columns
    square = next(r for r in rows if "`intrinsics.square_pixels`" in r)
    assert "\\|fx - fy\\|" in square
