"""A lazy, indexable collection of frames: :class:`Dataset`.

:func:`camgeom.datasets.load` lists a dataset's frames as
:class:`~camgeom.datasets.frame.FrameSource` objects (file paths only); a
:class:`Dataset` parses a frame when it is accessed.
"""

from __future__ import annotations

import os
import pickle
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar, overload

import numpy as np

from camgeom.datasets.frame import Frame, FrameError, FrameSource
from camgeom.errors import CamgeomError, InvalidValueError

__all__ = ["ON_ERROR", "Dataset", "SourceList"]

ON_ERROR = ("raise", "skip", "collect")
"""What :meth:`Dataset.iter_frames` may do with a frame that cannot be read."""

_T = TypeVar("_T")


class SourceList(Sequence[FrameSource]):
    """Frame sources in order, held compactly so that listing 10^6 frames stays small.

    Sources are kept as objects up to :attr:`CHUNK`; each full chunk is then
    stored pickled and compressed (about 15 bytes a frame instead of about a
    kilobyte) and rebuilt when accessed, one chunk at a time. Sources that
    cannot be pickled are kept as objects.

    Examples
    --------
    >>> from camgeom.datasets.frame import FrameSource
    >>> items = SourceList()
    >>> items._append(FrameSource("facesynthetics", Path("0_ldmks.txt"), "0", print, str))
    >>> len(items), items[0].frame_id, [s.frame_id for s in items]
    (1, '0', ['0'])
    """

    CHUNK = 1024

    def __init__(self, sources: Iterable[FrameSource] = ()) -> None:
        self._packed: list[bytes] = []
        self._tail: list[FrameSource] = []
        self._loose: list[FrameSource] | None = None  # unpicklable sources: all kept as objects
        self._cache: tuple[int, list[FrameSource]] = (-1, [])
        for source in sources:
            self._append(source)

    def _append(self, source: FrameSource) -> None:
        if self._loose is not None:
            self._loose.append(source)
            return
        self._tail.append(source)
        if len(self._tail) >= self.CHUNK:
            try:
                data = pickle.dumps(self._tail, protocol=pickle.HIGHEST_PROTOCOL)
            except (pickle.PicklingError, TypeError, AttributeError):
                self._loose = list(self)  # every chunk rebuilt: from now on, objects
                self._packed, self._tail = [], []
                return
            self._packed.append(zlib.compress(data, 1))
            self._tail = []

    def _extend(self, sources: Iterable[FrameSource]) -> None:
        for source in sources:
            self._append(source)

    def _chunk(self, k: int) -> list[FrameSource]:
        if k == len(self._packed):
            return self._tail
        if self._cache[0] != k:
            self._cache = (k, pickle.loads(zlib.decompress(self._packed[k])))
        return self._cache[1]

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_cache"] = (-1, [])  # a rebuilt chunk is not worth sending
        return state

    def __len__(self) -> int:
        if self._loose is not None:
            return len(self._loose)
        return len(self._packed) * self.CHUNK + len(self._tail)

    @overload
    def __getitem__(self, index: int) -> FrameSource: ...

    @overload
    def __getitem__(self, index: slice) -> list[FrameSource]: ...

    def __getitem__(self, index: int | slice) -> FrameSource | list[FrameSource]:
        if self._loose is not None:
            return self._loose[index]
        n = len(self)
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(n))]
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(f"source index {index} out of range for {n} sources")
        return self._chunk(i // self.CHUNK)[i % self.CHUNK]

    def __iter__(self) -> Iterator[FrameSource]:
        if self._loose is not None:
            yield from list(self._loose)
            return
        for data in list(self._packed):
            yield from pickle.loads(zlib.decompress(data))
        yield from list(self._tail)

    def __repr__(self) -> str:
        return f"SourceList({len(self)} sources)"


class Dataset(Sequence[Frame]):
    """A lazy, indexable collection of frames from one or more vendor layouts.

    ``len(ds)``, ``ds.frame_ids`` and ``ds.scenes()`` do not parse frames (scenes may
    read one small file per frame); ``ds[i]`` and iteration parse one frame at a
    time. Index with an int, a slice (a new :class:`Dataset`) or a frame id.

    Iterating raises on the first bad frame; :meth:`iter_frames` can skip bad frames
    or collect them in :attr:`errors`, and :meth:`scan` checks every frame.

    Examples
    --------
    >>> ds = Dataset([], root=".")
    >>> len(ds), ds.errors
    (0, [])
    """

    def __init__(
        self,
        sources: Sequence[FrameSource],
        *,
        root: str | os.PathLike[str],
        description: str = "",
    ) -> None:
        self._sources = sources if isinstance(sources, SourceList) else SourceList(sources)
        self.root = root if isinstance(root, Path) else Path(root)
        self.description = description
        self.errors: list[FrameError] = []
        self._by_id: dict[str, int] | None = None

    # ------------------------------------------------------------------ sequence
    def __len__(self) -> int:
        return len(self._sources)

    @overload
    def __getitem__(self, index: int) -> Frame: ...

    @overload
    def __getitem__(self, index: slice) -> Dataset: ...

    @overload
    def __getitem__(self, index: str) -> Frame: ...

    def __getitem__(self, index: int | slice | str) -> Frame | Dataset:
        if isinstance(index, slice):
            return Dataset(self._sources[index], root=self.root, description=self.description)
        if isinstance(index, str):
            if self._by_id is None:
                self._by_id = {s.frame_id: i for i, s in enumerate(self._sources)}
            if index not in self._by_id:
                raise KeyError(f"no frame with id {index!r} in {self.root}")
            return self._sources[self._by_id[index]].read()
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"Dataset indices must be int, slice or frame id, got {type(index).__name__}"
            )
        n = len(self._sources)
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"frame index {i} out of range for a dataset of {n} frames")
        return self._sources[i].read()

    def __iter__(self) -> Iterator[Frame]:
        return self.iter_frames(on_error="raise")

    def __repr__(self) -> str:
        vendors = ", ".join(self.vendors) or "empty"
        return f"Dataset({len(self)} frames, {vendors}, root={str(self.root)!r})"

    # ------------------------------------------------------------------ cheap info
    @property
    def frame_ids(self) -> tuple[str, ...]:
        """The id of every frame, in order (no parsing)."""
        return tuple(s.frame_id for s in self._sources)

    @property
    def sources(self) -> Sequence[FrameSource]:
        """The unparsed frame sources, in order: cheap, picklable, parsed by ``source.read()``.

        A read-only sequence (:class:`SourceList`: compact for large datasets).
        Pass these (not frames) to :func:`camgeom.jobs.run_job`, so that each
        frame is parsed in the worker that processes it.
        """
        return self._sources

    @property
    def paths(self) -> tuple[Path, ...]:
        """The main file or folder of every frame, in order (no parsing)."""
        return tuple(s.path for s in self._sources)

    @property
    def vendors(self) -> tuple[str, ...]:
        """The vendors present, sorted (no parsing)."""
        return tuple(sorted({s.vendor for s in self._sources}))

    # ------------------------------------------------------------------ iteration
    def iter_frames(self, *, on_error: str = "raise") -> Iterator[Frame]:
        """Yield each frame, parsed on demand.

        Parameters
        ----------
        on_error : {"raise", "skip", "collect"}
            What to do with a frame whose files cannot be read: raise the
            :class:`~camgeom.errors.CamgeomError`; skip it silently; or skip it and
            append a :class:`FrameError` (path and message) to :attr:`errors`.
        """
        for _, frame in self._each(lambda source: source.read(), on_error):
            yield frame

    def _each(
        self, fn: Callable[[FrameSource], _T], on_error: str
    ) -> Iterator[tuple[FrameSource, _T]]:
        """Apply ``fn`` to every source under the ``on_error`` policy of :meth:`iter_frames`."""
        if on_error not in ON_ERROR:
            raise InvalidValueError(
                f"Expected `on_error` to be one of {ON_ERROR!r}, got {on_error!r}."
            )
        for source in self._sources:
            try:
                value = fn(source)
            except (CamgeomError, OSError) as exc:
                if on_error == "raise":
                    raise
                if on_error == "collect":
                    self.errors.append(FrameError(source.frame_id, source.path, str(exc)))
                continue
            yield source, value

    def scan(self) -> list[FrameError]:
        """Parse every frame and return the ones that failed (also kept in :attr:`errors`).

        Frames are not kept; use this to check a dataset before a long job.
        """
        self.errors = []
        for _ in self.iter_frames(on_error="collect"):
            pass
        return list(self.errors)

    def scenes(self, *, on_error: str = "raise") -> dict[str, Dataset]:
        """Group frames by scene: scene id -> a :class:`Dataset` of its frames.

        A scene holds every camera's view of one subject at one moment (a Datagen
        HIC ``frames/NNN`` folder, Datagen Faces datapoints that share actor and
        pose, a Synthesis AI task and frame number, a GeoGen subject). Only the
        files needed for the scene id are read. ``on_error`` as in
        :meth:`iter_frames`.
        """
        groups: dict[str, list[FrameSource]] = {}
        for source, key in self._each(lambda source: source.scene_id(), on_error):
            groups.setdefault(key, []).append(source)
        return {
            key: Dataset(items, root=self.root, description=f"scene {key}")
            for key, items in groups.items()
        }
