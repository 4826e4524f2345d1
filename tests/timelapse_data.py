"""A tiny rendered time-lapse shared by the time-lapse tests: a focal stack per time point."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .held_out import motorcycle


@lru_cache(maxsize=4)
def rendered_timelapse(n_time: int = 3, n_slices: int = 4, size: int = 64, rgb: bool = False) -> np.ndarray:
    """(T, Z, Y, X[, 3]) uint8: one rendered focal stack of the held-out motorcycle (depth ramp
    left to right), seen through a window that moves 3 px to the right per time point, so
    every time point's frames differ. Read-only; copy before changing it."""
    from napari_focalfuse.core.synthetic import render_focal_stack

    width = size + 3 * (n_time - 1)
    image = motorcycle(240, 370, size, width, grey=not rgb)
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (size, 1))
    stack = render_focal_stack(image, ramp, n_slices=n_slices, max_blur=4.0, levels=8).stack
    stack = np.clip(np.rint(stack * 255), 0, 255).astype(np.uint8)
    movie = np.stack([stack[:, :, 3 * t : 3 * t + size] for t in range(n_time)])
    movie.flags.writeable = False
    return movie
