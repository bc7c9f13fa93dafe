"""Dataset jobs: resumable, parallel, committed frame by frame.

:func:`run_job` runs a :class:`Job` over the frames of a dataset, in this
process, in local worker processes or on a Dask cluster. Each output folder
keeps a manifest (``.camgeom/manifest.sqlite``) of what every frame produced,
from which inputs and with which options, so that a rerun redoes exactly the
frames whose inputs or options changed, or that failed; a lock
(``.camgeom/lock``) refuses a second run on the same folder.
"""

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
    "run_job",
]
