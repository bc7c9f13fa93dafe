"""atomic_output: rename on success, no residue on failure, no silent overwrite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from camgeom.errors import CamgeomError, OutputExistsError
from camgeom.io import atomic_output


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_success_renames_temporary_file_onto_target(tmp_path: Path) -> None:
    target = tmp_path / "cloud.ply"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp != target
        assert tmp.name.startswith(".cloud.")
        assert tmp.suffix == ".ply"  # writers that dispatch on the extension still work
        assert not tmp.exists()  # created by the writer, with the usual permissions
        tmp.write_bytes(b"payload")
        assert not target.exists()  # nothing visible under the final name yet
    assert target.read_bytes() == b"payload"
    assert _names(tmp_path) == ["cloud.ply"]


def test_failure_leaves_no_file_and_no_residue(tmp_path: Path) -> None:
    target = tmp_path / "depth.exr"
    with pytest.raises(RuntimeError, match="writer crashed"), atomic_output(target) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("writer crashed")
    assert _names(tmp_path) == []


def test_failure_before_writing_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad input"), atomic_output(tmp_path / "a.txt"):
        raise ValueError("bad input")
    assert _names(tmp_path) == []


def test_keyboard_interrupt_also_cleans_up(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_output(tmp_path / "a.txt") as tmp:
        tmp.write_text("partial")
        raise KeyboardInterrupt
    assert _names(tmp_path) == []


def test_existing_file_is_kept_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("original")
    ran = False
    with pytest.raises(OutputExistsError, match=r"out\.txt already exists.*overwrite=True"):
        with atomic_output(target) as tmp:
            ran = True
            tmp.write_text("new")
    assert not ran  # refused before any work is done
    assert target.read_text() == "original"
    assert _names(tmp_path) == ["out.txt"]


def test_existing_file_replaced_with_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("original")
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "original"  # still intact while writing
    assert target.read_text() == "new"
    assert _names(tmp_path) == ["out.txt"]


def test_failed_overwrite_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("original")
    with pytest.raises(OSError, match="disk full"), atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("ne")
        raise OSError("disk full")
    assert target.read_text() == "original"
    assert _names(tmp_path) == ["out.txt"]


def test_target_created_meanwhile_is_not_clobbered(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(OutputExistsError, match="created by someone else"):
        with atomic_output(target) as tmp:
            tmp.write_text("mine")
            target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert _names(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("exists", [False, True])
def test_without_hard_links_falls_back_to_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exists: bool
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "out.txt"
    if exists:
        with pytest.raises(OutputExistsError, match="created by someone else"):
            with atomic_output(target) as tmp:
                tmp.write_text("mine")
                target.write_text("theirs")
        assert target.read_text() == "theirs"
    else:
        with atomic_output(target) as tmp:
            tmp.write_text("mine")
        assert target.read_text() == "mine"
    assert _names(tmp_path) == ["out.txt"]


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with atomic_output(tmp_path / "nope" / "out.txt"):
            pass  # pragma: no cover


def test_nothing_written_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"Nothing was written.*out\.txt"):
        with atomic_output(tmp_path / "out.txt"):
            pass
    assert _names(tmp_path) == []


def test_output_exists_error_is_both_camgeom_and_file_exists_error() -> None:
    assert issubclass(OutputExistsError, CamgeomError)
    assert issubclass(OutputExistsError, FileExistsError)


def test_accepts_str_paths(tmp_path: Path) -> None:
    with atomic_output(str(tmp_path / "s.txt")) as tmp:
        assert isinstance(tmp, Path)
        tmp.write_text("x")
    assert (tmp_path / "s.txt").read_text() == "x"
