"""Export a dataset as a nerfstudio ``transforms.json``: :func:`export_nerfstudio`.

A dataset job (:func:`camgeom.jobs.run_job`): each frame is read in a worker,
its image linked or copied (never re-encoded) to ``<out>/<stem>.image<ext>``,
its depth converted to planar z in ``<stem>.depth32.tif`` and its foreground
mask written to ``<stem>.mask.png``; the worker also makes the frame's
``transforms.json`` entry, and the reduce step writes ``transforms.json`` (and
``points3D.ply``). A rerun redoes only frames whose inputs or options
changed, and nothing is written outside the output folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from camgeom.export import nerfstudio as _ns
from camgeom.export._job_base import (
    _IMAGE_SUFFIXES,
    FUSED_STRIDE,
    IMAGE_MODES,
    UNKNOWN_DEPTH_KIND,
    _check_choice,
    _ExportJob,
    _frame_record,
    pack_array,
    unpack_array,
)
from camgeom.export.colmap import ExportError
from camgeom.jobs.commit import FrameOutputs, JobOutputs
from camgeom.jobs.job import FrameResult, JobSummary
from camgeom.jobs.manifest import FrameRow
from camgeom.jobs.runner import run_job

if TYPE_CHECKING:
    from camgeom.datasets import Dataset
    from camgeom.datasets.frame import Frame, FrameSource

__all__ = ["NerfstudioExportJob", "export_nerfstudio", "foreground_mask"]


@dataclass(frozen=True)
class NerfstudioExportJob(_ExportJob):
    """Export to nerfstudio's ``transforms.json``; see :func:`export_nerfstudio`."""

    depth: bool = True
    masks: bool = True
    ply: bool = False

    name: ClassVar[str] = "export-nerfstudio"
    # 2: a frame's record carries its transforms.json entry; masks are written by mask_png_bytes
    # 3: the record holds the entry as transforms.json text, and little else
    # 4: a lens nerfstudio cannot hold fails its frame (a record always holds an entry)
    version: ClassVar[str] = "4"
    suffixes: ClassVar[tuple[str, ...]] = (*_IMAGE_SUFFIXES, ".depth32.tif", ".mask.png")

    @property
    def options(self) -> Mapping[str, Any]:
        return {"images": self.images, "depth": self.depth, "masks": self.masks, "ply": self.ply}

    def run(self, item: FrameSource, out: FrameOutputs) -> FrameResult:
        frame = item.read(landmarks=False)
        rec = _frame_record(self, frame, out)
        if not rec["nerfstudio"]:  # this frame fails; the others are exported
            raise ExportError(
                f"its {rec['model']} lens (rational terms k4-k6) has no nerfstudio camera "
                "model; export it to COLMAP (FULL_OPENCV) instead."
            )
        warnings: list[str] = []
        if rec["image"] is None:
            rec["image"] = out.stem + ".image.png"
            warnings.append("no image file: transforms.json names a missing image")
        rec["depth"] = rec["mask"] = None
        mask = foreground_mask(frame) if (self.masks or self.ply) else None
        if self.masks and mask is not None:
            out.path(".mask.png").write_bytes(_ns.mask_png_bytes(mask))
            rec["mask"] = out.stem + ".mask.png"
        wants_depth = (self.depth or self.ply) and frame.depth_path is not None
        if wants_depth and frame.depth_kind is None:
            warnings.append(UNKNOWN_DEPTH_KIND)
        elif wants_depth and frame.camera is not None:
            from camgeom.depth import z_from_range

            d = frame.read_depth()
            if frame.depth_kind == "range":
                d = z_from_range(d, frame.camera.K)
            d = np.where(np.isfinite(d), d, 0.0).astype(np.float32)
            if self.depth:
                import tifffile

                tifffile.imwrite(out.path(".depth32.tif"), d, compression="zlib")
                rec["depth"] = out.stem + ".depth32.tif"
            if self.ply:  # from the depth as written, so a reloaded export fuses the same cloud
                image = None
                if frame.image_path is not None and frame.image_path.is_file():
                    try:
                        image = frame.read_image()
                    except (OSError, ValueError):
                        image = None
                world, rgb = _ns.cloud_samples(
                    frame.camera,
                    d,
                    world_from_cam=np.asarray(rec["world_from_cam"]),
                    stride=FUSED_STRIDE,
                    mask=mask,
                    image=image,
                )
                rec["cloud"] = [pack_array(world, "<f8"), pack_array(rgb, "u1")]
        entry = _entry(rec)
        # what the reduce step needs: the entry as transforms.json text, made here
        data = {
            "frame_id": rec["frame_id"],
            "model": rec["model"],
            "entry": _ns.entry_text(entry),
            "depth": rec["depth"] is not None,
            "mask": rec["mask"] is not None,
        }
        if "cloud" in rec:
            data["cloud"] = rec["cloud"]
        return FrameResult(data, tuple(warnings))

    def reduce(self, rows: Iterator[FrameRow], out: JobOutputs) -> Mapping[str, Any]:
        texts: list[str] = []
        depth = masks = 0
        xyz: list[np.ndarray] = []
        rgb: list[np.ndarray] = []
        for rec in self._records(rows):
            if rec.get("cloud"):
                xyz.append(unpack_array(rec["cloud"][0], "<f8", 3))
                rgb.append(unpack_array(rec["cloud"][1], "u1", 3))
            texts.append(rec["entry"])
            depth += bool(rec["depth"])
            masks += bool(rec["mask"])
        ply = None
        if self.ply:
            from camgeom.io.ply import write_ply

            ply = "points3D.ply"
            points = np.concatenate(xyz) if xyz else np.zeros((0, 3))
            colors = np.concatenate(rgb) if rgb else np.zeros((0, 3), np.uint8)
            write_ply(out.path(ply), points, colors=colors, overwrite=True)
        doc = _ns.transforms_bytes_of_texts(texts, depth=depth > 0, ply_file_path=ply)
        out.path("transforms.json").write_bytes(doc)
        return {
            "frames": len(texts),
            "depth": depth,
            "masks": masks,
            "points": sum(len(p) for p in xyz),
        }


def _entry(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The frame's ``transforms.json`` entry (its lens has a nerfstudio model: see ``run``)."""
    from camgeom.conventions import convert_pose

    ns = rec["nerfstudio"]
    fx, fy, cx, cy = rec["K"]
    pose = np.eye(4)
    pose[:3] = rec["world_from_cam"]
    world_from_cam = convert_pose(pose, "opencv", "opengl", kind="world_from_cam")
    entry = _ns.frame_entry(
        file_path=rec["image"],
        K=np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]),
        width=rec["size"][0],
        height=rec["size"][1],
        world_from_cam_opengl=world_from_cam,
        camera_model=ns["camera_model"],
        distortion={k: v for k, v in ns.items() if k != "camera_model"},
        depth_file_path=rec["depth"],
        mask_path=rec.get("mask"),
    )
    numbers = [v for v in entry.values() if isinstance(v, float)]
    if not (np.isfinite(numbers).all() and np.isfinite(world_from_cam).all()):
        raise ExportError(
            f"frame {rec['frame_id']}: its camera has non-finite values; JSON cannot hold them."
        )
    return entry


def export_nerfstudio(
    dataset: Dataset,
    out: str | os.PathLike[str],
    *,
    depth: bool = True,
    masks: bool = True,
    ply: bool = False,
    images: str = "symlink",
    workers: int | None = None,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: bool = True,
    debug: bool = False,
) -> JobSummary:
    """Export a dataset as a nerfstudio ``transforms.json`` in ``out``.

    Parameters
    ----------
    dataset : Dataset
    out : str or os.PathLike
        Output folder: ``transforms.json``, images (``<stem>.image<ext>``) and
        depth maps (``<stem>.depth32.tif``, planar z in metres, 0 for no surface).
    depth : bool, keyword-only
        Convert each frame's depth map (range depth becomes planar z).
    masks : bool, keyword-only
        Write each frame's foreground mask (``<stem>.mask.png``, 255 on every
        segmentation class but ``background``, else alpha > 0; 0 = ignore) as ``mask_path``.
    ply : bool, keyword-only
        Write ``points3D.ply`` (``ply_file_path``): every :data:`FUSED_STRIDE`-th
        depth pixel of each view's foreground, lifted to the world frame of
        ``transform_matrix`` and coloured from the image.
    images : {"symlink", "hardlink", "copy"}, keyword-only
    workers, scheduler, overwrite, progress, debug
        As in :func:`camgeom.jobs.run_job`.

    Returns
    -------
    JobSummary

    Examples
    --------
    >>> import tempfile, camgeom
    >>> from camgeom.demo import make_demo_dataset
    >>> paths = make_demo_dataset(tempfile.mkdtemp() + "/demo")
    >>> s = export_nerfstudio(camgeom.load(paths.synthesisai), tempfile.mkdtemp(), workers=1,
    ...                       progress=False)
    >>> s.exit_code, s.totals["frames"]
    (0, 3)
    """
    _check_choice(images, "images", IMAGE_MODES)
    job = NerfstudioExportJob(images, bool(depth), bool(masks), bool(ply))
    return run_job(
        job,
        dataset.sources,
        out,
        root=dataset.root,
        workers=workers,
        scheduler=scheduler,
        overwrite=overwrite,
        progress=progress,
        debug=debug,
    )


def foreground_mask(frame: Frame) -> np.ndarray | None:
    """Boolean (H, W) foreground of a frame, or None when it has neither segmentation nor alpha.

    The foreground is every segmentation class but ``background`` (case-insensitive);
    without a segmentation class mapping, the pixels with alpha > 0; for a frame read
    from ``transforms.json``, the nonzero pixels of its ``mask_path`` (so an exported
    dataset exports again to the same masks).
    """
    raw = frame.raw.get("frame") if frame.vendor == "nerfstudio" else None
    if isinstance(raw, Mapping) and raw.get("mask_path") and frame.source is not None:
        from PIL import Image

        with Image.open(Path(frame.source).parent / str(raw["mask_path"])) as img:
            m = np.asarray(img)
        return (m if m.ndim == 2 else m[..., 0]) > 0
    if frame.segmentation_path is not None and frame.segmentation_mapping:
        from camgeom.datasets import _pixels

        mapping = frame.segmentation_mapping
        keys = [k for k in mapping if str(k).lower() != "background"]
        if keys:  # exact class names: no name matching needed
            seg = frame.read_segmentation()
            return np.asarray(_pixels.segment_mask(seg, mapping, keys), bool)
    h, w = frame.height, frame.width
    if frame.alpha_path is not None and frame.alpha_path.is_file() and h and w:
        from camgeom.datasets._pixels import alpha_mask

        return alpha_mask(frame.alpha_path, (h, w))
    return None
