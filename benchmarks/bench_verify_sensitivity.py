"""Sensitivity of ``camgeom verify``: every kind of mistake injected into every frame.

For each vendor frame (the real fixtures under ``$CAMGEOM_FIXTURES`` and the
demo dataset) that passes verification untouched, and for each kind in
:data:`camgeom.testing.KINDS`, write a copy with the mistake
(:func:`camgeom.testing.inject`), verify it, and count detections (at least one
failing error check) and, with ``--diagnose``, how often the injected kind is
ranked first. Kinds a frame's files cannot express are counted apart with the
reason. Run::

    python benchmarks/bench_verify_sensitivity.py [--diagnose] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import camgeom
from camgeom.datasets import Frame
from camgeom.demo import make_demo_dataset
from camgeom.errors import CamgeomError
from camgeom.testing import KINDS, NotExpressibleError, inject
from camgeom.verification import verify

FIXTURE_FOLDERS = (
    "datagen/faces_nn",
    "datagen/faces_multicam",
    "datagen/hic_home_security",
    "synthesisai/v1_2_faces",
)
"""Fixture folders whose frames pass verification untouched."""


def fixtures_root() -> Path:
    here = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("CAMGEOM_FIXTURES", here.parent / "shared" / "fixtures"))


def frames(tmp: Path, *, quick: bool) -> Iterator[tuple[str, Frame]]:
    """(label, frame) for every passing fixture and demo frame (one per folder with ``quick``)."""
    root = fixtures_root()
    for folder in FIXTURE_FOLDERS:
        if (root / folder).exists():
            ds = camgeom.load(root / folder)
            for f in list(ds)[: 1 if quick else None]:
                yield f"{f.vendor} {folder.split('/')[1]}", f
    demo = make_demo_dataset(tmp / "demo")
    for path in (demo.synthesisai, demo.datagen):
        ds = camgeom.load(path)
        for f in list(ds)[: 1 if quick else None]:
            yield f"{f.vendor} demo", f


def sensitivity(tmp: Path, *, quick: bool = False, diagnose: bool = False) -> dict:
    """Counts per (kind, label): injected, detected, ranked first; reasons not expressible."""
    counts: dict = defaultdict(lambda: {"injected": 0, "detected": 0, "first": 0, "unreadable": 0})
    reasons: dict = {}
    false_alarms: list[str] = []
    n = 0
    for label, frame in frames(tmp, quick=quick):
        if not verify(frame).passed:
            false_alarms.append(f"{label} {frame.frame_id}")
            continue
        for kind in KINDS:
            n += 1
            out = tmp / f"copy{n}"
            try:
                inject(frame, kind, out)
            except NotExpressibleError as exc:
                reasons.setdefault((kind, label), str(exc))
                continue
            c = counts[kind, label]
            c["injected"] += 1
            try:
                copy = camgeom.load(out)[0]
            except CamgeomError:  # the reader refuses the copy: detected, nothing to diagnose
                c["detected"] += 1
                c["unreadable"] += 1
                continue
            report = verify(copy, **({"diagnose": True} if diagnose else {}))
            c["detected"] += not report.passed
            if diagnose and report.diagnosis and report.diagnosis[0][0] == kind:
                c["first"] += 1
    return {"counts": dict(counts), "reasons": reasons, "false_alarms": false_alarms}


def table(result: dict, *, diagnose: bool) -> str:
    labels = sorted({lab for _, lab in result["counts"]} | {lab for _, lab in result["reasons"]})
    rows = [("kind", *labels)]
    for kind in KINDS:
        cells = []
        for lab in labels:
            c = result["counts"].get((kind, lab))
            if c is None:
                cells.append("n/a")
            else:
                cell = f"{c['detected']}/{c['injected']}"
                if c["unreadable"]:
                    cell += f" ({c['unreadable']} unreadable)"
                cells.append(cell + (f" ({c['first']} first)" if diagnose else ""))
        rows.append((kind, *cells))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("n/a (not expressible in the frame's files):")
    seen: set[tuple[str, str]] = set()
    for (kind, lab), why in sorted(result["reasons"].items()):
        if (kind, why) not in seen:
            seen.add((kind, why))
            lines.append(f"  {kind} ({lab}): {why}")
    lines.append(f"untouched frames failing (false alarms): {result['false_alarms'] or 'none'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diagnose", action="store_true", help="also rank the diagnosis")
    ap.add_argument("--quick", action="store_true", help="one frame per folder")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = sensitivity(Path(tmp), quick=args.quick, diagnose=args.diagnose)
    print(table(result, diagnose=args.diagnose))
    counts = result["counts"].values()
    inj = sum(c["injected"] for c in counts)
    det = sum(c["detected"] for c in counts)
    print(f"detected {det}/{inj} injected copies in {time.perf_counter() - t0:.1f} s")
    if args.diagnose:
        readable = inj - sum(c["unreadable"] for c in counts)
        print(
            f"injected kind ranked first: {sum(c['first'] for c in counts)}/{readable} readable copies"
        )
    return 0 if det == inj and not result["false_alarms"] else 1


if __name__ == "__main__":
    sys.exit(main())
