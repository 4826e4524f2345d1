"""Consistency verification of a decision map: depth is mostly smooth, specks are noise.

A median filter removes isolated specks; connected regions smaller than ``min_area`` of the
image are then refilled from their nearest surviving neighbours.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def remove_small_regions(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Replace connected same-index regions smaller than ``min_pixels`` by nearest neighbours."""
    if min_pixels <= 1:
        return mask
    small = np.zeros(mask.shape, bool)
    for z in np.unique(mask):
        labels, n = ndimage.label(mask == z)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel())
        tiny = sizes < min_pixels
        tiny[0] = False
        small |= tiny[labels]
    if not small.any() or small.all():
        return mask
    _, (iy, ix) = ndimage.distance_transform_edt(small, return_indices=True)
    return mask[iy, ix]


def verify_consistency(mask: np.ndarray, median: int = 5, min_area: float = 0.0005) -> np.ndarray:
    """Median-filter the map and remove regions smaller than ``min_area`` x image area."""
    out = mask
    if median > 1:
        out = ndimage.median_filter(out, size=median, mode="nearest")
    return remove_small_regions(out, int(min_area * mask.size))
