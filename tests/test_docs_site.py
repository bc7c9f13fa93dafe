"""The documentation site's generated sections come from the code (docs/hooks.py)."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest

from camgeom.cli import build_parser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def commands(parser: argparse.ArgumentParser, prefix: str = "camgeom") -> list[str]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, f"{prefix} {name}")
    return found


def test_cli_reference_has_every_command() -> None:
    text = load_hooks().on_page_markdown("# CLI\n\n<!-- generated: cli -->\n")
    names = commands(build_parser())
    assert len(names) > 4
    for name in names:
        assert f"`{name}`" in text, name
    assert "<!-- generated" not in text


def test_check_catalogue_section() -> None:
    text = load_hooks().on_page_markdown("<!-- generated: checks -->")
    assert "`landmarks.reprojection.<group>`" in text
    assert "TOL_PX = 0.001 px" in text


def test_unknown_section_stops_the_build() -> None:
    with pytest.raises(ValueError, match="generated section"):
        load_hooks().on_page_markdown("<!-- generated: nothing -->")


def test_pages_ask_for_their_sections() -> None:
    assert "<!-- generated: cli -->" in (DOCS / "cli.md").read_text()
    assert "<!-- generated: checks -->" in (DOCS / "checks.md").read_text()


def test_every_page_in_the_nav_exists() -> None:
    import re

    nav = (DOCS.parent / "mkdocs.yml").read_text().split("\nnav:\n", 1)[1]
    pages = re.findall(r":\s+(\S+\.(?:md|ipynb))\s*$", nav, re.MULTILINE)
    assert "checks.md" in pages
    missing = [p for p in pages if not (DOCS / p).exists()]
    assert not missing
