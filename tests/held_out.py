"""Images the tests render their stacks from: none of them trained the shipped weights.

The shipped weights were trained on scikit-image pictures listed in
scripts/train_default_weights.py (IMAGES); tests must measure on others. The Middlebury
motorcycle that ships with scikit-image is held out for tests and benchmarks.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

HELD_OUT = ("stereo_motorcycle", "cell", "colorwheel", "logo", "microaneurysms", "binary_blobs")


@lru_cache(maxsize=1)
def _motorcycle() -> np.ndarray:
    from skimage import data

    return data.stereo_motorcycle()[0]


def motorcycle(y: int, x: int, h: int, w: int, grey: bool = False) -> np.ndarray:
    """A crop of the motorcycle scene (a real photograph), float32 in [0, 1], RGB or grey.

    Textured places: the engine around (240, 370), the shelves around (60, 320..400).
    """
    crop = _motorcycle()[y : y + h, x : x + w].astype(np.float32) / 255.0
    assert crop.shape[:2] == (h, w), (y, x, h, w)
    if grey:
        return crop @ np.array([0.2125, 0.7154, 0.0721], np.float32)
    return crop
