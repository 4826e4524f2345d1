"""Fusion picks the truly sharp slice, keeps dtype and range, and handles any stack length."""

from __future__ import annotations

import numpy as np
import pytest

import napari_focalfuse as ff
import napari_focalfuse.core.fusion
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


def test_height_map_gives_the_true_depth_in_micrometres(band_stack):
    """Band k is in focus in slice k, i.e. at k x 2.5 µm: the height map must say so."""
    res = ff.fuse(band_stack.stack, z_step=2.5, align=False)
    true_height = band_stack.true_index * 2.5
    assert res.height.dtype == np.float32 and res.z_unit == "µm"
    assert np.mean(res.height == true_height) > 0.75  # exact depth; a constant map scores 0.17
    assert np.mean(np.abs(res.height - true_height) <= 2.5) > 0.95
    assert set(np.unique(res.height)) <= {k * 2.5 for k in range(6)}
    unknown = ff.fuse(band_stack.stack, align=False)  # without a z-step the height counts slices
    np.testing.assert_array_equal(unknown.height, res.height / 2.5)
    assert unknown.z_unit == "slice"


def test_alpha_channel_is_kept(band_stack):
    rgba = np.concatenate([band_stack.stack, np.ones_like(band_stack.stack[..., :1])], -1)
    res = ff.fuse(rgba, align=False)
    assert res.fused.shape[-1] == 4 and np.allclose(res.fused[..., 3], 1.0)


def test_deep_really_uses_the_encoder(band_stack):
    """Different weights give different activity maps: the network is not bypassed."""
    import torch

    from napari_focalfuse.core.activity import FeatureExtractor, activity_map
    from napari_focalfuse.core.model import FocalAutoencoder
    from napari_focalfuse.core.weights import default_weights_path

    grey = torch.from_numpy(band_stack.stack[0].mean(-1))
    shipped = ff.load_weights(default_weights_path())
    torch.manual_seed(3)
    other = FocalAutoencoder()
    a = activity_map(grey, "deep", FeatureExtractor(shipped.encoder), 1)[0].numpy()
    b = activity_map(grey, "deep", FeatureExtractor(other.encoder), 1)[0].numpy()
    assert not np.allclose(a / a.mean(), b / b.mean(), rtol=0.05)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fast_extractor_equals_the_encoder_features_gradient(dtype):
    """The blockwise inference path computes the spatial frequency of the 64 features: exactly
    in float32, to bfloat16's precision in bfloat16 (which runs in its own memory format)."""
    import torch

    from napari_focalfuse.core.activity import FeatureExtractor, feature_gradient, spatial_frequency
    from napari_focalfuse.core.weights import default_weights_path

    encoder = ff.load_weights(default_weights_path()).encoder
    grey = torch.rand(1, 1, 80, 300)
    with torch.inference_mode():
        reference = spatial_frequency(encoder(grey))[..., 8:-8, 8:-8]
        fast = feature_gradient(FeatureExtractor(encoder, getattr(torch, dtype)), grey)[..., 8:-8, 8:-8]
    if dtype == "float32":
        assert torch.allclose(fast, reference, rtol=1e-4, atol=1e-6)
    else:
        assert ((fast - reference).abs().mean() / reference.mean()).item() < 0.02


def test_progress_total_is_known_before_the_first_slice_and_never_changes(band_stack):
    reads: list[int] = []

    class Counting(np.ndarray):  # records every slice read, to order them with the callbacks
        def __getitem__(self, key):
            if isinstance(key, (int, np.integer)):
                reads.append(int(key))
            return np.asarray(self).__getitem__(key)

    stack = band_stack.stack.view(Counting)
    seen = []
    # the baseline reads the slices three times: to align, to measure, to pick
    ff.fuse(stack, method="laplacian", progress=lambda d, t: seen.append((d, t, len(reads))))
    assert seen[0] == (0, 18, 0)  # announced before any slice was read
    assert [(d, t) for d, t, _ in seen] == [(z, 18) for z in range(19)]
    seen.clear()
    reads.clear()
    ff.fuse(stack, progress=lambda d, t: seen.append((d, t, len(reads))))
    assert seen[0][:2] == (0, 24)  # blending and softening read the slices once more each
    assert [(d, t) for d, t, _ in seen] == [(z, 24) for z in range(25)]


def test_cancel(band_stack):
    with pytest.raises(Cancelled):
        ff.fuse(band_stack.stack, should_stop=lambda: True, align=False)


def test_unknown_method_is_one_clear_error(band_stack):
    with pytest.raises(FocalFuseError, match="Unknown method"):
        ff.fuse(band_stack.stack, method="wavelet", align=False)


def test_down_sampled_features_stay_close_to_full_resolution():
    """scale > 1 (the default for frames over ~0.6 MP) against the truth and full resolution.

    A 192x384 stack of 6 depth bands: measured map accuracy 0.81 at scale 1, 2 and 4, fused
    error 0.0040 / 0.0041 / 0.0042 (the middle slice alone: 0.064).
    """
    shape = (192, 384)
    image = np.concatenate([_texture((96, 384)), _texture((96, 384))[::-1]], 0)
    r = render_focal_stack(image, blocks_disparity(shape, 6), n_slices=6, max_blur=10.0)
    runs = {s: ff.fuse(r.stack, scale=s, align=False) for s in (1, 2, 4)}
    full_acc = metrics.map_accuracy(runs[1].mask, r.true_index)
    full_err = metrics.mae(runs[1].fused, r.truth)
    assert runs[2].mask.shape == shape and runs[4].mask.shape == shape
    assert metrics.map_accuracy(runs[2].mask, r.true_index) > full_acc - 0.05
    assert metrics.mae(runs[2].fused, r.truth) < 1.1 * full_err
    assert metrics.map_accuracy(runs[4].mask, r.true_index) > full_acc - 0.08
    assert metrics.mae(runs[4].fused, r.truth) < 1.15 * full_err
    assert metrics.mae(runs[4].fused, r.truth) < 0.3 * metrics.mae(r.stack[3], r.truth)
    assert ff.core.fusion.auto_scale(600, 1000) == 2 and ff.core.fusion.auto_scale(500, 600) == 1


def test_bfloat16_moves_little_of_the_map(band_stack):
    """precision="bfloat16" runs on any CPU (slowly without native support): the raw map may
    move on a few percent of the pixels (measured here: 1.5 %), the fused image hardly at all."""
    options = dict(consistency=False, soften=False, device="cpu", align=False)
    full = ff.fuse(band_stack.stack, precision="float32", **options)
    half = ff.fuse(band_stack.stack, precision="bfloat16", **options)
    moved = np.mean(full.mask != half.mask)
    assert 0 < moved < 0.05, moved  # > 0: bfloat16 really ran
    assert abs(metrics.mae(half.fused, band_stack.truth) - metrics.mae(full.fused, band_stack.truth)) < 5e-4
    assert abs(
        metrics.map_accuracy(half.mask, band_stack.true_index)
        - metrics.map_accuracy(full.mask, band_stack.true_index)
    ) < 0.02
