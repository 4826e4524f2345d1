"""Deciding which slice is in focus where, from the activity maps, streaming over the slices.

A per-pixel argmax of the activity steps through the blur rings of out-of-focus objects: at a
distance d from a defocused edge, the slice whose blur ring has radius d is locally the most
"active", so the map steps from slice to slice in rings. A ring has two signatures that real
detail of another depth lacks: it is smooth (its activity grows when measured at half the
resolution, as a ramp's does, while fine texture's shrinks) and it is weak next to the sharp
edge it comes from. Where the fine window's winner has both, the decision falls back to the
winner of a coarse window, which sees that sharp edge and names its slice; everywhere else
the fine winner stands. Everything here runs at the feature resolution.

A median filter then removes isolated specks, and regions smaller than ``min_area`` of the
image are refilled from their nearest surviving neighbours.
"""

from __future__ import annotations

import numpy as np

FINE_RADIUS = 5  # px (full resolution) of the fine activity window
COARSE_RADIUS = 16  # px (feature resolution) of the window that sees a ring's source
SMOOTH_RATIO = 2.5  # half-resolution / full-resolution activity above which content is smooth
WEAK_SHARE = 0.1  # ... and weak when below this share of the coarse winner's nearby peak


class FocusDecision:
    """Running statistics of the activity over slices; ``decide()`` gives the slice map.

    Activity maps come at 1/``scale`` of the full resolution (``fine_radius`` is in full
    resolution pixels), each with its twin measured at half that resolution.
    ``regularise=False`` gives the plain per-pixel argmax of the fine window (the classic
    pipeline, used by the Laplacian baseline), which needs no half-resolution twin.
    """

    def __init__(self, scale: int = 1, fine_radius: int = FINE_RADIUS, regularise: bool = True) -> None:
        self.fine_r = max(1, round(fine_radius / scale)) if fine_radius > 0 else 0
        self.coarse_r = COARSE_RADIUS
        self.regularise = regularise
        self.fine_best = self.fine_index = self.fine_ratio = None
        self.coarse_best = self.coarse_index = self.coarse_peak = None

    def add(self, z: int, activity, half=None) -> None:
        """Fold in slice ``z``: ``activity`` (torch (h, w)) and, to regularise, ``half`` at 1/2."""
        import torch
        import torch.nn.functional as F

        from .windows import box_mean, max_filter

        fine = box_mean(activity[None, None], self.fine_r)
        self.last_fine = fine[0, 0]  # for a height between slices (surface.ZPeak)
        first = self.fine_best is None
        better = None if first else fine[0, 0] > self.fine_best
        self.fine_best = _keep(fine[0, 0], self.fine_best, better)
        if first:
            self.fine_index = torch.zeros(fine.shape[-2:], dtype=torch.int32, device=fine.device)
        else:
            self.fine_index.masked_fill_(better, z)
        if not self.regularise:
            return
        half = F.interpolate(half[None, None], size=fine.shape[-2:], mode="bilinear", align_corners=False)
        ratio = box_mean(half, self.fine_r)[0, 0] / fine[0, 0].clamp_min(1e-12)
        self.fine_ratio = _keep(ratio, self.fine_ratio, better)
        r = self.coarse_r
        coarse = box_mean(activity[None, None], r)[0, 0]
        peak = max_filter(fine, r)[0, 0]
        wins = None if first else coarse > self.coarse_best
        self.coarse_best = _keep(coarse, self.coarse_best, wins)
        self.coarse_peak = _keep(peak, self.coarse_peak, wins)
        if first:
            self.coarse_index = torch.zeros_like(self.fine_index)
        else:
            self.coarse_index.masked_fill_(wins, z)

    def decide(self) -> np.ndarray:
        """(h, w) int32 slice index at the activity resolution."""
        import torch

        index = self.fine_index
        if self.regularise:
            ring = (self.fine_ratio > SMOOTH_RATIO) & (self.fine_best < WEAK_SHARE * self.coarse_peak)
            index = torch.where(ring, self.coarse_index, self.fine_index)
        return index.cpu().numpy()


def _keep(new, old, better):
    """The running value: ``new`` where ``better`` (or everywhere at first), else ``old``."""
    import torch

    return new.clone() if old is None else torch.where(better, new, old)


def remove_small_regions(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Replace connected same-index regions smaller than ``min_pixels`` by nearest neighbours.

    OpenCV's components and distance transform (not SciPy's, whose import alone costs a tenth
    of a second on every command-line run); ties between equally near neighbours may resolve
    differently, which only matters inside the refilled specks.
    """
    import cv2

    if min_pixels <= 1:
        return mask
    small = np.zeros(mask.shape, bool)
    for z in np.unique(mask):
        _, regions, stats, _ = cv2.connectedComponentsWithStats((mask == z).astype(np.uint8), connectivity=4)
        tiny = stats[:, cv2.CC_STAT_AREA] < min_pixels
        tiny[0] = False  # the pixels of other indices
        small |= tiny[regions]
    if not small.any() or small.all():
        return mask
    # every kept pixel is its own label (numbered in raster order); specks take their nearest's
    _, nearest = cv2.distanceTransformWithLabels(
        small.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
    )
    kept = np.flatnonzero(~small)
    return mask.ravel()[kept[nearest.ravel() - 1]].reshape(mask.shape)


def median_filter(mask: np.ndarray, size: int) -> np.ndarray:
    """Median of a slice-index map over ``size`` x ``size`` windows, borders replicated.

    Maps of more than 256 slices allow sizes 3 and 5 only (OpenCV's 16-bit median).
    """
    import cv2

    small = mask.max(initial=0) < 256
    return cv2.medianBlur(mask.astype(np.uint8 if small else np.uint16), size).astype(mask.dtype)


def verify_consistency(mask: np.ndarray, median: int = 5, min_area: float = 0.0005) -> np.ndarray:
    """Median-filter the map and remove regions smaller than ``min_area`` x image area."""
    out = median_filter(mask, median) if median > 1 else mask
    return remove_small_regions(out, int(min_area * mask.size))


def upsample_weight(weight: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map at the decision resolution (weights, surface), bilinearly up-sampled to ``shape``."""
    import cv2

    if weight.shape == tuple(shape):
        return weight
    return cv2.resize(weight, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
