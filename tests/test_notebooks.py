"""Every notebook in notebooks/ is executed from top to bottom, and any error cell fails."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def execute(nb: nbformat.NotebookNode, cwd: Path) -> list[str]:
    """Run every cell of ``nb`` (errors are recorded, not raised); return the error cells' text."""
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None and cell.source.strip():
            problems.append(f"cell {i} did not run")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i}: {out.ename}: {out.evalue}")
    return problems


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


def test_an_error_cell_is_reported(tmp_path: Path) -> None:
    # the check below must be able to fail: a notebook whose second cell raises
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('boom')"),
        nbformat.v4.new_code_cell("y = x + 1"),
    ]
    problems = execute(nb, tmp_path)
    assert problems == ["cell 1: ValueError: boom"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    problems = execute(nb, tmp_path)
    assert not problems, f"{path.name}: " + "; ".join(problems)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "no cell printed anything"
    )
