"""Rendering focal stacks with a known truth from an all-in-focus image and its depth.

Thin-lens model: a pixel's blur grows with |disparity - disparity in focus|. The scene is cut
into depth layers composited far to near, each blurred by its own amount, so depth edges get
the occlusion blur real lenses give (including halos of near objects over far ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class RenderedStack:
    stack: np.ndarray  # (Z, Y, X[, C]) float32 in [0, 1], with noise
    truth: np.ndarray  # (Y, X[, C]) all-in-focus original, float32 in [0, 1]
    true_index: np.ndarray  # (Y, X) slice whose focal plane is nearest to each pixel
    focus: np.ndarray  # (Z,) normalised depth in focus in each slice


def fill_unknown(disparity: np.ndarray, unknown: np.ndarray | None = None) -> np.ndarray:
    """Fill pixels with unknown disparity (NaN, inf, or ``unknown``) from their nearest known one."""
    disparity = np.asarray(disparity, np.float32)
    bad = ~np.isfinite(disparity)
    if unknown is not None:
        bad |= unknown
    if not bad.any():
        return disparity
    _, (iy, ix) = ndimage.distance_transform_edt(bad, return_indices=True)
    return disparity[iy, ix]


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return image
    sig = (sigma, sigma, 0) if image.ndim == 3 else sigma
    return ndimage.gaussian_filter(image, sig, mode="reflect", truncate=3.0)


def render_focal_stack(
    image: np.ndarray,
    disparity: np.ndarray,
    n_slices: int = 6,
    max_blur: float = 6.0,
    noise: float = 0.005,
    levels: int = 24,
    seed: int = 0,
    depth_of_field: float = 1.0,
) -> RenderedStack:
    """Render ``n_slices`` slices focused at evenly spaced depths.

    ``image`` is (Y, X) or (Y, X, C) in [0, 1] (integers are scaled), ``disparity`` (Y, X) with
    larger = nearer. ``max_blur`` is the Gaussian sigma (px) for a depth difference spanning the
    whole scene; ``noise`` the standard deviation of added Gaussian sensor noise.
    ``depth_of_field`` is the depth range, in slice steps, that each slice renders sharp (the
    circle of confusion stays under a pixel there): 1 is a well-sampled capture whose step equals
    the depth of field, 0 a pure thin lens where only the exact focal plane is sharp.
    """
    img = np.asarray(image)
    if np.issubdtype(img.dtype, np.integer):
        img = img.astype(np.float32) / np.iinfo(img.dtype).max
    img = img.astype(np.float32)
    d = fill_unknown(disparity)
    d = (d - d.min()) / max(float(d.max() - d.min()), 1e-6)
    focus = (np.arange(n_slices) + 0.5) / n_slices
    centers = (np.arange(levels) + 0.5) / levels
    layer = np.clip((d * levels).astype(int), 0, levels - 1)
    half_dof = depth_of_field / (2 * n_slices)
    rng = np.random.default_rng(seed)

    slices = []
    for f in focus:
        out = np.zeros_like(img)
        for level in range(levels):  # far (small disparity) to near
            behind_and_near = (layer >= level).astype(np.float32)
            if not behind_and_near.any():
                break
            sigma = max_blur * max(0.0, abs(centers[level] - f) - half_dof)
            alpha = _blur(behind_and_near, sigma)
            colour = _blur(img * (behind_and_near[..., None] if img.ndim == 3 else behind_and_near), sigma)
            a = alpha[..., None] if img.ndim == 3 else alpha
            out = out * (1 - a) + colour
        out = out + rng.normal(0.0, noise, out.shape).astype(np.float32)
        slices.append(np.clip(out, 0.0, 1.0))
    true_index = np.abs(d[None] - focus[:, None, None]).argmin(0)
    return RenderedStack(np.stack(slices).astype(np.float32), img, true_index, focus)


def motorcycle_scene() -> tuple[np.ndarray, np.ndarray]:
    """Real RGB image (500x741) and disparity shipped with scikit-image (Middlebury 2014)."""
    from skimage import data

    left, _, disparity = data.stereo_motorcycle()
    return left, fill_unknown(disparity)


def demo_stack(n_slices: int = 6, noise: float = 0.005, seed: int = 0) -> RenderedStack:
    """The embedded default: the motorcycle scene rendered as a 6-slice focal stack."""
    image, disparity = motorcycle_scene()
    return render_focal_stack(image, disparity, n_slices=n_slices, noise=noise, seed=seed)
