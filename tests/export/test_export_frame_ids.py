"""Exports read back with the frame ids of their source, however the ids had to be encoded."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("fmt", ["colmap", "nerfstudio"])
def test_read_back_keeps_frame_ids_that_need_encoding(tmp_path, fmt) -> None:
    """Folder names with a space, a tilde or non-ASCII text; Datagen image ids with ':'."""
    import shutil

    import camgeom
    from camgeom.demo import make_demo_dataset
    from camgeom.export import export_colmap, export_nerfstudio

    demo = make_demo_dataset(tmp_path / "demo")
    data = tmp_path / "data"
    shutil.copytree(demo.synthesisai, data / "job a~ é")
    shutil.copytree(demo.datagen, data / "dg")
    cam = next((data / "dg").rglob("camera_metadata.json")).parent
    image = next(cam.glob("visible_spectrum*.png"))
    shutil.copy(image, cam / "visible_spectrum_02.png")  # two images: ids "cam:image"
    source = camgeom.load(data)
    assert any(" " in f for f in source.frame_ids) and any(":" in f for f in source.frame_ids)
    export = export_colmap if fmt == "colmap" else export_nerfstudio
    export(source, tmp_path / "out", workers=1, progress=False)
    back = camgeom.load(tmp_path / "out")
    assert sorted(back.frame_ids) == sorted(source.frame_ids)
    if fmt == "nerfstudio":  # export, load and export again: the same transforms.json
        export(back, tmp_path / "again", workers=1, progress=False)
        first = (tmp_path / "out" / "transforms.json").read_bytes()
        assert (tmp_path / "again" / "transforms.json").read_bytes() == first
