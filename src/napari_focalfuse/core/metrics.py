"""Fusion quality against a known all-in-focus truth."""

from __future__ import annotations

import numpy as np


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
