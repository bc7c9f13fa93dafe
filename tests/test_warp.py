"""Image warps: identity, OpenCV agreement, round trips, and Synthesis AI's fisheye tool."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import camgeom
from camgeom.camera import Camera
from camgeom.errors import InvalidValueError, ShapeError
from camgeom.lens import FisheyeDistortion, OpenCVDistortion
from camgeom.warp import (
    SYNTHESISAI_FISHEYE_K,
    WarpPlan,
    distort_image,
    synthesisai_fisheye_camera,
    undistort_image,
    undistort_plan,
    undistorted_intrinsics,
    warp_image,
    warp_plan,
)

K = np.array([[180.0, 0, 120], [0, 180, 90], [0, 0, 1]])


def _smooth_image(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w] + 0.5
    r = np.stack([127 + 100 * np.sin(x / 9.0), 127 + 100 * np.cos(y / 7.0), 60 + (x + y) / 3.0], -1)
    return r.round().astype(np.uint8)


def test_identity_warp_is_exact_for_any_dtype() -> None:
    cam = Camera(K, np.eye(4), 240, 180)
    for img in (
        _smooth_image(180, 240),
        np.arange(180 * 240, dtype=np.int32).reshape(180, 240),
        np.random.default_rng(0).random((180, 240)).astype(np.float32),
        np.random.default_rng(0).random((180, 240)) > 0.5,
    ):
        for interp in ("nearest", "linear"):
            out = warp_image(img, cam, cam, interpolation=interp)
            assert out.dtype == img.dtype and out.shape == img.shape
            np.testing.assert_array_equal(out, img)


def test_undistort_matches_cv2_remap() -> None:
    d = OpenCVDistortion(-0.25, 0.06, 0.001, -0.001)
    cam = Camera(K, np.eye(4), 240, 180, distortion=d)
    img = _smooth_image(180, 240)
    ours = undistort_image(img, cam, interpolation="linear")
    # cv2 puts pixel centres at integers: the same camera there has its centre half a pixel up-left
    K_cv = K - [[0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]]
    mx, my = cv2.initUndistortRectifyMap(K_cv, d.coefficients, None, K_cv, (240, 180), cv2.CV_32FC1)
    ref = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inner = (slice(10, -10), slice(10, -10))
    diff = np.abs(ours[inner].astype(int) - ref[inner].astype(int))
    assert diff.max() <= 1  # rounding of cv2's 5-bit fixed-point weights


def _cv2_maps(plan: WarpPlan) -> tuple[np.ndarray, np.ndarray]:
    """The plan as OpenCV's fixed-point maps (CV_16SC2 and CV_16UC1); misses far outside."""
    h, w = plan.dst_camera.height, plan.dst_camera.width
    ws = plan.src_camera.width
    miss = plan.code == 1024
    xy = np.stack([plan.offset % ws, plan.offset // ws], -1)
    xy[miss] = -10
    frac = np.where(miss, 0, plan.code)  # cv2's table index: b * 32 + a, the plan's code
    return xy.astype(np.int16).reshape(h, w, 2), frac.astype(np.uint16).reshape(h, w)


@pytest.mark.parametrize(
    "dtype, channels", [(np.uint8, 3), (np.uint8, 1), (np.uint8, 4), (np.uint16, 3)]
)
def test_linear_is_cv2_remap_bit_for_bit_on_a_random_image(dtype: type, channels: int) -> None:
    # Given the same 1/32-pixel positions, the sampling is cv2.remap's arithmetic exactly,
    # with and without a plan, for the packed RGB sampler and the per-channel one. (cv2
    # sums 16-bit images in float32: a half-level can round the other way there.)
    d = OpenCVDistortion(-0.25, 0.06, 0.001, -0.001)
    cam = Camera(K, np.eye(4), 240, 180, distortion=d)
    top = np.iinfo(dtype).max
    img = np.random.default_rng(5).integers(0, top + 1, (180, 240, channels), dtype=dtype)
    img = img[..., 0] if channels == 1 else img
    plan = undistort_plan(cam)
    ours = undistort_image(img, cam)
    m1, m2 = _cv2_maps(plan)
    ref = cv2.remap(img, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(undistort_image(img, cam, plan=plan), ours)
    if dtype == np.uint8:
        np.testing.assert_array_equal(ours, ref)
    else:
        diff = np.abs(ours.astype(int) - ref)
        assert diff.max() <= 1 and np.mean(diff == 0) > 0.99


def test_linear_agrees_with_cv2_fixed_point_remap_of_its_own_map() -> None:
    # Against OpenCV's own map (undistortion computed by cv2, converted to its fixed-point
    # CV_16SC2 form as the benchmark uses it) on a random image: the positions round to
    # the same 1/32 pixel except within float rounding of a step boundary.
    d = OpenCVDistortion(-0.25, 0.06, 0.001, -0.001)
    cam = Camera(K, np.eye(4), 240, 180, distortion=d)
    img = np.random.default_rng(6).integers(0, 256, (180, 240, 3), dtype=np.uint8)
    ours = undistort_image(img, cam)
    K_cv = K - [[0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]]
    m1, m2 = cv2.initUndistortRectifyMap(K_cv, d.coefficients, None, K_cv, (240, 180), cv2.CV_16SC2)
    ref = cv2.remap(img, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inner = (slice(10, -10), slice(10, -10))
    diff = np.abs(ours[inner].astype(int) - ref[inner].astype(int))
    print(f"bit-identical: {np.mean(diff == 0):.4%}, largest difference {diff.max()}")
    assert np.mean(diff == 0) >= 0.999
    assert diff.max() <= 8  # one 1/32-pixel step across a 255-level edge


def test_plan_positions_are_exact_to_a_64th_of_a_pixel_at_2048_pixels() -> None:
    # The float32 source positions of a pinhole output, rounded to 1/32 pixel, against
    # float64 ones: the rounding (1/64) plus float32 error (< 1e-3 px).
    size = 2048
    k = np.array([[0.8 * size, 0, size / 2], [0, 0.8 * size, size / 2], [0, 0, 1]])
    d = OpenCVDistortion(-0.28, 0.07, 0.0008, -0.0012, -0.01)
    cam = Camera(k, np.eye(4), size, size, distortion=d)
    plan = undistort_plan(cam)
    rows = np.arange(0, size, 37)
    idx = (rows[:, None] * size + np.arange(size)).reshape(-1)
    code, offset = plan.code[idx].astype(int), plan.offset[idx].astype(int)
    a, b = code & 31, code >> 5
    inside = (code < 1024) & (a > 0) & (b > 0)  # not folded at an edge
    u = (offset % size) + a / 32 + 0.5
    v = (offset // size) + b / 32 + 0.5
    ys, xs = np.meshgrid(rows + 0.5, np.arange(size) + 0.5, indexing="ij")
    xn = np.stack([(xs.ravel() - k[0, 2]) / k[0, 0], (ys.ravel() - k[1, 2]) / k[1, 1]], -1)
    xd = camgeom.lens.distort_normalized(xn, d)
    u64 = k[0, 0] * xd[:, 0] + k[0, 2]
    v64 = k[1, 1] * xd[:, 1] + k[1, 2]
    err = np.maximum(np.abs(u - u64), np.abs(v - v64))[inside]
    assert inside.mean() > 0.9
    assert err.max() <= 1 / 64 + 1e-3


def test_rgb_warps_in_threads_and_of_several_sizes_keep_their_own_pixels() -> None:
    # RGB uint8 images are packed into a buffer kept per thread between calls: warps of
    # other images, sizes and threads in between must not show through.
    from concurrent.futures import ThreadPoolExecutor

    d = OpenCVDistortion(-0.25, 0.06, 0.001, -0.001)
    rng = np.random.default_rng(9)
    cams = [Camera(K * [[s], [s], [1]], np.eye(4), 240 * s, 180 * s, distortion=d) for s in (1, 2)]
    imgs = [rng.integers(0, 256, (c.height, c.width, 3), dtype=np.uint8) for c in cams * 3]
    jobs = list(zip(cams * 3, imgs, strict=True))
    serial = [undistort_image(img, cam) for cam, img in jobs]
    with ThreadPoolExecutor(3) as pool:
        threaded = list(pool.map(lambda job: undistort_image(job[1], job[0]), jobs))
    for a, b, (cam, img) in zip(serial, threaded, jobs, strict=True):
        np.testing.assert_array_equal(a, b)
        ref = undistort_image(img.astype(np.float32), cam)  # float path: no packing
        assert np.abs(a.astype(float) - ref).max() <= 8


@pytest.mark.parametrize("interpolation", ["linear", "nearest"])
def test_plan_gives_the_warp_of_every_dtype(interpolation: str) -> None:
    cam = Camera(K, np.eye(4), 240, 180, distortion=FisheyeDistortion(*SYNTHESISAI_FISHEYE_K))
    R = cv2.Rodrigues(np.array([0.02, -0.03, 0.01]))[0]
    pose = np.eye(4)
    pose[:3, :3] = R
    dst = Camera(np.array([[60.0, 0, 100], [0, 60, 75], [0, 0, 1]]), pose, 200, 150)
    plan = warp_plan(cam, dst, interpolation=interpolation)
    miss = (plan.code == 1024).reshape(150, 200)
    assert 0.05 < miss.mean() < 0.8  # the wider view sees beyond the source image
    assert plan.offset.shape == plan.code.shape == (150 * 200,) and plan.nbytes == 6 * 150 * 200
    rng = np.random.default_rng(7)
    for img in (
        _smooth_image(180, 240),
        rng.integers(0, 60000, (180, 240), dtype=np.uint16),
        rng.integers(-(2**40), 2**40, (180, 240, 2)),
        rng.random((180, 240)) > 0.5,
        rng.random((180, 240, 2)).astype(np.float32),
    ):
        with_plan = warp_image(img, cam, dst, interpolation=interpolation, fill=1, plan=plan)
        assert with_plan.dtype == img.dtype and with_plan.shape == (150, 200) + img.shape[2:]
        if interpolation == "nearest" or img.dtype.kind != "f":
            ref = warp_image(img, cam, dst, interpolation=interpolation, fill=1)
            np.testing.assert_array_equal(with_plan, ref)
        else:  # a plan samples floats at 1/32 pixel too
            ref = warp_image(img, cam, dst, interpolation=interpolation, fill=1)
            np.testing.assert_allclose(with_plan, ref, atol=0.05)
        assert (with_plan[miss] == 1).all()


def test_plan_errors() -> None:
    d = OpenCVDistortion(-0.25, 0.06, 0.0, 0.0)
    cam = Camera(K, np.eye(4), 240, 180, distortion=d)
    plan = undistort_plan(cam)
    img = _smooth_image(180, 240)
    np.testing.assert_array_equal(
        distort_image(img, cam, plan=warp_plan(Camera(K, np.eye(4), 240, 180), cam)),
        distort_image(img, cam),
    )
    with pytest.raises(InvalidValueError, match="other cameras"):
        undistort_image(img, cam, K=K * [[0.9], [0.9], [1]], plan=plan)
    with pytest.raises(InvalidValueError, match="interpolation='linear'"):
        undistort_image(img, cam, interpolation="nearest", plan=plan)
    with pytest.raises(InvalidValueError, match="WarpPlan"):
        undistort_image(img, cam, plan=np.zeros(3))
    with pytest.raises(InvalidValueError, match="interpolation"):
        warp_plan(cam, cam, interpolation="cubic")
    moved = np.eye(4)
    moved[0, 3] = 0.1
    with pytest.raises(InvalidValueError, match="same centre"):
        warp_plan(cam, Camera(K, moved, 240, 180))


@pytest.mark.kernels
@pytest.mark.parametrize("fisheye", [False, True])
def test_remap_kernels_against_a_numpy_reference(fisheye: bool) -> None:
    # Small enough to run with NUMBA_DISABLE_JIT=1: the fused kernel and a plan against
    # cv2's fixed-point bilinear written in numpy from float64 positions.
    d = FisheyeDistortion(*SYNTHESISAI_FISHEYE_K) if fisheye else OpenCVDistortion(-0.3, 0.1, 0, 0)
    k = np.array([[20.0, 0, 12.3], [0, 21, 9.1], [0, 0, 1]])
    cam = Camera(k, np.eye(4), 24, 18, distortion=d)
    img = np.random.default_rng(8).integers(0, 256, (18, 24, 3), dtype=np.uint8)
    ys, xs = np.mgrid[0:18, 0:24] + 0.5
    xn = np.stack([(xs - k[0, 2]) / k[0, 0], (ys - k[1, 2]) / k[1, 1]], -1)
    xd = camgeom.lens.distort_normalized(xn, d)
    u, v = k[0, 0] * xd[..., 0] + k[0, 2], k[1, 1] * xd[..., 1] + k[1, 2]
    X = np.floor(32 * (u - 0.5) + 0.5).astype(int)
    Y = np.floor(32 * (v - 0.5) + 0.5).astype(int)
    a, b = X & 31, Y & 31
    x0, y0 = np.clip(X >> 5, 0, 23), np.clip(Y >> 5, 0, 17)
    x1, y1 = np.clip((X >> 5) + 1, 0, 23), np.clip((Y >> 5) + 1, 0, 17)
    p = img.astype(np.int64)
    w = [(32 - a) * (32 - b), a * (32 - b), (32 - a) * b, a * b]
    s = sum(
        wi[..., None] * p[yy, xx]
        for wi, yy, xx in zip(w, (y0, y0, y1, y1), (x0, x1, x0, x1), strict=True)
    )
    ref = ((s + 512) >> 10).astype(np.uint8)
    inside = (u >= 0) & (u < 24) & (v >= 0) & (v < 18)
    ref[~inside] = 9
    # a position within float32 rounding of a 1/32 step may round to the other side
    frac = np.minimum(
        np.abs(32 * (u - 0.5) + 0.5 - np.round(32 * (u - 0.5) + 0.5)),
        np.abs(32 * (v - 0.5) + 0.5 - np.round(32 * (v - 0.5) + 0.5)),
    )
    clear = frac > 1e-3
    for out in (
        undistort_image(img, cam, fill=9),
        undistort_image(img, cam, fill=9, plan=undistort_plan(cam)),
    ):
        np.testing.assert_array_equal(out[clear], ref[clear])
    assert clear.mean() > 0.9


@pytest.mark.parametrize("fisheye", [False, True])
def test_distort_then_undistort_round_trip(fisheye: bool) -> None:
    d = FisheyeDistortion(*SYNTHESISAI_FISHEYE_K) if fisheye else OpenCVDistortion(-0.2, 0.04, 0, 0)
    cam = Camera(K, np.eye(4), 240, 180, distortion=d)
    img = _smooth_image(180, 240)
    back = undistort_image(distort_image(img, cam), cam)
    inner = (slice(30, -30), slice(40, -40))
    err = np.abs(back[inner].astype(int) - img[inner].astype(int))
    assert np.median(err) <= 1 and err.max() <= 12
    ids = (np.arange(180 * 240).reshape(180, 240) // 7).astype(np.int32)
    back_ids = undistort_image(
        distort_image(ids, cam, interpolation="nearest"), cam, interpolation="nearest"
    )
    assert np.mean(back_ids[inner] == ids[inner]) > 0.95  # two nearest resamplings


def test_undistorted_intrinsics_keep_all_and_valid() -> None:
    d = OpenCVDistortion(-0.3, 0.08, 0, 0)  # barrel: the undistorted border bulges out
    cam = Camera(K, np.eye(4), 240, 180, distortion=d)
    img = np.full((180, 240), 255, np.uint8)
    valid = undistort_image(img, cam, K=undistorted_intrinsics(cam, keep="valid"))
    assert (valid == 255).all()
    K_all = undistorted_intrinsics(cam, keep="all")
    full = undistort_image(img, cam, K=K_all)
    assert (full == 0).any()  # the border where no pixel maps
    # every distorted pixel lands inside the "all" image
    uv, _ = Camera(K_all, np.eye(4), 240, 180).project(
        cam.unproject(np.c_[[0.5, 239.5, 0.5, 239.5], [0.5, 0.5, 179.5, 179.5]], np.ones(4))
    )
    assert ((uv >= -1e-9) & (uv <= [240 + 1e-9, 180 + 1e-9])).all()
    with pytest.raises(InvalidValueError, match="keep"):
        undistorted_intrinsics(cam, keep="some")


def test_rotation_between_cameras_at_one_centre() -> None:
    cam = Camera(K, np.eye(4), 240, 180)
    R = cv2.Rodrigues(np.array([0.0, 0.05, 0.0]))[0]
    pose = np.eye(4)
    pose[:3, :3] = R
    turned = Camera(K, pose, 240, 180)
    img = _smooth_image(180, 240)
    out = warp_image(img, cam, turned)
    H = K @ R @ np.linalg.inv(K)  # homography src -> dst in pixel-centre coordinates
    ref = cv2.warpPerspective(img, _centre(H), (240, 180))
    inner = (slice(20, -20), slice(40, -40))
    assert np.abs(out[inner].astype(int) - ref[inner].astype(int)).max() <= 1
    moved = np.eye(4)
    moved[0, 3] = 0.1
    with pytest.raises(InvalidValueError, match="same centre"):
        warp_image(img, cam, Camera(K, moved, 240, 180))


def _centre(H: np.ndarray) -> np.ndarray:
    """A camgeom pixel homography in OpenCV's integer-centre coordinates."""
    T = np.array([[1.0, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    return np.linalg.inv(T) @ H @ T


def test_warp_errors() -> None:
    cam = Camera(K, np.eye(4), 240, 180)
    with pytest.raises(ShapeError, match="240"):
        warp_image(np.zeros((10, 10)), cam, cam)
    with pytest.raises(InvalidValueError, match="interpolation"):
        warp_image(np.zeros((180, 240)), cam, cam, interpolation="cubic")
    with pytest.raises(InvalidValueError, match="fit"):
        warp_image(np.zeros((180, 240), np.uint8), cam, cam, fill=-1)
    assert camgeom.warp_image is warp_image and camgeom.undistort_image is undistort_image


# ---------------------------------------------------------------- Synthesis AI fisheye
def _tool_fisheye(image: np.ndarray, K: np.ndarray, k: tuple[float, ...]) -> np.ndarray:
    """Synthesis AI's ``fisheye-distortion`` algorithm, with OpenCV, as the tool runs it."""
    H, W = image.shape[:2]
    K32 = K.astype(np.float32)
    D = np.array(k, np.float32)
    xs, ys = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    grid = np.stack([xs, ys], -1).reshape(1, -1, 2)
    und = cv2.fisheye.undistortPoints(grid, K32, D)[0]  # normalised
    mx = (K32[0, 0] * und[:, 0] + K32[0, 2]).reshape(H, W).astype(np.float32)
    my = (K32[1, 1] * und[:, 1] + K32[1, 2]).reshape(H, W).astype(np.float32)
    dist = cv2.remap(image, mx, my, cv2.INTER_NEAREST)
    corners = np.array([[[0.0, 0.0], [W - 1.0, H - 1.0]]], np.float32)
    norm = cv2.undistortPoints(corners, K32, None).reshape(1, -1, 2)  # K^-1 of the corner indices
    tl, br = cv2.fisheye.distortPoints(norm, K32, D)[0]
    crop = dist[
        int(np.ceil(tl[1])) : int(np.floor(br[1])), int(np.ceil(tl[0])) : int(np.floor(br[0]))
    ]
    # the tool's cv2.resize(crop, (W, H), cv2.INTER_CUBIC): the third positional
    # argument is `dst`, so the interpolation is the default, bilinear
    return cv2.resize(crop, (W, H), cv2.INTER_CUBIC)


def test_synthesisai_fisheye_camera_reproduces_the_tool(fixtures: Path) -> None:
    room = fixtures / "synthesisai" / "room"
    frame = camgeom.load(room)["0"]
    seg = cv2.imread(str(room / "0.segments.png"), cv2.IMREAD_UNCHANGED)
    tool = _tool_fisheye(seg, frame.camera.K, SYNTHESISAI_FISHEYE_K)
    fish = synthesisai_fisheye_camera(frame.camera)
    ours = warp_image(seg, frame.camera, fish, interpolation="nearest")
    agree = float(np.mean(ours == tool))
    naive = warp_image(
        seg, frame.camera, fish.cropped(1, 1, fish.width, fish.height), interpolation="nearest"
    )
    print(f"agreement with the tool: {agree:.4%} (one pixel off: {np.mean(naive == tool):.4%})")
    assert agree >= 0.99
    assert fish.K[0, 0] != fish.K[1, 1]  # room-format K keeps its non-square pixels


def test_synthesisai_fisheye_landmarks_land_on_the_same_features() -> None:
    # A textured pinhole render with known 3-D landmarks: each landmark projected through
    # the fisheye camera must sit on the same image patch as in the tool's output.
    W, H = 512, 384
    Kf = np.array([[520.0, 0, W / 2], [0, 520, H / 2], [0, 0, 1]])
    cam = Camera(Kf, np.eye(4), W, H)
    rng = np.random.default_rng(4)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 2.0)
    uv_pin = np.c_[rng.uniform(40, W - 40, 40), rng.uniform(40, H - 40, 40)]
    landmarks = cam.unproject(uv_pin, np.full(40, 2.0), frame="world")
    tool = _tool_fisheye(texture, Kf, SYNTHESISAI_FISHEYE_K)
    fish = synthesisai_fisheye_camera(cam)
    uv, _ = fish.project(landmarks)
    r = 6
    errs = []
    for (u0, v0), (u1, v1) in zip(uv_pin, uv, strict=True):
        a = texture[int(v0) - r : int(v0) + r + 1, int(u0) - r : int(u0) + r + 1].astype(float)
        # the same patch searched for around the projected landmark in the tool's image
        best = np.inf, (0, 0)
        for dv in range(-3, 4):
            for du in range(-3, 4):
                cu, cv_ = int(u1) + du, int(v1) + dv
                b = tool[cv_ - r : cv_ + r + 1, cu - r : cu + r + 1].astype(float)
                if b.shape == a.shape:
                    best = min(best, (float(np.mean((a - b) ** 2)), (du, dv)))
        errs.append(best[1])
    offsets = np.abs(np.array(errs))
    # the fisheye scale near each landmark is close to 1, so the best match is at the projection
    assert np.mean(np.all(offsets <= 1, axis=1)) >= 0.9


def test_reader_gives_frames_with_dist_png_a_distorted_camera(
    fixtures: Path, tmp_path: Path
) -> None:
    import shutil

    for name in ("0.info.json", "0.segments.png", "31.info.json"):
        shutil.copy(fixtures / "synthesisai" / "room" / name, tmp_path / name)
    (tmp_path / "0.segments.dist.png").write_bytes(b"")  # only its name matters here
    ds = camgeom.load(tmp_path)
    frame = ds["0"]
    assert frame.camera is not None
    assert frame.distorted_camera == synthesisai_fisheye_camera(frame.camera)
    assert ds["31"].distorted_camera is None
