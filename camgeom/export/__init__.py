"""Exports for 3D reconstruction: COLMAP sparse models and nerfstudio ``transforms.json``.

:mod:`camgeom.export.colmap` and :mod:`camgeom.export.nerfstudio` read and
write the file formats; :func:`export_colmap` and :func:`export_nerfstudio`
export a whole dataset as a resumable job (see ``docs/exports.md``).
"""

from typing import Any

from camgeom.export.colmap import ExportError

# The dataset jobs import the job engine and the readers: loaded on first use.
_LAZY = {
    "export_colmap": "camgeom.export.jobs",
    "export_nerfstudio": "camgeom.export.nerfstudio_job",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'camgeom.export' has no attribute {name!r}")


__all__ = ["ExportError", "export_colmap", "export_nerfstudio"]
