"""The manifest: what each frame made, from what, with which options, and how it ended."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from camgeom.jobs import FrameRow, Manifest, ManifestError
from camgeom.jobs.manifest import MANIFEST_NAME


def _row(frame_id: str = "a/0", **changes: object) -> FrameRow:
    base = FrameRow(
        "job", frame_id, frame_id, "opts1", '[["a.in",5,1]]', outputs=((f"{frame_id}.txt", 5),)
    )
    return base.evolve(**changes)


def _write(out: Path, rel: str, data: bytes = b"hello") -> None:
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / rel).write_bytes(data)


def test_is_done_only_when_ok_same_options_same_inputs_and_outputs_intact(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        row = _row()
        assert not m.is_done("job", "a/0", "opts1", row.inputs)  # unknown frame
        m.begin_commit([row])
        _write(tmp_path, "a/0.txt")
        assert not m.is_done("job", "a/0", "opts1", row.inputs)  # committing
        m.mark_ok([row])
        assert m.is_done("job", "a/0", "opts1", row.inputs)
        assert not m.is_done("job", "a/0", "opts2", row.inputs)  # other options
        assert not m.is_done("job", "a/0", "opts1", '[["a.in",5,2]]')  # touched input
        assert not m.is_done("other", "a/0", "opts1", row.inputs)  # other job
        _write(tmp_path, "a/0.txt", b"hello!")  # size changed
        assert not m.is_done("job", "a/0", "opts1", row.inputs)
        (tmp_path / "a/0.txt").unlink()  # output gone
        assert not m.is_done("job", "a/0", "opts1", row.inputs)


def test_failed_frames_are_not_done(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        m.mark_failed([_row(outputs=(), error_type="ZeroDivisionError", error_message="x")])
        assert not m.is_done("job", "a/0", "opts1", _row().inputs)
        got = m.get("job", "a/0")
        assert got is not None
        assert (got.state, got.error_type, got.error_message) == (
            "failed",
            "ZeroDivisionError",
            "x",
        )


def test_ownership_follows_commits(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        first = _row(outputs=(("a/0.txt", 5), ("a/0.json", 2)))
        m.begin_commit([first])
        assert m.owner_of("a/0.json") == ("job", "a/0")
        assert m.owners(["a/0.txt", "nope"]) == {"a/0.txt": ("job", "a/0")}
        m.mark_ok([first])
        # Redone without the JSON: it is released.
        second = _row(outputs=(("a/0.txt", 5),))
        m.begin_commit([second])
        m.mark_ok([second], released=["a/0.json"])
        assert m.owner_of("a/0.json") is None
        assert list(m.owned_paths()) == ["a/0.txt"]
        assert m.owned_by_frames([("job", "a/0"), ("job", "b")]) == {("job", "a/0"): ["a/0.txt"]}
        # A failure keeps exactly the outputs it lists.
        m.mark_failed([_row(outputs=())])
        assert m.owned_by("job", "a/0") == []


def test_rows_survive_reopening_and_keep_every_field(tmp_path: Path) -> None:
    row = _row(result='{"chars": 3}', warnings=("no RGB",), duration=0.5, run=7, seq=3)
    with Manifest.open(tmp_path) as m:
        m.begin_commit([row])
        m.mark_ok([row])
        m.add_options("opts1", '{"a":1}')
    with Manifest.open(tmp_path) as m:
        (got,) = list(m.rows("job"))
        assert got.state == "ok"
        assert got.outputs == row.outputs and got.warnings == ("no RGB",)
        assert got.data == {"chars": 3} and got.run == 7 and got.seq == 3
        assert m.options_json("opts1") == '{"a":1}'
        assert m.frame_id_for_stem("a/0") == "a/0"
        assert m.frame_id_for_stem("zz") is None


def test_run_rows_in_run_order_with_kept_frames(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        first = m.start_run("job", "opts1")
        rows = [_row(f"f{i}", outputs=(), run=first, seq=i) for i in range(3)]
        m.begin_commit(rows)
        m.mark_ok(rows)
        assert [r.frame_id for r in m.run_rows("job", first)] == ["f0", "f1", "f2"]
        run = m.start_run("job", "opts1")
        m.mark_seen("job", run, [("f2", 0), ("f0", 1)])  # kept by the new run, in its order
        assert [r.frame_id for r in m.run_rows("job", run)] == ["f2", "f0"]
        assert not m.last_run_finished()
        m.finish_run(run, {"done": 0})
        assert m.last_run_finished()


def test_damaged_manifest_is_reported_or_set_aside(tmp_path: Path) -> None:
    state = tmp_path / ".camgeom"
    state.mkdir()
    (state / MANIFEST_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(ManifestError, match=r"damaged.*--overwrite"):
        Manifest.open(tmp_path)
    with Manifest.open(tmp_path, reset_damaged=True) as m:
        assert list(m.rows()) == []
    assert len(list(state.glob(f"{MANIFEST_NAME}.damaged-*"))) == 1


def test_newer_schema_refused(tmp_path: Path) -> None:
    Manifest.open(tmp_path).close()
    db = sqlite3.connect(tmp_path / ".camgeom" / MANIFEST_NAME)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(ManifestError, match="schema version 99"):
        Manifest.open(tmp_path)


def test_suffixes_per_job(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        m.register_job("project", [".overlay.png", ".landmarks.csv"])
        assert m.job_suffixes() == {"project": (".landmarks.csv", ".overlay.png")}


def test_locked_manifest_is_not_mistaken_for_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("camgeom.jobs.manifest.BUSY_SECONDS", 0.1)
    Manifest.open(tmp_path).close()
    path = tmp_path / ".camgeom" / MANIFEST_NAME
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. a database browser writing to it
    try:
        with pytest.raises(ManifestError, match="Cannot open"):
            Manifest.open(tmp_path, reset_damaged=True)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not list(path.parent.glob("*.damaged-*"))  # not set aside
