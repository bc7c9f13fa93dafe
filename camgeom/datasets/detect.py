"""Find the vendor and layout of a file or folder and list its frames: :func:`load`.

Only file names are looked at (folders are listed, nothing is parsed) except for
GeoGen ``metadata.json`` files, which are small and must be parsed to count their
views. Frames are parsed when accessed.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from camgeom.datasets import colmap, datagen, facesynthetics, geogen, nerfstudio, synthesisai
from camgeom.datasets._common import natural_key, relative_id
from camgeom.datasets._json import load_json
from camgeom.datasets.dataset import Dataset, SourceList
from camgeom.datasets.frame import FrameSource
from camgeom.errors import FormatError

__all__ = ["MAX_DEPTH", "load"]

MAX_DEPTH = 6
"""How many folder levels below the given folder are searched for datasets."""

LOOKED_FOR = (
    "Synthesis AI N.info.json files (or metadata.jsonl); Datagen camera folders "
    "(camera_metadata.json) in datapoint_*, environment_* or scene_*/frames/* folders; "
    "FaceSynthetics {id}_ldmks.txt files; a GeoGen metadata.json with a 'cameras' key; "
    "a COLMAP model (cameras.txt / cameras.bin, or sparse/*/); a nerfstudio transforms.json"
)
_RENDER_FILE = re.compile(r"^(\d+)\.(.+)$")
_DATAPOINT_FILES = (
    "actor_metadata.json",
    "datapoint_request.json",
    "lights_metadata.json",
    "semantic_segmentation_metadata.json",
)


def load(path: str | os.PathLike[str], *, allow_outside_root: bool = False) -> Dataset:
    """Open a synthetic-human dataset, a part of one, or one frame's file.

    Accepted: one render's ``N.info.json`` or any ``N.*`` file beside it, a
    Synthesis AI job folder (or its ``metadata.jsonl``); one Datagen camera folder
    or any file in it, a datapoint / ``environment_NNNNN`` folder, a whole dataset
    folder, an HIC ``scene_NNNNN`` or ``frames/NNN`` folder; a FaceSynthetics
    folder, ``{id}_ldmks.txt`` or ``{id}.png``; a GeoGen ``metadata.json`` (assumed
    layout, see :mod:`camgeom.datasets.geogen`). A folder that is none of these is
    searched up to :data:`MAX_DEPTH` levels down and everything found is combined.

    Parameters
    ----------
    path : path-like
    allow_outside_root : bool
        Let metadata name files outside the dataset root (after resolving
        symbolic links), e.g. a GeoGen ``image`` of ``../../other/0.png`` or an
        absolute path. By default such a frame fails with a
        :class:`~camgeom.errors.FormatError` naming the file and the key.

    Returns
    -------
    Dataset
        Lazy: frames are parsed when accessed.

    Raises
    ------
    FormatError
        No known layout at ``path``; the message names the path and what was
        looked for.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "7_ldmks.txt").write_text("1 2\\n" * 70)
    >>> ds = load(folder)
    >>> len(ds), ds.vendors, ds[0].landmarks["ibug68"].pixels[0]
    (1, ('facesynthetics',), array([1., 2.]))
    """
    p = Path(path).absolute()  # ids and roots need the parents of a relative path
    try:
        os.stat(p)
    except FileNotFoundError:
        raise FormatError(f"{p}: no such file or folder.") from None
    except OSError as exc:
        raise FormatError(f"{p}: cannot be read ({exc.strerror or exc}).") from None
    if os.path.isfile(p):
        sources, root = _from_file(p, allow_outside_root)
    else:
        root = _dir_root(p)
        sources = SourceList()
        _from_dir(p, root, 0, set(), allow_outside_root, sources)
        if not sources:
            raise FormatError(
                f"{p}: no dataset found. Looked for (up to {MAX_DEPTH} folder levels down): "
                f"{LOOKED_FOR}."
            )
    return Dataset(sources, root=root, description=str(p))


def _dir_root(p: Path) -> Path:
    """Root for frame ids: a Datagen camera folder is named from its datapoint / HIC scene."""
    if os.path.isfile(p / "camera_metadata.json"):
        return _camera_root(p)
    return p


def _camera_root(cam_dir: Path) -> Path:
    """The folder frame ids of a Datagen camera folder are relative to."""
    up = 3 if cam_dir.parent.parent.name == "frames" else 1
    return cam_dir.parents[min(up, len(cam_dir.parents) - 1)]


# ------------------------------------------------------------------ files
def _from_file(p: Path, allow: bool) -> tuple[Sequence[FrameSource], Path]:
    name, folder = p.name, p.parent
    if name == nerfstudio.FILE_NAME:
        return nerfstudio.sources_for(p), folder
    if colmap.is_model_dir(folder) and name.split(".")[0] in ("cameras", "images", "points3D"):
        return colmap.sources_for(folder), folder
    if name.endswith(synthesisai.INFO_SUFFIX):
        return [_synthesis_one(p, folder)], folder
    if name == "metadata.jsonl":
        return _require(_synthesis_dir(folder, folder, _listing(folder)), p), folder
    match = _RENDER_FILE.match(name)
    if match and os.path.isfile(folder / f"{match.group(1)}{synthesisai.INFO_SUFFIX}"):
        return [
            _synthesis_one(folder / f"{match.group(1)}{synthesisai.INFO_SUFFIX}", folder)
        ], folder
    for cam_dir in (folder, folder.parent):
        if os.path.isfile(cam_dir / "camera_metadata.json"):
            root = _camera_root(cam_dir)
            return _datagen_camera(cam_dir, root, _listing(cam_dir)), root
    if name in _DATAPOINT_FILES:
        found = SourceList()
        _from_dir(folder, folder.parent, MAX_DEPTH - 1, set(), allow, found)
        return _require(found, p), folder.parent
    if name.endswith(facesynthetics.LDMKS_SUFFIX):
        return [facesynthetics.source_for(p, folder)], folder
    if p.suffix.lower() == ".png":
        stem = name[: -len("_seg.png")] if name.endswith("_seg.png") else p.stem
        ldmks = folder / f"{stem}{facesynthetics.LDMKS_SUFFIX}"
        if os.path.isfile(ldmks):
            return [facesynthetics.source_for(ldmks, folder)], folder
    if p.suffix.lower() == ".json":
        doc = load_json(p)
        if geogen.is_geogen_metadata(doc):
            return list(geogen.sources_for(p, folder, allow_outside_root=allow)), folder
    raise FormatError(f"{p}: not a file of a known dataset layout. Looked for: {LOOKED_FOR}.")


def _require(sources: Sequence[FrameSource], p: Path) -> Sequence[FrameSource]:
    if not sources:
        raise FormatError(f"{p}: no frames found beside this file. Looked for: {LOOKED_FOR}.")
    return sources


def _listing(folder: Path) -> dict[str, bool]:
    """name -> is_dir for the entries of ``folder`` (hidden entries skipped)."""
    out: dict[str, bool] = {}
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                try:
                    out[entry.name] = entry.is_dir()
                except OSError:
                    continue
    except OSError:
        return {}
    return out


def _synthesis_one(info: Path, root: Path) -> FrameSource:
    try:
        names = [n for n in os.listdir(info.parent) if not n.startswith(".")]
    except OSError:
        names = []
    jsonl = (
        synthesisai.MetadataJsonl(info.parent / "metadata.jsonl")
        if "metadata.jsonl" in names
        else None
    )
    stem = info.name[: -len(synthesisai.INFO_SUFFIX)]
    siblings = _render_siblings(names, [stem])[stem]
    return synthesisai.source_for(info, root, jsonl=jsonl, siblings=siblings)


# ------------------------------------------------------------------ folders
def _from_dir(
    folder: Path, root: Path, depth: int, seen: set[Any], allow: bool, out: SourceList
) -> None:
    """Append the frames in ``folder`` and below to ``out``; ``seen``: folders walked (device, inode).

    A folder reached again through a symbolic link (a link to ``.`` or to a
    parent) is walked once, so a link loop neither multiplies frames nor recurses.
    """
    try:
        st = os.stat(folder)
        real: Any = (st.st_dev, st.st_ino)  # one system call; realpath walks every component
    except OSError:
        real = os.path.realpath(folder)
    if real in seen:
        return
    seen.add(real)
    out._extend(_frames_here(folder, root, depth, seen, allow, out))


def _frames_here(
    folder: Path, root: Path, depth: int, seen: set[Any], allow: bool, out: SourceList
) -> list[FrameSource]:
    """The frames of ``folder`` itself; subfolders are walked into ``out`` (then ``[]``)."""
    names = _listing(folder)
    if "camera_metadata.json" in names:
        return _datagen_camera(folder, root, names)
    if nerfstudio.FILE_NAME in names and not names[nerfstudio.FILE_NAME]:
        return nerfstudio.sources_for(folder / nerfstudio.FILE_NAME)
    if any(n in names and not names[n] for n in colmap.MODEL_FILES):
        return colmap.sources_for(folder)
    if names.get("sparse") and (models := _colmap_models(folder / "sparse")):
        return models
    if any(n.endswith(synthesisai.INFO_SUFFIX) for n in names):
        return _synthesis_dir(folder, root, names)
    if any(n.endswith(facesynthetics.LDMKS_SUFFIX) for n in names):
        return [
            facesynthetics.source_for(folder / n, root)
            for n in sorted(names, key=natural_key)
            if n.endswith(facesynthetics.LDMKS_SUFFIX)
        ]
    if "metadata.json" in names and not names["metadata.json"]:
        doc = load_json(folder / "metadata.json")
        if geogen.is_geogen_metadata(doc):
            return list(
                geogen.sources_for(folder / "metadata.json", root, allow_outside_root=allow)
            )
    subdirs = [n for n in sorted(names, key=natural_key) if names[n]]
    # a datapoint / environment / HIC frames/NNN folder: camera folders one level down
    # os.path.isfile: a folder that cannot be read holds no camera (Path.is_file raises)
    cams = [n for n in subdirs if os.path.isfile(folder / n / "camera_metadata.json")]
    if cams:
        for n in cams:
            out._extend(_datagen_camera(folder / n, root, _listing(folder / n)))
        return []
    if depth >= MAX_DEPTH:
        return []
    for n in subdirs:
        _from_dir(folder / n, root, depth + 1, seen, allow, out)
    return []


def _colmap_models(sparse: Path) -> list[FrameSource]:
    """Every COLMAP model in ``sparse/*/`` (a project, or a camgeom export)."""
    out: list[FrameSource] = []
    for n in sorted(os.listdir(sparse), key=natural_key):
        if not n.startswith(".") and colmap.is_model_dir(sparse / n):
            out.extend(colmap.sources_for(sparse / n))
    return out


def _synthesis_dir(folder: Path, root: Path, names: dict[str, bool]) -> list[FrameSource]:
    infos = sorted((n for n in names if n.endswith(synthesisai.INFO_SUFFIX)), key=natural_key)
    jsonl = (
        synthesisai.MetadataJsonl(folder / "metadata.jsonl") if "metadata.jsonl" in names else None
    )
    stems = [n[: -len(synthesisai.INFO_SUFFIX)] for n in infos]
    siblings = _render_siblings(names, stems)
    return [
        synthesisai.source_for(folder / n, root, jsonl=jsonl, siblings=siblings[stem])
        for n, stem in zip(infos, stems, strict=True)
    ]


def _render_siblings(names: Iterable[str], stems: Sequence[str]) -> dict[str, frozenset[str]]:
    """For each render stem, the folder's names that start with ``stem + "."``.

    A render's reader looks up only such names (``0.rgb.png``, ``0.dist.png`` ...),
    so each source carries its own few names rather than the whole folder's
    listing: a folder of N renders then costs O(N log N) to list, and a source
    stays small when it is pickled into a worker's task.
    """
    ordered = sorted(names)
    out: dict[str, frozenset[str]] = {}
    for stem in stems:
        # Names starting with "stem." sort from "stem." up to (not including) "stem/".
        lo = bisect.bisect_left(ordered, stem + ".")
        hi = bisect.bisect_left(ordered, stem + "/", lo)
        out[stem] = frozenset(ordered[lo:hi])
    return out


def _datagen_camera(cam_dir: Path, root: Path, names: dict[str, bool]) -> list[FrameSource]:
    base = relative_id(cam_dir, root)
    images = datagen.find_images(frozenset(names))
    if len(images) <= 1:
        return [datagen.source_for(cam_dir, base, root, images[0] if images else None)]
    return [datagen.source_for(cam_dir, f"{base}:{img}", root, img) for img in images]
