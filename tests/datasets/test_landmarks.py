"""Landmark groups: Landmarks and LazyLandmarks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from camgeom.datasets import Landmarks, LazyLandmarks
from camgeom.errors import InvalidValueError, ShapeError


def test_landmarks_copy_validate_and_freeze() -> None:
    world = np.zeros((2, 3))
    lm = Landmarks(names=("a", "b"), world=world, pixels=[[1, 2], [3, 4]], visible=[1, 0])
    world[0, 0] = 5.0  # the caller's array is copied, not frozen
    assert lm.world[0, 0] == 0.0 and world.flags.writeable
    assert lm.visible.dtype == bool and lm.visible.tolist() == [True, False]
    with pytest.raises(ValueError, match="read-only"):
        lm.pixels[0, 0] = 1.0
    assert lm.index("b") == 1
    with pytest.raises(KeyError, match="no landmark named 'c'"):
        lm.index("c")
    with pytest.raises(ShapeError, match=r"Expected `world` to have shape \(N, 3\), got \(2, 2\)"):
        Landmarks(names=("a", "b"), world=np.zeros((2, 2)), pixels=None, visible=None)
    with pytest.raises(ShapeError, match="to have 3 rows"):
        Landmarks(names=("a", "b", "c"), world=None, pixels=np.zeros((2, 2)), visible=None)


def test_pixels_rounding() -> None:
    lm = Landmarks(("a",), None, [[1.0, 2.0]], None, pixels_decimals=4, pixels_scale=(1024, 512))
    np.testing.assert_allclose(lm.pixels_rounding, [0.0512, 0.0256])
    assert Landmarks(("a",), None, [[1.0, 2.0]], None).pixels_rounding is None


def test_lazy_landmarks_load_once() -> None:
    calls = []

    def loader() -> Landmarks:
        calls.append(1)
        return Landmarks(("0",), [[0.0, 0.0, 1.0]], None, None)

    eager = Landmarks(("x",), None, [[1.0, 1.0]], None)
    lazy = LazyLandmarks({"eager": eager}, {"dense": loader})
    assert list(lazy) == ["eager", "dense"] and len(lazy) == 2 and "dense" in lazy
    assert lazy.loaded() == ("eager",) and not calls
    assert lazy["dense"] is lazy["dense"] and calls == [1]
    with pytest.raises(KeyError, match="no landmark group 'other'; this frame has: eager, dense"):
        lazy["other"]


def test_lazy_landmarks_order() -> None:
    eager = Landmarks(("x",), None, [[1.0, 1.0]], None)
    lazy = LazyLandmarks(
        {"b": eager}, {"a": lambda: eager, "c": lambda: eager}, order=["a", "b", "c"]
    )
    assert list(lazy) == ["a", "b", "c"] and lazy.loaded() == ("b",)
    with pytest.raises(
        InvalidValueError, match=r"Expected `order` to name each group once \(b, a\)"
    ):
        LazyLandmarks({"b": eager}, {"a": lambda: eager}, order=["a", "a"])


def test_landmarks_stay_read_only_through_pickle() -> None:
    lm = Landmarks(("a", "b"), [[0, 0, 1], [0, 1, 1]], [[1.0, 2.0], [3.0, 4.0]], [True, False])
    copy = pickle.loads(pickle.dumps(lm))
    np.testing.assert_array_equal(copy.world, lm.world)
    for arr in (copy.world, copy.pixels, copy.visible):
        assert not arr.flags.writeable
