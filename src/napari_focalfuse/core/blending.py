"""Averaging slices that agree within the sensor noise: the only way to beat the oracle pick.

``agreement_blend`` averages, pixel by pixel, every slice whose content matches the seamless
multi-band blend within the noise: their windowed squared difference stays near the ``2 sigma^2``
that two noisy copies of the same content have. Blurred slices differ by more and drop out, so
the average removes noise without adding blur. The blend itself takes part with a small fixed
weight, so where no slice matches it (along the soft seams it drew) it stays as it is and no new
seam appears. One slice is read at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

AGREEMENT_RADIUS = 2  # px window of the slice-to-reference difference
AGREEMENT_TOLERANCE = 2.0  # in units of sigma^2 beyond the pure-noise expectation
REFERENCE_WEIGHT = 0.5  # weight of the blend itself, in slices


def noise_sigma(grey) -> float:
    """Robust sensor-noise estimate (std) of one grey slice (Immerkær 1996), torch or numpy.

    The kernel [1,-2,1] x [1,-2,1] cancels smooth content, leaving mostly noise; it is applied
    as two second differences, only at every other pixel.
    """
    rows = grey[:, :-2] - 2 * grey[:, 1:-1] + grey[:, 2:]
    response = abs(rows[:-2:2] - 2 * rows[1:-1:2] + rows[2::2])[:, ::2]
    # the response to noise has std 6 sigma; the median of a half-normal is 0.6745 of its std
    median = response.flatten().median() if hasattr(response, "median") else np.median(response)
    return float(median) / (6 * 0.6745)


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    k = 2 * radius + 1
    return cv2.boxFilter(image, -1, (k, k), borderType=cv2.BORDER_REPLICATE)


def agreement_blend(
    read: Callable[[int], np.ndarray],
    n: int,
    reference: np.ndarray,
    grey: Callable[[np.ndarray], np.ndarray],
    sigma: float,
    on_slice: Callable[[int], Any] | None = None,
) -> np.ndarray:
    """Average ``reference`` (float32) with the slices that match it within the noise.

    ``read(z)`` gives slice ``z`` (any pixel type, its values on ``reference``'s scale);
    ``grey`` turns values into the [0, 1] luminance that ``sigma`` was measured on.
    """
    var = max(sigma * sigma, 1e-10)
    ref = grey(reference)
    total = np.full(ref.shape, REFERENCE_WEIGHT, np.float32)
    acc = reference * np.float32(REFERENCE_WEIGHT)
    # slice-sized buffers kept from slice to slice: fresh ones cost more than the arithmetic
    values = np.empty(reference.shape, np.float32)
    weighted = np.empty(reference.shape, np.float32)
    for z in range(n):
        np.copyto(values, read(z), casting="unsafe")
        diff = grey(values)
        np.subtract(diff, ref, out=diff)
        np.square(diff, out=diff)
        diff = _box(diff, AGREEMENT_RADIUS)
        # weight 1 within the noise, falling off beyond it
        np.subtract(diff, 2 * var, out=diff)
        np.maximum(diff, 0, out=diff)
        weight = np.exp(diff * np.float32(-1.0 / (AGREEMENT_TOLERANCE * var)))
        total += weight
        acc += np.multiply(values, weight[..., None] if values.ndim == 3 else weight, out=weighted)
        if on_slice is not None:
            on_slice(z)
    return acc / (total[..., None] if acc.ndim == 3 else total)
