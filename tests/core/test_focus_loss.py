"""The defocus-ranking training signal: well-posed pairs, a loss that rewards ranking focus
first, and an option that reaches training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import napari_focalfuse as ff
from napari_focalfuse.core.blending import noise_sigma
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.focus_loss import coherent_pair, incoherent_pair, ranking_loss

from ..held_out import motorcycle


def _tiles(n: int = 6, size: int = 48) -> list[np.ndarray]:
    grey = motorcycle(40, 300, 2 * size, 3 * size, grey=True)
    return [grey[y : y + size, x : x + size].copy() for y in (0, size) for x in (0, size, 2 * size)][:n]


def _pairs(make, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    made = [make(t, rng) for t in _tiles()]
    return (torch.from_numpy(np.stack([m[i][None] for m in made])) for i in (0, 1))  # type: ignore[return-value]


def test_pairs_keep_noise_and_the_sharp_side_is_in_focus():
    rng = np.random.default_rng(1)
    tile = np.clip(_tiles(1)[0] + rng.normal(0, 0.02, (48, 48)), 0, 1).astype(np.float32)
    sharp, blurred = incoherent_pair(tile, rng)
    assert np.array_equal(sharp, tile)
    assert abs(blurred.std() - tile.std()) < 0.02  # same contrast: only focus differs
    assert noise_sigma(blurred) > 0.6 * noise_sigma(tile)  # defocus does not remove the noise
    sharp, blurred = coherent_pair(tile, rng)
    assert sharp.shape == blurred.shape == tile.shape
    assert noise_sigma(blurred) > 0.6 * noise_sigma(tile)
    # the in-focus side looks like the specimen (the tile), the defocused one less so
    corr = lambda a: abs(np.corrcoef(a.ravel(), tile.ravel())[0, 1])  # noqa: E731
    assert corr(sharp) > corr(blurred)


def _identity(x: torch.Tensor) -> torch.Tensor:
    """An "encoder" whose features are the image: its activity is the gradient energy."""
    return x


def test_loss_is_lower_when_activity_ranks_focus_first():
    sharp, blurred = _pairs(incoherent_pair)
    right = ranking_loss(_identity, sharp, blurred)
    wrong = ranking_loss(_identity, blurred, sharp)  # the same model, pairs swapped
    assert float(right) < 0.5 * float(wrong)


def test_focus_weight_reaches_training(band_stack):
    """Same seed, same reconstruction patches: the ranking term is in the loss and changes the
    weights, reproducibly; a negative weight is refused."""
    stack = np.round(band_stack.stack[:3, :64, :64] * 255).astype(np.uint8)
    kwargs = dict(epochs=1, weights="random", patch_size=32, steps_per_epoch=3, batch_size=2, lr=3e-3)
    plain = ff.finetune(stack, **kwargs)
    focus = ff.finetune(stack, focus_weight=1.0, **kwargs)
    a, b = plain.model.state_dict(), focus.model.state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a)
    assert focus.step_losses[0] > plain.step_losses[0]  # the ranking term is in the loss
    again = ff.finetune(stack, focus_weight=1.0, **kwargs)  # pairs made ahead, in the same order
    assert again.step_losses == focus.step_losses
    with pytest.raises(FocalFuseError, match="focus_weight"):
        ff.finetune(stack, focus_weight=-1.0, **kwargs)
