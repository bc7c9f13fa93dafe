"""Draw the pictures of docs/conventions.md into docs/img/ (run: python docs/make_figures.py).

Every picture is computed with camgeom itself (axes from
:func:`camgeom.conventions.axes_matrix`, depth from
:func:`camgeom.depth.range_from_z`, lenses from :class:`camgeom.Camera`), so a
change of convention in the code shows in the pictures when they are redrawn.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import camgeom
from camgeom.conventions import axes_matrix
from camgeom.depth import range_from_z

OUT = Path(__file__).resolve().parent / "img"
COLOURS = ("tab:red", "tab:green", "tab:blue")


def camera_axes() -> None:
    """The camera axes of OpenCV, OpenGL and PyTorch3D, seen from behind the camera."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for ax, name in zip(axes, ("opencv", "opengl", "pytorch3d"), strict=True):
        # columns: the convention's x, y, z in OpenCV camera coordinates (x right, y down, z forward)
        basis = axes_matrix(name, "opencv")
        ax.add_patch(plt.Rectangle((-0.8, -0.6), 1.6, 1.2, fill=False, lw=0.8, ls="--"))
        for axis, colour, label in zip(basis.T, COLOURS, "xyz", strict=True):
            right, down, forward = axis
            if abs(forward) > 0.5:
                marker = "o" if forward > 0 else "x"  # into the picture / out of it
                ax.plot(0, 0, marker, ms=14, mfc="none", mec=colour, mew=2)
                ax.text(
                    0.08,
                    -0.12,
                    f"{label} ({'forward' if forward > 0 else 'backward'})",
                    color=colour,
                )
            else:
                ax.annotate(
                    "", (0.7 * right, -0.7 * down), (0, 0), arrowprops={"color": colour, "width": 2}
                )
                ax.text(0.8 * right, -0.8 * down, label, color=colour, ha="center", va="center")
        ax.set_title(f"{name} ({camgeom.conventions.resolve_convention(name)})")
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("camera axes, looking through the camera (the dashed frame is the image)")
    fig.savefig(OUT / "camera_axes.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def pixel_centres() -> None:
    """Pixel (c, r) covers [c, c+1) x [r, r+1); its centre is (c + 0.5, r + 0.5)."""
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    for c in range(4):
        for r in range(3):
            ax.add_patch(plt.Rectangle((c, r), 1, 1, fill=False, lw=0.8))
            ax.plot(c + 0.5, r + 0.5, ".", color="tab:blue")
    ax.plot(0, 0, "o", color="tab:red")
    ax.annotate("(0, 0): corner of pixel (0, 0)", (0, 0), (0.3, -0.45), color="tab:red")
    ax.annotate(
        "(1.5, 1.5): centre of pixel (1, 1)",
        (1.5, 1.5),
        (1.2, 3.45),
        color="tab:blue",
        arrowprops={"arrowstyle": "->", "color": "tab:blue"},
    )
    ax.set_xlim(-0.3, 4.3)
    ax.set_ylim(3.7, -0.7)
    ax.set_xlabel("u (column)")
    ax.set_ylabel("v (row)")
    ax.set_aspect("equal")
    fig.savefig(OUT / "pixel_centres.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def z_and_range() -> None:
    """Planar z against range along the ray for a flat wall, and their difference over an image."""
    K = camgeom.intrinsics_from_fov(np.deg2rad(60.0), 640, 480)
    z = np.full((480, 640), 2.0, dtype=np.float32)
    rng = range_from_z(z, K)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    u = np.linspace(-1.15, 1.15, 9)
    left.plot([-1.3, 1.3], [2, 2], "k-", lw=2)
    for x in u:
        left.plot([0, x], [0, 2], color="tab:orange", lw=0.8)
        left.plot([x, x], [0, 2], color="tab:blue", lw=0.8, ls=":")
    left.plot(0, 0, "k^")
    left.text(0.05, 1.0, "range: along the ray", color="tab:orange")
    left.text(0.7, 0.3, "z: along the axis", color="tab:blue")
    left.set_ylim(2.3, -0.2)
    left.set_xlabel("camera x (m)")
    left.set_ylabel("camera z (m)")
    left.set_title("a wall 2 m away: one z, many ranges")
    im = right.imshow((rng - z) * 1000, cmap="viridis")
    fig.colorbar(im, ax=right, shrink=0.8, label="range - z (mm)")
    right.set_title("range read as z: error (60 deg FOV)")
    right.axis("off")
    fig.savefig(OUT / "z_and_range.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def pose_kinds() -> None:
    """cam_from_world maps world points into the camera; world_from_cam is its rigid inverse."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.text(
        0.1,
        0.5,
        "world\nframe",
        ha="center",
        va="center",
        fontsize=12,
        bbox={"boxstyle": "round", "fc": "w"},
    )
    ax.text(
        0.9,
        0.5,
        "camera\nframe\n(OpenCV)",
        ha="center",
        va="center",
        fontsize=12,
        bbox={"boxstyle": "round", "fc": "w"},
    )
    ax.annotate(
        "",
        (0.75, 0.62),
        (0.25, 0.62),
        arrowprops={"arrowstyle": "->", "lw": 2, "color": "tab:blue"},
    )
    ax.text(
        0.5,
        0.7,
        "cam_from_world\n(world2cam, extrinsics, view matrix)",
        ha="center",
        color="tab:blue",
    )
    ax.annotate(
        "", (0.25, 0.38), (0.75, 0.38), arrowprops={"arrowstyle": "->", "lw": 2, "color": "tab:red"}
    )
    ax.text(
        0.5,
        0.12,
        "world_from_cam = invert_pose(...)\n(cam2world, c2w; columns: axes and centre)",
        ha="center",
        color="tab:red",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    fig.savefig(OUT / "pose_kinds.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def lens_models() -> None:
    """A square grid projected through a pinhole, an OpenCV (Brown-Conrady) and a fisheye lens."""
    K = np.array([[300.0, 0, 320], [0, 300, 240], [0, 0, 1]])
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 15), np.linspace(-0.75, 0.75, 11)), -1).reshape(
        -1, 2
    )
    points = np.concatenate([grid, np.ones((len(grid), 1))], axis=1)
    models = {
        "pinhole": None,
        "OpenCVDistortion(k1=-0.25, k2=0.05)": camgeom.OpenCVDistortion(
            k1=-0.25, k2=0.05, p1=0.0, p2=0.0
        ),
        "FisheyeDistortion(k1=0.05, k2=0.01)": camgeom.FisheyeDistortion(
            k1=0.05, k2=0.01, k3=0.0, k4=0.0
        ),
    }
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, (name, lens) in zip(axes, models.items(), strict=True):
        uv, _ = camgeom.Camera(K, np.eye(4), 640, 480, distortion=lens).project(points)
        ax.scatter(uv[:, 0], uv[:, 1], s=4)
        ax.set_xlim(0, 640)
        ax.set_ylim(480, 0)
        ax.set_aspect("equal")
        ax.set_title(name, fontsize=9)
    fig.savefig(OUT / "lens_models.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for draw in (camera_axes, pose_kinds, pixel_centres, z_and_range, lens_models):
        draw()


if __name__ == "__main__":
    main()
