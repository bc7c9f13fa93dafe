"""Committing a frame's outputs together; users' files kept; orphans cleaned."""

from __future__ import annotations

from pathlib import Path

import pytest

from camgeom.errors import InvalidValueError
from camgeom.jobs import FrameOutputs, FrameRow, JobOutputs, Manifest, clean_orphans
from camgeom.jobs.commit import StagedFrame, commit_frames, is_temp_name, temp_name


def _stage(out: Path, frame_id: str, texts: dict[str, str]) -> StagedFrame:
    outputs = FrameOutputs(out, frame_id, frame_id, set(texts))
    for suffix, text in texts.items():
        outputs.path(suffix).write_text(text, encoding="utf-8")
    row = FrameRow("job", frame_id, frame_id, "opts", "[]")
    return StagedFrame(row, outputs.staged())


def _visible(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".camgeom" not in p.parts and not is_temp_name(p.name)
    }


def _temps(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if is_temp_name(p.name)]


def test_outputs_appear_together_and_temps_vanish(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        frame = _stage(tmp_path, "a b/0", {".txt": "t", ".meta.json": "{}"})
        assert _visible(tmp_path) == {} and len(_temps(tmp_path)) == 2
        (row,) = commit_frames(m, [frame])
        assert row.state == "ok" and _temps(tmp_path) == []
        assert _visible(tmp_path) == {"a b/0.meta.json": "{}", "a b/0.txt": "t"}
        assert sorted(p for p, _ in row.outputs) == ["a b/0.meta.json", "a b/0.txt"]
        assert m.owned_by("job", "a b/0") == ["a b/0.meta.json", "a b/0.txt"]


def test_users_file_is_kept_and_the_frame_fails_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("mine", encoding="utf-8")
    with Manifest.open(tmp_path) as m:
        frame = _stage(tmp_path, "x", {".txt": "ours", ".meta.json": "{}"})
        (row,) = commit_frames(m, [frame])
        assert row.state == "failed" and row.error_type == "OutputExistsError"
        assert "--overwrite" in (row.error_message or "")
        # Nothing of the frame was committed, and its temporary files are gone.
        assert _visible(tmp_path) == {"x.txt": "mine"}
        assert _temps(tmp_path) == []
        (row,) = commit_frames(m, [_stage(tmp_path, "x", {".txt": "ours"})], overwrite=True)
        assert row.state == "ok"
        assert _visible(tmp_path) == {"x.txt": "ours"}
        assert m.owner_of("x.txt") == ("job", "x")


def test_our_earlier_output_is_replaced_without_overwrite(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        commit_frames(m, [_stage(tmp_path, "x", {".txt": "one"})])
        (row,) = commit_frames(m, [_stage(tmp_path, "x", {".txt": "two"})])
        assert row.state == "ok"
        assert _visible(tmp_path) == {"x.txt": "two"}


def test_output_of_another_frame_is_never_replaced(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        commit_frames(m, [_stage(tmp_path, "x", {".txt": "x"})])
        other = _stage(tmp_path, "x", {".txt": "y"})
        other = StagedFrame(other.row.evolve(frame_id="y"), other.staged)
        (row,) = commit_frames(m, [other], overwrite=True)
        assert row.state == "failed" and "two frames map to one file name" in str(row.error_message)
        assert _visible(tmp_path) == {"x.txt": "x"}


def test_outputs_no_longer_made_are_removed(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        commit_frames(m, [_stage(tmp_path, "x", {".txt": "t", ".meta.json": "{}"})])
        commit_frames(m, [_stage(tmp_path, "x", {".txt": "t2"})])
        assert _visible(tmp_path) == {"x.txt": "t2"}
        assert m.owner_of("x.meta.json") is None


def test_failure_removes_outputs_made_with_other_options_only(tmp_path: Path) -> None:
    with Manifest.open(tmp_path) as m:
        commit_frames(m, [_stage(tmp_path, "x", {".txt": "t"})])
        failing = StagedFrame(FrameRow("job", "x", "x", "opts", "[]"), (), ("E", "boom", "tb"))
        (row,) = commit_frames(m, [failing])
        assert row.state == "failed" and row.traceback == "tb"
        assert _visible(tmp_path) == {"x.txt": "t"}  # same options and inputs: still valid
        assert m.owner_of("x.txt") == ("job", "x")  # and still ours, for the retry
        changed = StagedFrame(failing.row.evolve(options_hash="other"), (), ("E", "boom", ""))
        commit_frames(m, [changed])
        assert _visible(tmp_path) == {}  # made with other options: not left to mislead


def test_staging_refuses_undeclared_suffixes_and_hidden_job_outputs(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="suffix"):
        FrameOutputs(tmp_path, "x", "x", {".txt"}).path(".png")
    for bad in ("../x.json", ".hidden.json", "a//b.json", ""):
        with pytest.raises(InvalidValueError, match="name"):
            JobOutputs(tmp_path).path(bad)
    assert JobOutputs(tmp_path).path("reports/report.json").parent == tmp_path / "reports"


def test_temp_names_keep_the_extension() -> None:
    assert temp_name("0.cloud.ply").endswith(".ply")
    assert is_temp_name(temp_name("weird.ext-with-dash"))
    assert is_temp_name(".x.0123456789ab.tmp.png")  # camgeom.io.atomic_output's names
    assert not is_temp_name(".bashrc") and not is_temp_name("x.tmp.0123456789ab.png")


def test_clean_orphans_removes_only_our_temporary_files(tmp_path: Path) -> None:
    keep = [
        "x.txt",
        ".hidden",
        "sub/.x.tmp.notahexvalue",
        "sub/x.tmp.0123456789ab.txt",
        ".camgeom/.manifest.tmp.0123456789ab",  # the state folder is not entered
    ]
    drop = [
        "sub/deep/.x.txt.tmp.0123456789ab.txt",
        ".r.json.tmp.0123456789ab",
        ".c.0a1b2c3d4e5f.tmp.ply",
    ]
    for rel in keep + drop:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert clean_orphans(tmp_path) == len(drop)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(keep)


def _checked_stage(out: Path, frame_id: str, texts: dict[str, str]) -> StagedFrame:
    """As a worker hands a frame back: with each file's size and whether its final path existed."""
    outputs = FrameOutputs(out, frame_id, frame_id, set(texts))
    for suffix, text in texts.items():
        outputs.path(suffix).write_text(text, encoding="utf-8")
    staged, checked = outputs.checked()
    return StagedFrame(FrameRow("job", frame_id, frame_id, "opts", "[]"), staged, None, checked)


def test_worker_checks_give_the_same_commit_as_looking_at_commit_time(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("mine", encoding="utf-8")
    with Manifest.open(tmp_path) as m:
        fresh = _checked_stage(tmp_path, "a", {".txt": "aa", ".meta.json": "{}"})
        assert fresh.checked == ((2, False), (2, False))
        users = _checked_stage(tmp_path, "mine", {".txt": "ours"})
        assert users.checked == ((4, True),)
        ok, refused = commit_frames(m, [fresh, users])
        assert ok.state == "ok" and sorted(ok.outputs) == [("a.meta.json", 2), ("a.txt", 2)]
        assert refused.state == "failed" and refused.error_type == "OutputExistsError"
        assert _visible(tmp_path) == {"a.meta.json": "{}", "a.txt": "aa", "mine.txt": "mine"}
        # our own earlier output, seen existing by the worker, is replaced
        (again,) = commit_frames(m, [_checked_stage(tmp_path, "a", {".txt": "bbb"})])
        assert again.state == "ok" and again.outputs == (("a.txt", 3),)
        assert _visible(tmp_path) == {"a.txt": "bbb", "mine.txt": "mine"}


def test_a_path_owned_by_another_frame_is_refused_even_when_its_file_is_gone(
    tmp_path: Path,
) -> None:
    with Manifest.open(tmp_path) as m:
        commit_frames(m, [_stage(tmp_path, "x", {".txt": "x"})])
        (tmp_path / "x.txt").unlink()  # the file is gone, the manifest still says whose it is
        other = _checked_stage(tmp_path, "x", {".txt": "y"})
        assert other.checked == ((1, False),)
        other = StagedFrame(other.row.evolve(frame_id="y"), other.staged, None, other.checked)
        (row,) = commit_frames(m, [other], overwrite=True)
        assert row.state == "failed" and "two frames map to one file name" in str(row.error_message)
        assert _visible(tmp_path) == {} and _temps(tmp_path) == []


def test_a_users_file_that_appears_after_the_worker_looked_is_still_not_lost(
    tmp_path: Path,
) -> None:
    # The worker saw no file; one is created before the commit. Without a fresh look the
    # commit replaces it only if the manifest says it is ours: here it says nothing, and
    # a frame without worker checks looks itself.
    with Manifest.open(tmp_path) as m:
        frame = _stage(tmp_path, "z", {".txt": "ours"})  # no worker checks: looked up now
        (tmp_path / "z.txt").write_text("mine", encoding="utf-8")
        (row,) = commit_frames(m, [frame])
        assert row.state == "failed" and row.error_type == "OutputExistsError"
        assert _visible(tmp_path) == {"z.txt": "mine"}


def test_clean_orphans_goes_past_what_it_may_not_read_or_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An --out holding folders or files of other users: skipped, not a traceback."""
    import os

    for rel in ("a/.x.txt.tmp.0123456789ab.txt", "locked/.y.txt.tmp.0123456789ab.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    real_unlink, real_scandir = os.unlink, os.scandir

    def unlink(path, *args, **kwargs):
        if "locked" in os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_unlink(path, *args, **kwargs)

    class Broken:
        """A listing that fails part-way (a folder that changes or may not be read)."""

        def __init__(self, it):
            self.it = it

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.it.close()

        def __iter__(self):
            yield next(iter(self.it))
            raise PermissionError(13, "Permission denied")

    def scandir(path):
        it = real_scandir(path)
        return Broken(it) if os.fspath(path) == os.fspath(tmp_path) else it

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "scandir", scandir)
    clean_orphans(tmp_path)  # does not raise
    monkeypatch.undo()
    assert (tmp_path / "locked/.y.txt.tmp.0123456789ab.txt").exists()
