"""``camgeom export colmap|nerfstudio PATH --out DIR``: the command behind the exports.

:func:`register` adds the ``export`` command to the ``camgeom`` parser; the
command loads the dataset, checks the arguments before any frame runs, and
runs :func:`camgeom.export.export_colmap` or
:func:`camgeom.export.export_nerfstudio` with the usual job options.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["cmd_export", "register"]

_HELP = (
    "Export a dataset for 3D reconstruction: COLMAP sparse models or a nerfstudio transforms.json."
)


def _add_common(p: argparse.ArgumentParser) -> None:
    from camgeom import _cli_common as cli  # the options every job command shares

    cli._add_job_options(p)
    p.add_argument(
        "--images",
        choices=("symlink", "hardlink", "copy"),
        default="symlink",
        help="how images reach --out (never re-encoded; default: symlink)",
    )
    cli._add_console_options(p)


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``export`` command (with ``colmap`` and ``nerfstudio``) to a subparsers object."""
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "export",
        help=_HELP,
        description=_HELP,
        epilog="examples:\n  camgeom export colmap data/faces --out colmap --binary\n"
        "  camgeom export nerfstudio data/faces --out ns",
        formatter_class=raw,
    )
    fmt = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    c = fmt.add_parser(
        "colmap",
        help="COLMAP sparse models (cameras, images, points3D)",
        description="One COLMAP model per multi-view scene (sparse/<scene>/), or one for a "
        "single-view dataset (sparse/0/); images in --out. Pixel centres at +0.5, as camgeom.",
        formatter_class=raw,
    )
    _add_common(c)
    c.add_argument("--binary", action="store_true", help="write .bin files instead of .txt")
    c.add_argument(
        "--points",
        choices=("landmarks", "fused", "none"),
        default="landmarks",
        help="seed points3D with the landmarks (tracks shared across a scene's views), with "
        "every 4th depth pixel of each view (fused in world coordinates, coloured), or none",
    )
    c.add_argument("--groups", metavar="G1,G2", help="landmark groups to export (default: all)")
    c.set_defaults(func=cmd_export)
    n = fmt.add_parser(
        "nerfstudio",
        help="nerfstudio / instant-ngp transforms.json",
        description="transforms.json with per-frame intrinsics, OpenGL world_from_cam poses, "
        "images and planar depth in metres (float32 TIFF).",
        formatter_class=raw,
    )
    _add_common(n)
    n.add_argument("--no-depth", action="store_true", help="do not convert depth maps")
    n.add_argument(
        "--no-masks", action="store_true", help="do not write foreground masks (mask_path)"
    )
    n.add_argument(
        "--ply",
        action="store_true",
        help="write points3D.ply (ply_file_path): the fused foreground depth cloud, world frame",
    )
    n.set_defaults(func=cmd_export)
    return p


def cmd_export(args: argparse.Namespace) -> int:
    """Run ``camgeom export colmap|nerfstudio``; returns the exit code."""
    from camgeom import _cli_common as cli
    from camgeom.export.jobs import export_colmap
    from camgeom.export.nerfstudio_job import export_nerfstudio

    console = cli._Console(args.quiet)
    cli._check_job_args(args)
    groups = cli._csv_list(args.groups, "--groups") if args.format == "colmap" else None
    ds = cli._load(args.path, console)
    if ds is None:
        return cli.EXIT_INPUT
    kwargs = cli._job_kwargs(args)
    if args.format == "colmap":
        summary = export_colmap(
            ds,
            args.out,
            binary=args.binary,
            points=args.points,
            groups=groups,
            images=args.images,
            **kwargs,
        )
    else:
        summary = export_nerfstudio(
            ds,
            args.out,
            depth=not args.no_depth,
            masks=not args.no_masks,
            ply=args.ply,
            images=args.images,
            **kwargs,
        )
    cli._report(console, summary, "frame(s)")
    console.say(f"outputs: {Path(summary.out_dir).resolve()}")
    return summary.exit_code
