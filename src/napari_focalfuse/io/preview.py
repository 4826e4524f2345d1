"""The colours of the decision map, shared by the napari layer and the demo's figure.

Slice 0 is dark purple and the last slice yellow (matplotlib's viridis: perceptually ordered
and readable by colour-blind viewers), the same ramp as the height layer, so a slice has one
colour wherever the map is shown.
"""

from __future__ import annotations

import numpy as np

COLORMAP = "viridis"


def slice_colours(n_slices: int) -> np.ndarray:
    """(n_slices, 3) float RGB in [0, 1]: the colour of each slice index."""
    from matplotlib import colormaps

    return colormaps[COLORMAP](np.linspace(0.0, 1.0, max(n_slices, 2)))[:n_slices, :3]


def colour_map(mask: np.ndarray, n_slices: int) -> np.ndarray:
    """Slice index (Y, X) -> uint8 RGB picture of the decision map."""
    lut = np.round(slice_colours(n_slices) * 255).astype(np.uint8)
    return lut[np.clip(np.asarray(mask), 0, n_slices - 1)]


def map_comparison(before: np.ndarray, after: np.ndarray, n_slices: int, gap: int = 8) -> np.ndarray:
    """uint8 RGB picture: the map before | after fine-tuning | changed pixels (white).

    The before/after view of ``napari-focalfuse train --compare``: one picture that shows
    where tuning moved the decision, not only by how much.
    """
    before, after = np.asarray(before), np.asarray(after)
    changed = np.where((before != after)[..., None], np.uint8(255), np.uint8(0))
    panels = [colour_map(before, n_slices), colour_map(after, n_slices), np.repeat(changed, 3, axis=2)]
    space = np.full((before.shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([panels[0], space, panels[1], space, panels[2]], axis=1)
