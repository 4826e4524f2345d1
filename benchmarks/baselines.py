"""Reference fusions for the benchmark that are not part of the product."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from napari_focalfuse.core.luminance import LuminanceScaler


def smoothed_laplacian(stack: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """|Laplacian| smoothed by a Gaussian of ``sigma`` px, argmax pick (the issue's strong baseline)."""
    scaler = LuminanceScaler.fit(stack)
    best = None
    mask = None
    for z in range(stack.shape[0]):
        act = ndimage.gaussian_filter(np.abs(ndimage.laplace(scaler(stack[z]))), sigma)
        if best is None:
            best, mask = act, np.zeros(act.shape, int)
        else:
            better = act > best
            best = np.where(better, act, best)
            mask[better] = z
    idx = mask[None, ..., None] if stack.ndim == 4 else mask[None]
    return np.take_along_axis(stack, idx, 0)[0]
