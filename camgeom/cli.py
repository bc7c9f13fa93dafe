"""The ``camgeom`` command line: info, verify, project, pointcloud, demo.

Exit codes, the same in every command: 0 success; 1 a check failed or some
frames failed (the rest were processed, see the summary); 2 the input could
not be read at all, the output folder is unusable or in use, or the command
line was wrong (refused before any frame runs). Tracebacks are shown only with
``--debug``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camgeom._cli_common import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    _add_console_options,
    _add_job_options,
    _add_parallel_options,
    _check_job_args,
    _check_writable_folder,
    _Console,
    _csv_list,
    _frames,
    _job_kwargs,
    _load,
    _report,
    _UsageError,
)
from camgeom._version import __version__
from camgeom.errors import CamgeomError, OutputExistsError

__all__ = ["main"]

DESCRIPTION = """\
Camera math for synthetic human datasets (Synthesis AI, Datagen, GeoGen,
FaceSynthetics): check a dataset's cameras, draw its landmarks, build point
clouds from its depth maps.

PATH may be one render or camera folder, a whole dataset folder, or a single
metadata file; the vendor and layout are detected.
"""

EPILOG = """\
examples:
  camgeom demo                              make a sample dataset in ./camgeom-demo and run every job on it
  camgeom info data/job_0042                vendor, version, frames, cameras, what is present
  camgeom verify data/job_0042 --json report.json
  camgeom project data/faces --out overlays --groups ibug68,pupils
  camgeom pointcloud data/faces --out clouds --frame world --segments head --colors --fuse
  camgeom export colmap data/faces --out colmap --binary   (or: export nerfstudio)

exit codes: 0 ok; 1 a check or a frame failed (the others were processed);
  2 unreadable input, unusable output folder or bad arguments (before any frame).
parallel: --workers N local processes (default: every core), or --scheduler ADDRESS
  (or CAMGEOM_DASK_SCHEDULER) for a Dask cluster (pip install camgeom[dask]).
conventions: docs/conventions.md (OpenCV camera frame, pixel centres at +0.5, z vs range depth).
"""


# ----------------------------------------------------------------------------- info


def cmd_info(args: argparse.Namespace) -> int:
    console = _Console(args.quiet)
    ds = _load(args.path, console)
    if ds is None:
        return EXIT_INPUT
    vendors = sorted(set(ds.vendors))
    console.say(f"path:     {Path(args.path).resolve()}")
    console.say(f"vendor:   {', '.join(vendors)}")
    console.say(f"frames:   {len(ds)}")
    versions: dict[str, int] = {}
    cameras: dict[str, int] = {}
    sizes: dict[str, int] = {}
    present: dict[str, int] = {}
    groups: dict[str, int] = {}
    depth_kinds: dict[str, int] = {}
    scenes: set[str] = set()
    for f in _frames(ds, console, "info"):
        versions[str(f.version or "unversioned")] = (
            versions.get(str(f.version or "unversioned"), 0) + 1
        )
        cameras[f.camera_name] = cameras.get(f.camera_name, 0) + 1
        scenes.add(f.scene_id)
        if f.camera is not None:
            key = f"{f.camera.width}x{f.camera.height}"
            sizes[key] = sizes.get(key, 0) + 1
        for name, p in (
            ("image", f.image_path),
            ("depth", f.depth_path),
            ("normals", f.normals_path),
            ("segmentation", f.segmentation_path),
        ):
            if p is not None:
                present[name] = present.get(name, 0) + 1
        if f.depth_kind:
            depth_kinds[f.depth_kind] = depth_kinds.get(f.depth_kind, 0) + 1
        for g in f.landmarks:
            groups[g] = groups.get(g, 0) + 1

    def fmt(d: dict[str, int]) -> str:
        return ", ".join(f"{k} ({v})" for k, v in sorted(d.items())) or "none"

    console.say(f"versions: {fmt(versions)}")
    console.say(f"scenes:   {len(scenes)}")
    console.say(f"cameras:  {fmt(cameras)}")
    console.say(f"sizes:    {fmt(sizes)}")
    console.say(f"present:  {fmt(present)}")
    console.say(f"depth:    {fmt(depth_kinds)}")
    console.say(f"landmark groups: {fmt(groups)}")
    for e in ds.errors:
        console.err(f"UNREADABLE {e.frame_id}: {e.path}: {e.message}")
    if ds.errors and len(ds.errors) == len(ds):
        return EXIT_INPUT
    return EXIT_FAIL if ds.errors else EXIT_OK


# ----------------------------------------------------------------------------- verify


def cmd_verify(args: argparse.Namespace) -> int:
    from camgeom.jobs.verify import copy_report, run_verify

    console = _Console(args.quiet)
    _check_job_args(args)
    if args.fix is not None and not args.diagnose:
        raise _UsageError("--fix needs --diagnose.")
    if args.occlusion_threshold is not None and not 0 <= args.occlusion_threshold <= 1:
        raise _UsageError(
            f"--occlusion-threshold must be a share in [0, 1], got {args.occlusion_threshold}."
        )
    if args.json is not None:
        if not args.json.strip():
            raise _UsageError("--json is empty: name the file for the JSON report.")
        if Path(args.json).is_dir():
            raise _UsageError(f"--json {args.json} is a folder, not a file.")
        if Path(args.json).exists() and not args.overwrite:
            raise _UsageError(f"--json {args.json} exists; pass --overwrite to replace it.")
        _check_writable_folder(Path(args.json).absolute().parent, "--json", may_create=False)
    if args.fix is not None:
        if not args.fix.strip():
            raise _UsageError("--fix is empty: name the folder for the corrected copies.")
        _check_fix_folder(Path(args.fix), overwrite=args.overwrite)
    ds = _load(args.path, console)
    if ds is None:
        return EXIT_INPUT
    if args.fix is not None:
        _check_fix_outside(Path(args.fix), Path(ds.root))
    with run_verify(
        ds,
        args.out,
        strict=args.strict,
        occlusion_threshold=args.occlusion_threshold,
        use_depth=not args.no_depth,
        diagnose=args.diagnose,
        **_job_kwargs(args),
    ) as run:
        console.say(run.table())
        summary = run.summary
        for f in summary.failures:
            label = "UNREADABLE" if f.frame_id else "FAILED"
            console.say(f"{label} {f}")
            if f.traceback:
                console.err(f.traceback)
        listed = sum(1 for f in summary.failures if f.frame_id)
        if summary.failed > listed:
            console.say(f"... and {summary.failed - listed} more unreadable: see the JSON report")
        for w in summary.warnings:
            console.err(f"WARNING {w}")
        if args.verbose:
            for r in run.iter_reports():
                console.say("")
                console.say(str(r))
        if args.diagnose:
            _diagnose(args, ds, (r for r in run.iter_reports() if not r.passed), console)
        if args.json and run.report_path is not None:
            copy_report(run, args.json, overwrite=args.overwrite)
            console.say(f"\nJSON report: {args.json}")
        if args.out:
            console.say(f"report and manifest: {Path(summary.out_dir).resolve()}")
        return run.exit_code


def _check_fix_folder(fix: Path, *, overwrite: bool) -> None:
    """Exit-2 checks of ``--fix`` that need no dataset (run before it is listed)."""
    from camgeom.verification.repair import FIX_LOG

    _check_writable_folder(fix, "--fix", may_create=True)
    if (fix / FIX_LOG).exists() and not overwrite:
        raise _UsageError(
            f"--fix {fix} holds {FIX_LOG} from an earlier run; pass --overwrite to replace it "
            "and the copies it lists, or choose a new folder."
        )


def _check_fix_outside(fix: Path, root: Path) -> None:
    """Refuse a ``--fix`` folder inside the dataset, or holding it (copies would mix with it)."""
    fix, root = fix.resolve(), root.resolve()  # root: a folder (camgeom.load's roots are)
    if fix == root or root in fix.parents or fix in root.parents:
        raise _UsageError(
            f"--fix {fix} is inside the dataset {root} (or holds it): corrected copies must "
            "not mix with the originals. Choose a folder outside the dataset."
        )


def _diagnose(args: argparse.Namespace, ds: Any, reports: Any, console: _Console) -> None:
    """Print each failing frame's diagnosis (made in the job); with --fix, write fixed copies."""
    import itertools

    from camgeom.verification.repair import diagnose_frames

    reports = iter(reports)
    first = next(reports, None)
    if first is None:
        console.say("\ndiagnosis: no frame failed, nothing to diagnose")
        return
    # Only --fix needs the parsed frame (to write its corrected files).
    pairs: Any = (
        (ds[r.frame_id] if args.fix else None, r) for r in itertools.chain([first], reports)
    )
    console.say("\ndiagnosis (known kinds of mistake that fix the failures, best first):")
    for line in diagnose_frames(pairs, fix=args.fix, overwrite=args.overwrite):
        console.say(f"  {line}")


# ----------------------------------------------------------------------------- project


def cmd_project(args: argparse.Namespace) -> int:
    from camgeom.jobs.project import project_dataset

    console = _Console(args.quiet)
    _check_job_args(args)
    groups = _csv_list(args.groups, "--groups")
    ds = _load(args.path, console)
    if ds is None:
        return EXIT_INPUT
    summary = project_dataset(ds, args.out, groups=groups, **_job_kwargs(args))
    _report(console, summary, "frame(s)")
    console.say(f"outputs: {Path(summary.out_dir).resolve()}")
    return summary.exit_code


# ----------------------------------------------------------------------------- pointcloud


def cmd_pointcloud(args: argparse.Namespace) -> int:
    from camgeom.jobs.pointcloud import check_cloud_options, pointclouds_from_dataset

    console = _Console(args.quiet)
    _check_job_args(args)
    try:
        check_cloud_options(frame=args.frame, stride=args.stride, max_depth=args.max_depth)
    except CamgeomError as exc:
        raise _UsageError(
            str(exc).replace("`stride`", "--stride").replace("`max_depth`", "--max-depth")
        ) from None
    segments = _csv_list(args.segments, "--segments")
    ds = _load(args.path, console)
    if ds is None:
        return EXIT_INPUT
    summary = pointclouds_from_dataset(
        ds,
        args.out,
        frame=args.frame,
        segments=segments,
        colors=args.colors,
        normals=args.normals,
        fuse=args.fuse,
        stride=args.stride,
        max_depth=args.max_depth,
        **_job_kwargs(args),
    )
    _report(console, summary.frames, "frame(s)")
    if summary.scenes is not None:
        _report(console, summary.scenes, "fused scene(s)")
    axes = ", OpenCV axes" if args.frame == "camera" else ""
    console.say(
        f"outputs: {Path(summary.frames.out_dir).resolve()} "
        f"(*.points.ply in the {args.frame} frame{axes}"
        + ("; *.fused.ply in the world frame)" if args.fuse else ")")
    )
    return summary.exit_code


# ----------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from camgeom.demo import DemoPaths, make_demo_dataset

    console = _Console(args.quiet)
    if not str(args.dir).strip():
        raise _UsageError("the demo folder is empty: name a folder (default: ./camgeom-demo).")
    root = Path(args.dir)
    _check_writable_folder(root, "demo folder", may_create=True)
    data = root / "data"
    if not args.overwrite and (data / "ground_truth.json").is_file():
        # the demo is deterministic: a complete earlier one is reused as it is
        paths = DemoPaths(data, data / "synthesisai", data / "datagen", data / "ground_truth.json")
        console.say(f"using the existing demo dataset in {data} (--overwrite regenerates it)")
    else:
        try:
            paths = make_demo_dataset(data, overwrite=args.overwrite)
        except OutputExistsError as exc:
            console.err(f"error: {exc}\n(pass --overwrite to regenerate it)")
            return EXIT_INPUT
        console.say(f"demo dataset with exact ground truth: {paths.root}")
    codes = []
    for vendor, data in (("synthesisai", paths.synthesisai), ("datagen", paths.datagen)):
        console.say(f"\n=== {vendor}: {data}")
        base = ["--quiet"] if args.quiet else []
        codes.append(main(["info", str(data), *base]))
        codes.append(
            main(
                [
                    "verify",
                    str(data),
                    "--json",
                    str(root / f"{vendor}.verify.json"),
                    "--overwrite",
                    "--workers",
                    "1",
                    *base,
                ]
            )
        )
        codes.append(
            main(
                [
                    "project",
                    str(data),
                    "--out",
                    str(root / f"{vendor}.overlays"),
                    "--workers",
                    "1",
                    *base,
                ]
            )
        )
        codes.append(
            main(
                [
                    "pointcloud",
                    str(data),
                    "--out",
                    str(root / f"{vendor}.pointclouds"),
                    "--frame",
                    "world",
                    "--colors",
                    "--fuse",
                    "--workers",
                    "1",
                    *base,
                ]
            )
        )
    _warm_kernels()
    console.say(
        f"\nOutputs in {root.resolve()}: *.verify.json (reports), *.overlays/ (PNG + CSV/JSON landmarks), "
        "*.pointclouds/ (*.points.ply per frame, *.fused.ply per scene)."
    )
    return max(codes)


def _warm_kernels() -> None:
    """Run every projection and depth kernel variant once, so numba caches them all on disk.

    The demo's own frames are small; a user's first large batch would otherwise
    compile the parallel variants in that (later) process. Covered: projection
    of one frame and of a batch above the parallel threshold (float64 points),
    and back-projection of small and large depth maps, z and range, float32
    (as the readers return them) and float64, and the EXR ZIP unfilter.
    """
    import numpy as np

    from camgeom._kernels.exrzip import unfilter_blocks
    from camgeom.depth import points_from_depth
    from camgeom.projection import project_points

    K = np.array([[100.0, 0.0, 64.0], [0.0, 100.0, 64.0], [0.0, 0.0, 1.0]])
    pose = np.eye(4)
    pose[2, 3] = 2.0
    rng = np.random.default_rng(0)
    for n in (468, 20_000):
        project_points(rng.uniform(-0.2, 0.2, (n, 3)), K, pose)
    for side in (64, 320):  # 320 x 320 pixels: above the parallel threshold
        for dtype in (np.float32, np.float64):
            depth = np.full((side, side), 1.5, dtype)
            for kind in ("z", "range"):
                points_from_depth(depth, K, depth_kind=kind)
    block = np.zeros(64, np.uint8)
    unfilter_blocks(block, block.copy(), np.array([0, 64], np.int64), np.array([True]))


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="camgeom",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"camgeom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_console_options(p)
        return p

    def add_job(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        """A per-frame job: path, --out, --workers, --scheduler, --overwrite."""
        p = add(name, help_, example)
        _add_job_options(p)
        return p

    p = add(
        "info",
        "Show vendor, version, frames, cameras and what files are present.",
        "camgeom info data/job_0042",
    )
    p.add_argument("path", help="dataset, render, camera folder or metadata file")
    p.set_defaults(func=cmd_info)

    p = add(
        "verify",
        "Check camera metadata against itself and the pixels; exit 1 if a check fails.",
        "camgeom verify data/faces --json report.json --strict",
    )
    p.add_argument("path", help="dataset, render, camera folder or metadata file")
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.add_argument(
        "--strict", action="store_true", help="turn warnings (e.g. occlusion) into failures"
    )
    p.add_argument(
        "--occlusion-threshold",
        type=float,
        metavar="SHARE",
        help="fail when more than this share (0..1) of 'visible' landmarks lie behind the depth surface",
    )
    p.add_argument("--no-depth", action="store_true", help="skip the checks that read depth maps")
    p.add_argument("--verbose", "-v", action="store_true", help="print every frame's table")
    p.add_argument(
        "--diagnose",
        action="store_true",
        help="for each failing frame, name the known kinds of mistake that fix it, best first",
    )
    p.add_argument(
        "--fix",
        metavar="OUT",
        help="with --diagnose: write corrected copies of frames with one unambiguous diagnosis "
        "and fix_log.json here, a folder outside the dataset (the originals are never "
        "written; files already here are kept unless --overwrite)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="keep the report (verify.json) and a manifest here: a rerun checks only the "
        "frames whose files or options changed (default: no folder, every frame checked)",
    )
    _add_parallel_options(p)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --json file; with --out, check every frame again",
    )
    p.set_defaults(func=cmd_verify)

    p = add_job(
        "project",
        "Project 3D landmarks: overlay PNGs (vendor labels vs projection) and CSV/JSON in (u, v) pixels.",
        "camgeom project data/faces --out overlays --groups ibug68,pupils",
    )
    p.add_argument(
        "--groups",
        metavar="G1,G2",
        help="landmark groups to keep (default: all); see `camgeom info`",
    )
    p.set_defaults(func=cmd_project)

    p = add_job(
        "pointcloud",
        "Back-project depth maps to PLY point clouds (z or range depth handled per vendor).",
        "camgeom pointcloud data/faces --out clouds --frame world --segments head --colors --fuse",
    )
    p.add_argument(
        "--frame",
        choices=("world", "camera"),
        default="camera",
        help="coordinates of the points: world, or the OpenCV camera frame (default)",
    )
    p.add_argument(
        "--segments",
        metavar="NAMES",
        help="keep only these segmentation classes (comma-separated): a name selects the class "
        "of that name and every class with it as a dot- or slash-separated part "
        "('hair' selects 'human.hair'); frames without segmentation keep every point",
    )
    p.add_argument(
        "--colors", action="store_true", help="colour points from the RGB image (when present)"
    )
    p.add_argument(
        "--normals", action="store_true", help="attach normals from the normal map (when present)"
    )
    p.add_argument(
        "--fuse",
        action="store_true",
        help="also merge all views of each scene in world coordinates",
    )
    p.add_argument("--stride", type=int, default=1, help="use every N-th pixel in each direction")
    p.add_argument(
        "--max-depth",
        type=float,
        default=float("inf"),
        metavar="M",
        help="drop points farther than M",
    )
    p.set_defaults(func=cmd_pointcloud)

    from camgeom.export.cli import register as register_export

    register_export(sub)

    p = add(
        "demo",
        "Generate a small dataset with exact ground truth in the Synthesis AI and Datagen layouts, "
        "then run info, verify, project and pointcloud on it.",
        "camgeom demo ./camgeom-demo",
    )
    p.add_argument(
        "dir", nargs="?", default="camgeom-demo", help="output folder (default: ./camgeom-demo)"
    )
    p.add_argument("--overwrite", action="store_true", help="regenerate an existing demo")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    No traceback reaches the user unless ``--debug`` is given: errors are
    reported in one line, with exit code 2 for unusable input, output folder
    or arguments.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    debug = bool(getattr(args, "debug", False))
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # the reader of our output went away (`camgeom verify ... | head`): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted; a rerun resumes where this run stopped", file=sys.stderr)
        return 130
    except (CamgeomError, OSError) as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
