"""Landmark groups of a frame: :class:`Landmarks` and the lazy mapping :class:`LazyLandmarks`.

A frame's landmarks are a mapping from a stable snake_case group name
(``"ibug68"``, ``"mediapipe_dense"``, ``"ears"`` ... see ``docs/datasets.md``) to a
:class:`Landmarks`: parallel read-only arrays of world positions, the vendor's own
2D labels in camgeom pixels (u, v), visibility and the vendor's stored extras.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from camgeom.datasets._common import readonly
from camgeom.errors import InvalidValueError, ShapeError

__all__ = ["Landmarks", "LazyLandmarks"]


def _as_array(value: Any, name: str, trailing: tuple[int, ...], dtype: Any) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.array(value, dtype=dtype)  # a private copy: the caller's array is not frozen
    if arr.ndim != 1 + len(trailing) or tuple(arr.shape[1:]) != trailing:
        want = "(N" + "".join(f", {t}" for t in trailing) + (",)" if not trailing else ")")
        raise ShapeError(f"Expected `{name}` to have shape {want}, got {arr.shape}.")
    return arr


@dataclass(frozen=True, eq=False)
class Landmarks:
    """One group of landmarks of one frame (e.g. iBUG-68), as parallel arrays.

    Parameters
    ----------
    names : tuple of str, length N
        Point names in the group's standard order (e.g. ``"1"`` .. ``"68"`` for iBUG-68).
    world : ndarray, shape (N, 3), float64, or None
        World positions in metres (None when the vendor gives only 2D labels).
    pixels : ndarray, shape (N, 2), float64, or None
        The vendor's own 2D labels converted to camgeom (u, v) pixel coordinates
        (column, row; pixel centres at +0.5). NaN where a point has no label.
    visible : ndarray, shape (N,), bool, or None
        The vendor's visibility flag (None when the vendor has none).
    camera_space : ndarray, shape (N, 3), float64, or None
        The vendor's stored camera-frame positions, converted to the OpenCV camera
        frame (metres), kept for verification.
    distance : ndarray, shape (N,), float64, or None
        The vendor's stored ``distance_to_camera`` (metres).
    in_frustum : ndarray, shape (N,), bool, or None
        The vendor's stored in-frustum flag.
    pixels_decimals : int or None
        Number of decimals the stored 2D labels were rounded to, in the vendor's
        own units (4 for Synthesis iBUG-68 ``screen_space_pos``, 0 for integer
        pixel labels); None when they are not rounded.
    pixels_scale : tuple of float
        Factor from the vendor's label units to pixels per axis: ``(W, H)`` for
        normalised ``screen_space_pos``, ``(1, 1)`` for pixel labels.
    source : str
        The file and JSON path the group was read from.

    Examples
    --------
    >>> lm = Landmarks(names=("a", "b"), world=[[0, 0, 1], [0, 1, 1]], pixels=None, visible=None)
    >>> len(lm), lm.world.dtype, lm.world.flags.writeable
    (2, dtype('float64'), False)
    """

    names: tuple[str, ...]
    world: np.ndarray | None
    pixels: np.ndarray | None
    visible: np.ndarray | None
    camera_space: np.ndarray | None = None
    distance: np.ndarray | None = None
    in_frustum: np.ndarray | None = None
    pixels_decimals: int | None = None
    pixels_scale: tuple[float, float] = (1.0, 1.0)
    source: str = ""

    def __post_init__(self) -> None:
        names = tuple(map(str, self.names))
        object.__setattr__(self, "names", names)
        n = len(names)
        arrays = {
            "world": _as_array(self.world, "world", (3,), np.float64),
            "pixels": _as_array(self.pixels, "pixels", (2,), np.float64),
            "visible": _as_array(self.visible, "visible", (), bool),
            "camera_space": _as_array(self.camera_space, "camera_space", (3,), np.float64),
            "distance": _as_array(self.distance, "distance", (), np.float64),
            "in_frustum": _as_array(self.in_frustum, "in_frustum", (), bool),
        }
        for key, arr in arrays.items():
            if arr is not None and arr.shape[0] != n:
                raise ShapeError(
                    f"Expected `{key}` of landmark group {self.source or '?'} to have {n} rows "
                    f"(one per name), got {arr.shape[0]}."
                )
            object.__setattr__(self, key, readonly(arr))
        object.__setattr__(
            self, "pixels_scale", (float(self.pixels_scale[0]), float(self.pixels_scale[1]))
        )

    @classmethod
    def _trusted(cls, **fields: Any) -> Landmarks:
        """Build from read-only arrays a reader already checked (shapes, dtypes): no copies."""
        obj = object.__new__(cls)
        values = dict(_LANDMARK_DEFAULTS)
        values.update(fields)
        obj.__dict__.update(values)  # the frozen fields, set as object.__setattr__ would
        return obj

    def __setstate__(self, state: dict[str, Any]) -> None:
        # numpy unpickles arrays writeable: a copy of the group stays read-only
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            object.__setattr__(self, key, value)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def pixels_rounding(self) -> np.ndarray | None:
        """Worst-case rounding error of :attr:`pixels` in pixels per axis, shape (2,).

        ``0.5 * 10**-pixels_decimals * pixels_scale``; None when not rounded.
        """
        if self.pixels_decimals is None:
            return None
        return 0.5 * 10.0 ** (-self.pixels_decimals) * np.asarray(self.pixels_scale)

    def index(self, name: str) -> int:
        """Return the row of the point called ``name``."""
        try:
            return self.names.index(str(name))
        except ValueError:
            raise KeyError(
                f"no landmark named {name!r} in this group of {len(self)} "
                f"({', '.join(self.names[:5])}{', ...' if len(self) > 5 else ''})"
            ) from None

    def __repr__(self) -> str:
        parts = [f"N={len(self)}"]
        for key in ("world", "pixels", "visible", "camera_space", "distance", "in_frustum"):
            if getattr(self, key) is not None:
                parts.append(key)
        return f"Landmarks({', '.join(parts)}, source={self.source!r})"


_LANDMARK_DEFAULTS = tuple((f.name, f.default) for f in Landmarks.__dataclass_fields__.values())


class LazyLandmarks(Mapping[str, Landmarks]):
    """A read-only mapping of landmark groups; some groups are built on first access.

    Groups stored in separate files (the Synthesis AI dense ``.obj`` sets) are
    parsed only when asked for, and a reader may defer building the arrays of
    groups it has already checked, so loading a frame stays about as cheap as
    parsing its metadata file. ``len``, ``in`` and iteration build nothing.

    Parameters
    ----------
    groups : mapping of str to Landmarks
        Groups already built.
    loaders : mapping of str to callable, optional
        Group name -> function returning that group (called once, on first access).
    order : sequence of str, keyword-only, optional
        The order of the names (default: ``groups``, then ``loaders``); it must
        name every group once.

    Examples
    --------
    >>> lm = LazyLandmarks({}, {"dense": lambda: Landmarks(("0",), [[0, 0, 0]], None, None)})
    >>> list(lm), len(lm["dense"])
    (['dense'], 1)
    """

    def __init__(
        self,
        groups: Mapping[str, Landmarks],
        loaders: Mapping[str, Callable[[], Landmarks]] | None = None,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        self._groups: dict[str, Landmarks] = dict(groups)
        self._loaders: dict[str, Callable[[], Landmarks]] = dict(loaders or {})
        names = list(self._groups) + [k for k in self._loaders if k not in self._groups]
        if order is not None:
            if sorted(order) != sorted(names):
                raise InvalidValueError(
                    f"Expected `order` to name each group once ({', '.join(names)}), "
                    f"got {', '.join(order)}."
                )
            names = list(order)
        self._order = names

    def __getitem__(self, key: str) -> Landmarks:
        if key not in self._groups:
            loader = self._loaders.get(key)
            if loader is None:
                raise KeyError(
                    f"no landmark group {key!r}; this frame has: {', '.join(self._order)}"
                )
            self._groups[key] = loader()
        return self._groups[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._groups or key in self._loaders

    def loaded(self) -> tuple[str, ...]:
        """Names of the groups already parsed."""
        return tuple(k for k in self._order if k in self._groups)

    def __repr__(self) -> str:
        return f"LazyLandmarks({self._order!r})"
