"""The manifest of an output folder: what each frame produced, from what, and how it ended.

One SQLite database per output folder, ``<out>/.camgeom/manifest.sqlite``,
written only by the main process of a run (the run lock guarantees a single
writer). Each write is one SQLite transaction, so a run killed at any point
leaves the manifest as it was before or after that write, never in between.

Tables
------
``frames``
    One row per (job, frame id): output stem, outputs (relative path and byte
    size), options hash, input fingerprint, state (``committing``, ``ok`` or
    ``failed``), the frame's result payload and warnings, error type, message
    and traceback, duration, timestamp, and the run and position that last saw it.
``options``
    Options hash -> canonical JSON of the options (stored once, not per frame).
``owned``
    Every output path camgeom wrote (or is about to write) and the frame it
    belongs to: a rerun may replace these, never any other file.
``jobs``
    The suffixes each job appends to output stems (checked for clashes).
``runs``
    One row per run: job, options, pid, start and end time, counts.

The database uses a rollback journal (no WAL: it needs shared memory, which
network file systems lack), ``synchronous=NORMAL``, and holds SQLite's file lock
while it is open (``locking_mode=EXCLUSIVE``): other processes can read it once
the run has ended.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from camgeom.errors import ManifestError
from camgeom.jobs.lock import STATE_DIR

__all__ = ["MANIFEST_NAME", "FrameRow", "Manifest", "ManifestError"]

#: File name of the manifest inside ``<out>/.camgeom``.
MANIFEST_NAME = "manifest.sqlite"
SCHEMA_VERSION = "1"
STATES = ("committing", "ok", "failed")
#: Seconds to wait for another process that holds the database (never camgeom: see RunLock).
BUSY_SECONDS = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS options (hash TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (name TEXT PRIMARY KEY, suffixes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, job TEXT NOT NULL, options_hash TEXT NOT NULL,
    pid INTEGER, started REAL NOT NULL, finished REAL, counts TEXT);
CREATE TABLE IF NOT EXISTS frames (
    job TEXT NOT NULL, frame_id TEXT NOT NULL, stem TEXT NOT NULL,
    outputs TEXT NOT NULL, options_hash TEXT NOT NULL, inputs TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('committing', 'ok', 'failed')),
    result TEXT, warnings TEXT, error_type TEXT, error_message TEXT, traceback TEXT,
    duration REAL, timestamp REAL NOT NULL, run INTEGER, seq INTEGER,
    PRIMARY KEY (job, frame_id));
CREATE INDEX IF NOT EXISTS frames_by_run ON frames (job, run, seq);
CREATE TABLE IF NOT EXISTS owned (
    path TEXT PRIMARY KEY, job TEXT NOT NULL, frame_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS owned_by_frame ON owned (job, frame_id);
"""

_COLUMNS = (
    "job, frame_id, stem, outputs, options_hash, inputs, state, result, warnings, "
    "error_type, error_message, traceback, duration, timestamp, run, seq"
)


@dataclass(frozen=True)
class FrameRow:
    """One frame's record in the manifest.

    Parameters
    ----------
    job, frame_id : str
        The key. ``frame_id`` is ``""`` for a job-level output (a dataset report).
    stem : str
        Output stem relative to the output folder (:func:`camgeom.jobs.output_stem`).
    options_hash : str
        SHA-256 of the canonical JSON of the options that shaped the outputs.
    inputs : str
        Canonical JSON fingerprint of the input files: ``[[path, size, mtime_ns], ...]``.
    outputs : tuple of (str, int)
        Output paths relative to the output folder (``/``-separated) and their sizes.
    state : {"committing", "ok", "failed"}
    result : str or None
        The frame's result payload as JSON text (fed to the job's ``reduce``).
    warnings : tuple of str
    error_type, error_message, traceback : str or None
        Why the frame failed.
    duration : float or None
        Seconds spent on the frame in the worker.
    timestamp : float
        When the row was written (seconds since the epoch).
    run, seq : int or None
        The last run that saw the frame and its position in that run.
    """

    job: str
    frame_id: str
    stem: str
    options_hash: str
    inputs: str
    outputs: tuple[tuple[str, int], ...] = ()
    state: str = "committing"
    result: str | None = None
    warnings: tuple[str, ...] = ()
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    duration: float | None = None
    timestamp: float = 0.0
    run: int | None = None
    seq: int | None = None

    def evolve(self, **changes: Any) -> FrameRow:
        """A copy with some fields changed (:func:`dataclasses.replace`, without its cost)."""
        new = object.__new__(FrameRow)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    @property
    def data(self) -> Any:
        """The result payload, parsed (``None`` when there is none)."""
        if self.result is None:
            return None
        try:
            return orjson.loads(self.result)
        except orjson.JSONDecodeError:  # NaN literals written by earlier versions
            return json.loads(self.result)


def _row(values: Sequence[Any]) -> FrameRow:
    (job, frame_id, stem, outputs, options_hash, inputs, state, result, warnings) = values[:9]
    return FrameRow(
        job=job,
        frame_id=frame_id,
        stem=stem,
        options_hash=options_hash,
        inputs=inputs,
        outputs=tuple((str(p), int(n)) for p, n in json.loads(outputs)),
        state=state,
        result=result,
        warnings=tuple(json.loads(warnings)) if warnings else (),
        error_type=values[9],
        error_message=values[10],
        traceback=values[11],
        duration=values[12],
        timestamp=values[13],
        run=values[14],
        seq=values[15],
    )


class Manifest:
    """The manifest database of one output folder; open with :meth:`open`.

    Examples
    --------
    >>> import tempfile
    >>> with Manifest.open(tempfile.mkdtemp()) as m:
    ...     m.begin_commit([FrameRow("demo", "a/0", "a/0", "h", "[]", (("a/0.txt", 2),))])
    ...     m.owner_of("a/0.txt"), m.get("demo", "a/0").state
    (('demo', 'a/0'), 'committing')
    """

    def __init__(self, out_dir: Path, connection: sqlite3.Connection) -> None:
        self.out_dir = out_dir
        self._db = connection
        self._known_options: set[str] = set()

    # ------------------------------------------------------------------ open / close
    @classmethod
    def open(cls, out_dir: str | os.PathLike[str], *, reset_damaged: bool = False) -> Manifest:
        """Open (or create) the manifest of ``out_dir``.

        Parameters
        ----------
        out_dir : str or os.PathLike
            The output folder; ``.camgeom`` is created inside it when missing.
        reset_damaged : bool, keyword-only
            A damaged manifest is moved aside (``manifest.sqlite.damaged-<time>``)
            and a new one started, instead of raising.

        Raises
        ------
        ManifestError
            The database is damaged (and ``reset_damaged`` is false) or was
            written by a newer camgeom.
        """
        out = Path(out_dir)
        state = out / STATE_DIR
        state.mkdir(parents=True, exist_ok=True)
        path = state / MANIFEST_NAME
        try:
            return cls(out, _connect(path))
        except sqlite3.OperationalError as exc:  # locked or unreadable: not damage
            raise ManifestError(f"Cannot open the manifest {path}: {exc}.") from None
        except sqlite3.DatabaseError as exc:
            if not reset_damaged:
                raise ManifestError(
                    f"The manifest {path} is damaged ({exc}). Pass --overwrite "
                    "(overwrite=True) to set it aside and redo every frame."
                ) from None
        aside = path.with_name(f"{MANIFEST_NAME}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        for extra in ("-journal", "-wal", "-shm"):
            Path(str(path) + extra).unlink(missing_ok=True)
        return cls(out, _connect(path))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ reading
    def get(self, job: str, frame_id: str) -> FrameRow | None:
        """The row of ``(job, frame_id)``, or None."""
        cur = self._db.execute(
            f"SELECT {_COLUMNS} FROM frames WHERE job = ? AND frame_id = ?", (job, frame_id)
        )
        values = cur.fetchone()
        return None if values is None else _row(values)

    def has_frames(self, job: str) -> bool:
        """True when the manifest has a row for a frame of ``job``."""
        cur = self._db.execute(
            "SELECT 1 FROM frames WHERE job = ? AND frame_id != '' LIMIT 1", (job,)
        )
        return cur.fetchone() is not None

    def is_done(self, job: str, frame_id: str, options_hash: str, fingerprint: str) -> bool:
        """True when the frame needs no work.

        That is: its state is ``ok``, it was made with the same options and from
        the same inputs, and every recorded output exists with its recorded size.
        """
        cur = self._db.execute(
            "SELECT state, options_hash, inputs, outputs FROM frames "
            "WHERE job = ? AND frame_id = ?",
            (job, frame_id),
        )
        values = cur.fetchone()
        if values is None:
            return False
        state, options, inputs, outputs = values
        if state != "ok" or options != options_hash or inputs != fingerprint:
            return False
        for rel, size in json.loads(outputs):
            try:
                if os.stat(os.path.join(self.out_dir, rel)).st_size != size:
                    return False
            except OSError:
                return False
        return True

    def owner_of(self, path: str) -> tuple[str, str] | None:
        """``(job, frame_id)`` that owns output ``path`` (relative, ``/``-separated), or None."""
        values = self._db.execute("SELECT job, frame_id FROM owned WHERE path = ?", (path,))
        found = values.fetchone()
        return None if found is None else (found[0], found[1])

    def owners(self, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Owner ``(job, frame_id)`` of each owned path among ``paths`` (one query)."""
        cur = self._db.execute(
            "SELECT path, job, frame_id FROM owned WHERE path IN (SELECT value FROM json_each(?))",
            (json.dumps(list(paths), ensure_ascii=False),),
        )
        return {path: (job, frame_id) for path, job, frame_id in cur}

    def owned_by_frames(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """The output paths owned by each ``(job, frame_id)`` of ``keys`` (one query)."""
        if not keys:
            return {}
        cur = self._db.execute(
            "SELECT o.job, o.frame_id, o.path FROM json_each(?) AS k JOIN owned AS o "
            "ON o.job = json_extract(k.value, '$[0]') AND o.frame_id = json_extract(k.value, '$[1]') "
            "ORDER BY o.path",
            (json.dumps([list(k) for k in keys], ensure_ascii=False),),
        )
        found: dict[tuple[str, str], list[str]] = {}
        for job, frame_id, path in cur:
            found.setdefault((job, frame_id), []).append(path)
        return found

    def owned_by(self, job: str, frame_id: str) -> list[str]:
        """The output paths owned by one frame."""
        cur = self._db.execute(
            "SELECT path FROM owned WHERE job = ? AND frame_id = ? ORDER BY path", (job, frame_id)
        )
        return [p for (p,) in cur]

    def owned_paths(self) -> Iterator[str]:
        """Every path camgeom wrote (or was writing) in this folder, streamed."""
        for (path,) in self._db.execute("SELECT path FROM owned ORDER BY path"):
            yield path

    def rows(self, job: str | None = None) -> Iterator[FrameRow]:
        """Every frame row (of one job, if given), streamed in key order."""
        if job is None:
            cur = self._db.execute(f"SELECT {_COLUMNS} FROM frames ORDER BY job, frame_id")
        else:
            cur = self._db.execute(
                f"SELECT {_COLUMNS} FROM frames WHERE job = ? ORDER BY frame_id", (job,)
            )
        for values in cur:
            yield _row(values)

    def run_rows(self, job: str, run: int) -> Iterator[FrameRow]:
        """The frame rows one run saw (done, kept or failed), in the run's order."""
        cur = self._db.execute(
            f"SELECT {_COLUMNS} FROM frames WHERE job = ? AND run = ? AND frame_id != '' "
            "ORDER BY seq",
            (job, run),
        )
        for values in cur:
            yield _row(values)

    def frame_id_for_stem(self, stem: str, job: str | None = None) -> str | None:
        """The frame id recorded with an output stem (for shortened stems), or None."""
        if job is None:
            cur = self._db.execute("SELECT frame_id FROM frames WHERE stem = ? LIMIT 1", (stem,))
        else:
            cur = self._db.execute(
                "SELECT frame_id FROM frames WHERE stem = ? AND job = ? LIMIT 1", (stem, job)
            )
        found = cur.fetchone()
        return None if found is None else str(found[0])

    def options_json(self, options_hash: str) -> str | None:
        """The canonical JSON of the options with this hash, or None."""
        cur = self._db.execute("SELECT json FROM options WHERE hash = ?", (options_hash,))
        found = cur.fetchone()
        return None if found is None else str(found[0])

    def last_run_finished(self) -> bool:
        """True when the folder's last run ended normally (False too when there was none).

        A run that did not finish (killed, or a worker died) may have left
        temporary files behind.
        """
        found = self._db.execute("SELECT finished FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return found is not None and found[0] is not None

    def job_suffixes(self) -> dict[str, tuple[str, ...]]:
        """Job name -> the suffixes it appends to output stems in this folder."""
        cur = self._db.execute("SELECT name, suffixes FROM jobs ORDER BY name")
        return {name: tuple(json.loads(s)) for name, s in cur}

    # ------------------------------------------------------------------ writing
    def register_job(self, job: str, suffixes: Iterable[str]) -> None:
        """Record the suffixes of ``job``."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO jobs (name, suffixes) VALUES (?, ?)",
                (job, json.dumps(sorted(suffixes))),
            )

    def add_options(self, options_hash: str, options_json: str) -> None:
        """Store the canonical JSON of a set of options (once per hash)."""
        if options_hash in self._known_options:
            return
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO options (hash, json) VALUES (?, ?)",
                (options_hash, options_json),
            )
        self._known_options.add(options_hash)

    def start_run(self, job: str, options_hash: str) -> int:
        """Record the start of a run; return its id."""
        with self._transaction():
            cur = self._db.execute(
                "INSERT INTO runs (job, options_hash, pid, started) VALUES (?, ?, ?, ?)",
                (job, options_hash, os.getpid(), time.time()),
            )
        return int(cur.lastrowid or 0)

    def finish_run(self, run: int, counts: dict[str, int]) -> None:
        """Record the end of a run and its counts."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET finished = ?, counts = ? WHERE id = ?",
                (time.time(), json.dumps(counts, sort_keys=True), run),
            )

    def mark_seen(self, job: str, run: int, seen: Sequence[tuple[str, int]]) -> None:
        """Record that kept frames ``(frame_id, seq)`` belong to ``run`` (for its report)."""
        if not seen:
            return
        with self._transaction():
            self._db.executemany(
                "UPDATE frames SET run = ?, seq = ? WHERE job = ? AND frame_id = ?",
                [(run, seq, job, frame_id) for frame_id, seq in seen],
            )

    def begin_commit(self, rows: Sequence[FrameRow]) -> None:
        """Record frames as ``committing`` and take ownership of their output paths.

        Call before the outputs are moved to their final names: a run killed
        while moving them leaves frames that are redone, and files that a rerun
        knows to be its own.
        """
        if not rows:
            return
        with self._transaction():
            self._upsert(rows, "committing")
            self._own(rows)

    def mark_ok(self, rows: Sequence[FrameRow], *, released: Iterable[str] = ()) -> None:
        """Record frames recorded by :meth:`begin_commit` as ``ok``.

        Parameters
        ----------
        rows : sequence of FrameRow
        released : iterable of str, keyword-only
            Output paths these frames no longer make (removed from disk by the
            caller): camgeom stops owning them.
        """
        if not rows:
            return
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "UPDATE frames SET state = 'ok', timestamp = ? WHERE job = ? AND frame_id = ?",
                [(now, row.job, row.frame_id) for row in rows],
            )
            self._db.executemany("DELETE FROM owned WHERE path = ?", [(p,) for p in released])

    def mark_failed(self, rows: Sequence[FrameRow]) -> None:
        """Record frames as ``failed``; each owns exactly its recorded outputs afterwards."""
        if not rows:
            return
        with self._transaction():
            self._upsert(rows, "failed")
            self._db.executemany(
                "DELETE FROM owned WHERE job = ? AND frame_id = ? AND path NOT IN "
                "(SELECT value FROM json_each(?))",
                [(row.job, row.frame_id, json.dumps([p for p, _ in row.outputs])) for row in rows],
            )
            self._own(rows)

    def _own(self, rows: Sequence[FrameRow]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO owned (path, job, frame_id) VALUES (?, ?, ?)",
            [(path, row.job, row.frame_id) for row in rows for path, _ in row.outputs],
        )

    def _upsert(self, rows: Sequence[FrameRow], state: str) -> None:
        now = time.time()
        self._db.executemany(
            f"INSERT OR REPLACE INTO frames ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    row.job,
                    row.frame_id,
                    row.stem,
                    json.dumps(row.outputs, ensure_ascii=False),
                    row.options_hash,
                    row.inputs,
                    state,
                    row.result,
                    json.dumps(row.warnings, ensure_ascii=False) if row.warnings else None,
                    row.error_type,
                    row.error_message,
                    row.traceback,
                    row.duration,
                    now,
                    row.run,
                    row.seq,
                )
                for row in rows
            ],
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode = TRUNCATE")
        db.execute("PRAGMA synchronous = NORMAL")
        # The run lock makes this process the only user: take SQLite's file lock once,
        # instead of once per statement.
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.executescript(_SCHEMA)
        found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if found is None:
            db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif found[0] != SCHEMA_VERSION:
            raise ManifestError(
                f"The manifest {path} has schema version {found[0]}; this camgeom reads "
                f"version {SCHEMA_VERSION}. Use a matching camgeom, or another output folder."
            )
    except BaseException:
        db.close()
        raise
    return db
