"""Edges that no slice has: the seams, doubled edges and blur rings a fusion can invent.

A fused image that takes each patch from some slice cannot have a stronger gradient than the
sharpest slice has nearby; seams between slices of different content, and rings, do. The share
of the fused image's gradient beyond 1.1 x the strongest slice gradient within 2 px measures
that without any ground truth. It scores fusions in the benchmarks (``metrics``) and lets
``fuse`` check its per-pixel pick before trusting it (fusion.py). Grey images of one scale in,
any scale: the share is a ratio.
"""

from __future__ import annotations

import numpy as np

SIGMA = 1.0  # px of the Gaussian before the Sobel gradient
TOLERANCE = 1.1  # a fused gradient up to this times the strongest slice gradient is no invention
NEAR = 5  # px: the strongest slice gradient is taken over NEAR x NEAR px around a pixel


def gradient_magnitude(grey: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """Sobel gradient magnitude (float32) of a grey image smoothed by a Gaussian of ``sigma`` px."""
    import cv2

    smooth = cv2.GaussianBlur(np.asarray(grey, np.float32), (0, 0), sigma)
    return cv2.magnitude(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3))


class StrongestGradient:
    """The largest gradient any slice has at each pixel, folded in one slice at a time."""

    def __init__(self) -> None:
        self.strongest: np.ndarray | None = None

    def add(self, grey: np.ndarray) -> None:
        gradient = gradient_magnitude(grey)
        if self.strongest is None:
            self.strongest = gradient
        else:
            np.maximum(self.strongest, gradient, out=self.strongest)

    def share(self, fused_grey: np.ndarray, margin: float = 0.05) -> float:
        """``false_edge_share`` of ``fused_grey`` against the slices folded in so far."""
        return false_edge_share(fused_grey, self.strongest, margin)


def false_edge_share(fused_grey: np.ndarray, strongest: np.ndarray, margin: float = 0.05) -> float:
    """Share of the fused image's gradient that no slice has nearby.

    ``strongest`` is the largest slice gradient per pixel (``StrongestGradient``), in the fused
    image's geometry and grey scale. What the fused gradient exceeds ``TOLERANCE`` x its
    maximum over ``NEAR`` x ``NEAR`` px by, summed over the central ``1 - 2 * margin`` of the
    frame, divided by the fused image's total gradient there.
    """
    import cv2

    fused = gradient_magnitude(fused_grey)
    near = cv2.dilate(strongest, np.ones((NEAR, NEAR), np.uint8))
    h, w = fused.shape
    dy, dx = round(h * margin), round(w * margin)
    inner = (slice(dy, h - dy), slice(dx, w - dx))
    excess = np.clip(fused[inner] - np.float32(TOLERANCE) * near[inner], 0.0, None)
    total = float(fused[inner].sum(dtype=np.float64))
    return float(excess.sum(dtype=np.float64)) / total if total > 0 else 0.0
