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

import numpy as np

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


def _weigh(band: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``band`` times ``weight`` (broadcast over colour), in place."""
    return np.multiply(band, weight[..., None] if band.ndim == 3 else weight, out=band)


class PyramidBlender:
    """Accumulates ``sum_z weight_z * band(slice_z)`` for every band; ``result()`` collapses it.

    Bands are computed in place in buffers kept from slice to slice: a fresh image-sized
    temporary costs more (the allocator maps and zeroes new pages every time) than the
    arithmetic on it, and blending a 3 MP colour slice made several.
    """

    def __init__(self, shape: tuple[int, ...], scale: int, levels: int | None = None) -> None:
        self.shape = tuple(shape)
        self.scale = scale
        self.levels = pyramid_levels(self.shape[:2]) if levels is None else levels
        self.bands: list[np.ndarray] | None = None
        self._input: np.ndarray | None = None  # the slice as float32
        self._scratch: list[np.ndarray] = []  # per level: the up-sampled coarser level

    def add(self, image: np.ndarray, weight: np.ndarray) -> None:
        """Add one slice ((Y, X[, C]), any pixel type) with its weight map at the decision
        resolution; ``image`` itself is left untouched."""
        import cv2

        weights = weight_pyramid(weight, self.scale, self.shape[:2], self.levels)
        if self._input is None:
            self._input = np.empty(image.shape, np.float32)
        current = self._input  # a float32 copy of the slice, in a reused buffer
        np.copyto(current, image, casting="unsafe")
        first = self.bands is None
        if first:
            self.bands = []
        for level in range(self.levels):
            smaller = cv2.pyrDown(current)
            if smaller.ndim < current.ndim:
                smaller = smaller[..., None]
            band = self._up(level, smaller, current.shape)
            np.subtract(current, band, out=band)
            _weigh(band, weights[level])
            if first:
                self.bands.append(band.copy())
            else:
                self.bands[level] += band
            current = smaller
        if first:
            self.bands.append(_weigh(current.copy(), weights[-1]))
        else:
            self.bands[-1] += _weigh(current, weights[-1])

    def _up(self, level: int, smaller: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """``smaller`` up-sampled to ``shape``, into this level's reused buffer."""
        import cv2

        if len(self._scratch) <= level:
            self._scratch.append(np.empty(shape, np.float32))
        buffer = self._scratch[level]
        flat = buffer if buffer.ndim == 2 or buffer.shape[2] > 1 else buffer[..., 0]
        source = smaller if smaller.ndim == 2 or smaller.shape[2] > 1 else smaller[..., 0]
        cv2.pyrUp(source, dst=flat, dstsize=(shape[1], shape[0]))
        return buffer

    def result(self) -> np.ndarray:
        """The blended image (float32); the accumulators are used up."""
        import cv2

        image = self.bands[-1]
        for band in self.bands[-2::-1]:
            up = cv2.pyrUp(image, dstsize=(band.shape[1], band.shape[0]))
            image = band + (up[..., None] if up.ndim < band.ndim else up)
        self.bands = None
        return image
