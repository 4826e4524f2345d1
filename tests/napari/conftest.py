"""Tiny rendered focal stacks for the napari tests (96 px, 4 slices: fast on two CPU cores)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_focalfuse._napari.registry import TUNED_MODELS
from napari_focalfuse.core.weights import default_weights_path

WEIGHTS = "default" if default_weights_path().is_file() else "random"


def prepare(widget, layer) -> None:
    """Point a fuse widget at ``layer`` with the shipped weights (random when not built)."""
    widget.stack.reset_choices()
    widget.stack.value = layer
    widget.weights.value = WEIGHTS


def rendered_stack(rgb: bool = True, n: int = 4, size: int = 96) -> np.ndarray:
    """A crop of the held-out motorcycle with a left-to-right depth ramp, uint8 (Z, Y, X[, 3])."""
    from napari_focalfuse.core.synthetic import render_focal_stack

    from ..held_out import motorcycle

    image = motorcycle(240, 376, size, size, grey=not rgb)
    ramp = np.tile(np.linspace(0.0, 1.0, size, dtype=np.float32), (size, 1))
    stack = render_focal_stack(image, ramp, n_slices=n, max_blur=4.0, levels=8).stack
    return np.clip(np.rint(stack * 255), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def rgb_stack() -> np.ndarray:
    return rendered_stack(rgb=True)


@pytest.fixture(scope="session")
def grey_stack() -> np.ndarray:
    return rendered_stack(rgb=False)


@pytest.fixture(autouse=True)
def _empty_registry():
    """Tuned models are module-level; each test starts and ends without any."""
    TUNED_MODELS.clear()
    yield
    TUNED_MODELS.clear()
