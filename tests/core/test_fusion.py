"""Fusion picks the truly sharp slice, keeps dtype and range, and handles any stack length.

The rendered stacks here do not move, so alignment (tested in test_align.py) is switched off:
these tests are about the decision and the blending.
"""

from __future__ import annotations

import numpy as np
import pytest

import napari_focalfuse as ff
from napari_focalfuse.core import metrics
from napari_focalfuse.core.errors import Cancelled, FocalFuseError
from napari_focalfuse.core.synthetic import render_focal_stack

from .conftest import _texture, blocks_disparity, two_focus_pair


def _interior(mask: np.ndarray, margin: int = 8) -> np.ndarray:
    return mask[margin:-margin, margin:-margin]


@pytest.mark.parametrize(("method", "min_exact", "min_near"), [("deep", 0.65, 0.9), ("laplacian", 0.45, 0.7)])
def test_picks_the_sharp_slice_of_each_depth_band(band_stack, method, min_exact, min_near):
    """A constant or random map scores ~0.17 exact and ~0.44 within one slice here."""
    res = ff.fuse(band_stack.stack, method=method, align=False)
    near = metrics.map_accuracy(res.mask, band_stack.true_index, tolerance=1)
    exact = metrics.map_accuracy(res.mask, band_stack.true_index)
    assert exact > min_exact and near > min_near, (exact, near)


def test_deep_fusion_beats_the_laplacian_baseline(band_stack):
    deep = metrics.mae(ff.fuse(band_stack.stack, align=False).fused, band_stack.truth)
    lap = metrics.mae(
        ff.fuse(band_stack.stack, "laplacian", window=0, consistency=False, soften=False, align=False).fused,
        band_stack.truth,
    )
    assert deep < 0.8 * lap, (deep, lap)


def test_two_slices_multi_focus_pair():
    stack, truth = two_focus_pair()
    res = ff.fuse(stack, soften=False, align=False)
    assert res.mask.shape == truth.shape
    # away from the seam every pixel comes from its sharp half
    cols = np.r_[4:52, 76:124]
    assert np.mean(res.mask[:, cols] == truth[:, cols]) > 0.97
    assert np.array_equal(np.take_along_axis(stack, res.mask[None], 0)[0], res.fused)


def test_thirty_slices_on_a_slanted_surface():
    """Depth ramps across the image; each column is in focus in one of 30 slices."""
    shape = (64, 128)
    ramp = np.broadcast_to(np.arange(shape[1], dtype=np.float32)[None], shape)
    r = render_focal_stack(_texture(shape), ramp, n_slices=30, max_blur=40, noise=0.003)
    res = ff.fuse(r.stack, align=False)
    assert res.mask.min() >= 0 and res.mask.max() < 30
    assert metrics.map_accuracy(res.mask, r.true_index, tolerance=1) > 0.8  # random: ~0.1
    middle = metrics.mae(r.stack[15], r.truth)
    assert metrics.mae(res.fused, r.truth) < 0.3 * middle


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("colour", [True, False])
def test_dtype_and_range_preserved(band_stack, dtype, colour):
    stack = band_stack.stack if colour else band_stack.stack.mean(-1)
    if dtype is np.float32:
        typed = (stack * 7.5 - 2).astype(dtype)  # an arbitrary float range, not [0, 1]
    else:
        typed = np.round(stack * np.iinfo(dtype).max).astype(dtype)
    res = ff.fuse(typed, align=False)
    assert res.fused.dtype == typed.dtype
    assert res.fused.shape == typed.shape[1:]
    assert res.mask.shape == typed.shape[1:3] and np.issubdtype(res.mask.dtype, np.integer)
    lo, hi = typed.min(0), typed.max(0)
    slack = 1e-5 * float(hi.max() - lo.min()) if dtype is np.float32 else 0  # float rounding
    assert np.all(res.fused >= lo - slack) and np.all(res.fused <= hi + slack)
    assert metrics.map_accuracy(res.mask, band_stack.true_index, tolerance=1) > 0.88


def test_without_softening_every_pixel_comes_from_the_named_slice(band_stack):
    stack = np.round(band_stack.stack * 255).astype(np.uint8)
    res = ff.fuse(stack, soften=False, align=False)
    picked = np.take_along_axis(stack, res.mask[None, ..., None].astype(int), 0)[0]
    assert np.array_equal(picked, res.fused)


def test_softening_blends_equally_sharp_slices_and_averages_noise():
    rng = np.random.default_rng(0)
    flat = 0.5 + rng.normal(0, 0.02, (6, 64, 64)).astype(np.float32)
    soft = ff.fuse(flat, consistency=False, align=False).fused
    hard = ff.fuse(flat, consistency=False, soften=False, align=False).fused
    assert np.abs(soft - 0.5).mean() < 0.6 * np.abs(hard - 0.5).mean()


def test_height_map_uses_the_z_step(band_stack):
    res = ff.fuse(band_stack.stack, z_step=2.5, align=False)
    assert np.allclose(res.height, res.mask * 2.5)
    assert res.z_unit == "µm"


def test_alpha_channel_is_kept(band_stack):
    rgba = np.concatenate([band_stack.stack, np.ones_like(band_stack.stack[..., :1])], -1)
    res = ff.fuse(rgba, align=False)
    assert res.fused.shape[-1] == 4 and np.allclose(res.fused[..., 3], 1.0)


def test_deep_really_uses_the_encoder(band_stack):
    """Different weights give different activity maps: the network is not bypassed."""
    import torch

    from napari_focalfuse.core.activity import slice_activity
    from napari_focalfuse.core.model import FocalAutoencoder
    from napari_focalfuse.core.weights import default_weights_path

    grey = band_stack.stack[0].mean(-1)
    shipped = ff.load_weights(default_weights_path())
    torch.manual_seed(3)
    other = FocalAutoencoder()
    a = slice_activity(grey, "deep", shipped.encoder, 5, 1, torch.device("cpu")).numpy()
    b = slice_activity(grey, "deep", other.encoder, 5, 1, torch.device("cpu")).numpy()
    assert not np.allclose(a / a.mean(), b / b.mean(), rtol=0.05)


def test_fast_extractor_equals_the_encoder_features_gradient():
    """The blockwise inference path computes exactly the spatial frequency of the 64 features."""
    import torch

    from napari_focalfuse.core.activity import FeatureExtractor, feature_gradient, spatial_frequency
    from napari_focalfuse.core.weights import default_weights_path

    encoder = ff.load_weights(default_weights_path()).encoder
    grey = torch.rand(1, 1, 80, 300)
    with torch.inference_mode():
        reference = spatial_frequency(encoder(grey))[..., 8:-8, 8:-8]
        fast = feature_gradient(FeatureExtractor(encoder), grey)[..., 8:-8, 8:-8]
    assert torch.allclose(fast, reference, rtol=1e-4, atol=1e-6)


def test_progress_and_cancel(band_stack):
    seen = []
    ff.fuse(band_stack.stack, method="laplacian", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(z + 1, 6) for z in range(6)]
    seen.clear()
    ff.fuse(band_stack.stack, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(z + 1, 12) for z in range(12)]  # blending reads the slices twice
    with pytest.raises(Cancelled):
        ff.fuse(band_stack.stack, should_stop=lambda: True, align=False)


def test_unknown_method_is_one_clear_error(band_stack):
    with pytest.raises(FocalFuseError, match="Unknown method"):
        ff.fuse(band_stack.stack, method="wavelet", align=False)
