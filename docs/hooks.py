"""MkDocs hooks: sections of the site generated from the code at build time.

A page asks for a generated section with a marker comment on its own line:

``<!-- generated: cli -->``
    the help of ``camgeom`` and of each subcommand, from
    :func:`camgeom.cli.build_parser`;
``<!-- generated: checks -->``
    the ``verify`` check catalogue, from
    :func:`camgeom.verification.catalogue.catalogue_markdown`.

An unknown marker stops the build, so a page cannot ask for a section that
does not exist.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)


def cli_markdown() -> str:
    """The command-line reference: ``--help`` of the program and of every subcommand."""
    from camgeom.cli import build_parser

    os.environ.setdefault("COLUMNS", "100")
    parts: list[str] = []

    def add(parser: argparse.ArgumentParser, command: str, level: int) -> None:
        parts.extend([f"{'#' * level} `{command}`", "", "```text", parser.format_help().rstrip()])
        parts.extend(["```", ""])
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    add(sub, f"{command} {name}", min(level + 1, 4))

    add(build_parser(), "camgeom", 2)
    return "\n".join(parts)


def checks_markdown() -> str:
    """The ``verify`` check catalogue table."""
    from camgeom.verification.catalogue import catalogue_markdown

    return catalogue_markdown()


SECTIONS = {"cli": cli_markdown, "checks": checks_markdown}


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace each generation marker with its section."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in SECTIONS:
            raise ValueError(f"Expected a generated section in {sorted(SECTIONS)}, got {name!r}.")
        return SECTIONS[name]()

    return MARKER.sub(replace, markdown)
