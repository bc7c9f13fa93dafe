"""The catalogue of ``verify`` checks: what each compares, its limit, and what to do when it fails.

One :class:`CatalogueEntry` per check name (or per family of names, such as
``landmarks.reprojection.<group>``). Tolerances are not copied: an entry names
the constant in :mod:`camgeom.verification.tolerances` and the value is read
from there, so the documentation page built from :func:`catalogue_markdown`
cannot drift from the code. The test suite checks that every check name
:func:`camgeom.verify` emits on the demo data and the vendor samples is
catalogued.

Examples
--------
>>> entry_for("landmarks.reprojection.ibug68").name
'landmarks.reprojection.<group>'
>>> entry_for("intrinsics.principal_point").tolerance_text
'TOL_PRINCIPAL_PX = 0.01 px'
"""

from __future__ import annotations

from dataclasses import dataclass

from camgeom.errors import InvalidValueError
from camgeom.verification import tolerances

__all__ = ["CATALOGUE", "CatalogueEntry", "catalogue_markdown", "entry_for"]

_FAMILY = "<group>"


@dataclass(frozen=True)
class CatalogueEntry:
    """One check (or one family of checks) of :func:`camgeom.verify`.

    Parameters
    ----------
    name : str
        The check name; a trailing ``<group>`` stands for a landmark group or a
        pose kind (``landmarks.reprojection.<group>``).
    compares : str
        What is measured against what.
    severity : str
        ``"error"``, ``"warning"`` or ``"info"``, with any condition.
    cause : str
        The usual reason the check fails.
    fix : str
        What to do about it.
    tolerance : str, optional
        Name of a constant in :mod:`camgeom.verification.tolerances`, or empty.
    unit : str, optional
        Unit of that tolerance.
    """

    name: str
    compares: str
    severity: str
    cause: str
    fix: str
    tolerance: str = ""
    unit: str = ""

    @property
    def tolerance_text(self) -> str:
        """The tolerance as ``NAME = value unit``, read from the tolerances module (``-`` if none)."""
        if not self.tolerance:
            return "-"
        value = getattr(tolerances, self.tolerance)
        return f"{self.tolerance} = {value:g} {self.unit}".rstrip()

    def matches(self, name: str) -> bool:
        """Whether the check ``name`` is this entry (families match any last part)."""
        if self.name.endswith(_FAMILY):
            prefix = self.name[: -len(_FAMILY)]
            return (
                name.startswith(prefix)
                and len(name) > len(prefix)
                and "." not in name[len(prefix) :]
            )
        return name == self.name


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        "intrinsics.principal_point_inside",
        "(cx, cy) of the stored K against the image rectangle",
        "error",
        "K written for another resolution, or rows and columns swapped",
        "rebuild K from the lens; check the image size the metadata names",
    ),
    CatalogueEntry(
        "intrinsics.principal_point",
        "(cx, cy) against the image centre, moved by the lens shift when the stored K holds it "
        "(COLMAP and nerfstudio frames store a calibrated principal point: reported, not judged)",
        "error",
        "lens shift applied twice or not at all; a K for a cropped image",
        "use `camgeom.intrinsics.principal_point_from_shift`; record `stored_K_includes_shift`",
        "TOL_PRINCIPAL_PX",
        "px",
    ),
    CatalogueEntry(
        "intrinsics.stored_K_vs_camera",
        "the stored K (lens shift applied if it lacks it) against the K camgeom builds from the lens",
        "error",
        "Datagen in-cabin K with fy = fx*W/H (a vendor defect); K for another resolution",
        "trust `frame.camera.K`, which is rebuilt from the lens",
        "TOL_K_PX",
        "px",
    ),
    CatalogueEntry(
        "intrinsics.square_pixels",
        "|fx - fy| / fx",
        "error where the format promises square pixels; info where it says they are not; warning when it says nothing",
        "fy scaled by the aspect ratio (the in-cabin defect)",
        "use `frame.camera.K`; report the defect to the vendor",
        "TOL_SQUARE",
    ),
    CatalogueEntry(
        "intrinsics.K_vs_focal_length",
        "fx against focal_length_mm / sensor_width_mm * W (Blender sensor fit)",
        "error",
        "sensor fit misread (vertical against horizontal); focal length in other units",
        "check the sensor fit and units in the metadata",
        "TOL_REL_FOCAL",
    ),
    CatalogueEntry(
        "intrinsics.K_vs_fov",
        "field of view of the K without lens shift against the stated one",
        "error",
        "FOV in degrees read as radians, or the vertical FOV stored as horizontal",
        "build K with `camgeom.intrinsics` from the quantity the vendor documents",
        "TOL_FOV_RAD",
        "rad",
    ),
    CatalogueEntry(
        "intrinsics.focal_length_vs_fov",
        "2 atan(sensor / 2f) against the stated FOV",
        "error",
        "the Datagen room format's focal length disagrees with its FOV (a vendor defect)",
        "decide which one the renders used (the landmark reprojection tells) and ignore the other",
        "TOL_FOV_RAD",
        "rad",
    ),
    CatalogueEntry(
        "pose.rigid.<group>",
        "the stored `cam_from_world` / `world_from_cam` matrix is rigid (orthonormal, det +1, last row 0 0 0 1)",
        "error",
        "a transposed matrix (translation in the last row), a scale in the pose",
        "read the matrix with the layout the format documents; `camgeom.poses.check_pose` names the problem",
        "TOL_ROT",
    ),
    CatalogueEntry(
        "pose.inverse_pair",
        "cam_from_world @ world_from_cam against the identity",
        "error",
        "one of the two matrices is stale, or stored in another axis convention",
        "keep one pose and derive the other with `camgeom.invert_pose`",
        "TOL_INVERSE",
    ),
    CatalogueEntry(
        "extrinsics.stored_vs_location",
        "the stored extrinsics can be compared with the camera's location at all",
        "error",
        "a malformed location or orientation in the metadata",
        "re-export the frame's metadata",
    ),
    CatalogueEntry(
        "extrinsics.rotation_vs_orientation",
        "stored rotation against the look-at / up orientation",
        "error",
        "rotation in another axis convention (OpenGL against OpenCV)",
        "convert with `camgeom.convert_pose(pose, src, dst, kind=...)`",
        "TOL_ROT",
    ),
    CatalogueEntry(
        "extrinsics.translation_vs_location",
        "stored translation against -R @ location",
        "error",
        "the legacy -R^T @ location sign (a vendor defect in older Datagen files)",
        "rebuild the translation from the location: t = -R @ C",
        "TOL_M",
        "m",
    ),
    CatalogueEntry(
        "pose.quaternion",
        "the stored quaternion against the stored rotation, in the vendor's camera axes",
        "error",
        "components read in the wrong order (Synthesis AI `quaternion_wxyz` holds x, y, z, w)",
        "pass `order=` explicitly to `camgeom.poses.matrix_from_quaternion`",
        "TOL_ROT",
    ),
    CatalogueEntry(
        "pose.quaternion_order",
        "the order the quaternion's key names against the order that reproduces the matrix",
        "info",
        "Synthesis AI's `quaternion_wxyz` key holds xyzw (handled by the reader)",
        "nothing; camgeom reads the order that matches",
    ),
    CatalogueEntry(
        "pose.euler",
        "the stored angles through the vendor's Euler rule against the stored rotation",
        "error",
        "angles in degrees against radians, or another axis sequence",
        "use `camgeom.poses.rotation_from_euler_rule` with the vendor's rule",
        "TOL_ROT",
    ),
    CatalogueEntry(
        "format.quirk",
        "one note per layout quirk the reader undid (row/column swap, transposed matrices, ...)",
        "info",
        "the vendor's format, as documented on the vendor formats page",
        "nothing; the note says what was undone",
    ),
    CatalogueEntry(
        "landmarks.camera_space.<group>",
        "stored camera-space positions against world positions moved by the camera",
        "error",
        "camera-space positions in another axis convention, or a stale pose",
        "recompute camera-space points with `frame.camera.cam_from_world`",
        "TOL_M",
        "m",
    ),
    CatalogueEntry(
        "landmarks.distance.<group>",
        "stored distances to the camera against the distances from the world positions",
        "error",
        "v1/v1.1 duplicated pupils (one eye stored twice; a vendor defect)",
        "drop the group or recompute it from the mesh",
        "TOL_M",
        "m",
    ),
    CatalogueEntry(
        "landmarks.reprojection.<group>",
        "projected world points against the 2D labels (label rounding added to the tolerance)",
        "error",
        "v1.5 iBUG-68 eyebrows, duplicated pupils, or a K / pose / pixel-centre mistake",
        "trust the projection of the 3D points; `camgeom verify --diagnose` names the mistake",
        "TOL_PX",
        "px",
    ),
    CatalogueEntry(
        "landmarks.in_frustum.<group>",
        "the stored in-frustum flags against the projection",
        "error",
        "flags computed with another camera or resolution",
        "recompute the flags from the projection",
    ),
    CatalogueEntry(
        "landmarks.visible_in_image.<group>",
        "the stored visibility flags against the projection inside the image",
        "warning",
        "the vendor's visibility ignores the image border",
        "mask with the projection before training",
    ),
    CatalogueEntry(
        "landmarks.duplicates.<group>",
        "distinct landmarks with identical 3D positions (listed only when found)",
        "error",
        "v1/v1.1 duplicated pupils (a vendor defect)",
        "drop the duplicated landmarks",
    ),
    CatalogueEntry(
        "landmarks.read.<group>",
        "the landmark group can be read",
        "info (skip)",
        "a damaged or missing landmark file",
        "re-download the file; the message names it",
    ),
    CatalogueEntry(
        "landmarks.unprojected.<group>",
        "2D labels without world positions cannot be reprojected",
        "info (skip)",
        "the vendor ships only 2D labels for this group (e.g. iBUG-68 contour)",
        "nothing; the group is listed so it does not vanish silently",
    ),
    CatalogueEntry(
        "occlusion.visible_behind_depth",
        "share of 'visible' landmarks behind every depth sample of their 3x3 pixels",
        "warning; error above `--occlusion-threshold`",
        "vendor visibility flags ignore occlusion",
        "mask landmarks with the depth map before training",
        "OCCLUSION_M",
        "m",
    ),
    CatalogueEntry(
        "depth.scale",
        "median of sampled depth / landmark z or range, against 1",
        "error",
        "depth in millimetres or centimetres; early Synthesis AI faces store 5x the range",
        "divide the depth by the factor the hint names",
        "DEPTH_SCALE_TOL",
    ),
    CatalogueEntry(
        "depth.kind",
        "residual of landmarks on the surface under the declared kind (z or range) against the other",
        "error",
        "planar z read as range or the reverse",
        "pass the right `depth_kind=` to `camgeom.points_from_depth`",
        "DEPTH_KIND_RATIO",
        "x",
    ),
    CatalogueEntry(
        "depth.kind_normals",
        "median angle between the normal map and the depth map's own normals, as the declared "
        "kind against the other (run where the landmarks cannot tell z from range)",
        "error",
        "planar z read as range or the reverse, at a field of view too narrow for the landmarks "
        "to show it",
        "pass the right `depth_kind=` to `camgeom.points_from_depth`",
        "DEPTH_KIND_RATIO",
        "x",
    ),
    CatalogueEntry(
        "depth.readable",
        "the depth map can be read",
        "error",
        "a truncated or damaged file",
        "re-download the file",
    ),
    CatalogueEntry(
        "depth.size",
        "depth map size against the camera's image size",
        "error",
        "the depth file belongs to another camera or resolution",
        "pair the depth map with its own camera",
    ),
)
"""Every check :func:`camgeom.verify` can emit, in report order."""


def entry_for(name: str) -> CatalogueEntry:
    """The catalogue entry of a check name.

    Parameters
    ----------
    name : str
        A check name from a :class:`~camgeom.verification.Report`.

    Returns
    -------
    CatalogueEntry

    Raises
    ------
    InvalidValueError
        If the name is not catalogued.
    """
    for entry in CATALOGUE:
        if entry.matches(name):
            return entry
    raise InvalidValueError(f"Expected a catalogued check name, got {name!r}.")


def catalogue_markdown() -> str:
    """The catalogue as one Markdown table (name, compares, tolerance, severity, cause, fix).

    Returns
    -------
    str
        Markdown, ending with a newline.
    """

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| check | compares | tolerance | severity | typical cause | fix |",
        "|---|---|---|---|---|---|",
    ]
    for e in CATALOGUE:
        row = (f"`{e.name}`", e.compares, e.tolerance_text, e.severity, e.cause, e.fix)
        lines.append("| " + " | ".join(cell(t) for t in row) + " |")
    return "\n".join(lines) + "\n"
