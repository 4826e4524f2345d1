"""Consistency verification of a decision map: depth is mostly smooth, specks are noise.

A median filter removes isolated specks; connected regions smaller than ``min_area`` of the
image are then refilled from their nearest surviving neighbours.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def remove_small_regions(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Replace connected same-index regions smaller than ``min_pixels`` by nearest neighbours."""
    from skimage.measure import label

    if min_pixels <= 1:
        return mask
    regions = label(mask.astype(np.int32) + 1, background=0, connectivity=1)  # one pass, all indices
    small = (np.bincount(regions.ravel()) < min_pixels)[regions]
    if not small.any() or small.all():
        return mask
    iy, ix = ndimage.distance_transform_edt(small, return_distances=False, return_indices=True)
    return mask[iy, ix]


def verify_consistency(
    mask: np.ndarray, median: int = 5, min_area: float = 0.0005, scale: int = 1
) -> np.ndarray:
    """Median-filter the map and remove regions smaller than ``min_area`` x image area.

    With ``scale`` > 1 (the activity was measured on down-sampled slices, so no true detail is
    finer than that), the check runs on the map sampled every ``scale`` pixels and only the
    pixels it changed are replaced, keeping the full-resolution seams elsewhere.
    """
    if scale > 1:
        coarse = np.ascontiguousarray(mask[::scale, ::scale])
        cleaned = verify_consistency(coarse, median=3, min_area=min_area)
        changed = cleaned != coarse
        if not changed.any():
            return mask
        up = np.ones((scale, scale), bool)
        changed_full = np.kron(changed, up)[: mask.shape[0], : mask.shape[1]]
        cleaned_full = np.kron(cleaned, np.ones((scale, scale), cleaned.dtype))
        return np.where(changed_full, cleaned_full[: mask.shape[0], : mask.shape[1]], mask)
    out = mask
    if median > 1:
        out = ndimage.median_filter(out, size=median, mode="nearest")
    return remove_small_regions(out, int(min_area * mask.size))
