"""Reading slices for fusion: ahead of use in background threads, kept for the second pass.

Decoding a JPEG or a compressed TIFF page costs as much as the network on a down-sampled
slice; reading the next slice while the current one is processed hides most of it (decoders
release the GIL). Slices are kept in their stored dtype for the later passes while they fit
in ``budget`` bytes; a bigger stack (hundreds of frames) is simply read again, so memory stays
bounded whatever the number of slices. ``prepare`` (e.g. warping onto the reference slice once
the alignment is known) is applied once per kept slice, to the next one ahead of use.
"""

from __future__ import annotations

import mmap
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable
from typing import Any

import numpy as np

from .stack import read_slice

DEFAULT_BUDGET = 512 * 2**20


class SliceSource:
    def __init__(self, stack: Any, budget: int = DEFAULT_BUDGET):
        self.stack = stack
        self.prepare: Callable[[int, np.ndarray], np.ndarray] | None = None
        n = int(stack.shape[0])
        slice_bytes = int(np.prod(stack.shape[1:])) * np.dtype(stack.dtype).itemsize
        self.mapping = _memory_map(stack)
        # a memory map is read again for free; keeping it would only keep its pages resident
        self.keep = n * slice_bytes <= budget and self.mapping is None
        self.kept: dict[int, np.ndarray] = {}
        self.prepared: set[int] = set()  # kept slices that went through ``prepare``
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="focalfuse-read")
        self.pending: dict[int, Future] = {}

    def __enter__(self) -> SliceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        for future in self.pending.values():
            future.cancel()
        self.pool.shutdown(wait=True)
        self.kept.clear()

    def set_prepare(self, prepare: Callable[[int, np.ndarray], np.ndarray] | None) -> None:
        """Apply ``prepare(z, values)`` to every slice from now on (kept ones included)."""
        self.prepare = prepare
        self.prepared.clear()
        for z in [z for z in self.pending if z in self.kept]:  # prepared the old way
            self.pending.pop(z).cancel()

    def _fetch(self, z: int) -> np.ndarray:
        if z in self.kept:
            if self.prepare is not None and z not in self.prepared:
                future = self.pending.pop(z, None)  # prepared ahead, see get()
                values = future.result() if future is not None else self.prepare(z, self.kept[z])
                self.kept[z] = values
                self.prepared.add(z)
            return self.kept[z]
        future = self.pending.pop(z, None)
        values = future.result() if future is not None else read_slice(self.stack, z)
        if self.mapping is not None and not self.keep:
            values = np.array(values)  # a private copy, so the mapped pages can be dropped
            _drop_pages(self.mapping)
        if self.prepare is not None:
            values = self.prepare(z, values)
        if self.keep:
            self.kept[z] = values
            if self.prepare is not None:
                self.prepared.add(z)
        return values

    def get(self, z: int, ahead: int | None = None) -> np.ndarray:
        """Slice ``z``; starts reading (or preparing a kept) slice ``ahead`` in the background."""
        values = self._fetch(z)
        if ahead is None or not 0 <= ahead < self.stack.shape[0] or ahead in self.pending:
            return values
        if ahead not in self.kept:
            self.pending[ahead] = self.pool.submit(read_slice, self.stack, ahead)
        elif self.prepare is not None and ahead not in self.prepared:
            self.pending[ahead] = self.pool.submit(self.prepare, ahead, self.kept[ahead])
        return values


def _memory_map(stack: Any) -> Any:
    """The mmap object behind a numpy memory map (or a view of one), else None."""
    base = stack
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    return getattr(base, "_mmap", None)


def _drop_pages(handle: mmap.mmap) -> None:
    """Let the OS reclaim the pages of a memory-mapped stack that were read already.

    They are clean copies of the file, but they count as the process's resident memory until
    released, which would make memory grow with the number of slices read.
    """
    if hasattr(mmap, "MADV_DONTNEED"):
        try:
            handle.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass
