"""A stack that reads one slice at a time, so memory does not grow with the number of slices."""

from __future__ import annotations

from typing import Any

import numpy as np


class LazyStack:
    """Array-like (Z, Y, X[, C]): ``stack[z]`` reads slice z only; ``np.asarray`` reads all.

    Subclasses implement :meth:`_read` and set ``shape`` and ``dtype``.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    name: str = "stack"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, z: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, key: Any) -> np.ndarray:
        rest: tuple = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if isinstance(key, (int, np.integer)):
            z = int(key)
            if not -len(self) <= z < len(self):
                raise IndexError(f"slice {z} out of range for a stack of {len(self)}")
            out = self._read(z % len(self))
        elif isinstance(key, slice):
            picks = range(*key.indices(len(self)))
            out = np.empty((len(picks), *self.shape[1:]), self.dtype)
            for i, z in enumerate(picks):
                out[i] = self._read(z)
            rest = (slice(None), *rest)
        else:
            raise TypeError(
                f"{type(self).__name__} indices must be int or slice, not {type(key).__name__}"
            )
        return out[rest] if rest else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} shape={self.shape} dtype={self.dtype}>"
