"""Export a dataset as COLMAP models or a nerfstudio ``transforms.json``.

Both exports are dataset jobs (:func:`camgeom.jobs.run_job`): each frame is
read in a worker, its image linked or copied (never re-encoded) to
``<out>/<stem>.image<ext>`` (``<stem>`` is the frame's output stem,
:func:`camgeom.jobs.output_stem`) and, for nerfstudio, its depth converted to
``<stem>.depth.tif``; the frame's camera and landmarks travel to the job's
reduce step, which writes the model files. A rerun redoes only frames whose
inputs or options changed, and nothing is written outside the output folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import numpy as np

from camgeom.errors import InvalidValueError
from camgeom.export import colmap as _colmap
from camgeom.export import nerfstudio as _ns
from camgeom.export.colmap import ExportError
from camgeom.jobs.commit import FrameOutputs, JobOutputs
from camgeom.jobs.job import FrameResult, Job, JobSummary
from camgeom.jobs.manifest import FrameRow
from camgeom.jobs.runner import run_job
from camgeom.poses import invert_pose

if TYPE_CHECKING:
    from camgeom.camera import Camera
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

#: How images reach the output folder.
IMAGE_MODES = ("symlink", "hardlink", "copy")
#: What seeds a COLMAP model's ``points3D``.
POINTS = ("landmarks", "fused", "none")
#: Pixel step of the depth samples that seed ``points3D`` with ``points="fused"``.
FUSED_STRIDE = 4

_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".webp")
_IMAGE_SUFFIXES = tuple(".image" + e for e in _IMAGE_EXTS)


def lens_model(camera: Camera) -> tuple[str, list[float], dict[str, Any]]:
    """COLMAP camera model, its parameters after ``fx, fy, cx, cy``, and nerfstudio's lens fields.

    A camera without a lens distortion is COLMAP ``"PINHOLE"`` (nerfstudio
    ``"OPENCV"`` with zero coefficients); an OpenCV lens is ``"OPENCV"`` (or
    ``"FULL_OPENCV"`` when ``k3 .. k6`` are used), a fisheye lens ``"OPENCV_FISHEYE"``.

    Raises
    ------
    ExportError
        A lens model that COLMAP or nerfstudio cannot hold.
    """
    dist = getattr(camera, "distortion", None)
    if dist is None:
        return "PINHOLE", [], {"camera_model": "OPENCV"}
    try:
        from camgeom import lens
    except ImportError:  # pragma: no cover - lens models are part of camgeom
        raise ExportError(
            f"This camera has a lens distortion ({dist!r}) camgeom cannot export."
        ) from None
    try:
        ns = lens.nerfstudio_from_distortion(dist)
    except ValueError:
        ns = {}
    coef = [float(c) for c in dist.coefficients]
    if isinstance(dist, lens.FisheyeDistortion):
        return "OPENCV_FISHEYE", coef, ns
    if isinstance(dist, lens.OpenCVDistortion):
        if any(coef[4:]):
            return "FULL_OPENCV", coef, ns
        return "OPENCV", coef[:4], ns
    raise ExportError(f"This camera has a lens model camgeom cannot export: {dist!r}.")


def _place_image(src: Path, dst: Path, mode: str) -> None:
    if mode == "symlink":
        os.symlink(os.path.abspath(src), dst)
    elif mode == "hardlink":
        try:
            os.link(src, dst)
        except OSError:  # another file system, or no hard links there
            shutil.copyfile(src, dst)
    else:
        shutil.copyfile(src, dst)


def _image_suffix(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in _IMAGE_EXTS:
        raise ExportError(
            f"Image {path.name}: extension {ext or '(none)'} is not one of {', '.join(_IMAGE_EXTS)}."
        )
    return ".image" + ext


def _frame_record(job: _ExportJob, frame: Frame, out: FrameOutputs) -> dict[str, Any]:
    """Place one frame's image; return what the reduce step needs (JSON)."""
    cam = frame.camera
    if cam is None:
        raise ExportError(
            f"frame {frame.frame_id}: this {frame.vendor} frame has no camera; nothing to export."
        )
    model, extra, ns = lens_model(cam)
    image = None
    if frame.image_path is not None and frame.image_path.is_file():
        suffix = _image_suffix(frame.image_path)
        _place_image(frame.image_path, out.path(suffix), job.images)
        image = out.stem + suffix
    K = cam.K
    # a pose stored as world_from_cam, from which the camera was built, is passed on as
    # stored: inverting it twice would change its last bits (export -> load -> export)
    world_from_cam = cam.world_from_cam
    stored = frame.metadata.stored_world_from_cam
    if stored is not None and np.array_equal(invert_pose(stored), cam.cam_from_world):
        world_from_cam = stored
    return {
        "frame_id": frame.frame_id,
        "scene": frame.scene_id,
        "image": image,
        "size": [cam.width, cam.height],
        "K": [K[0, 0], K[1, 1], K[0, 2], K[1, 2]],
        "model": model,
        "extra": extra,
        "nerfstudio": ns,
        "cam_from_world": cam.cam_from_world[:3].tolist(),
        "world_from_cam": np.asarray(world_from_cam)[:3].tolist(),
    }


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


@dataclass(frozen=True)
class _ExportJob(Job):
    images: str = "symlink"

    suffixes: ClassVar[tuple[str, ...]] = _IMAGE_SUFFIXES

    def inputs(self, item: FrameSource) -> Sequence[str]:
        from camgeom.jobs.project import source_inputs

        return source_inputs(item)

    @staticmethod
    def _records(rows: Iterator[FrameRow]) -> list[dict[str, Any]]:
        recs = [r.data for r in rows if r.state == "ok" and r.result is not None]
        return sorted(recs, key=lambda d: d["frame_id"])


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


# ----------------------------------------------------------------------------- nerfstudio


@dataclass(frozen=True)
class NerfstudioExportJob(_ExportJob):
    """Export to nerfstudio's ``transforms.json``; see :func:`export_nerfstudio`."""

    depth: bool = True
    masks: bool = True
    ply: bool = False

    name: ClassVar[str] = "export-nerfstudio"
    suffixes: ClassVar[tuple[str, ...]] = (*_IMAGE_SUFFIXES, ".depth32.tif", ".mask.png")

    @property
    def options(self) -> Mapping[str, Any]:
        return {"images": self.images, "depth": self.depth, "masks": self.masks, "ply": self.ply}

    def run(self, item: FrameSource, out: FrameOutputs) -> FrameResult:
        frame = item.read(landmarks=False)
        rec = _frame_record(self, frame, out)
        warnings: list[str] = []
        if rec["image"] is None:
            rec["image"] = out.stem + ".image.png"
            warnings.append("no image file: transforms.json names a missing image")
        rec["depth"] = rec["mask"] = None
        mask = foreground_mask(frame) if (self.masks or self.ply) else None
        if self.masks and mask is not None:
            from PIL import Image

            Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(
                out.path(".mask.png"), format="PNG"
            )
            rec["mask"] = out.stem + ".mask.png"
        if (self.depth or self.ply) and frame.depth_path is not None and frame.camera is not None:
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
                rec["cloud"] = [world.tolist(), rgb.tolist()]
        return FrameResult(rec, tuple(warnings))

    def reduce(self, rows: Iterator[FrameRow], out: JobOutputs) -> Mapping[str, Any]:
        from camgeom.conventions import convert_pose

        entries = []
        xyz: list[np.ndarray] = []
        rgb: list[np.ndarray] = []
        for rec in self._records(rows):
            if rec.get("cloud"):
                xyz.append(np.asarray(rec["cloud"][0], np.float64).reshape(-1, 3))
                rgb.append(np.asarray(rec["cloud"][1], np.uint8).reshape(-1, 3))
            fx, fy, cx, cy = rec["K"]
            pose = np.eye(4)
            pose[:3] = rec["world_from_cam"]
            world_from_cam = convert_pose(pose, "opencv", "opengl", kind="world_from_cam")
            ns = rec["nerfstudio"]
            if not ns:
                raise ExportError(
                    f"frame {rec['frame_id']}: its {rec['model']} lens (rational terms) has no "
                    "nerfstudio camera model."
                )
            entries.append(
                _ns.frame_entry(
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
            )
        ply = None
        if self.ply:
            from camgeom.io.ply import write_ply

            ply = "points3D.ply"
            points = np.concatenate(xyz) if xyz else np.zeros((0, 3))
            colors = np.concatenate(rgb) if rgb else np.zeros((0, 3), np.uint8)
            write_ply(out.path(ply), points, colors=colors, overwrite=True)
        out.path("transforms.json").write_bytes(_ns.transforms_bytes(entries, ply_file_path=ply))
        return {
            "frames": len(entries),
            "depth": sum(1 for e in entries if "depth_file_path" in e),
            "masks": sum(1 for e in entries if "mask_path" in e),
            "points": sum(len(p) for p in xyz),
        }


# ----------------------------------------------------------------------------- functions


def _check_choice(value: str, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidValueError(
            f"Expected `{name}` to be one of {tuple(choices)!r}, got {value!r}."
        )


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
        keys = [k for k in frame.segmentation_mapping if str(k).lower() != "background"]
        if keys:
            return np.asarray(frame.segment_mask(keys), bool)
    h, w = frame.height, frame.width
    if frame.alpha_path is not None and frame.alpha_path.is_file() and h and w:
        from camgeom.datasets._pixels import alpha_mask

        return alpha_mask(frame.alpha_path, (h, w))
    return None
