"""Export a dataset as COLMAP models: :func:`export_colmap`.

A dataset job (:func:`camgeom.jobs.run_job`): each frame is read in a worker,
its image linked or copied (never re-encoded) to ``<out>/<stem>.image<ext>``
(``<stem>`` is the frame's output stem, :func:`camgeom.jobs.output_stem`); the
frame's camera and landmarks (or depth samples) travel to the job's reduce
step, which writes the model files. A rerun redoes only frames whose inputs or
options changed, and nothing is written outside the output folder.

The nerfstudio export, :func:`export_nerfstudio`, lives in
:mod:`camgeom.export.nerfstudio_job` and is importable from here too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import numpy as np

from camgeom.export import colmap as _colmap
from camgeom.export._job_base import (
    FUSED_STRIDE,
    IMAGE_MODES,
    _check_choice,
    _ExportJob,
    _frame_record,
    lens_model,
)
from camgeom.export.nerfstudio_job import NerfstudioExportJob, export_nerfstudio
from camgeom.export.nerfstudio_job import foreground_mask as foreground_mask
from camgeom.jobs.commit import FrameOutputs, JobOutputs
from camgeom.jobs.job import FrameResult, JobSummary
from camgeom.jobs.manifest import FrameRow
from camgeom.jobs.runner import run_job

if TYPE_CHECKING:
    from camgeom.datasets import Dataset
    from camgeom.datasets.frame import Frame, FrameSource

__all__ = [
    "FUSED_STRIDE",
    "IMAGE_MODES",
    "POINTS",
    "ColmapExportJob",
    "NerfstudioExportJob",
    "export_colmap",
    "export_nerfstudio",
    "lens_model",
]

#: What seeds a COLMAP model's ``points3D``.
POINTS = ("landmarks", "fused", "none")


def _depth_samples(frame: Frame, stride: int) -> list[list[Any]]:
    """World points, pixel centres and colours of every ``stride``-th depth pixel with a surface."""
    from camgeom.depth import z_from_range

    cam = frame.camera
    assert cam is not None
    depth = frame.read_depth()
    if frame.depth_kind == "range":
        depth = z_from_range(depth, cam.K)
    rows = np.arange(stride // 2, depth.shape[0], stride)
    cols = np.arange(stride // 2, depth.shape[1], stride)
    sub = depth[np.ix_(rows, cols)].astype(np.float64)
    ok = np.isfinite(sub) & (sub > 0)
    r, c = np.nonzero(ok)
    uv = np.stack([cols[c] + 0.5, rows[r] + 0.5], axis=1)
    world = cam.unproject(uv, sub[ok], frame="world")
    rgb = np.full((len(uv), 3), 128, np.uint8)
    if frame.image_path is not None:
        try:
            image = frame.read_image()
            if image.shape[:2] == depth.shape:
                rgb = image[rows[r], cols[c]]
        except (OSError, ValueError):
            pass
    return [world.tolist(), uv.tolist(), rgb.tolist()]


# ----------------------------------------------------------------------------- COLMAP


@dataclass(frozen=True)
class ColmapExportJob(_ExportJob):
    """Export to COLMAP sparse models; see :func:`export_colmap`."""

    binary: bool = False
    points: str = "landmarks"
    groups: tuple[str, ...] | None = None

    name: ClassVar[str] = "export-colmap"

    @property
    def options(self) -> Mapping[str, Any]:
        return {
            "images": self.images,
            "binary": self.binary,
            "points": self.points,
            "groups": None if self.groups is None else list(self.groups),
        }

    def run(self, item: FrameSource, out: FrameOutputs) -> FrameResult:
        frame = item.read(landmarks=self.points == "landmarks")
        rec = _frame_record(self, frame, out)
        warnings = () if rec["image"] else ("no image file: the model names a missing image",)
        if rec["image"] is None:
            rec["image"] = out.stem + ".image.png"
        rec["landmarks"] = {}
        if self.points == "landmarks":
            for g, lm in frame.landmarks.items():
                if (self.groups and g not in self.groups) or lm.world is None:
                    continue
                pixels = None if lm.pixels is None else lm.pixels.tolist()
                rec["landmarks"][g] = [list(lm.names), lm.world.tolist(), pixels]
        elif self.points == "fused" and frame.depth_path is not None:
            rec["cloud"] = _depth_samples(frame, FUSED_STRIDE)
        return FrameResult(rec, warnings)

    def reduce(self, rows: Iterator[FrameRow], out: JobOutputs) -> Mapping[str, Any]:
        recs = self._records(rows)
        scenes: dict[str, list[dict[str, Any]]] = {}
        for rec in recs:
            scenes.setdefault(rec["scene"], []).append(rec)
        single = all(len(v) == 1 for v in scenes.values())
        groups = {"0": recs} if single else {scene_folder(k): v for k, v in scenes.items()}
        totals = {"models": 0, "images": 0, "points3D": 0, "observations": 0}
        for folder, members in groups.items():
            model = colmap_model(members, shared_points=not single)
            for fname, data in _colmap.model_bytes(model, binary=self.binary).items():
                out.path(f"sparse/{folder}/{fname}").write_bytes(data)
            totals["models"] += 1
            totals["images"] += len(model.images)
            totals["points3D"] += len(model.points)
            totals["observations"] += len(model.points.track_image)
        return totals


def scene_folder(scene_id: str) -> str:
    """The model folder name of a scene: its id percent-encoded as one path component.

    Examples
    --------
    >>> scene_folder("datapoint:datapoint_00001/pose:1")
    'datapoint%3Adatapoint_00001%2Fpose%3A1'
    """
    name = quote(scene_id, safe="-_")
    return name if name else "%00"


def colmap_model(
    records: Sequence[Mapping[str, Any]], *, shared_points: bool
) -> _colmap.ColmapModel:
    """Build one COLMAP model from frame records (one camera per frame).

    Each landmark that projects into an image becomes an observation: the
    vendor's 2D label where it has one, else camgeom's projection (pinhole
    cameras only). A point's error is the mean distance of its observations
    from its projection through the pose as written (COLMAP holds the rotation
    nearest to the stored matrix), -1 when a lens model is involved. With
    ``shared_points``, a landmark (group and name) is one 3D point seen by
    every image of the model; otherwise each frame's landmarks are its own points.
    """
    n = len(records)
    stored = np.array([rec["cam_from_world"] for rec in records], float).reshape(n, 3, 4)
    qs = _colmap.qvecs_from_rotations(stored[:, :, :3]) if n else np.zeros((0, 4))
    cameras, images = [], []
    key_ids: dict[tuple[str, str], int] = {}
    xyz_parts: list[np.ndarray] = []
    rgb_parts: list[np.ndarray] = []
    obs_point, obs_image, obs_row, obs_err = [], [], [], []
    next_id = 1
    for idx, rec in enumerate(records, start=1):
        w, h = rec["size"]
        fx, fy, cx, cy = rec["K"]
        cameras.append(
            _colmap.ColmapCamera(idx, rec["model"], w, h, (fx, fy, cx, cy, *rec["extra"]))
        )
        q = qs[idx - 1]
        t = stored[idx - 1, :, 3]
        R = _colmap.pose_from_qvec(q, t)[:3, :3]
        pinhole = rec["model"] == "PINHOLE"
        names: list[tuple[str, str]] = []
        worlds, labels = [], []
        for g, (gnames, world, lab) in rec.get("landmarks", {}).items():
            wa = np.asarray(world, float).reshape(-1, 3)
            worlds.append(wa)
            names.extend((g, nm) for nm in gnames)
            la = np.full((len(wa), 2), np.nan) if lab is None else np.asarray(lab, float)
            labels.append(la.reshape(-1, 2))
        W = np.concatenate(worlds) if worlds else np.zeros((0, 3))
        L = np.concatenate(labels) if labels else np.zeros((0, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            pc = W @ R.T + t
            uv = np.stack([fx * pc[:, 0] / pc[:, 2] + cx, fy * pc[:, 1] / pc[:, 2] + cy], 1)
            uv[pc[:, 2] <= 0] = np.nan
            if pinhole:  # where the point is in the image, for points without a label
                ps = W @ stored[idx - 1, :, :3].T + t
                truth = np.stack([fx * ps[:, 0] / ps[:, 2] + cx, fy * ps[:, 1] / ps[:, 2] + cy], 1)
                truth[ps[:, 2] <= 0] = np.nan
            else:
                truth = np.full_like(uv, np.nan)
        obs = np.where(np.isfinite(L), L, truth)
        ok = np.isfinite(uv).all(1) & np.isfinite(obs).all(1)
        ok &= (obs[:, 0] >= 0) & (obs[:, 0] <= w) & (obs[:, 1] >= 0) & (obs[:, 1] <= h)
        sel = np.flatnonzero(ok)
        if shared_points:
            ids = np.empty(len(sel), np.int64)
            for k, i in enumerate(sel.tolist()):
                key = names[i]
                pid = key_ids.get(key)
                if pid is None:
                    pid = key_ids[key] = next_id
                    next_id += 1
                    xyz_parts.append(W[i : i + 1])
                    rgb_parts.append(np.full((1, 3), 128, np.uint8))
                ids[k] = pid
        else:
            ids = np.arange(next_id, next_id + len(sel), dtype=np.int64)
            next_id += len(sel)
            xyz_parts.append(W[sel])
            rgb_parts.append(np.full((len(sel), 3), 128, np.uint8))
        err = np.hypot(*(obs[sel] - uv[sel]).T) if pinhole else np.full(len(sel), -1.0)
        obs = obs[sel]
        if rec.get("cloud"):  # depth samples: one point each, seen at its pixel centre
            cw = np.asarray(rec["cloud"][0], float).reshape(-1, 3)
            cuv = np.asarray(rec["cloud"][1], float).reshape(-1, 2)
            pc = cw @ R.T + t
            proj = np.stack([fx * pc[:, 0] / pc[:, 2] + cx, fy * pc[:, 1] / pc[:, 2] + cy], 1)
            cids = np.arange(next_id, next_id + len(cw), dtype=np.int64)
            next_id += len(cw)
            xyz_parts.append(cw)
            rgb_parts.append(np.asarray(rec["cloud"][2], np.uint8).reshape(-1, 3))
            ids = np.concatenate([ids, cids])
            obs = np.concatenate([obs, cuv])
            cerr = np.hypot(*(cuv - proj).T) if pinhole else np.full(len(cw), -1.0)
            err = np.concatenate([err, cerr])
        obs_point.append(ids)
        obs_image.append(np.full(len(ids), idx, np.int64))
        obs_row.append(np.arange(len(ids), dtype=np.int64))
        obs_err.append(err)
        images.append(
            _colmap.ColmapImage(
                idx,
                idx,
                tuple(float(v) for v in q),  # type: ignore[arg-type]
                tuple(float(v) for v in t),  # type: ignore[arg-type]
                rec["image"],
                obs,
                ids,
            )
        )
    if not xyz_parts:
        return _colmap.ColmapModel(tuple(cameras), tuple(images))
    xyz = np.concatenate(xyz_parts)
    point = np.concatenate(obs_point)
    order = np.argsort(point, kind="stable")
    counts = np.bincount(point - 1, minlength=len(xyz))
    errs = np.concatenate(obs_err)
    invalid = np.bincount(point - 1, weights=(errs < 0).astype(float), minlength=len(xyz)) > 0
    mean = np.bincount(point - 1, weights=errs, minlength=len(xyz)) / np.maximum(counts, 1)
    points = _colmap.ColmapPoints(
        np.arange(1, len(xyz) + 1, dtype=np.int64),
        xyz,
        np.concatenate(rgb_parts),
        np.where(invalid, -1.0, mean),
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        np.concatenate(obs_image)[order],
        np.concatenate(obs_row)[order],
    )
    return _colmap.ColmapModel(tuple(cameras), tuple(images), points)


def export_colmap(
    dataset: Dataset,
    out: str | os.PathLike[str],
    *,
    binary: bool = False,
    points: str = "landmarks",
    groups: Sequence[str] | None = None,
    images: str = "symlink",
    workers: int | None = None,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: bool = True,
    debug: bool = False,
) -> JobSummary:
    """Export a dataset as COLMAP sparse models.

    Parameters
    ----------
    dataset : Dataset
        From :func:`camgeom.load`.
    out : str or os.PathLike
        Output folder (the COLMAP image folder). Images go to
        ``<stem>.image<ext>``; a dataset whose scenes each hold one frame
        becomes one model in ``sparse/0/``, a multi-view dataset one model per
        scene in ``sparse/<scene stem>/``, with one camera per frame.
    binary : bool, keyword-only
        Write ``.bin`` files instead of ``.txt``.
    points : {"landmarks", "fused", "none"}, keyword-only
        Seed ``points3D`` with the landmarks (2D observations in every image
        they project into, tracks shared across the views of a scene); with
        the fused depth cloud (every :data:`FUSED_STRIDE`-th pixel of each
        view's depth map, range converted to z, lifted to world coordinates and
        coloured from the image, each point observed at its pixel centre in its
        own view); or leave the model without points.
    groups : sequence of str, keyword-only, optional
        Landmark groups to export (default: all).
    images : {"symlink", "hardlink", "copy"}, keyword-only
        How images reach ``out`` (a hard link falls back to a copy across file systems).
    workers, scheduler, overwrite, progress, debug
        As in :func:`camgeom.jobs.run_job`.

    Returns
    -------
    JobSummary
        ``totals`` counts models, images, 3D points and observations.

    Examples
    --------
    >>> import tempfile, camgeom
    >>> from camgeom.demo import make_demo_dataset
    >>> paths = make_demo_dataset(tempfile.mkdtemp() + "/demo")
    >>> s = export_colmap(camgeom.load(paths.datagen), tempfile.mkdtemp(), workers=1, progress=False)
    >>> s.exit_code, s.totals["models"]
    (0, 1)
    """
    _check_choice(points, "points", POINTS)
    _check_choice(images, "images", IMAGE_MODES)
    job = ColmapExportJob(images, bool(binary), points, None if not groups else tuple(groups))
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
