"""JSON and PNG output shared by the demo's writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["dump_json", "plain", "write_png", "xyz"]


def dump_json(obj: Any, path: Path, *, indent: int, newline: bool) -> None:
    """Write ``obj`` (numpy values allowed) as indented JSON, with or without a final newline."""
    text = json.dumps(plain(obj), indent=indent)
    path.write_text(text + ("\n" if newline else ""), encoding="utf-8")


def plain(obj: Any) -> Any:
    """numpy values -> JSON-ready Python values."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def xyz(p: np.ndarray) -> dict[str, float]:
    """A 3-vector as ``{"x": ..., "y": ..., "z": ...}``."""
    return {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])}


def write_png(path: Path, array: np.ndarray, **params: Any) -> None:
    """Write an image array as PNG (``params`` go to Pillow, e.g. ``dpi``)."""
    Image.fromarray(array).save(path, format="PNG", **params)
