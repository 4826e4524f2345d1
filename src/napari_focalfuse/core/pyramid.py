"""Multi-band blending of slices with decision weights (Burt & Adelson 1983), streaming.

Picking each pixel from one slice leaves a seam wherever the decision changes between slices
whose content differs there: the contour bands ("tree rings") that defocus rings cause, and the
steps at the edge of a slightly misaligned region. Blending each band of the Laplacian pyramid
with the decision weights smoothed to that band's scale joins slices without a seam: coarse
content is mixed over wide regions, fine detail over a few pixels. The weights come at the
decision's (reduced) resolution and stay a partition of unity at every level, so no
normalisation pass is needed. One slice's pyramid exists at a time; the accumulators cost about
1.33 float32 images, whatever the number of slices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .parallel import worker_threads

MIN_LEVEL_SIDE = 8  # px of the coarsest band's short side


def pyramid_levels(shape: tuple[int, int]) -> int:
    """Number of band-pass levels for an image of ``shape``: down to ~MIN_LEVEL_SIDE px."""
    return max(1, int(math.log2(max(min(shape), 2 * MIN_LEVEL_SIDE) / MIN_LEVEL_SIDE)))


def _size(shape: tuple[int, int], level: int) -> tuple[int, int]:
    """(height, width) of pyramid ``level``: cv2.pyrDown rounds up at every halving."""
    h, w = shape
    for _ in range(level):
        h, w = (h + 1) // 2, (w + 1) // 2
    return h, w


def weight_pyramid(weight: np.ndarray, scale: int, shape: tuple[int, int], levels: int) -> list[np.ndarray]:
    """Gaussian pyramid (levels + 1 maps) of a weight given at 1/``scale`` of ``shape``.

    Levels finer than the weight's own resolution are bilinear up-samplings of it; coarser ones
    Gaussian reductions, as the image bands they multiply.
    """
    import cv2

    out = []
    own = int(round(math.log2(scale))) if scale > 1 else 0
    current = np.ascontiguousarray(weight, dtype=np.float32)
    for level in range(levels + 1):
        h, w = _size(shape, level)
        if level > own:
            current = cv2.pyrDown(current)
        if current.shape != (h, w):
            out.append(cv2.resize(current, (w, h), interpolation=cv2.INTER_LINEAR))
        else:
            out.append(current)
    return out


class PyramidBlender:
    """Accumulates ``sum_z weight_z * band(slice_z)`` for every band; ``result()`` collapses it.

    Colour channels are independent, so each has its own bands and is worked on in its own
    thread (OpenCV and numpy release the GIL): the stage runs on every core instead of one.
    The weight pyramid is shared by the channels. ``add`` returns while the threads work, so
    the caller's own per-slice work overlaps with theirs; the next ``add`` or ``result`` waits.
    """

    def __init__(self, shape: tuple[int, ...], scale: int, levels: int | None = None) -> None:
        self.shape = tuple(shape)
        self.scale = scale
        self.levels = pyramid_levels(self.shape[:2]) if levels is None else levels
        channels = self.shape[2] if len(self.shape) == 3 else 1
        self._planes = [_PlaneBands(self.levels) for _ in range(channels)]
        workers = min(channels, worker_threads())
        self._pool = ThreadPoolExecutor(workers, "focalfuse-blend") if workers > 1 else None
        self._running: list[Future] = []

    def _each_plane(self, work: Callable[[int, _PlaneBands], None]) -> None:
        """Start ``work`` on every plane (in the threads, or here without them)."""
        self._wait()
        if self._pool is None:
            for c, plane in enumerate(self._planes):
                work(c, plane)
            return
        self._running = [self._pool.submit(work, c, plane) for c, plane in enumerate(self._planes)]

    def _wait(self) -> None:
        running, self._running = self._running, []
        for job in running:
            job.result()

    def add(self, image: np.ndarray, weight: np.ndarray) -> None:
        """Add one slice ((Y, X[, C]), any pixel type) with its weight map at the decision
        resolution; ``image`` must stay unchanged until the next ``add`` or ``result``."""
        weights = weight_pyramid(weight, self.scale, self.shape[:2], self.levels)
        if image.ndim == 2:
            self._planes[0].add(image, weights)
        else:
            self._each_plane(lambda c, plane: plane.add(image[..., c], weights))

    def result(self) -> np.ndarray:
        """The blended image (float32); the accumulators are used up."""
        out = np.empty(self.shape, np.float32)
        if out.ndim == 2:
            self._wait()
            self._planes[0].collapse(out)
        else:
            self._each_plane(lambda c, plane: plane.collapse(out[..., c]))
            self._wait()
        if self._pool is not None:
            self._pool.shutdown()
        return out


class _PlaneBands:
    """The weighted band sums of one channel.

    Bands are computed in place in buffers kept from slice to slice: a fresh image-sized
    temporary costs more (the allocator maps and zeroes new pages every time) than the
    arithmetic on it.
    """

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self.bands: list[np.ndarray] | None = None
        self._input: np.ndarray | None = None  # the channel as float32
        self._scratch: list[np.ndarray] = []  # per level: the up-sampled coarser level

    def add(self, plane: np.ndarray, weights: list[np.ndarray]) -> None:
        import cv2

        if self._input is None:
            self._input = np.empty(plane.shape, np.float32)
        current = self._input
        np.copyto(current, plane, casting="unsafe")
        first = self.bands is None
        if first:
            self.bands = []
        for level in range(self.levels):
            smaller = cv2.pyrDown(current)
            band = self._up(level, smaller, current.shape)
            np.subtract(current, band, out=band)
            np.multiply(band, weights[level], out=band)
            if first:
                self.bands.append(band.copy())
            else:
                self.bands[level] += band
            current = smaller
        if first:
            self.bands.append(current * weights[-1])
        else:
            self.bands[-1] += np.multiply(current, weights[-1], out=current)

    def _up(self, level: int, smaller: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """``smaller`` up-sampled to ``shape``, into this level's reused buffer."""
        import cv2

        if len(self._scratch) <= level:
            self._scratch.append(np.empty(shape, np.float32))
        cv2.pyrUp(smaller, dst=self._scratch[level], dstsize=(shape[1], shape[0]))
        return self._scratch[level]

    def collapse(self, out: np.ndarray) -> None:
        """Sum the bands up the pyramid into ``out``; the accumulators are used up."""
        import cv2

        image = self.bands[-1]
        for band in self.bands[-2::-1]:
            up = cv2.pyrUp(image, dstsize=(band.shape[1], band.shape[0]))
            image = np.add(band, up, out=band)
        np.copyto(out, image)
        self.bands = None
