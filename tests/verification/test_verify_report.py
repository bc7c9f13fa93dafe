"""Reports: skipped checks are listed with their reason, rendered and serialised."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping

import numpy as np

import camgeom
import camgeom.datasets as ds
from camgeom.datasets import Landmarks
from camgeom.errors import FormatError
from camgeom.verification import Check, DatasetReport, Report, verify, verify_dataset
from camgeom.verification.report import STATUSES, measured, skipped

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


class _Groups(Mapping):
    """Landmark groups where one cannot be read (as a damaged dense .obj)."""

    def __init__(self, good: dict[str, Landmarks], bad: str) -> None:
        self._good, self._bad = good, bad

    def __getitem__(self, name: str) -> Landmarks:
        if name == self._bad:
            raise FormatError(f"{name}.obj: truncated vertex line 12")
        return self._good[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._good, self._bad])

    def __len__(self) -> int:
        return len(self._good) + 1


def test_public_names():
    assert camgeom.verify is verify and camgeom.verify_dataset is verify_dataset
    assert camgeom.verification.Report is Report and "Report" not in camgeom.__all__
    import camgeom.verification as module

    assert module.__name__ == "camgeom.verification" and callable(module.verify)


def test_measured_statuses():
    assert measured("a", 1.0, 2.0).status == "pass"
    assert measured("a", 3.0, 2.0).status == "fail"
    assert measured("a", 3.0, 2.0, severity="warning").status == "warn"
    assert measured("a", 3.0, 2.0, severity="warning", strict=True).status == "fail"
    assert measured("a", 3.0, 2.0, severity="info").status == "info"
    assert measured("a", 1.0, 2.0, hint="fix it").hint == ""


def test_skip_in_table_json_and_summary(frame_factory):
    f = frame_factory(K, euler=[1.0, 2.0, 3.0], euler_sequence="heading,tilt,bank")
    r = verify(f)
    c = r["pose.euler"]
    assert c.skipped and not c.failed and r.passed
    assert c in r.skips
    line = next(ln for ln in str(r).splitlines() if ln.startswith("pose.euler"))
    assert "SKIP" in line and "heading,tilt,bank" in line
    data = json.loads(r.to_json())
    row = next(d for d in data["checks"] if d["name"] == "pose.euler")
    assert row["status"] == "skip" and "rule" in row["message"]
    rep = DatasetReport((r,))
    summary = {s["check"]: s for s in rep.summary()}
    assert summary["pose.euler"]["skip"] == 1
    assert summary["pose.euler"]["hint"].startswith("skipped: ")
    assert set(STATUSES) <= set(summary["pose.euler"])
    head = str(rep).splitlines()[2]
    assert head.split()[:7] == ["check", *STATUSES, "worst"]


def test_failure_note_wins_over_skip_reason():
    a = Report("a", "v", None, (skipped("x", "no data"),))
    b = Report("b", "v", None, (measured("x", 2.0, 1.0, hint="too big"),))
    (s,) = DatasetReport((a, b)).summary()
    assert s["hint"] == "too big" and s["skip"] == 1 and s["fail"] == 1


def test_depth_checks_skip_without_depth(frame_factory, fixtures):
    r = verify(frame_factory(K))
    for name in ("depth.kind", "occlusion.visible_behind_depth"):
        assert r[name].status == "skip" and "no depth map" in r[name].message
    f = next(iter(ds.load(fixtures / "datagen" / "faces_nn")))
    r = verify(f, use_depth=False)
    assert r["depth.kind"].status == "skip" and "use_depth=False" in r["depth.kind"].message
    r = verify(dataclasses.replace(f, depth_kind=None))
    assert r["depth.kind"].status == "skip" and "z or range" in r["depth.kind"].message


def test_unreadable_landmark_group_is_a_skip_not_silence(frame_factory):
    good = Landmarks(names=("a", "b"), world=[[0, 0, 2], [0.1, 0, 2]], pixels=None, visible=None)
    f = dataclasses.replace(frame_factory(K), landmarks=_Groups({"face": good}, "sai_dense"))
    r = verify(f)
    c = r["landmarks.read.sai_dense"]
    assert c.status == "skip" and "truncated vertex" in c.message
    assert r.passed


def test_duplicates_found_in_large_groups(frame_factory):
    n = 6000  # more points than the verifier used to compare
    world = np.column_stack([np.linspace(-1, 1, n), np.zeros(n), np.full(n, 3.0)])
    world[5999] = world[17]
    names = tuple(f"p{i}" for i in range(n))
    lm = Landmarks(names=names, world=world, pixels=None, visible=None)
    r = verify(dataclasses.replace(frame_factory(K), landmarks={"dense": lm}))
    c = r["landmarks.duplicates.dense"]
    assert c.failed and c.value == 1.0 and "p17 == p5999" in c.message


def test_check_json_handles_non_finite():
    d = Check("x", "fail", "error", value=float("inf"), tolerance=float("nan")).to_dict()
    assert d["value"] == "inf" and d["tolerance"] is None


def test_check_json_has_every_field_in_order():
    from dataclasses import asdict

    c = Check("a.b", "warn", "warning", 1.5, 2.0, "px", "measured", "fix it")
    assert c.to_dict() == asdict(c) and list(c.to_dict()) == list(asdict(c))


def test_dataset_table_takes_worst_value_tolerance_and_note_from_one_frame():
    from camgeom.verification.report import Check, DatasetReport, Report

    a = Report("frame_a", "v", None, (Check("c", "fail", "error", 2.0, 1.0, "px", "", "a hint"),))
    b = Report("frame_b", "v", None, (Check("c", "pass", "error", 5.0, 10.0, "px", "", "b hint"),))
    c = Report("frame_c", "v", None, (Check("c", "fail", "error", 3.0, 2.5, "px", "", "c hint"),))
    (row,) = DatasetReport((a, b, c)).summary()
    assert (row["worst"], row["tolerance"], row["hint"], row["worst_frame"]) == (
        3.0,
        2.5,
        "c hint",
        "frame_c",
    )
    text = str(DatasetReport((a, b, c)))
    assert "frame_c" in text and "c hint" in text
    (row,) = DatasetReport((b,)).summary()
    assert (row["worst"], row["tolerance"], row["worst_frame"]) == (5.0, 10.0, "frame_b")


def test_duplicates_name_every_repeat_after_its_first_position():
    """Equal positions (0.0 equal to -0.0) point back to their earliest row, NaN rows skipped."""
    from camgeom.verification.landmarks import _duplicates

    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(2, 40))
        world = rng.integers(-2, 3, (n, 3)) * rng.choice([1.0, -1.0], (n, 3))
        world[rng.random(n) < 0.1, 1] = np.nan
        names = tuple(f"p{i}" for i in range(n))
        lm = Landmarks(names=names, world=world, pixels=None, visible=None)
        expected = []
        for j in range(n):
            if not np.isfinite(world[j]).all():
                continue
            i = next(i for i in range(j + 1) if np.array_equal(world[i], world[j]))
            if i != j:
                expected.append(f"p{i} == p{j}")
        assert _duplicates(lm) == expected
