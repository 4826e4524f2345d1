"""A rectangular window of a focal stack, read lazily: the fast preview fuses only this."""

from __future__ import annotations

from typing import Any

import numpy as np

from .lazy import LazyStack


class CroppedStack(LazyStack):
    """``stack[:, rows, cols]`` that reads one slice at a time, only when ``crop[z]`` is asked.

    numpy, memory-mapped, dask and zarr stacks read just the window; file stacks (JPEG, PNG)
    decode the whole slice and keep the window.
    """

    def __init__(self, stack: Any, rows: slice, cols: slice) -> None:
        self.stack = stack
        self.rows, self.cols = rows, cols
        n, h, w = (int(k) for k in stack.shape[:3])
        y = range(*rows.indices(h))
        x = range(*cols.indices(w))
        self.shape = (n, len(y), len(x), *(int(k) for k in stack.shape[3:]))
        self.dtype = np.dtype(stack.dtype)
        self.name = f"{getattr(stack, 'name', 'stack')}[{y.start}:{y.stop}, {x.start}:{x.stop}]"

    def _read(self, z: int) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(self.stack[z, self.rows, self.cols]))
