"""Commit a frame's outputs together: staged under temporary names, moved in one step.

A worker writes each output of a frame to a temporary name in its final folder
(``.<name>.tmp.<token><ext>``, the extension kept for writers that choose a
format from it) and hands back the list, with each file's size and whether its
final path existed then (:meth:`FrameOutputs.checked`). The main process asks
the manifest who owns every final path of a batch (one query) and then

1. records the frame as ``committing`` with its final paths (so that a rerun
   knows those paths are camgeom's, whatever happens next),
2. moves each temporary file onto its final name (``os.replace``),
3. removes outputs the frame made earlier and no longer makes, and records it ``ok``.

A run killed at any point leaves only complete files under final names, a
frame that is either ``ok`` with all its outputs or not ``ok`` (and redone by
the next run), and temporary files that :func:`clean_orphans` removes.

A final path that exists and that camgeom did not write is a user's file: it
is kept and the frame fails with :class:`~camgeom.errors.OutputExistsError`
unless ``overwrite`` is set. A final path the manifest gives to another frame
(two frames mapped to one name) fails the frame in every case, whether or not
its file still exists.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from camgeom.errors import InvalidValueError
from camgeom.jobs.lock import STATE_DIR
from camgeom.jobs.manifest import FrameRow, Manifest

__all__ = [
    "FrameOutputs",
    "JobOutputs",
    "StagedFrame",
    "clean_orphans",
    "commit_frames",
    "is_temp_name",
    "temp_name",
]

# Our temporary names: staged outputs, and camgeom.io.atomic_output's.
_STAGED = re.compile(r"\..+\.tmp\.[0-9a-f]{12}(\.[A-Za-z0-9]{1,16})?")
_ATOMIC = re.compile(r"\..+\.[0-9a-f]{12}\.tmp(\.[^./]{1,16})?")
_EXT = re.compile(r"\.[A-Za-z0-9]{1,16}")
#: Bytes a temporary name adds to its final name: "." + ".tmp." + 12 hex + extension.
TEMP_NAME_EXTRA = 1 + 5 + 12 + 17


def temp_name(final_name: str) -> str:
    """A fresh temporary name for ``final_name``, in the same folder.

    Examples
    --------
    >>> name = temp_name("0.overlay.png")
    >>> name.startswith(".0.overlay.png.tmp."), name.endswith(".png"), is_temp_name(name)
    (True, True, True)
    """
    ext = os.path.splitext(final_name)[1]
    if not _EXT.fullmatch(ext):
        ext = ""
    return f".{final_name}.tmp.{secrets.token_hex(6)}{ext}"


def is_temp_name(name: str) -> bool:
    """True for a temporary file name made by camgeom (staged output or atomic write).

    Examples
    --------
    >>> is_temp_name(".cloud.0123456789ab.tmp.ply"), is_temp_name("cloud.ply")
    (True, False)
    """
    return bool(_STAGED.fullmatch(name) or _ATOMIC.fullmatch(name))


def clean_orphans(out_dir: str | os.PathLike[str]) -> int:
    """Remove camgeom's temporary files left in ``out_dir`` by killed runs.

    Only names of the two temporary patterns (see :func:`is_temp_name`) are
    removed; ``.camgeom`` and symbolic links to folders are not entered. Call
    it while holding the folder's :class:`~camgeom.jobs.RunLock`.

    Returns
    -------
    int
        How many files were removed.
    """
    removed = 0
    pending = [os.fspath(out_dir)]
    while pending:
        folder = pending.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            try:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if not (folder == os.fspath(out_dir) and entry.name == STATE_DIR):
                                pending.append(entry.path)
                        elif entry.name.startswith(".") and is_temp_name(entry.name):
                            os.unlink(entry.path)
                            removed += 1
                    except OSError:  # gone meanwhile, or not ours to read or remove
                        continue
            except OSError:  # the folder could not be read to its end
                continue
    return removed


# ----------------------------------------------------------------------------- staging


class _Staging:
    """Temporary paths handed to a writer, by final path relative to the output folder."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self._root = os.fspath(out_dir)
        self._staged: dict[str, str] = {}
        self._folder = ""

    @property
    def out_dir(self) -> Path:
        """The output folder."""
        return Path(self._root)

    def _stage(self, rel: str) -> Path:
        temp = self._staged.get(rel)
        if temp is None:
            folder, name = os.path.split(os.path.join(self._root, rel))
            if folder != self._folder:  # the outputs of a frame share a folder: check it once
                os.makedirs(folder, exist_ok=True)
                self._folder = folder
            temp = os.path.join(folder, temp_name(name))
            self._staged[rel] = temp
        return Path(temp)

    def staged(self) -> tuple[tuple[str, str], ...]:
        """``(final path relative to the output folder, temporary path)`` of files written."""
        return self.checked()[0]

    def checked(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[int, bool], ...]]:
        """:meth:`staged`, and for each file its size and whether its final path exists now.

        A worker calls this once its frame is written, so that the commit in the
        main process needs neither a ``stat`` of each temporary file nor a look
        at each final path that did not exist (see :class:`StagedFrame`).
        """
        staged: list[tuple[str, str]] = []
        checks: list[tuple[int, bool]] = []
        for rel, temp in self._staged.items():
            try:
                size = os.stat(temp).st_size
            except OSError:
                continue
            staged.append((rel, temp))
            checks.append((size, os.path.lexists(os.path.join(self._root, rel))))
        return tuple(staged), tuple(checks)

    def discard(self) -> None:
        """Remove every temporary file written so far."""
        for temp in self._staged.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        self._staged.clear()


class FrameOutputs(_Staging):
    """Where one frame writes its outputs (handed to :meth:`camgeom.jobs.Job.run`).

    Parameters
    ----------
    out_dir : str or os.PathLike
        The output folder.
    frame_id : str
    stem : str
        The frame's output stem (:func:`camgeom.jobs.output_stem`).
    suffixes : collection of str
        The suffixes the job declared; :meth:`path` accepts only these.

    Examples
    --------
    >>> import tempfile
    >>> out = FrameOutputs(tempfile.mkdtemp(), "sai.v2/0", "sai.v2/0", {".overlay.png"})
    >>> tmp = out.path(".overlay.png")
    >>> _ = tmp.write_bytes(b"png")
    >>> [rel for rel, _ in out.staged()]
    ['sai.v2/0.overlay.png']
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        frame_id: str,
        stem: str,
        suffixes: Sequence[str] | frozenset[str] | set[str],
    ) -> None:
        super().__init__(out_dir)
        self.frame_id = frame_id
        self.stem = stem
        self._suffixes = frozenset(suffixes)

    @property
    def final_stem(self) -> Path:
        """The absolute stem the outputs will have (for messages; write to :meth:`path`)."""
        return Path(self._root, self.stem)

    def path(self, suffix: str) -> Path:
        """The temporary path to write the output ``stem + suffix`` to.

        The file becomes ``<out>/<stem><suffix>`` when the frame is committed;
        an output that is never written is simply not part of the frame.
        """
        if suffix not in self._suffixes:
            raise InvalidValueError(
                f"Expected `suffix` to be one of the job's suffixes {sorted(self._suffixes)!r}, "
                f"got {suffix!r}."
            )
        return self._stage(self.stem + suffix)


class JobOutputs(_Staging):
    """Where a job writes its job-level outputs (a dataset report), by relative name.

    Examples
    --------
    >>> import tempfile
    >>> out = JobOutputs(tempfile.mkdtemp())
    >>> out.path("report.json").name.startswith(".report.json.tmp.")
    True
    """

    def path(self, name: str) -> Path:
        """The temporary path to write output ``name`` (``/``-separated, relative) to."""
        parts = name.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts) or "\\" in name:
            raise InvalidValueError(
                f"Expected `name` to be a relative path of visible names, got {name!r}."
            )
        if len(parts[-1].encode("utf-8", "surrogateescape")) > 255 - TEMP_NAME_EXTRA:
            raise InvalidValueError(f"Expected `name` to be a short file name, got {name!r}.")
        return self._stage(name)


# ----------------------------------------------------------------------------- commit


@dataclass(frozen=True)
class StagedFrame:
    """A frame back from its worker, before commit.

    Parameters
    ----------
    row : FrameRow
        Key, stem, options hash, fingerprint, run position, result, warnings and
        duration (its ``outputs`` are filled in by the commit).
    staged : tuple of (str, str)
        ``(final path relative to the output folder, temporary path)``.
    error : (str, str, str) or None
        ``(type name, message, traceback)`` when the frame failed in the worker.
    checked : tuple of (int, bool), optional
        For each staged file, its size and whether its final path existed once
        the worker had written it (:meth:`FrameOutputs.checked`); None: the
        commit looks itself. A final path is checked again at commit only when
        it existed then; who owns each path is always asked of the manifest.
    """

    row: FrameRow
    staged: tuple[tuple[str, str], ...] = ()
    error: tuple[str, str, str] | None = None
    checked: tuple[tuple[int, bool], ...] | None = None


def commit_frames(
    manifest: Manifest, frames: Sequence[StagedFrame], *, overwrite: bool = False
) -> list[FrameRow]:
    """Commit a batch of frames (see the module docstring); return their final rows.

    Parameters
    ----------
    manifest : Manifest
        The output folder's manifest (its folder is the output folder).
    frames : sequence of StagedFrame
    overwrite : bool, keyword-only
        Replace existing files that camgeom did not write.

    Returns
    -------
    list of FrameRow
        In the order of ``frames``; ``state`` is ``"ok"`` or ``"failed"``.
    """
    root = os.fspath(manifest.out_dir)
    final: list[FrameRow | None] = [None] * len(frames)
    # Final paths that exist already (as the worker saw them, else looked up now), and
    # who owns each final path of the batch: one query.
    existing: set[str] = set()
    paths: list[str] = []
    for frame in frames:
        if frame.error is not None:
            continue
        checked = _worker_checks(frame)
        if checked is not None:
            existing.update(
                rel for (rel, _), (_, ex) in zip(frame.staged, checked, strict=True) if ex
            )
        else:
            existing.update(
                rel for rel, _ in frame.staged if os.path.lexists(os.path.join(root, rel))
            )
        paths.extend(rel for rel, _ in frame.staged)
    owners = manifest.owners(paths) if paths else {}
    ready: list[tuple[int, FrameRow, StagedFrame]] = []
    failed: list[tuple[int, StagedFrame, tuple[str, str, str]]] = []
    for i, frame in enumerate(frames):
        problem = frame.error or _check_targets(frame, existing, owners, root, overwrite)
        if problem is not None:
            failed.append((i, frame, problem))
            continue
        checked = _worker_checks(frame)
        try:
            if checked is not None:
                sizes = [size for size, _ in checked]
            else:
                sizes = [os.stat(temp).st_size for _, temp in frame.staged]
        except OSError as exc:
            failed.append((i, frame, (type(exc).__name__, f"staged output vanished: {exc}", "")))
            continue
        outputs = tuple((rel, size) for (rel, _), size in zip(frame.staged, sizes, strict=True))
        ready.append((i, frame.row.evolve(outputs=outputs), frame))
    for _, frame, _ in failed:
        _discard(frame)

    manifest.begin_commit([row for _, row, _ in ready])
    done: list[tuple[int, FrameRow]] = []
    for i, row, frame in ready:
        try:
            for rel, temp in frame.staged:
                os.replace(temp, os.path.join(root, rel))
        except OSError as exc:
            _discard(frame)
            failed.append((i, frame, (type(exc).__name__, f"cannot move output: {exc}", "")))
            continue
        done.append((i, row))
    # Outputs these frames made before and no longer make.
    owned = manifest.owned_by_frames([(row.job, row.frame_id) for _, row in done])
    released = []
    for _, row in done:
        keep = {rel for rel, _ in row.outputs}
        for rel in owned.get((row.job, row.frame_id), ()):
            if rel not in keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(root, rel))
                released.append(rel)
    manifest.mark_ok([row for _, row in done], released=released)
    for i, row in done:
        final[i] = row.evolve(state="ok")

    failed_rows = []
    for i, frame, (etype, message, tb) in failed:
        row = frame.row.evolve(
            outputs=_outputs_after_failure(manifest, frame.row),
            error_type=etype,
            error_message=message,
            traceback=tb or None,
        )
        failed_rows.append(row)
        final[i] = row.evolve(state="failed")
    manifest.mark_failed(failed_rows)
    return [row for row in final if row is not None]


def _worker_checks(frame: StagedFrame) -> tuple[tuple[int, bool], ...] | None:
    """The worker's ``(size, final path existed)`` of each staged file; None: look now."""
    checked = frame.checked
    return checked if checked is not None and len(checked) == len(frame.staged) else None


def _check_targets(
    frame: StagedFrame,
    existing: set[str],
    owners: dict[str, tuple[str, str]],
    root: str,
    overwrite: bool,
) -> tuple[str, str, str] | None:
    key = (frame.row.job, frame.row.frame_id)
    for rel, _ in frame.staged:
        owner = owners.get(rel)
        if owner is None and rel not in existing:
            continue
        if owner is None:
            if overwrite:
                continue
            return (
                "OutputExistsError",
                f"{os.path.join(root, rel)} exists and was not written by camgeom; "
                "pass --overwrite to replace it",
                "",
            )
        if owner != key:
            other = owner[1] or f"the {owner[0]} job's own output"
            return (
                "OutputExistsError",
                f"output {rel} is also the output of {other!r}: two frames map to one "
                "file name (output names must be unique; please report this)",
                "",
            )
    return None


def _outputs_after_failure(manifest: Manifest, row: FrameRow) -> tuple[tuple[str, int], ...]:
    """What a failed frame keeps: earlier outputs, unless they came from other options or inputs."""
    previous = manifest.get(row.job, row.frame_id)
    owned = manifest.owned_by(row.job, row.frame_id)
    out = manifest.out_dir
    stale = previous is None or (
        previous.options_hash != row.options_hash or previous.inputs != row.inputs
    )
    if stale:
        for rel in owned:
            (out / rel).unlink(missing_ok=True)
        return ()
    kept = []
    for rel in owned:
        try:
            kept.append((rel, os.stat(out / rel).st_size))
        except OSError:
            continue
    return tuple(kept)


def _discard(frame: StagedFrame) -> None:
    for _, temp in frame.staged:
        Path(temp).unlink(missing_ok=True)
