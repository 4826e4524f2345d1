"""Per-pixel stages on every core the run may use.

Blending and the agreement average are numpy and OpenCV work on full-resolution images, which
release the GIL but run on one core each call; split into independent parts (colour channels,
bands of rows) they run in parallel threads. The number of threads follows OpenCV's, which
``--threads`` sets along with torch's.
"""

from __future__ import annotations

import numpy as np


def worker_threads() -> int:
    """Threads for the per-pixel work: as many as OpenCV may use."""
    import cv2

    return max(1, cv2.getNumThreads())


def row_bands(height: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous row ranges (start, stop) covering ``height`` rows."""
    edges = np.linspace(0, height, max(1, min(parts, height)) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
