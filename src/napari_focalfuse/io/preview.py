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
