"""The ``pointcloud`` dataset job: one PLY per frame, and optionally one per scene.

:func:`pointclouds_from_dataset` back-projects each frame's depth map to
``<stem>.points.ply``; with ``fuse=True`` a second pass writes, per scene, the
union of its views in world coordinates to ``<scene stem>.fused.ply``. Fused
scenes are counted apart from frames (:attr:`PointcloudSummary.scenes`).

Colours, normals and segment masks degrade per frame: a frame without an RGB
image, a normal map or a segmentation is written without them, with a warning.
A view that cannot be read is left out of its scene's fused cloud, with a
warning naming it and the error; a scene none of whose views can be read fails.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from camgeom.errors import FormatError, InvalidValueError
from camgeom.jobs.commit import FrameOutputs
from camgeom.jobs.job import FrameResult, Job, JobSummary
from camgeom.jobs.project import source_inputs
from camgeom.jobs.runner import run_job

if TYPE_CHECKING:
    from camgeom.datasets import Dataset, Frame
    from camgeom.datasets.frame import FrameSource
    from camgeom.pointcloud import PointCloud

__all__ = [
    "FuseJob",
    "PointcloudJob",
    "PointcloudSummary",
    "Scene",
    "check_cloud_options",
    "pointclouds_from_dataset",
]


def check_cloud_options(*, frame: str, stride: int, max_depth: float) -> None:
    """Raise :class:`InvalidValueError` for options no frame could use."""
    if frame not in ("camera", "world"):
        raise InvalidValueError(f"Expected `frame` to be 'camera' or 'world', got {frame!r}.")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise InvalidValueError(f"Expected `stride` to be an integer >= 1, got {stride!r}.")
    if not isinstance(max_depth, (int, float)) or math.isnan(max_depth) or max_depth <= 0:
        raise InvalidValueError(f"Expected `max_depth` to be a number > 0, got {max_depth!r}.")


@dataclass(frozen=True)
class _CloudOptions:
    segments: tuple[str, ...] | None = None
    colors: bool = False
    normals: bool = False
    stride: int = 1
    max_depth: float = math.inf

    def cloud(self, frame: Frame, warnings: list[str]) -> PointCloud:
        """The frame's cloud in its camera frame; what is missing is appended to ``warnings``."""
        from camgeom.depth import points_from_depth

        if frame.camera is None:
            raise FormatError("The frame has no camera.")
        if frame.depth_path is None:
            raise FormatError("The frame has no depth map.")
        if frame.depth_kind is None:
            raise FormatError(
                f"The depth map {frame.depth_path.name} is of unknown kind (planar z or range "
                "along the ray is unverified): it cannot be back-projected without guessing. "
                "Back-project it with camgeom.points_from_depth and the depth_kind you know."
            )
        depth = frame.read_depth()
        mask = None
        if self.segments:
            if frame.segmentation_path is None or not frame.segmentation_mapping:
                warnings.append("no segmentation: every segment kept")
            else:
                mask = frame.segment_mask(list(self.segments))
        colors = None
        if self.colors:
            if frame.image_path is None:
                warnings.append("no RGB image: cloud written without colours")
            else:
                colors = frame.read_image()
        normals = None
        if self.normals:
            if frame.normals_path is None:
                warnings.append("no normal map: cloud written without normals")
            else:
                normals = frame.read_normals()
        return points_from_depth(
            depth,
            frame.camera.K,
            depth_kind=frame.depth_kind,
            mask=mask,
            stride=self.stride,
            max_depth=self.max_depth,
            colors=colors,
            normals=normals,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "segments": None if self.segments is None else list(self.segments),
            "colors": self.colors,
            "normals": self.normals,
            "stride": self.stride,
            "max_depth": None if math.isinf(self.max_depth) else self.max_depth,
        }


@dataclass(frozen=True)
class PointcloudJob(Job):
    """One PLY per frame; see :func:`pointclouds_from_dataset`."""

    cloud: _CloudOptions = _CloudOptions()
    frame: str = "camera"

    name = "pointcloud"
    suffixes = (".points.ply",)

    @property
    def options(self) -> Mapping[str, Any]:
        return {"frame": self.frame, **self.cloud.as_dict()}

    def inputs(self, item: FrameSource) -> Sequence[str]:
        return source_inputs(item)

    def run(self, item: FrameSource, out: FrameOutputs) -> FrameResult:
        frame = item.read(landmarks=False)
        warnings: list[str] = []
        cloud = self.cloud.cloud(frame, warnings)
        if self.frame == "world":
            assert frame.camera is not None  # checked by _CloudOptions.cloud
            cloud = cloud.transformed(frame.camera.world_from_cam)
        cloud.write_ply(out.path(".points.ply"), overwrite=True, atomic=False)
        return FrameResult({"points": len(cloud.points)}, warnings=tuple(warnings))


@dataclass(frozen=True)
class Scene:
    """The frames of one scene (the item of :class:`FuseJob`)."""

    scene_id: str
    sources: tuple[FrameSource, ...]

    @property
    def frame_id(self) -> str:
        return self.scene_id


@dataclass(frozen=True)
class FuseJob(Job):
    """One world-frame PLY per scene, fusing its views."""

    cloud: _CloudOptions = _CloudOptions()

    name = "pointcloud-fuse"
    suffixes = (".fused.ply",)

    @property
    def options(self) -> Mapping[str, Any]:
        return self.cloud.as_dict()

    def inputs(self, item: Scene) -> Sequence[str]:
        return [p for s in item.sources for p in source_inputs(s)]

    def run(self, item: Scene, out: FrameOutputs) -> FrameResult:
        from camgeom.pointcloud import concatenate_point_clouds

        clouds = []
        warnings: list[str] = []
        first_error: Exception | None = None
        for source in item.sources:
            notes: list[str] = []
            try:
                frame = source.read(landmarks=False)
                cloud = self.cloud.cloud(frame, notes)
                assert frame.camera is not None  # checked by _CloudOptions.cloud
                clouds.append(cloud.transformed(frame.camera.world_from_cam))
            except Exception as exc:  # one damaged view: the scene is fused without it
                first_error = first_error or exc
                warnings.append(
                    f"{source.frame_id}: view left out of the fused cloud "
                    f"({type(exc).__name__}: {exc})"
                )
                continue
            warnings += [f"{source.frame_id}: {n}" for n in notes]
        if not clouds:
            assert first_error is not None
            raise first_error
        fused = concatenate_point_clouds(clouds)
        fused.write_ply(out.path(".fused.ply"), overwrite=True, atomic=False)
        return FrameResult({"views": len(clouds), "points": len(fused.points)}, tuple(warnings))


@dataclass(frozen=True)
class PointcloudSummary:
    """What :func:`pointclouds_from_dataset` did: frames, and fused scenes (or None)."""

    frames: JobSummary
    scenes: JobSummary | None = None

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, else 1."""
        codes = [self.frames.exit_code] + ([self.scenes.exit_code] if self.scenes else [])
        return max(codes)


def pointclouds_from_dataset(
    dataset: Dataset,
    out: str | os.PathLike[str],
    *,
    frame: str = "camera",
    segments: Sequence[str] | None = None,
    colors: bool = False,
    normals: bool = False,
    fuse: bool = False,
    stride: int = 1,
    max_depth: float = math.inf,
    workers: int | None = None,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: bool = True,
    debug: bool = False,
) -> PointcloudSummary:
    """Back-project every frame's depth map to ``<stem>.points.ply`` in ``out``.

    Parameters
    ----------
    dataset : Dataset
    out : str or os.PathLike
        Output folder (created).
    frame : {"camera", "world"}, keyword-only
        Coordinates of the per-frame clouds: the OpenCV camera frame, or world.
    segments : sequence of str, keyword-only, optional
        Keep only these segmentation classes, matched as
        :meth:`camgeom.datasets.Frame.segment_mask` documents. A frame without a
        segmentation keeps every point, with a warning; an unknown name fails
        the frame, listing the known names.
    colors, normals : bool, keyword-only
        Attach RGB colours / normals; frames without them get a warning.
    fuse : bool, keyword-only
        Also write ``<scene stem>.fused.ply``: the scene's views in world coordinates.
    stride : int, keyword-only
        Every N-th pixel in each direction (>= 1).
    max_depth : float, keyword-only
        Drop points farther than this (> 0).
    workers, scheduler, overwrite, progress, debug
        As in :func:`camgeom.jobs.run_job`.

    Returns
    -------
    PointcloudSummary

    Raises
    ------
    InvalidValueError
        Bad options (before any frame runs).
    """
    check_cloud_options(frame=frame, stride=stride, max_depth=max_depth)
    opts = _CloudOptions(
        None if not segments else tuple(segments), bool(colors), bool(normals), stride, max_depth
    )
    common: dict[str, Any] = {
        "root": dataset.root,
        "workers": workers,
        "scheduler": scheduler,
        "overwrite": overwrite,
        "progress": progress,
        "debug": debug,
    }
    frames = run_job(PointcloudJob(opts, frame), dataset.sources, out, **common)
    scenes = None
    if fuse:
        by_scene: dict[str, list[FrameSource]] = {}
        for source in dataset.sources:
            by_scene.setdefault(source.scene_id(), []).append(source)
        items = [Scene(k, tuple(v)) for k, v in by_scene.items()]
        scenes = run_job(FuseJob(opts), items, out, **common)
    return PointcloudSummary(frames, scenes)
