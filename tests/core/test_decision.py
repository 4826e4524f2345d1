"""Cleaning the decision map: median and small regions, as SciPy would do them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_focalfuse.core.decision import median_filter, remove_small_regions, verify_consistency


def _blocks(seed: int = 0, n: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, n, (12, 16))
    return np.kron(coarse, np.ones((16, 16), int)).astype(np.int32)


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("n", [7, 300])
def test_median_equals_scipys_with_nearest_borders(size, n):
    mask = _blocks(1, n)
    mask[np.random.default_rng(2).random(mask.shape) < 0.05] = n - 1
    expected = ndimage.median_filter(mask, size=size, mode="nearest")
    out = median_filter(mask, size)
    assert out.dtype == mask.dtype
    np.testing.assert_array_equal(out, expected)


def test_small_regions_take_their_surroundings_and_large_ones_stay():
    mask = _blocks()
    specks = [(20, 20), (100, 150), (180, 40)]
    for y, x in specks:
        around = mask[y, x]
        mask[y : y + 2, x : x + 2] = (around + 3) % 7  # a 4-pixel region of another slice
    out = remove_small_regions(mask, 10)
    for y, x in specks:
        np.testing.assert_array_equal(out[y : y + 2, x : x + 2], _blocks()[y : y + 2, x : x + 2])
    assert (out == _blocks()).all()  # every 256-pixel block survived untouched


def test_a_map_of_one_region_is_left_alone():
    mask = np.full((30, 40), 3, np.int32)
    assert remove_small_regions(mask, 10) is mask
    np.testing.assert_array_equal(verify_consistency(mask), mask)
