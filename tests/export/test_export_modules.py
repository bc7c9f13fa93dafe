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
