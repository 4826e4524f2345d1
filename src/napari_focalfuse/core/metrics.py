"""Fusion quality against a known all-in-focus truth."""

from __future__ import annotations

import numpy as np

from .false_edges import gradient_magnitude  # noqa: F401  (the benchmarks' composite uses it too)


def to_unit(image: np.ndarray) -> np.ndarray:
    """Any supported dtype to float64 in [0, 1] (integers by their full range)."""
    img = np.asarray(image)
    if np.issubdtype(img.dtype, np.integer):
        return img.astype(np.float64) / np.iinfo(img.dtype).max
    return img.astype(np.float64)


def mae(fused: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(to_unit(fused) - to_unit(truth))))


def psnr(fused: np.ndarray, truth: np.ndarray) -> float:
    mse = float(np.mean((to_unit(fused) - to_unit(truth)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(fused: np.ndarray, truth: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    a, b = to_unit(fused), to_unit(truth)
    return float(
        structural_similarity(a, b, data_range=1.0, channel_axis=-1 if a.ndim == 3 else None)
    )


def map_accuracy(mask: np.ndarray, true_index: np.ndarray, tolerance: int = 0) -> float:
    """Share of pixels whose chosen slice is within ``tolerance`` of the truly nearest one."""
    return float(np.mean(np.abs(mask.astype(int) - true_index.astype(int)) <= tolerance))


def oracle_pick(stack: np.ndarray, true_index: np.ndarray) -> np.ndarray:
    """Each pixel from its truly nearest slice: the bound of any method that only picks."""
    return np.take_along_axis(stack, true_index[None, ..., None] if stack.ndim == 4 else true_index[None], 0)[0]


def false_edge_share(fused_grey: np.ndarray, slice_greys, margin: float = 0.05) -> float:
    """Share of the fused image's gradient that no slice has: seams, doubled edges, rings.

    ``slice_greys`` are the (aligned) slices in the fused image's geometry, all grey on the same
    scale as ``fused_grey``. A fused pixel's gradient may reach 1.1 x the strongest gradient any
    slice has within 2 px (a 5x5 maximum filter); what exceeds it, summed over the central
    ``1 - 2 * margin`` of the frame, is divided by the fused image's total gradient there. A
    fusion that takes each patch from some slice stays near zero. Needs no ground truth.
    """
    from .false_edges import StrongestGradient

    strongest = StrongestGradient()
    for grey in slice_greys:
        strongest.add(grey)
    return strongest.share(fused_grey, margin)
