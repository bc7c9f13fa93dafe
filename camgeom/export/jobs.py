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
    UNKNOWN_DEPTH_KIND,
    _check_choice,
    _ExportJob,
    _frame_record,
    lens_model,
    pack_array,
    unpack_array,
)
from camgeom.export.nerfstudio_job import NerfstudioExportJob, export_nerfstudio
from camgeom.export.nerfstudio_job import foreground_mask as foreground_mask
from camgeom.jobs.commit import FrameOutputs, JobOutputs
from camgeom.jobs.job import FrameResult, JobSummary
from camgeom.jobs.manifest import FrameRow
from camgeom.jobs.project import require_groups
from camgeom.jobs.runner import run_job
from camgeom.poses import rotation_from_quaternion

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


def _depth_samples(frame: Frame, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return (
        np.asarray(world, np.float64).reshape(-1, 3),
        uv,
        np.asarray(rgb, np.uint8).reshape(-1, 3),
    )


# ----------------------------------------------------------------------------- COLMAP


@dataclass(frozen=True)
class ColmapExportJob(_ExportJob):
    """Export to COLMAP sparse models; see :func:`export_colmap`."""

    binary: bool = False
    points: str = "landmarks"
    groups: tuple[str, ...] | None = None

    name: ClassVar[str] = "export-colmap"
    # 2: a frame's record carries its observations (packed arrays) instead of its landmarks
    version: ClassVar[str] = "2"

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
        warnings: list[str] = []
        if not rec["image"]:
            warnings.append("no image file: the model names a missing image")
        if rec["image"] is None:
            rec["image"] = out.stem + ".image.png"
        landmarks = []
        if self.points == "landmarks":
            require_groups(frame, self.groups)  # as camgeom project: a typo is not an empty model
            for g, lm in frame.landmarks.items():
                if (self.groups and g not in self.groups) or lm.world is None:
                    continue
                landmarks.append((g, list(lm.names), lm.world, lm.pixels))
        cloud = None
        if self.points == "fused" and frame.depth_path is not None:
            if frame.depth_kind is None:
                warnings.append(UNKNOWN_DEPTH_KIND)
            else:
                cloud = _depth_samples(frame, FUSED_STRIDE)
        rec.update(frame_observations(rec, landmarks, cloud))
        return FrameResult(rec, tuple(warnings))

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


_Landmarks = Sequence[tuple[str, Sequence[str], np.ndarray, "np.ndarray | None"]]


def frame_observations(
    record: Mapping[str, Any],
    landmarks: _Landmarks,
    cloud: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """One image's pose and 2D observations, computed in the worker from its camera record.

    Each landmark that projects into the image becomes an observation: the
    vendor's 2D label where it has one, else camgeom's projection (pinhole
    cameras only). Its error is the distance of the observation from the
    projection through the pose as written (COLMAP holds the rotation nearest to
    the stored matrix), -1 when a lens model is involved. Depth samples of a
    fused cloud follow, each seen at its pixel centre.

    Parameters
    ----------
    record : Mapping
        The frame's record (``size``, ``K``, ``model``, ``cam_from_world`` (3, 4)).
    landmarks : sequence of (group, names, world (N, 3), pixels (N, 2) or None)
    cloud : (world (M, 3), pixels (M, 2), uint8 colours (M, 3)), optional

    Returns
    -------
    dict
        ``qvec`` (the image's quaternion), ``keys`` (``[group, [names]]`` of the
        landmark observations, in order) and the packed arrays (see
        :func:`camgeom.export._job_base.pack_array`) ``obs`` (K, 2), ``xyz``
        (K, 3), ``rgb`` (K, 3) uint8 and ``err`` (K,) of the K observations.
    """
    w, h = record["size"]
    fx, fy, cx, cy = record["K"]
    stored = np.asarray(record["cam_from_world"], float).reshape(3, 4)
    q = _colmap.qvecs_from_rotations(stored[None, :, :3])[0]
    t = stored[:, 3]
    # the rotation of _colmap.pose_from_qvec(q, t), without checking it is one
    R = rotation_from_quaternion(q, order="wxyz", normalize=True)
    pinhole = record["model"] == "PINHOLE"
    worlds, labels = [], []
    for _, _, world, lab in landmarks:
        wa = np.asarray(world, float).reshape(-1, 3)
        worlds.append(wa)
        la = np.full((len(wa), 2), np.nan) if lab is None else np.asarray(lab, float)
        labels.append(la.reshape(-1, 2))
    W = np.concatenate(worlds) if worlds else np.zeros((0, 3))
    L = np.concatenate(labels) if labels else np.zeros((0, 2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pc = W @ R.T + t
        uv = np.stack([fx * pc[:, 0] / pc[:, 2] + cx, fy * pc[:, 1] / pc[:, 2] + cy], 1)
        uv[pc[:, 2] <= 0] = np.nan
        labelled = np.isfinite(L)
        if labelled.all():
            obs = L
        elif pinhole:  # where the point is in the image, for points without a label
            ps = W @ stored[:, :3].T + t
            truth = np.stack([fx * ps[:, 0] / ps[:, 2] + cx, fy * ps[:, 1] / ps[:, 2] + cy], 1)
            truth[ps[:, 2] <= 0] = np.nan
            obs = np.where(labelled, L, truth)
        else:
            obs = np.where(labelled, L, np.nan)
        ok = np.isfinite(uv).all(1) & np.isfinite(obs).all(1)
        ok &= (obs[:, 0] >= 0) & (obs[:, 0] <= w) & (obs[:, 1] >= 0) & (obs[:, 1] <= h)
    _drop_repeated_positions(W, ok)
    sel = np.flatnonzero(ok)
    keys: list[list[Any]] = []
    start = 0
    for (g, gnames, _, _), wa in zip(landmarks, worlds, strict=True):
        mine = ok[start : start + len(wa)]
        start += len(wa)
        if mine.all():
            keys.append([g, list(gnames)])
        elif mine.any():
            keys.append([g, [gnames[i] for i in np.flatnonzero(mine).tolist()]])
    err = np.hypot(*(obs[sel] - uv[sel]).T) if pinhole else np.full(len(sel), -1.0)
    obs, xyz = obs[sel], W[sel]
    rgb = np.full((len(sel), 3), 128, np.uint8)
    if cloud is not None and len(cloud[0]):  # depth samples: one point each
        cw, cuv, crgb = cloud
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pc = cw @ R.T + t
            proj = np.stack([fx * pc[:, 0] / pc[:, 2] + cx, fy * pc[:, 1] / pc[:, 2] + cy], 1)
        cerr = np.hypot(*(cuv - proj).T) if pinhole else np.full(len(cw), -1.0)
        obs = np.concatenate([obs, cuv])
        xyz = np.concatenate([xyz, cw])
        rgb = np.concatenate([rgb, crgb])
        err = np.concatenate([err, cerr])
    return {
        "qvec": q.tolist(),
        "keys": keys,
        "obs": pack_array(obs, "<f8"),
        "xyz": pack_array(xyz, "<f8"),
        "rgb": pack_array(rgb, "u1"),
        "err": pack_array(err, "<f8"),
    }


def _drop_repeated_positions(world: np.ndarray, ok: np.ndarray) -> None:
    """Clear ``ok`` of each landmark at the same 3D position as an earlier one.

    Landmark groups can name one vertex twice (Datagen's ``face_standard`` and
    ``face_dense`` share points): in the model it is one 3D point with one
    observation per image, the first group's, not two points at one place.
    """
    rows = np.flatnonzero(ok)
    if len(rows) < 2:
        return
    _, first = np.unique(world[rows], axis=0, return_index=True)
    repeated = np.ones(len(rows), dtype=bool)
    repeated[first] = False
    ok[rows[repeated]] = False


def colmap_model(
    records: Sequence[Mapping[str, Any]], *, shared_points: bool
) -> _colmap.ColmapModel:
    """Build one COLMAP model from frame records (one camera per frame).

    Each record holds the frame's camera and its observations
    (:func:`frame_observations`). A point's error is the mean error of its
    observations, -1 when a lens model is involved. With ``shared_points``, a
    landmark (group and name) is one 3D point seen by every image of the model
    (at the position its first image gives); otherwise each observation is a
    point of its own. Depth samples are always points of their own.
    """
    cameras, images = [], []
    key_ids: dict[tuple[str, str], int] = {}
    xyz_parts: list[np.ndarray] = []
    rgb_parts: list[np.ndarray] = []
    obs_point, obs_err = [], []
    counts = np.zeros(len(records), np.int64)
    next_id = 1
    for idx, rec in enumerate(records, start=1):
        w, h = rec["size"]
        fx, fy, cx, cy = rec["K"]
        cameras.append(
            _colmap.ColmapCamera(idx, rec["model"], w, h, (fx, fy, cx, cy, *rec["extra"]))
        )
        obs = unpack_array(rec["obs"], "<f8", 2)
        xyz = unpack_array(rec["xyz"], "<f8", 3)
        rgb = unpack_array(rec["rgb"], "u1", 3)
        n = len(obs)
        if shared_points:
            ids = np.empty(n, np.int64)
            new: list[int] = []
            k = 0
            for g, gnames in rec["keys"]:
                for nm in gnames:
                    pid = key_ids.get((g, nm))
                    if pid is None:
                        pid = key_ids[(g, nm)] = next_id
                        next_id += 1
                        new.append(k)
                    ids[k] = pid
                    k += 1
            ids[k:] = np.arange(next_id, next_id + n - k)  # depth samples
            next_id += n - k
            keep = np.concatenate([np.asarray(new, np.int64), np.arange(k, n)])
            xyz_parts.append(xyz[keep])
            rgb_parts.append(rgb[keep])
        else:
            ids = np.arange(next_id, next_id + n, dtype=np.int64)
            next_id += n
            xyz_parts.append(xyz)
            rgb_parts.append(rgb)
        obs_point.append(ids)
        obs_err.append(unpack_array(rec["err"], "<f8", 1)[:, 0])
        counts[idx - 1] = n
        images.append(
            _colmap.ColmapImage(
                idx,
                idx,
                tuple(rec["qvec"]),
                tuple(float(row[3]) for row in rec["cam_from_world"]),  # type: ignore[arg-type]
                rec["image"],
                obs,
                ids,
            )
        )
    xyz = np.concatenate(xyz_parts) if xyz_parts else np.zeros((0, 3))
    if not len(xyz):
        return _colmap.ColmapModel(tuple(cameras), tuple(images))
    point = np.concatenate(obs_point)
    order = np.argsort(point, kind="stable")
    per_point = np.bincount(point - 1, minlength=len(xyz))
    errs = np.concatenate(obs_err)
    invalid = np.bincount(point - 1, weights=(errs < 0).astype(float), minlength=len(xyz)) > 0
    mean = np.bincount(point - 1, weights=errs, minlength=len(xyz)) / np.maximum(per_point, 1)
    image_of = np.repeat(np.arange(1, len(records) + 1, dtype=np.int64), counts)
    row_of = np.arange(len(point), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    points = _colmap.ColmapPoints(
        np.arange(1, len(xyz) + 1, dtype=np.int64),
        xyz,
        np.concatenate(rgb_parts),
        np.where(invalid, -1.0, mean),
        np.concatenate([[0], np.cumsum(per_point)]).astype(np.int64),
        image_of[order],
        row_of[order],
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
