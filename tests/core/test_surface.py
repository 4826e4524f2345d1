"""Sub-slice height and confidence against a rendered surface of known depth."""

from __future__ import annotations

import numpy as np
import pytest

from napari_focalfuse import fuse
from napari_focalfuse.core.synthetic import render_focal_stack
from tests.held_out import motorcycle

N = 10


@pytest.fixture(scope="module")
def tilted():
    """A textured plane tilted along x with a gentle wave along y, a flat patch in one corner."""
    image = motorcycle(100, 300, 192, 288)
    image[:64, :96] = 0.5  # no texture: no slice can be sharp here
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    depth = xx / (w - 1) * 0.8 + 0.1 + 0.05 * np.sin(yy / 40)
    r = render_focal_stack(image, depth, n_slices=N, max_blur=6, noise=0.005, depth_of_field=0.0)
    d = (depth - depth.min()) / (depth.max() - depth.min())
    return r.stack, d * N - 0.5  # true position in slice units (slice z focuses at z)


def test_surface_is_at_most_half_as_wrong_as_the_slice_index(tilted):
    stack, truth = tilted
    res = fuse(stack, align=False)
    inner = (slice(80, -12), slice(12, -12))  # textured, away from the borders
    index_error = np.abs(res.mask - truth)[inner].mean()
    surface_error = np.abs(res.surface - truth)[inner].mean()
    assert surface_error <= 0.5 * index_error, (surface_error, index_error)
    assert res.surface.shape == res.mask.shape and res.surface.dtype == np.float32


def test_confidence_flags_the_textureless_patch(tilted):
    stack, _ = tilted
    res = fuse(stack, align=False, z_step=2.0)
    flat = res.confidence[8:56, 8:88]
    textured = res.confidence[100:180, 40:250]
    assert np.median(flat) < 0.5 * np.median(textured), (np.median(flat), np.median(textured))
    height = res.surface_height(min_confidence=float(np.median(textured)) / 2)
    assert np.isnan(height[8:56, 8:88]).mean() > 0.9 and np.isfinite(height[100:180, 40:250]).mean() > 0.9
    assert np.nanmax(height) <= 2.0 * (N - 1) + 1e-3
