"""The ``camgeom`` command line: info, verify, project, pointcloud, demo.

Exit codes: 0 success; 1 a check failed or some frames failed (the rest were
processed, see the summary); 2 the input could not be read at all or the
command line was wrong.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from camgeom._version import __version__
from camgeom.errors import CamgeomError, OutputExistsError

if TYPE_CHECKING:
    from camgeom.datasets import Dataset, Frame

__all__ = ["main"]

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2

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
  camgeom pointcloud data/faces --out clouds --frame world --segments face,hair --colors --fuse

exit codes: 0 ok; 1 a check or a frame failed (the others were processed); 2 unreadable input.
conventions: docs/conventions.md (OpenCV camera frame, pixel centres at +0.5, z vs range depth).
"""


# ----------------------------------------------------------------------------- helpers


class _Console:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def say(self, text: str = "") -> None:
        print(text)

    def err(self, text: str) -> None:
        print(text, file=sys.stderr)

    def progress(self, items: Any, total: int | None, desc: str) -> Any:
        if self.quiet:
            return items
        from tqdm import tqdm

        return tqdm(items, total=total, desc=desc, unit="frame", file=sys.stderr, leave=False)


def _load(path: str, console: _Console) -> Dataset | None:
    from camgeom.datasets import load

    try:
        return load(path)
    except FileNotFoundError as exc:
        console.err(f"error: {exc}")
    except CamgeomError as exc:
        console.err(f"error: {exc}")
    return None


def _start_job(args: argparse.Namespace) -> tuple[_Console, Dataset, Path] | None:
    """Load the dataset and create the output folder of a per-frame job (None: unreadable)."""
    console = _Console(args.quiet)
    ds = _load(args.path, console)
    if ds is None:
        return None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return console, ds, out


def _csv_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _safe_name(frame_id: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in frame_id.replace("/", "__"))
    return out.strip("._") or "frame"


def _frames(ds: Dataset, console: _Console, desc: str) -> Iterator[Frame]:
    ds.errors = []
    yield from console.progress(ds.iter_frames(on_error="collect"), len(ds), desc)


def _write_text(path: Path, text: str, *, overwrite: bool) -> None:
    from camgeom.io import atomic_output

    with atomic_output(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def _write_png(path: Path, image: np.ndarray, *, overwrite: bool) -> None:
    from PIL import Image

    from camgeom.io import atomic_output

    with atomic_output(path, overwrite=overwrite) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def _summary(
    console: _Console, done: int, kept: int, failed: list[tuple[str, str]], what: str
) -> int:
    console.say(
        f"{done} frame(s) {what}, {kept} kept (outputs exist; --overwrite replaces them), "
        f"{len(failed)} failed"
    )
    for fid, msg in failed:
        console.err(f"FAILED {fid}: {msg}")
    return EXIT_FAIL if failed else EXIT_OK


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
    return EXIT_FAIL if ds.errors else EXIT_OK


# ----------------------------------------------------------------------------- verify


def cmd_verify(args: argparse.Namespace) -> int:
    from camgeom.verification import verify_dataset

    console = _Console(args.quiet)
    ds = _load(args.path, console)
    if ds is None:
        return EXIT_INPUT
    if args.json and Path(args.json).exists() and not args.overwrite:
        console.err(f"error: {args.json} exists; pass --overwrite to replace it")
        return EXIT_INPUT
    rep = verify_dataset(
        ds,
        strict=args.strict,
        occlusion_threshold=args.occlusion_threshold,
        use_depth=not args.no_depth,
        progress=not args.quiet,
    )
    console.say(str(rep))
    if args.verbose:
        for r in rep.reports:
            console.say("")
            console.say(str(r))
    if args.json:
        _write_text(Path(args.json), rep.to_json(), overwrite=args.overwrite)
        console.say(f"\nJSON report: {args.json}")
    if not rep.reports and rep.unreadable:
        return EXIT_INPUT
    return EXIT_OK if rep.passed else EXIT_FAIL


# ----------------------------------------------------------------------------- project


def _landmark_rows(frame: Frame, groups: Sequence[str] | None) -> list[dict[str, Any]]:
    cam = frame.camera
    rows: list[dict[str, Any]] = []
    for g in frame.landmarks:
        if groups and g not in groups:
            continue
        lm = frame.landmarks[g]
        if cam is not None and lm.world is not None:
            uv, z = cam.project(lm.world)
            inside = cam.in_image(uv)
        else:
            uv = np.full((len(lm), 2), np.nan)
            z = np.full(len(lm), np.nan)
            inside = np.zeros(len(lm), bool)
        for i, name in enumerate(lm.names):
            label = lm.pixels[i] if lm.pixels is not None else (np.nan, np.nan)
            rows.append(
                {
                    "group": g,
                    "name": name,
                    "u": _num(uv[i, 0]),
                    "v": _num(uv[i, 1]),
                    "depth_z": _num(z[i]),
                    "in_image": bool(inside[i]),
                    "visible": None if lm.visible is None else bool(lm.visible[i]),
                    "label_u": _num(label[0]),
                    "label_v": _num(label[1]),
                }
            )
    return rows


def _num(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def cmd_project(args: argparse.Namespace) -> int:
    from camgeom.drawing import draw_landmarks_comparison

    job = _start_job(args)
    if job is None:
        return EXIT_INPUT
    console, ds, out = job
    groups = _csv_list(args.groups)
    done = kept = 0
    failed: list[tuple[str, str]] = []
    for f in _frames(ds, console, "project"):
        stem = out / _safe_name(f.frame_id)
        paths = [
            stem.with_suffix(".png"),
            Path(f"{stem}.landmarks.csv"),
            Path(f"{stem}.landmarks.json"),
        ]
        if not args.overwrite and all(p.exists() for p in paths):
            kept += 1
            continue
        try:
            rows = _landmark_rows(f, groups)
            if groups:
                missing = [g for g in groups if g not in f.landmarks]
                if len(missing) == len(groups):
                    raise CamgeomError(
                        f"none of the groups {groups} in this frame; it has: {', '.join(f.landmarks)}"
                    )
            buf = io.StringIO()
            fields = [
                "group",
                "name",
                "u",
                "v",
                "depth_z",
                "in_image",
                "visible",
                "label_u",
                "label_v",
            ]
            writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            for r in rows:
                writer.writerow({k: ("" if r[k] is None else r[k]) for k in fields})
            doc = {
                "frame_id": f.frame_id,
                "vendor": f.vendor,
                "pixel_convention": "camgeom: (u, v) = (column, row), pixel centres at +0.5",
                "landmarks": rows,
            }
            image = _frame_image(f)
            uv = np.array([[r["u"], r["v"]] for r in rows], dtype=float).reshape(-1, 2)
            labels = np.array([[r["label_u"], r["label_v"]] for r in rows], dtype=float).reshape(
                -1, 2
            )
            vis = np.array([r["visible"] is not False for r in rows], bool)
            overlay = draw_landmarks_comparison(image, labels, uv, visible=vis)
            _write_text(paths[1], buf.getvalue(), overwrite=args.overwrite)
            _write_text(
                paths[2], json.dumps(doc, indent=1, allow_nan=False), overwrite=args.overwrite
            )
            _write_png(paths[0], overlay, overwrite=args.overwrite)
            done += 1
        except OutputExistsError as exc:
            failed.append((f.frame_id, f"{exc} (pass --overwrite to replace)"))
        except (CamgeomError, OSError, ValueError) as exc:
            failed.append((f.frame_id, str(exc)))
    failed += [(e.frame_id, f"{e.path}: {e.message}") for e in ds.errors]
    code = _summary(console, done, kept, failed, "projected")
    console.say(f"outputs: {out.resolve()}")
    return code


def _frame_image(f: Frame) -> np.ndarray:
    if f.image_path is not None:
        try:
            return f.read_image()
        except (CamgeomError, OSError):
            pass
    w = f.camera.width if f.camera is not None else 512
    h = f.camera.height if f.camera is not None else 512
    return np.zeros((h, w, 3), np.uint8)


# ----------------------------------------------------------------------------- pointcloud


def cmd_pointcloud(args: argparse.Namespace) -> int:
    from camgeom.depth import points_from_depth
    from camgeom.pointcloud import concatenate_point_clouds

    job = _start_job(args)
    if job is None:
        return EXIT_INPUT
    console, ds, out = job
    segments = _csv_list(args.segments)
    done = kept = 0
    failed: list[tuple[str, str]] = []
    fused: dict[str, list[Any]] = {}
    for f in _frames(ds, console, "pointcloud"):
        path = out / f"{_safe_name(f.frame_id)}.ply"
        if path.exists() and not args.overwrite and not args.fuse:
            kept += 1
            continue
        try:
            if f.camera is None or f.depth_path is None or f.depth_kind is None:
                raise CamgeomError("the frame has no camera or no depth map")
            depth = f.read_depth()
            mask = f.segment_mask(segments) if segments else None
            colors = f.read_image() if args.colors else None
            normals = f.read_normals() if args.normals else None
            cloud = points_from_depth(
                depth,
                f.camera.K,
                depth_kind=f.depth_kind,
                mask=mask,
                stride=args.stride,
                max_depth=args.max_depth,
                colors=colors,
                normals=normals,
            )
            if args.frame == "world" or args.fuse:
                world = cloud.transformed(f.camera.world_from_cam)
                if args.fuse:
                    fused.setdefault(f.scene_id, []).append(world)
                if args.frame == "world":
                    cloud = world
            if path.exists() and not args.overwrite:
                kept += 1
            else:
                cloud.write_ply(path, overwrite=args.overwrite)
                done += 1
        except (CamgeomError, OSError, ValueError) as exc:
            failed.append((f.frame_id, str(exc)))
    for scene, clouds in fused.items():
        path = out / f"{_safe_name(scene)}.fused.ply"
        if path.exists() and not args.overwrite:
            kept += 1
            continue
        try:
            concatenate_point_clouds(clouds).write_ply(path, overwrite=args.overwrite)
            console.say(f"fused {len(clouds)} view(s) of {scene}: {path}")
        except (CamgeomError, OSError) as exc:
            failed.append((scene, str(exc)))
    failed += [(e.frame_id, f"{e.path}: {e.message}") for e in ds.errors]
    code = _summary(console, done, kept, failed, "written")
    console.say(
        f"outputs: {out.resolve()} ({args.frame} frame{', OpenCV axes' if args.frame == 'camera' else ''})"
    )
    return code


# ----------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from camgeom.demo import DemoPaths, make_demo_dataset

    console = _Console(args.quiet)
    root = Path(args.dir)
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
                    "--overwrite",
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
                    "--overwrite",
                    *base,
                ]
            )
        )
    console.say(
        f"\nOutputs in {root.resolve()}: *.verify.json (reports), *.overlays/ (PNG + CSV/JSON landmarks), "
        "*.pointclouds/ (PLY per frame and fused per scene)."
    )
    return max(codes)


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
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
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
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.set_defaults(func=cmd_verify)

    p = add(
        "project",
        "Project 3D landmarks: overlay PNGs (vendor labels vs projection) and CSV/JSON in (u, v) pixels.",
        "camgeom project data/faces --out overlays --groups ibug68,pupils",
    )
    p.add_argument("path", help="dataset, render, camera folder or metadata file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument(
        "--groups",
        metavar="G1,G2",
        help="landmark groups to keep (default: all); see `camgeom info`",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=cmd_project)

    p = add(
        "pointcloud",
        "Back-project depth maps to PLY point clouds (z or range depth handled per vendor).",
        "camgeom pointcloud data/faces --out clouds --frame world --segments face,hair --colors --fuse",
    )
    p.add_argument("path", help="dataset, render, camera folder or metadata file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument(
        "--frame",
        choices=("world", "camera"),
        default="camera",
        help="coordinates of the points: world, or the OpenCV camera frame (default)",
    )
    p.add_argument(
        "--segments", metavar="NAMES", help="keep only these segmentation classes (comma-separated)"
    )
    p.add_argument("--colors", action="store_true", help="colour points from the RGB image")
    p.add_argument("--normals", action="store_true", help="attach normals from the normal map")
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
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=cmd_pointcloud)

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
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
