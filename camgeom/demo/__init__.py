"""A small demo dataset with exact ground truth, in both vendor layouts.

:func:`make_demo_dataset` ray-casts an analytic scene (a floor disk, a "head"
sphere and two "hand" spheres) and writes it the way Synthesis AI and Datagen
store their renders, so the dataset readers, the verifier and the point-cloud
tools can be tried (and tested) without downloading vendor data::

    out_dir/
      ground_truth.json           scene primitives, cameras, landmark truth
      synthesisai/                N.info.json (v1.5), N.rgb.png, N.depth.tif (range),
                                  N.normals.tif, N.alpha.tif, N.segments.png, metadata.jsonl
      datagen/datapoint_00001/    semantic_segmentation_metadata.json,
        camera_1/, camera_2/      camera_metadata.json (v1.1.0), depth.exr (planar z),
                                  normal_maps.exr, visible_spectrum_01.png,
                                  semantic_segmentation.png, key_points/*.json

The package, one concept per module:

* :mod:`~camgeom.demo.scene`: the primitives, landmarks, cameras and the two
  world frames (Datagen's z up, Synthesis AI's y up), named by axis letters;
* :mod:`~camgeom.demo.render`: rendering through the ray caster
  (:mod:`~camgeom.demo._raycast`, a private numba kernel) and the landmark truth;
* :mod:`~camgeom.demo.synthesisai`, :mod:`~camgeom.demo.datagen`: the two
  vendor-layout writers;
* :mod:`~camgeom.demo.ground_truth`: the ``ground_truth.json`` document.

What is exact
-------------
Camera rays go through pixel centres ((col + 0.5, row + 0.5) in camgeom
pixels) and each pixel holds the analytic first intersection: Synthesis AI
``depth.tif`` holds the distance along the ray (float32, +inf background),
Datagen ``depth.exr`` the planar z (float32 in R, G and B, 1e10 background).
2D labels are the pinhole projections of the 3D labels with the stored
camera (not rounded). A landmark is *visible* when it projects inside the image
and the ray from the camera centre reaches it before any other surface; Datagen
``is_visible`` and the truth file say exactly that (the vendor's own flag
ignores occlusion). No anti-aliasing, lens distortion or noise.

Projections and visibility are computed from first principles (a pinhole
projection, a ray cast) rather than with :mod:`camgeom.projection`, so that the
ground truth can check that module. Frame changes (world axes, OpenGL and
OpenCV cameras, row/column pixels) use :mod:`camgeom.conventions` and
:mod:`camgeom.poses`, the code the readers use; the tests check the written
files against independent hand-written conversions.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> tmp = tempfile.TemporaryDirectory()
>>> paths = make_demo_dataset(Path(tmp.name) / "demo")
>>> sorted(p.name for p in paths.synthesisai.glob("*.info.json"))
['0.info.json', '1.info.json', '2.info.json']
>>> truth = json.loads(paths.ground_truth.read_text())
>>> [f["frame_id"] for f in truth["datagen"]["frames"]]
['datapoint_00001/camera_1', 'datapoint_00001/camera_2']
>>> tmp.cleanup()
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from camgeom.demo import datagen, synthesisai
from camgeom.demo._files import dump_json
from camgeom.demo.ground_truth import GROUND_TRUTH_FORMAT, ground_truth_document
from camgeom.demo.scene import datagen_views, make_scene, synthesis_views
from camgeom.errors import InvalidValueError, OutputExistsError

__all__ = ["GROUND_TRUTH_FORMAT", "DemoPaths", "make_demo_dataset"]


@dataclass(frozen=True)
class DemoPaths:
    """Folders and files written by :func:`make_demo_dataset`.

    Attributes
    ----------
    root : pathlib.Path
        The output folder.
    synthesisai : pathlib.Path
        Synthesis AI layout (``N.info.json`` and siblings, ``metadata.jsonl``).
    datagen : pathlib.Path
        Datagen layout (holds ``datapoint_00001/``).
    ground_truth : pathlib.Path
        ``ground_truth.json``: primitives, cameras (OpenCV ``cam_from_world``) and
        landmark truth per frame, for each layout in its own world frame.
    """

    root: Path
    synthesisai: Path
    datagen: Path
    ground_truth: Path


def make_demo_dataset(
    out_dir: str | os.PathLike[str], *, overwrite: bool = False, seed: int = 0
) -> DemoPaths:
    """Write the demo dataset (both vendor layouts and the ground truth) to ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder; created if missing. Other content of the folder is left alone.
    overwrite : bool, keyword-only
        Replace ``synthesisai/``, ``datagen/`` and ``ground_truth.json`` if they exist.
    seed : int, keyword-only
        Seed of the small random variations (head position and yaw, camera
        placement). The same seed gives the same files.

    Returns
    -------
    DemoPaths
        The folders and the ground-truth file written.

    Raises
    ------
    OutputExistsError
        ``out_dir`` already holds demo output and ``overwrite`` is false, or
        ``out_dir`` is a file.
    InvalidValueError
        ``seed`` is not a non-negative integer.

    Notes
    -----
    Three Synthesis AI renders (160x120, 120x160, 128x128) and one Datagen
    datapoint with two cameras (128x128, 160x120). Everything is written to a
    temporary folder inside ``out_dir`` and moved into place when complete, so
    a failure never leaves a partial dataset. ``ground_truth.json`` holds, for
    each layout in its own world frame: the primitives (sphere centres and radii,
    the floor's point, normal and radius), per frame ``K`` and the OpenCV
    ``cam_from_world``, the depth kind and background value, and per landmark
    the primitive it lies on (``objects``), the world position, pixel ``uv``
    (camgeom convention), ``z``, ``range`` and the ``in_image`` / ``unoccluded`` /
    ``visible`` flags.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = make_demo_dataset(tmp, seed=1)
    ...     sorted(p.name for p in (paths.datagen / "datapoint_00001").iterdir())
    ['camera_1', 'camera_2', 'semantic_segmentation_metadata.json']
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidValueError(f"Expected `seed` to be a non-negative integer, got {seed!r}.")
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise OutputExistsError(
            f"Demo output folder {root} exists and is a file; pass a folder path."
        )
    names = ("synthesisai", "datagen", "ground_truth.json")
    present = [n for n in names if (root / n).exists() or (root / n).is_symlink()]
    if present and not overwrite:
        raise OutputExistsError(
            f"Demo output folder {root} already holds {', '.join(present)}; pass "
            "overwrite=True to replace them (other files in the folder are kept) or choose "
            "another folder."
        )
    root.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(int(seed))
    scene = make_scene(rng)
    syn_views = synthesis_views(scene, rng)
    dg_views = datagen_views(scene, rng)
    job = uuid.uuid5(uuid.NAMESPACE_URL, f"https://camgeom.invalid/demo/{int(seed)}")

    staging = Path(tempfile.mkdtemp(prefix=".camgeom-demo-", dir=root))
    try:
        frames = {
            synthesisai.SYNTHESIS: synthesisai.write_synthesis(
                staging / synthesisai.SYNTHESIS.name, scene, syn_views, job
            ),
            datagen.DATAGEN: datagen.write_datagen(staging / datagen.DATAGEN.name, scene, dg_views),
        }
        truth = ground_truth_document(scene, int(seed), frames)
        dump_json(truth, staging / "ground_truth.json", indent=2, newline=True)
        # Move into place; the ground truth last, as the mark of a complete dataset.
        for name in names:
            target = root / name
            if target.exists() or target.is_symlink():
                old = staging / f".old-{name}"
                os.replace(target, old)
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DemoPaths(
        root=root,
        synthesisai=root / "synthesisai",
        datagen=root / "datagen",
        ground_truth=root / "ground_truth.json",
    )
