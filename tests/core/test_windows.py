"""The decision's windows: OpenCV's constant-time filters give the same numbers as torch's pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_focalfuse.core.windows import box_mean, max_filter


def _activity(seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.random((2, 1, 37, 53), dtype=np.float32))


@pytest.mark.parametrize("radius", [1, 5, 16, 40])
def test_box_mean_matches_torch_pooling_borders_included(radius):
    image = _activity()
    fast = box_mean(image, radius)  # OpenCV: CPU float32, no gradient
    slow = box_mean(image.clone().requires_grad_(True), radius).detach()  # torch's pooling
    assert fast.shape == image.shape
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-5, atol=1e-6)
    # a corner pixel averages only what lies inside the image
    expected = image[0, 0, : radius + 1, : radius + 1].mean()
    assert float(fast[0, 0, 0, 0]) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("radius", [1, 5, 16])
def test_max_filter_matches_torch_pooling(radius):
    image = _activity(1)
    fast = max_filter(image, radius)
    slow = max_filter(image.clone().requires_grad_(True), radius).detach()
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    assert float(fast[1, 0, 0, 0]) == float(image[1, 0, : radius + 1, : radius + 1].max())


def test_radius_zero_is_the_image_itself():
    image = _activity()
    assert box_mean(image, 0) is image
