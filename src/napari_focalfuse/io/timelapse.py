"""Time-lapse files (TZYX, TCZYX): one focal stack per time point, read a time point at a time.

A TIFF is a time-lapse when it has a time axis of more than one point *and* another axis of
more than one slice to be z. (A TYX file is a focus sweep saved as frames: its time is z, and
:func:`~napari_focalfuse.io.read.read_stack` reads it as one stack.) Time point t is opened by
``read_stack(path, time=t)`` only when asked for, so nothing is read up front and a time
point's memory map or open file goes with its stack.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import FocalFuseError

_NOT_Z = "TCYXS"  # axes that cannot be the focal axis
Source = str | os.PathLike | Sequence[str | os.PathLike]


def _series_axes(path: Path) -> tuple[str, tuple[int, ...]] | None:
    """Axes and shape of a TIFF's first series from its header; None when unreadable."""
    import tifffile

    from .tifflog import tifffile_warnings

    try:
        with tifffile_warnings(), tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            return series.axes.upper(), tuple(int(n) for n in series.shape)
    except Exception:  # noqa: BLE001 - not a readable TIFF: read_stack says so in a sentence
        return None


def _single(source: Source) -> Path | None:
    """The one file (or folder) ``source`` names, None for a list of several."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source)
    return Path(source[0]) if len(source) == 1 else None


def time_points(source: Source) -> int:
    """Number of time points when ``source`` is one time-lapse TIFF, else 0 (never raises).

    Only the header is read.
    """
    from .formats import is_tiff

    path = _single(source)
    if path is None or not (path.is_file() and is_tiff(path)):
        return 0
    found = _series_axes(path)
    if found is None or "T" not in found[0]:
        return 0
    axes, shape = found
    n = shape[axes.index("T")]
    has_z = any(size > 1 and axis not in _NOT_Z for axis, size in zip(axes, shape))
    return n if n > 1 and has_z else 0


def channel_count(source: Source) -> int:
    """Channels of a time-lapse file (its C axis), 1 when it has none (header only)."""
    path = _single(source)
    found = _series_axes(path) if path is not None and path.is_file() else None
    if found is None or "C" not in found[0]:
        return 1
    return found[1][found[0].index("C")]


class TimeLapse:
    """(T, Z, Y, X[, C]) array-like over a time-lapse file: ``timelapse[t]`` is time point t's
    lazy focal stack, opened when asked for (nothing is kept between calls)."""

    def __init__(self, path: Path, n_time: int, stack_shape: tuple[int, ...], dtype: Any,
                 channel: int | None) -> None:  # fmt: skip
        self.path = path
        self.channel = channel
        self.shape = (n_time, *stack_shape)
        self.dtype = np.dtype(dtype)
        self._shown: tuple[int, Any] | None = None  # (t, stack) napari last drew from
        self._lock = threading.Lock()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> Any:
        from .read import read_stack

        if not isinstance(t, (int, np.integer)):
            raise TypeError(f"TimeLapse takes one time point (an int), not {type(t).__name__}")
        if not -len(self) <= t < len(self):
            raise IndexError(f"time point {t} out of range for {len(self)} time points")
        stack, _ = read_stack(self.path, channel=self.channel, time=int(t) % len(self))
        return stack

    def _plane(self, t: int, z: int) -> np.ndarray:
        """Slice z of time point t, keeping the last time point drawn open (napari browses z)."""
        with self._lock:
            if self._shown is None or self._shown[0] != t:
                self._shown = (t, self[t])
            stack = self._shown[1]
        return np.asarray(stack[z])

    def to_dask(self) -> Any:
        """A lazy (T, Z, Y, X[, C]) dask array, one chunk per slice: napari reads what it shows."""
        import dask.array as da

        def block(block_info: dict) -> np.ndarray:
            (t, _), (z, _) = block_info[None]["array-location"][:2]
            return self._plane(t, z)[None, None]

        t, z, *rest = self.shape
        chunks = ((1,) * t, (1,) * z, *((n,) for n in rest))
        meta = np.empty((0,) * self.ndim, self.dtype)
        return da.map_blocks(block, chunks=chunks, dtype=self.dtype, meta=meta)

    def __repr__(self) -> str:
        return f"<TimeLapse {self.path.name!r} shape={self.shape} dtype={self.dtype}>"


def read_timelapse(source: Source, *, channel: int | None = None) -> tuple[TimeLapse, dict]:
    """A time-lapse file as ``(timelapse, meta)``; nothing but headers is read.

    ``meta`` is :func:`~napari_focalfuse.io.read.read_stack`'s for one time point (``name``,
    ``z_step``, ``pixel_size`` ...) with ``axes`` "TZYX"/"TZYXC" and ``time_points``.
    ``channel`` picks the channel of a TCZYX file (required there, as for one time point).
    """
    from .read import read_stack

    n = time_points(source)
    path = _single(source)
    if not n or path is None:
        what = path.name if path is not None else "A list of files"
        raise FocalFuseError(
            f"{what} is not a time-lapse: that needs one file with a time axis and a z axis of "
            "several points each."
        )
    first, meta = read_stack(path, channel=channel, time=0)  # every check a time point needs
    timelapse = TimeLapse(path, n, tuple(first.shape), first.dtype, channel)
    close = getattr(first, "close", None)
    if callable(close):
        close()
    return timelapse, {**meta, "axes": "T" + meta["axes"], "time_points": n}
