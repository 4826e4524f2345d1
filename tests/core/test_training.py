"""Self-supervised fine-tuning lowers its loss, is reproducible, and stops cleanly."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import napari_focalfuse as ff
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.model import FocalAutoencoder
from napari_focalfuse.core.training import TunedModel
from napari_focalfuse.core.weights import default_weights_path


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


def _weights_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_finetune_from_shipped_weights_saves_and_reloads(band_stack, tmp_path):
    tuned = ff.finetune(_small_stack(band_stack), epochs=1, patch_size=32, steps_per_epoch=4, batch_size=2)
    assert not _weights_equal(tuned.model, ff.load_weights(default_weights_path()))  # it trained
    path = tmp_path / "tuned.pt"
    tuned.save(path)
    assert _weights_equal(ff.load_weights(path), tuned.model)
    with pytest.raises(FocalFuseError, match="already exists"):  # never replaced unasked
        tuned.save(path)
    tuned.save(path, overwrite=True)


def _blind(model: FocalAutoencoder) -> FocalAutoencoder:
    """The model with its encoder zeroed: flat features, so every slice looks equally sharp."""
    blind = copy.deepcopy(model)
    with torch.no_grad():
        for p in blind.encoder.parameters():
            p.zero_()
    return blind


def test_fuse_uses_the_weights_it_is_given(band_stack, tmp_path):
    """A tuned model, its saved file and a plain model all reach the network: with a blinded
    encoder the map falls to slice 0 everywhere, while the shipped weights find the 6 bands."""
    options = dict(consistency=False, soften=False)
    shipped = ff.fuse(band_stack.stack, **options).mask
    assert len(np.unique(shipped)) == 6
    tuned = TunedModel(model=_blind(ff.load_weights(default_weights_path())), losses=[0.1])
    tuned.save(tmp_path / "blind.pt")
    for weights in (tuned, tmp_path / "blind.pt", str(tmp_path / "blind.pt"), tuned.model):
        mask = ff.fuse(band_stack.stack, weights=weights, **options).mask
        assert (mask == 0).all(), type(weights)


def test_same_seed_same_weights(band_stack):
    kwargs = dict(epochs=1, weights="random", patch_size=32, steps_per_epoch=3, batch_size=2)
    a = ff.finetune(_small_stack(band_stack), seed=7, **kwargs)
    b = ff.finetune(_small_stack(band_stack), seed=7, **kwargs)
    c = ff.finetune(_small_stack(band_stack), seed=8, **kwargs)
    assert _weights_equal(a.model, b.model) and a.step_losses == b.step_losses
    assert not _weights_equal(a.model, c.model)


def test_stop_keeps_best_finished_epoch(band_stack):
    """Stopped 3 steps into epoch 2, the model is epoch 1's, not the one 3 steps further."""
    kwargs = dict(weights="random", lr=1e-3, patch_size=32, steps_per_epoch=5, batch_size=2, seed=3)
    calls = {"n": 0}

    def stop_in_second_epoch() -> bool:
        calls["n"] += 1
        return calls["n"] > 8

    losses = []
    tuned = ff.finetune(
        _small_stack(band_stack), epochs=5, progress=lambda e, s, n, loss: losses.append(loss),
        should_stop=stop_in_second_epoch, **kwargs,
    )  # fmt: skip
    assert tuned.stopped_early
    assert len(tuned.losses) == 1 and len(losses) == 8
    first_epoch = ff.finetune(_small_stack(band_stack), epochs=1, **kwargs)
    assert first_epoch.step_losses == losses[:5]  # the same run, up to the stop
    assert _weights_equal(tuned.model, first_epoch.model)


def test_a_worse_epoch_is_not_kept(band_stack, monkeypatch):
    """When the last epoch's loss is higher, the weights of the best epoch come back."""
    from napari_focalfuse.core import training

    kwargs = dict(weights="random", lr=1e-3, patch_size=32, steps_per_epoch=4, batch_size=2, seed=1)
    real_loss = training.reconstruction_loss
    epoch_of_step = iter([0] * 4 + [1] * 4)

    def loss_worse_in_epoch_2(output, target, lam):  # same gradients, a higher reported loss
        loss = real_loss(output, target, lam)
        return loss + 10.0 if next(epoch_of_step) == 1 else loss

    monkeypatch.setattr(training, "reconstruction_loss", loss_worse_in_epoch_2)
    tuned = ff.finetune(_small_stack(band_stack), epochs=2, **kwargs)
    monkeypatch.setattr(training, "reconstruction_loss", real_loss)
    assert tuned.losses[1] > tuned.losses[0] and not tuned.stopped_early
    first_epoch = ff.finetune(_small_stack(band_stack), epochs=1, **kwargs)
    assert _weights_equal(tuned.model, first_epoch.model)


def test_patches_bigger_than_the_slices_are_refused(band_stack):
    with pytest.raises(FocalFuseError, match="patch"):
        ff.finetune(_small_stack(band_stack), epochs=1, patch_size=512)
