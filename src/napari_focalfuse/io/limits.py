"""Refusing what cannot work before any pixel is read: stacks too big for RAM."""

from __future__ import annotations

import os

import numpy as np

from ..core.errors import FocalFuseError

# Peak working memory of one fusion besides its output, in bytes per pixel of one slice,
# measured (peak RSS, RGB uint8, 600x1000 px, torch CPU) before the encoder was tiled: ~150 B/px
# for the Laplacian, ~500 B/px for the deep method at scale 1 (~270 at scale 2). Now features are
# computed in fixed-size tiles and a 20 MP RGB frame measures ~120 B/px in all, so these are
# conservative upper bounds. Independent of the number of slices by design.
_BASE_BYTES = 150
_DEEP_BYTES = 350  # extra for the deep method at scale 1, divided by scale**2


def available_memory() -> int:
    """Bytes of RAM available now (psutil when installed, else the free+cached pages)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil comes with napari
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 1 << 62


def fusion_bytes(
    shape: tuple[int, ...], dtype: np.dtype, method: str = "laplacian", scale: int = 1
) -> int:
    """Memory one fusion of a (Z, Y, X[, C]) stack needs: independent of Z by design."""
    h, w = int(shape[1]), int(shape[2])
    c = int(shape[3]) if len(shape) > 3 else 1
    per_pixel = c * np.dtype(dtype).itemsize + _BASE_BYTES
    if method == "deep":
        per_pixel += _DEEP_BYTES / max(int(scale), 1) ** 2
    return int(h * w * per_pixel)


def check_memory(
    shape: tuple[int, ...],
    dtype: np.dtype,
    name: str,
    method: str = "laplacian",
    scale: int = 1,
) -> None:
    """Raise before allocating when fusing ``shape`` would not fit in the RAM available now.

    Readers check with the cheapest method (what no method can do is refused at once); the
    command line checks again with the method and scale actually asked for.
    """
    need = fusion_bytes(shape, dtype, method, scale)
    have = available_memory()
    if need > have:
        hint = " use --scale 2 (or scale=2)," if method == "deep" and scale < 2 else ""
        raise FocalFuseError(
            f"{name}: slices of {shape[2]}x{shape[1]} px need about {need / 2**30:.1f} GiB to "
            f"fuse ({method}) but only {have / 2**30:.1f} GiB of memory is available;{hint} "
            "crop or bin the stack."
        )
