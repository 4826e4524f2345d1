"""The per-pixel stages split over threads give what one thread gives."""

from __future__ import annotations

import numpy as np
import pytest

from napari_focalfuse.core import blending, pyramid
from napari_focalfuse.core.blending import agreement_blend
from napari_focalfuse.core.parallel import row_bands
from napari_focalfuse.core.pyramid import PyramidBlender


def _slices(seed: int = 0, shape=(97, 131, 3), n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random(shape) * 255).astype(np.uint8) for _ in range(n)]


def _blend(slices: list[np.ndarray], index: np.ndarray, scale: int) -> np.ndarray:
    blender = PyramidBlender(slices[0].shape, scale)
    for z, values in enumerate(slices):
        blender.add(values, (index == z).astype(np.float32))
    return blender.result()


@pytest.mark.parametrize("height", [1, 2, 7, 1000])
def test_row_bands_cover_every_row_once(height):
    bands = row_bands(height, 3)
    rows = np.concatenate([np.arange(a, b) for a, b in bands])
    np.testing.assert_array_equal(rows, np.arange(height))
    assert all(b > a for a, b in bands)


def test_colour_blend_is_each_channel_blended_on_its_own(monkeypatch):
    slices = _slices()
    index = np.random.default_rng(1).integers(0, 3, (25, 33))
    colour = _blend(slices, index, 4)
    for c in range(3):
        grey = _blend([s[..., c] for s in slices], index, 4)
        np.testing.assert_array_equal(colour[..., c], grey)
    # the same with one thread: the channels' order of work does not matter
    monkeypatch.setattr(pyramid, "worker_threads", lambda: 1)
    np.testing.assert_array_equal(_blend(slices, index, 4), colour)


def test_weights_that_pick_one_slice_give_that_slice_back():
    slices = _slices(2)
    out = _blend(slices, np.full((25, 33), 1), 4)
    np.testing.assert_allclose(out, slices[1].astype(np.float32), atol=1e-3)


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_agreement_in_bands_of_rows_equals_the_whole_frame(monkeypatch, workers):
    rng = np.random.default_rng(3)
    truth = rng.random((60, 80, 3)).astype(np.float32)
    slices = [np.clip(truth + rng.normal(0, 0.02, truth.shape), 0, 1).astype(np.float32) for _ in range(4)]
    slices[3] = np.roll(slices[3], 5, axis=1)  # disagrees, drops out where it differs
    grey = lambda v: v[..., :3].mean(-1)  # noqa: E731
    reference = slices[0].copy()

    def run() -> np.ndarray:
        return agreement_blend(lambda z: slices[z], 4, reference, grey, 0.02)

    monkeypatch.setattr(blending, "worker_threads", lambda: 1)
    whole = run()
    monkeypatch.setattr(blending, "worker_threads", lambda: workers)
    np.testing.assert_allclose(run(), whole, rtol=0, atol=1e-6)
    # and it did average: noise went down against the truth
    assert np.abs(whole - truth).mean() < 0.8 * np.abs(reference - truth).mean()
