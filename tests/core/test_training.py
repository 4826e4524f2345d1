"""Self-supervised fine-tuning lowers its loss, is reproducible, and stops cleanly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import napari_focalfuse as ff
from napari_focalfuse.core.errors import FocalFuseError


def _small_stack(band_stack) -> np.ndarray:
    return np.round(band_stack.stack[:4] * 255).astype(np.uint8)


def test_finetune_lowers_the_loss_from_random_weights(band_stack):
    tuned = ff.finetune(
        _small_stack(band_stack), epochs=3, weights="random", lr=1e-3,
        patch_size=32, steps_per_epoch=15, batch_size=4,
    )  # fmt: skip
    assert len(tuned.losses) == 3 and len(tuned.step_losses) == 45
    assert tuned.losses[-1] < 0.7 * tuned.losses[0], tuned.losses
    assert not tuned.stopped_early


def test_finetune_from_shipped_weights_saves_and_reloads(band_stack, tmp_path):
    tuned = ff.finetune(_small_stack(band_stack), epochs=1, patch_size=32, steps_per_epoch=4, batch_size=2)
    path = tmp_path / "tuned.pt"
    tuned.save(path)
    again = ff.load_weights(path)
    for key, value in tuned.model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])
    # the file works as fusion weights, and so does the in-memory result
    a = ff.fuse(band_stack.stack, weights=path).mask
    b = ff.fuse(band_stack.stack, weights=tuned).mask
    assert np.array_equal(a, b)


def test_same_seed_same_weights(band_stack):
    kwargs = dict(epochs=1, weights="random", patch_size=32, steps_per_epoch=3, batch_size=2, seed=7)
    a = ff.finetune(_small_stack(band_stack), **kwargs)
    b = ff.finetune(_small_stack(band_stack), **kwargs)
    assert a.step_losses == b.step_losses


def test_stop_keeps_best_finished_epoch(band_stack):
    calls = {"n": 0}

    def stop_in_second_epoch() -> bool:
        calls["n"] += 1
        return calls["n"] > 8

    losses = []
    tuned = ff.finetune(
        _small_stack(band_stack), epochs=5, weights="random", lr=1e-3, patch_size=32,
        steps_per_epoch=5, batch_size=2, progress=lambda e, s, n, loss: losses.append(loss),
        should_stop=stop_in_second_epoch,
    )  # fmt: skip
    assert tuned.stopped_early
    assert len(tuned.losses) == 1 and len(losses) == 8


def test_patches_bigger_than_the_slices_are_refused(band_stack):
    with pytest.raises(FocalFuseError, match="patch"):
        ff.finetune(_small_stack(band_stack), epochs=1, patch_size=512)
