"""Sub-slice height and confidence against a rendered surface of known depth."""

from __future__ import annotations

import numpy as np
import pytest

from napari_focalfuse import fuse
from napari_focalfuse.core.synthetic import render_focal_stack
from tests.held_out import motorcycle

N = 10


def _waving_plane(h: int, w: int) -> np.ndarray:
    """Depth of a plane tilted along x with a gentle wave along y."""
    yy, xx = np.mgrid[0:h, 0:w]
    return xx / (w - 1) * 0.8 + 0.1 + 0.05 * np.sin(yy / 40)


@pytest.fixture(scope="module")
def tilted():
    """A textured plane tilted along x with a gentle wave along y, a flat patch in one corner."""
    image = motorcycle(100, 300, 192, 288)
    image[:64, :96] = 0.5  # no texture: no slice can be sharp here
    depth = _waving_plane(*image.shape[:2])
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


def test_a_thin_lens_stack_of_few_slices_is_read_through_its_own_focus_curve():
    """Five slices of a thin lens: the focus measure is a cusp, which a parabola through its log
    pulls towards the sampled slices (0.54 x the map's error); the stack's own model: 0.24 x
    (0.38 x with the end slices' own heights)."""
    image = motorcycle(100, 300, 192, 288)
    depth = _waving_plane(*image.shape[:2])
    r = render_focal_stack(image, depth, n_slices=5, max_blur=6, noise=0.005, depth_of_field=0.0)
    truth = (depth - depth.min()) / (depth.max() - depth.min()) * 5 - 0.5
    res = fuse(r.stack, align=False)
    inner = (slice(12, -12), slice(12, -12))
    ratio = np.abs(res.surface - truth)[inner].mean() / np.abs(res.mask - truth)[inner].mean()
    assert ratio <= 0.45, ratio


def _curve_samples(measure, peaks: np.ndarray, n: int = 8):
    """(best, own, before, after) of ``measure(z - peak)`` sampled at slices 0..n-1."""
    curves = np.stack([measure(z - peaks) for z in range(n)]).astype(np.float32)
    own = curves.argmax(0)
    best = curves.max(0)
    before = np.where(own > 0, curves[np.maximum(own - 1, 0), np.arange(peaks.size)], 0)
    after = curves[np.minimum(own + 1, n - 1), np.arange(peaks.size)]
    after = np.where(own < n - 1, after, np.nan)
    return best, own, before.astype(np.float32), after.astype(np.float32)


@pytest.mark.parametrize(
    ("measure", "exponent"),
    [
        (lambda dz: 1.0 / (0.09 + dz**2), -1.0),  # thin lens: falls as a power of the defocus
        (lambda dz: 1.0 / np.sqrt(0.09 + dz**2), -2.0),
        (lambda dz: np.exp(-(dz**2) / 1.28), 0.0),  # flat-topped: the log is exact
    ],
)
def test_the_focus_curve_model_is_chosen_from_the_stack(measure, exponent):
    from napari_focalfuse.core.surface import focus_curve_exponent, vertex_offset

    peaks = np.random.default_rng(0).uniform(0.5, 6.5, 5000)  # a surface crossing the planes
    best, own, before, after = _curve_samples(measure, peaks)
    assert focus_curve_exponent(best, own, before, after) == exponent
    offset = vertex_offset(best, own, before, after, np.ones_like(best))
    assert np.abs(own + offset - peaks).max() < 1e-3


def test_a_peak_on_an_end_slice_is_placed_between_it_and_the_next_never_beyond():
    """One neighbour only: the parabola through the end slice and the next two finds the peak
    inside the stack; peaks beyond the end stay on the end slice, where nothing tells how far."""
    from napari_focalfuse.core.surface import vertex_offset

    n = 8
    peaks = np.random.default_rng(1).uniform(-0.4, n - 0.6, 5000)
    measure = lambda dz: 1.0 / (0.09 + dz**2)  # noqa: E731 (a thin lens)
    best, own, before, after = _curve_samples(measure, peaks, n)
    curves = np.stack([measure(z - peaks) for z in range(n)]).astype(np.float32)
    outer = np.where(own == 0, curves[2], np.where(own == n - 1, curves[n - 3], np.nan))
    height = own + vertex_offset(best, own, before, after, np.ones_like(best), outer)
    assert np.abs(height - np.clip(peaks, 0, n - 1)).max() < 1e-3
    inside_end = ((peaks > 0.1) & (peaks < 0.5)) | ((peaks > n - 1.5) & (peaks < n - 1.1))
    without = own + vertex_offset(best, own, before, after, np.ones_like(best))
    assert np.abs(without - peaks)[inside_end].min() > 0.1  # the end slice itself, as before


def _fused_bracketing_plane(n: int, depth_of_field: float):
    """(true height in slices, FusionResult) of the waving plane in ``n`` slices whose end
    slices are focused on its nearest and farthest depths."""
    image = motorcycle(100, 300, 192, 288)
    depth = _waving_plane(*image.shape[:2])
    r = render_focal_stack(
        image, depth, n_slices=n, max_blur=6, noise=0.005, depth_of_field=depth_of_field,
        bracket=True,
    )  # fmt: skip
    return r.depth * (n - 1), fuse(r.stack, align=False)


def test_a_bracketing_stack_places_the_surface_between_its_end_slices():
    """Five slices focused on the nearest and farthest depths: where the true height lies within
    half a slice of an end slice, the surface is 0.25 x the map's error (0.75 x with the end
    slice itself as the height)."""
    truth, res = _fused_bracketing_plane(5, depth_of_field=0.0)
    inner = (slice(12, -12), slice(12, -12))
    ends = ((truth < 0.5) | (truth > 3.5))[inner]
    surface_error = np.abs(res.surface - truth)[inner][ends].mean()
    index_error = np.abs(res.mask - truth)[inner][ends].mean()
    assert surface_error <= 0.5 * index_error, (surface_error, index_error)


def _five_samples(measure, peaks: np.ndarray, n: int = 8, noise: float = 0.0):
    """(best, own, before, after, below, above) of ``measure(z - peak)`` at slices 0..n-1, with
    multiplicative noise: the measures one and two slices either side of the best (NaN beyond)."""
    rng = np.random.default_rng(2)
    curves = np.stack([measure(z - peaks) for z in range(n)]).astype(np.float32)
    curves *= 1 + noise * rng.standard_normal(curves.shape).astype(np.float32)
    own, columns = curves.argmax(0), np.arange(peaks.size)

    def at(step: int) -> np.ndarray:
        z = own + step
        return np.where((z >= 0) & (z < n), curves[np.clip(z, 0, n - 1), columns], np.nan)

    return curves.max(0), own, at(-1), at(1), at(-2), at(2)


def test_the_streamed_peak_keeps_the_slices_one_and_two_either_side():
    """Slices arrive one at a time; what the fit needs of the best slice's surroundings must be
    what the whole volume holds there (NaN beyond the stack)."""
    import torch

    from napari_focalfuse.core.surface import _Peak

    volume = np.random.default_rng(3).random((7, 20, 30)).astype(np.float32)
    peak = _Peak()
    for z, measure in enumerate(volume):
        peak.add(z, torch.from_numpy(measure))
    best, own, before, after = peak.maps()
    below, above = peak.two_away()
    assert np.array_equal(own, volume.argmax(0)) and np.array_equal(best, volume.max(0))
    padded = np.concatenate([np.full((2, 20, 30), np.nan), volume, np.full((2, 20, 30), np.nan)])
    around = {k: np.take_along_axis(padded, own[None] + 2 + k, 0)[0] for k in (-2, -1, 1, 2)}
    for k, streamed in ((-2, below), (1, after), (2, above)):
        np.testing.assert_array_equal(streamed, around[k])
    np.testing.assert_array_equal(before[own > 0], around[-1][own > 0])


@pytest.mark.parametrize(
    ("measure", "wide"),
    [
        (lambda dz: np.exp(-(dz**2) / 4.5), True),  # slices closer than the depth of field
        (lambda dz: 1.0 / (0.09 + dz**2), False),  # a thin lens's cusp
        (lambda dz: 1.0 / (1.0 + dz**2), False),  # depth of field about the slice step
    ],
)
def test_a_flat_topped_focus_curve_is_told_from_a_cusp(measure, wide):
    from napari_focalfuse.core.surface import focus_curve_is_wide

    peaks = np.random.default_rng(0).uniform(0.5, 6.5, 5000)
    best, _, before, after, below, above = _five_samples(measure, peaks, noise=0.02)
    assert focus_curve_is_wide(best, before, after, below, above, np.ones(best.shape, bool)) == wide


def test_five_slices_find_a_flat_topped_peak_that_three_leave_to_the_noise():
    """Slices much closer than the depth of field: the best slice's neighbours are nearly as
    sharp, and 2 % noise moves the three-point vertex over twice as far as the five-point."""
    from napari_focalfuse.core.surface import vertex_offset

    peaks = np.random.default_rng(0).uniform(2.0, 5.0, 5000)
    best, own, before, after, below, above = _five_samples(
        lambda dz: np.exp(-(dz**2) / 4.5), peaks, noise=0.02
    )
    peaked = np.ones_like(best)
    three = np.abs(own + vertex_offset(best, own, before, after, peaked) - peaks).mean()
    five = own + vertex_offset(best, own, before, after, peaked, two_away=(below, above))
    assert np.abs(five - peaks).mean() < 0.5 * three, (np.abs(five - peaks).mean(), three)


def test_a_stack_with_slices_closer_than_its_depth_of_field_is_read_through_five_slices():
    """Eight bracketing slices, depth of field one slice: the surface is 0.26 x the map's error
    (0.49 x from the best slice and its two neighbours alone)."""
    truth, res = _fused_bracketing_plane(8, depth_of_field=1.0)
    inner = (slice(12, -12), slice(12, -12))
    ratio = np.abs(res.surface - truth)[inner].mean() / np.abs(res.mask - truth)[inner].mean()
    assert ratio <= 0.4, ratio


def test_a_specimen_parallel_to_the_focal_planes_keeps_the_log_model():
    """All offsets alike: no model can be told from another by their spread, so the log stays."""
    from napari_focalfuse.core.surface import focus_curve_exponent

    peaks = 3.2 + np.random.default_rng(0).normal(0, 0.02, 5000)
    best, own, before, after = _curve_samples(lambda dz: 1.0 / (0.09 + dz**2), peaks)
    assert focus_curve_exponent(best, own, before, after) == 0.0


def test_confidence_flags_the_textureless_patch(tilted):
    stack, _ = tilted
    res = fuse(stack, align=False, z_step=2.0)
    flat = res.confidence[8:56, 8:88]
    textured = res.confidence[100:180, 40:250]
    assert np.median(flat) < 0.5 * np.median(textured), (np.median(flat), np.median(textured))
    height = res.surface_height(min_confidence=float(np.median(textured)) / 2)
    assert np.isnan(height[8:56, 8:88]).mean() > 0.9 and np.isfinite(height[100:180, 40:250]).mean() > 0.9
    assert np.nanmax(height) <= 2.0 * (N - 1) + 1e-3


def _layered_step(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A far plane, a nearer block on it and a slope below, composited once per layer (thin lens:
    each layer blurred by its distance from the focal plane, the block's blurred rim veiling the
    plane behind it). Returns the stack, the true position in slice units and the block mask."""
    import cv2

    image = motorcycle(100, 300, 192, 288)
    h, w = image.shape[:2]
    far, near = 0.17, 0.81  # off the focal planes: the map is off by a fraction of a slice
    block = np.zeros((h, w), np.float32)
    block[24:96, 150:250] = 1
    slope = np.zeros((h, w), np.float32)
    slope[140:] = 1
    ramp = np.linspace(far, near, 6)  # the slope: 6 strips of rising depth along x
    strips = np.minimum((np.arange(w) * len(ramp)) // w, len(ramp) - 1)
    rng = np.random.default_rng(0)

    def blur(a: np.ndarray, sigma: float) -> np.ndarray:
        return a if sigma < 0.05 else cv2.GaussianBlur(a, (0, 0), sigma)

    slices = []
    for z in range(n):
        f = (z + 0.5) / n
        out = blur(image, 6 * abs(far - f))
        for k, d in enumerate(ramp):
            layer = slope * (strips == k)[None, :]
            a = blur(layer, 6 * abs(d - f))
            out = out * (1 - a[..., None]) + blur(image * layer[..., None], 6 * abs(d - f))
        a = blur(block, 6 * abs(near - f))
        out = out * (1 - a[..., None]) + blur(image * block[..., None], 6 * abs(near - f))
        slices.append(np.clip(out + rng.normal(0, 0.005, out.shape), 0, 1).astype(np.float32))
    depth = np.where(block > 0, near, np.where(slope > 0, ramp[strips][None, :], far))
    return np.stack(slices), depth * n - 0.5, block > 0


def test_surface_across_a_depth_step():
    """Away from the occluding edge the height is sub-slice on both planes and the slope; right
    beside it (the blurred block veils the plane) it is no worse than the map's."""
    from scipy import ndimage

    stack, truth, block = _layered_step(N)
    res = fuse(stack, align=False)
    index_error, surface_error = np.abs(res.mask - truth), np.abs(res.surface - truth)
    border = np.zeros(truth.shape, bool)
    border[8:-8, 8:-8] = True
    distance = ndimage.distance_transform_edt(~block)
    away = border & ((distance >= 10) | block)
    assert surface_error[away].mean() <= 0.5 * index_error[away].mean()
    beside = border & (distance >= 6) & (distance < 10)
    assert surface_error[beside].mean() <= index_error[beside].mean() + 0.05


def test_height_comes_from_the_small_window_measure_where_it_has_a_peak():
    """Where a sharp edge nearby makes the windowed activity (and the decision) name one slice but
    the pixel's own detail peaks at another, the height follows the detail; where the detail is
    flat, it follows the activity."""
    import torch

    from napari_focalfuse.core.surface import ZPeak

    n, h, w = 8, 40, 60
    own = np.where(np.arange(w) < 30, 2.3, 5.6)[None, :].repeat(h, 0)  # detail peaks here
    peak = ZPeak()
    rng = np.random.default_rng(0)
    for z in range(n):
        activity = np.exp(-((z - 6.0) ** 2) / 2) + np.zeros((h, w))  # everything at slice 6
        detail = np.exp(-np.abs(z - own)) + 0.01 * rng.random((h, w))
        detail[:, 50:] = 0.001 * (1 + 0.1 * rng.random((h, 10)))  # flat: sensor noise only
        peak.add(z, torch.tensor(activity, dtype=torch.float32), torch.tensor(detail, dtype=torch.float32))
    position, _ = peak.result(np.full((h, w), 6))
    assert np.abs(position[5:-5, 5:25] - 2.3).max() < 0.35
    assert np.abs(position[5:-5, 35:45] - 5.6).max() < 0.35
    assert np.abs(position[5:-5, 55:] - 6.0).max() < 0.35


def test_heights_beside_a_depth_step_are_unknown():
    """Beside an occluding edge the height is a made-up ramp between the two planes: the
    confidence drops there, so the mesh leaves a gap instead of a curtain; textured planes away
    from the edge stay known."""
    from scipy import ndimage

    from napari_focalfuse.core.mesh import MIN_CONFIDENCE

    stack, truth, block = _layered_step(N)
    res = fuse(stack, align=False)
    known = res.confidence >= MIN_CONFIDENCE
    outside = ndimage.distance_transform_edt(~block)
    inside = ndimage.distance_transform_edt(block)
    rim = ((outside > 0) & (outside <= 4)) | ((inside > 0) & (inside <= 2))
    rim[:8], rim[-8:], rim[:, :8], rim[:, -8:] = False, False, False, False
    away = np.zeros_like(block)
    away[8:-8, 8:-8] = True
    away &= (outside >= 16) | (inside >= 12)
    assert known[rim].mean() < 0.2, known[rim].mean()
    assert known[away].mean() > 0.8, known[away].mean()


def test_depth_steps_are_steps_not_slopes_or_roughness():
    from napari_focalfuse.core.surface import EDGE_REACH, depth_steps

    h, w = 60, 120
    step = np.where(np.arange(w) < 60, 2.0, 5.0)[None, :].repeat(h, 0).astype(np.float32)
    flagged = depth_steps(step)
    assert flagged[:, 60 - EDGE_REACH : 60 + EDGE_REACH].all() and not flagged[:, :45].any()
    slope = np.linspace(2.0, 5.0, w, dtype=np.float32)[None, :].repeat(h, 0)  # the same rise, gently
    assert not depth_steps(slope).any()
    rough = step + np.random.default_rng(0).uniform(-1.5, 1.5, step.shape).astype(np.float32)
    assert not depth_steps(rough)[:, :45].any()  # varies by 3 slices pixel to pixel: no steps
