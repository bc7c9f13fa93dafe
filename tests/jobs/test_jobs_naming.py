"""Output names: unique, reversible, within file-name limits, for any frame id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camgeom.errors import InvalidValueError
from camgeom.jobs import frame_id_from_stem, is_shortened, output_stem
from camgeom.jobs.commit import temp_name
from camgeom.jobs.naming import MAX_COMPONENT_BYTES, MAX_SUFFIX_BYTES

# Components: any text without "/" (unicode, spaces, dots, "~", "%"), up to 320 characters.
_component = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/"),
    max_size=320,
).filter(lambda c: c not in ("", ".", ".."))
_frame_ids = st.lists(_component, min_size=1, max_size=4).map("/".join)


@pytest.mark.parametrize(
    ("frame_id", "stem"),
    [
        ("sai.v2/0", "sai.v2/0"),
        ("scene_00001/frames/001/cam", "scene_00001/frames/001/cam"),
        ("a b/x", "a%20b/x"),
        ("a_b/x", "a_b/x"),
        (".hidden/x", "%2Ehidden/x"),
        ("~tmp/a~b", "%7Etmp/a%7Eb"),
        ("100%/é", "100%25/%C3%A9"),
        ("..x/x..", "%2E.x/x.."),
        ("a\\b", "a%5Cb"),
        ("\udcff", "%FF"),  # an undecodable byte of a file name, as os.fsdecode gives it
    ],
)
def test_stems_by_hand(frame_id: str, stem: str) -> None:
    assert output_stem(frame_id) == stem
    assert frame_id_from_stem(stem) == frame_id


def test_names_that_collided_before_now_differ() -> None:
    # "a b" and "a_b" were one name; "sai.v2/0".."4" all became "sai.png" with with_suffix.
    assert output_stem("a b/0") != output_stem("a_b/0")
    stems = {output_stem(f"sai.v2/{i}") + ".overlay.png" for i in range(5)}
    assert len(stems) == 5


@pytest.mark.parametrize("bad", ["", "/a", "a/", "a//b", ".", "..", "a/../b", "./a", "\ud800"])
def test_refused_ids(bad: str) -> None:
    with pytest.raises(InvalidValueError, match="frame_id"):
        output_stem(bad)


def test_escaped_bytes_that_read_as_other_text_are_refused() -> None:
    # Two escaped bytes forming valid UTF-8 would decode to "é": not reversible.
    with pytest.raises(InvalidValueError, match="other characters"):
        output_stem("\udcc3\udca9")


def test_non_str_refused() -> None:
    with pytest.raises(InvalidValueError, match="str"):
        output_stem(Path("a"))  # type: ignore[arg-type]


def test_long_component_shortened_with_hash() -> None:
    long_a = "a" * 300
    long_b = "a" * 299 + "b"
    stem_a, stem_b = output_stem(long_a), output_stem(long_b)
    assert stem_a != stem_b
    assert len(stem_a) == MAX_COMPONENT_BYTES
    assert re.fullmatch(r"a+~[0-9a-f]{16}", stem_a)
    assert is_shortened(stem_a) and not is_shortened(output_stem("a~b"))
    with pytest.raises(InvalidValueError, match="manifest"):
        frame_id_from_stem(stem_a)


def test_shortening_never_splits_an_escape() -> None:
    for pad in range(3):
        stem = output_stem("x" * pad + "é" * 200)
        prefix = stem.split("~")[0]
        assert re.fullmatch(r"x*(%C3%A9)*(%C3)?", prefix), prefix
        assert len(stem) <= MAX_COMPONENT_BYTES


@pytest.mark.parametrize("stem", ["a b", "%41", "%2e", "a/./b", "%2F", "a/%2E%2E"])
def test_strings_not_made_by_output_stem_are_refused(stem: str) -> None:
    with pytest.raises(InvalidValueError):
        frame_id_from_stem(stem)


@given(_frame_ids, _frame_ids)
def test_injective(a: str, b: str) -> None:
    assert (output_stem(a) == output_stem(b)) == (a == b)


@given(_frame_ids)
def test_round_trip_and_limits(frame_id: str) -> None:
    stem = output_stem(frame_id)
    assert stem.count("/") == frame_id.count("/")
    for part in stem.split("/"):
        assert part.isascii() and not part.startswith(".")
        assert len(part) <= MAX_COMPONENT_BYTES
    # The longest file name the runner makes: temporary name of stem + longest suffix.
    suffix = "." + "s" * (MAX_SUFFIX_BYTES - 5) + ".png"
    assert len(temp_name(stem.split("/")[-1] + suffix).encode()) <= 255
    if not is_shortened(stem):
        assert frame_id_from_stem(stem) == frame_id


def test_files_named_from_awkward_ids_all_exist(tmp_path: Path) -> None:
    ids = ["sai.v2/0", "sai.v2/1", "a b/x", "a_b/x", "é" * 120, "x" * 300, "x" * 299 + "y"]
    for frame_id in ids:
        path = tmp_path / (output_stem(frame_id) + ".overlay.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(frame_id, encoding="utf-8")
    written = sorted(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.png"))
    assert written == sorted(ids)
