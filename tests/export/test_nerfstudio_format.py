"""The nerfstudio format writers: mask PNGs and the text of transforms.json."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camgeom.export.nerfstudio import _indented_json, frame_entry, mask_png_bytes, transforms_bytes


def _pil_png(mask: np.ndarray) -> bytes:
    """The mask as PIL writes it (how camgeom wrote masks before)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("shape", [(1, 1), (120, 160), (3, 700), (257, 5)])
@pytest.mark.parametrize("fill", ["random", "empty", "full", "disc"])
def test_mask_png_decodes_like_the_pil_encoded_mask(shape, fill) -> None:
    from PIL import Image

    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    if fill == "random":
        mask = rng.random(shape) < 0.5
    elif fill == "disc":
        yy, xx = np.mgrid[: shape[0], : shape[1]]
        mask = (yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2 < (min(shape) / 3) ** 2
    else:
        mask = np.full(shape, fill == "full")
    data = mask_png_bytes(mask)
    with Image.open(io.BytesIO(data)) as ours, Image.open(io.BytesIO(_pil_png(mask))) as pil:
        assert ours.mode == pil.mode == "L" and ours.size == pil.size == (shape[1], shape[0])
        ours.load()
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(pil))
        np.testing.assert_array_equal(np.asarray(ours) == 255, mask)
    cv2 = pytest.importorskip("cv2")
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded, np.where(mask, 255, 0))


_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e-05, 1e16, -0.0])
_scalars = st.none() | st.booleans() | st.integers() | _floats | st.text()
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


@given(_documents)
def test_indented_json_is_json_dumps_indent_2(doc) -> None:
    assert _indented_json(doc, "\n") == json.dumps(doc, indent=2, allow_nan=False)


def test_indented_json_refuses_what_json_refuses() -> None:
    for bad in ([1.0, float("nan")], {"a": float("inf")}, [[float("-inf")]]):
        with pytest.raises(ValueError, match="JSON compliant"):
            _indented_json(bad, "\n")
    assert _indented_json({1: [2.5]}, "\n") == json.dumps({1: [2.5]}, indent=2)
    with pytest.raises(TypeError):
        _indented_json({"a": object()}, "\n")


def test_transforms_bytes_are_json_dumps_of_the_document() -> None:
    pose = np.array([[1.0, 1e-17, 0.0, 0.5], [0.0, -1.0, 1e-05, 2.0], [0, 0, 1, 3], [0, 0, 0, 1]])
    frames = [
        frame_entry(
            file_path=f"d\u00e9j\u00e0 vu/{i}.image.png",
            K=np.diag([500.0 + i, 501.0, 1.0]),
            width=640,
            height=480,
            world_from_cam_opengl=pose,
            camera_model=model,
            distortion={"k1": 0.1, "p2": -3e-07},
            depth_file_path=f"{i}.depth32.tif" if i else None,
            mask_path=f"{i}.mask.png",
        )
        for i, model in enumerate(["OPENCV", "OPENCV_FISHEYE", "OPENCV"])
    ]
    doc = {"depth_unit_scale_factor": 1.0, "ply_file_path": "points3D.ply", "frames": frames}
    expect = (json.dumps(doc, indent=2, allow_nan=False) + "\n").encode()
    assert transforms_bytes(frames, ply_file_path="points3D.ply") == expect
    assert transforms_bytes([]) == b'{\n  "frames": []\n}\n'


_entries = st.lists(st.dictionaries(st.text(max_size=8), _documents, max_size=6), max_size=4)


@given(_entries, st.booleans(), st.none() | st.text(max_size=10))
def test_document_joined_from_entry_texts_is_json_dumps_of_the_document(frames, depth, ply) -> None:
    from camgeom.export.nerfstudio import entry_text, transforms_bytes_of_texts

    doc: dict = {}
    if depth:
        doc["depth_unit_scale_factor"] = 1.0
    if ply is not None:
        doc["ply_file_path"] = ply
    doc["frames"] = frames
    expect = (json.dumps(doc, indent=2, allow_nan=False) + "\n").encode()
    texts = [entry_text(f) for f in frames]
    assert transforms_bytes_of_texts(texts, depth=depth, ply_file_path=ply) == expect


def test_nerf_synthetic_layout_reads(tmp_path) -> None:
    """Blender NeRF-synthetic: only camera_angle_x, no w/h, file paths without extension."""
    import json
    import math

    import numpy as np
    from PIL import Image

    import camgeom

    (tmp_path / "train").mkdir()
    Image.new("RGB", (80, 60)).save(tmp_path / "train" / "r_0.png")
    pose = np.eye(4)
    pose[2, 3] = 4.0
    doc = {
        "camera_angle_x": 0.6911112070083618,
        "frames": [
            {"file_path": "./train/r_0", "rotation": 0.0, "transform_matrix": pose.tolist()}
        ],
    }
    (tmp_path / "transforms.json").write_text(json.dumps(doc))
    ds = camgeom.load(tmp_path)
    frame = ds[0]
    assert (frame.camera.width, frame.camera.height) == (80, 60)
    fx = 0.5 * 80 / math.tan(0.5 * doc["camera_angle_x"])
    np.testing.assert_allclose(frame.camera.K, [[fx, 0, 40], [0, fx, 30], [0, 0, 1]])
    assert frame.image_path == tmp_path / "train" / "r_0.png"
    assert frame.read_image().shape == (60, 80, 3)
    assert str(tmp_path / "train" / "r_0.png") in ds.sources[0].input_files()
