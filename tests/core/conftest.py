"""Small rendered focal stacks with a known truth, shared by the core tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from napari_focalfuse.core.synthetic import render_focal_stack

from ..held_out import motorcycle


def _texture(shape: tuple[int, int]) -> np.ndarray:
    """A real photograph (the held-out motorcycle's shelves), cropped to ``shape``, RGB in [0, 1]."""
    return motorcycle(56, 320, *shape)


def blocks_disparity(shape: tuple[int, int], n_blocks: int) -> np.ndarray:
    """Vertical bands of constant depth, one per slice: every pixel's true slice is known."""
    cols = np.linspace(0, n_blocks, shape[1], endpoint=False).astype(int)
    return np.broadcast_to(cols[None, :].astype(np.float32), shape).copy()


@pytest.fixture(scope="session")
def band_stack():
    """6-slice RGB stack of 96x192 px, depth in 6 vertical bands, mild noise."""
    shape = (96, 192)
    return render_focal_stack(
        _texture(shape), blocks_disparity(shape, 6), n_slices=6, max_blur=10.0, noise=0.005
    )


def two_focus_pair(shape: tuple[int, int] = (96, 128), sigma: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """The classic multi-focus pair: left half sharp in slice 0, right half sharp in slice 1."""
    grey = _texture(shape).mean(-1)
    blurred = ndimage.gaussian_filter(grey, sigma)
    left = np.arange(shape[1]) < shape[1] // 2
    a = np.where(left[None, :], grey, blurred)
    b = np.where(left[None, :], blurred, grey)
    truth = np.broadcast_to(~left[None, :], shape).astype(int)
    return np.stack([a, b]).astype(np.float32), truth
