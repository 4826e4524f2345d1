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


def _times(band: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return band * (weight[..., None] if band.ndim == 3 else weight)


class PyramidBlender:
    """Accumulates ``sum_z weight_z * band(slice_z)`` for every band; ``result()`` collapses it."""

    def __init__(self, shape: tuple[int, ...], scale: int, levels: int | None = None) -> None:
        self.shape = tuple(shape)
        self.scale = scale
        self.levels = pyramid_levels(self.shape[:2]) if levels is None else levels
        self.bands: list[np.ndarray] | None = None

    def add(self, image: np.ndarray, weight: np.ndarray) -> None:
        """Add one slice (float32, (Y, X[, C])) with its weight map at the decision resolution."""
        import cv2

        weights = weight_pyramid(weight, self.scale, self.shape[:2], self.levels)
        current = np.ascontiguousarray(image, dtype=np.float32)
        contributions = []
        for level in range(self.levels):
            smaller = cv2.pyrDown(current)
            up = cv2.pyrUp(smaller, dstsize=(current.shape[1], current.shape[0]))
            if up.ndim < current.ndim:
                up = up[..., None]
            contributions.append(_times(current - up, weights[level]))
            current = smaller if smaller.ndim == current.ndim else smaller[..., None]
        contributions.append(_times(current, weights[-1]))
        if self.bands is None:
            self.bands = contributions
        else:
            for acc, c in zip(self.bands, contributions):
                acc += c

    def result(self) -> np.ndarray:
        """The blended image (float32); the accumulators are used up."""
        import cv2

        image = self.bands[-1]
        for band in self.bands[-2::-1]:
            up = cv2.pyrUp(image, dstsize=(band.shape[1], band.shape[0]))
            image = band + (up[..., None] if up.ndim < band.ndim else up)
        self.bands = None
        return image
