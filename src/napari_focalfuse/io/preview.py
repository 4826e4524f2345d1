"""Pictures for people: a coloured decision map and side-by-side panels (no matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .write import to_display

# viridis at 0, 1/4, 1/2, 3/4, 1: perceptually ordered, readable by colour-blind viewers
_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float64
)


def colour_map(mask: np.ndarray, n_slices: int) -> np.ndarray:
    """Slice index (Y, X) -> uint8 RGB, first slice dark purple, last slice yellow."""
    t = np.asarray(mask, np.float64) / max(n_slices - 1, 1)
    pos = np.clip(t, 0.0, 1.0) * (len(_VIRIDIS) - 1)
    lo = np.minimum(pos.astype(int), len(_VIRIDIS) - 2)
    frac = (pos - lo)[..., None]
    rgb = _VIRIDIS[lo] * (1.0 - frac) + _VIRIDIS[lo + 1] * frac
    return rgb.round().astype(np.uint8)


def _rgb(image: np.ndarray) -> np.ndarray:
    a = to_display(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    return a[..., :3]


def side_by_side(images: Sequence[np.ndarray], gap: int = 8) -> np.ndarray:
    """Equal-height images in a row, separated by white gaps, as one uint8 RGB picture."""
    panels = [_rgb(img) for img in images]
    height = panels[0].shape[0]
    if any(p.shape[0] != height for p in panels):
        raise ValueError("side_by_side needs images of equal height")
    spacer = np.full((height, gap, 3), 255, np.uint8)
    row: list[np.ndarray] = []
    for p in panels:
        row += [p, spacer]
    return np.concatenate(row[:-1], axis=1)
