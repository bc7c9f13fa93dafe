"""Sensitivity of ``camgeom verify``: every kind of mistake injected into every frame.

For each vendor frame (the real fixtures under ``$CAMGEOM_FIXTURES`` and the
demo dataset) that passes verification untouched, and for each kind in
:data:`camgeom.testing.KINDS`, write a copy with the mistake
(:func:`camgeom.testing.inject`), verify it, and count detections (at least one
failing error check) and, with ``--diagnose``, how often the injected kind is
ranked first. Kinds a frame's files cannot express are counted apart with the
reason, and so are copies whose mistake cannot show in the frame's data
(:func:`not_detectable` says why, with the signal against the noise). Run::

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

import numpy as np

import camgeom
from camgeom.datasets import Frame
from camgeom.demo import make_demo_dataset
from camgeom.errors import CamgeomError
from camgeom.testing import KINDS, NotExpressibleError, inject
from camgeom.verification import verify
from camgeom.verification.depth import DepthMaps
from camgeom.verification.landmarks import projected_groups
from camgeom.verification.tolerances import DEPTH_KIND_RATIO, DEPTH_SURFACE_M

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
    counts: dict = defaultdict(
        lambda: {"injected": 0, "detected": 0, "first": 0, "unreadable": 0, "undetectable": 0}
    )
    reasons: dict = {}
    undetectable: dict = {}
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
            why = None if not report.passed else not_detectable(frame, kind)
            if why is not None:
                c["undetectable"] += 1
                undetectable[kind, label, frame.frame_id] = why
            if diagnose and report.diagnosis and report.diagnosis[0][0] == kind:
                c["first"] += 1
    return {
        "counts": dict(counts),
        "reasons": reasons,
        "undetectable": undetectable,
        "false_alarms": false_alarms,
    }


MARGIN = 1.1
"""A kind is called not detectable by the landmarks when the untouched frame separates
the right kind from the wrong one by less than this times ``DEPTH_KIND_RATIO``."""


def not_detectable(frame: Frame, kind: str) -> str | None:
    """Why ``kind`` cannot show in the data of ``frame`` (the untouched frame), or None.

    Only ``depth_kind_swapped`` can hide. Read as the other kind, a landmark's
    depth changes by ``z (sqrt(1 + x^2 + y^2) - 1)``; ``depth.kind`` calls a
    kind only when the wrong kind's median residual at the landmarks on the
    depth surface is ``DEPTH_KIND_RATIO`` times the right one's (less would
    raise false alarms: clean frames reach 1.5x the wrong way). Where the
    untouched frame itself separates them by less than ``MARGIN`` times that,
    and its normal map is missing or too coarse for ``depth.kind_normals``,
    nothing in the frame can tell z from range.
    """
    if kind != "depth_kind_swapped" or frame.camera is None or frame.depth_kind is None:
        return None
    camera = frame.camera
    maps = DepthMaps(frame)
    depth = maps.depth()
    diff, right, wrong = [], [], []
    for g in projected_groups(frame, camera)[0]:
        inside = camera.in_image(g.pixels)
        row = np.floor(g.pixels[inside, 1]).astype(int)
        col = np.floor(g.pixels[inside, 0]).astype(int)
        d = depth[row, col].astype(float)
        z = g.cam_points[inside, 2]
        r = np.linalg.norm(g.cam_points[inside], axis=-1)
        own, other = (z, r) if frame.depth_kind == "z" else (r, z)
        near = np.isfinite(d) & (np.minimum(abs(d - z), abs(d - r)) < DEPTH_SURFACE_M)
        diff.append((r - z)[near])
        right.append(abs(d - own)[near])
        wrong.append(abs(d - other)[near])
    if not diff or not sum(len(a) for a in diff):
        return None
    signal = float(np.median(np.concatenate(diff)))
    own_m, other_m = (float(np.median(np.concatenate(a))) for a in (right, wrong))
    separation = other_m / max(own_m, 1e-12)
    if separation >= MARGIN * DEPTH_KIND_RATIO:
        return None
    if frame.normals_path is None:
        normals = "the frame has no normal map"
    elif (coarse := maps.half_float(camera.K)) is not None:
        normals = f"its normal map cannot help: {coarse}"
    else:
        return None
    n = sum(len(a) for a in diff)
    return (
        f"at the {n} landmarks on the depth surface z and range differ by {signal * 1000:.2g} mm "
        f"(median), and the untouched frame separates them by only {separation:.2f}x (the wrong "
        f"kind's residual {other_m * 1000:.2g} mm against the right kind's {own_m * 1000:.2g} mm), "
        f"within the {DEPTH_KIND_RATIO:g}x (+{MARGIN - 1:.0%}) depth.kind needs; {normals}"
    )


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
                cell = f"{c['detected']}/{c['injected'] - c['undetectable']}"
                if c["undetectable"]:
                    cell += f" (+{c['undetectable']} not detectable)"
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
    lines.append("not detectable (the kind cannot show in the frame's data):")
    for (kind, lab, fid), why in sorted(result["undetectable"].items()):
        lines.append(f"  {kind} ({lab} {fid}): not detectable: {why}")
    if not result["undetectable"]:
        lines.append("  none")
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
    hidden = sum(c["undetectable"] for c in counts)
    print(
        f"detected {det}/{inj - hidden} injected copies ({hidden} more not detectable from the "
        f"frame's data) in {time.perf_counter() - t0:.1f} s"
    )
    if args.diagnose:
        failing = det - sum(c["unreadable"] for c in counts)
        print(
            f"injected kind ranked first: {sum(c['first'] for c in counts)}/{failing} detected "
            "copies the reader accepts"
        )
    return 0 if det == inj - hidden and not result["false_alarms"] else 1


if __name__ == "__main__":
    sys.exit(main())
