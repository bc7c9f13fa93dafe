"""Dataset jobs: resumable, parallel, committed frame by frame.

:func:`run_job` runs a :class:`Job` over the frames of a dataset, in this
process, in local worker processes or on a Dask cluster. Each output folder
keeps a manifest (``.camgeom/manifest.sqlite``) of what every frame produced,
from which inputs and with which options, so that a rerun redoes exactly the
frames whose inputs or options changed, or that failed; a lock
(``.camgeom/lock``) refuses a second run on the same folder.
"""

from typing import Any

from camgeom.jobs.commit import FrameOutputs, JobOutputs, clean_orphans
from camgeom.jobs.job import (
    FrameFailure,
    FrameResult,
    FrameWarning,
    Job,
    JobSummary,
    fingerprint,
)
from camgeom.jobs.lock import OutputFolderError, OutputLockedError, RunLock
from camgeom.jobs.manifest import FrameRow, Manifest, ManifestError
from camgeom.jobs.naming import frame_id_from_stem, is_shortened, output_stem
from camgeom.jobs.runner import run_job

# The three dataset jobs import readers, the verifier and the math: loaded on first use,
# so that the engine modules stay free of them (a layer contract in pyproject.toml).
_LAZY = {
    "project_dataset": "camgeom.jobs.project",
    "pointclouds_from_dataset": "camgeom.jobs.pointcloud",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'camgeom.jobs' has no attribute {name!r}")


__all__ = [
    "FrameFailure",
    "FrameOutputs",
    "FrameResult",
    "FrameRow",
    "FrameWarning",
    "Job",
    "JobOutputs",
    "JobSummary",
    "Manifest",
    "ManifestError",
    "OutputFolderError",
    "OutputLockedError",
    "RunLock",
    "clean_orphans",
    "fingerprint",
    "frame_id_from_stem",
    "is_shortened",
    "output_stem",
    "pointclouds_from_dataset",
    "project_dataset",
    "run_job",
]
