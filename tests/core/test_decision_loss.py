"""The decision-regret training signal: rendered scenes with a best slice everywhere, a loss
that charges choosing worse slices, and a term that reaches training reproducibly."""

from __future__ import annotations

import numpy as np
import torch

from napari_focalfuse.core.decision_loss import (
    layered_scene,
    regret_loss_of,
    render_patch,
    segment_scene,
)
from napari_focalfuse.core.model import FocalAutoencoder
from napari_focalfuse.core.training import TrainConfig, train


def _textures() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.random((80, 80)).astype(np.float32), np.tile(np.linspace(0, 1, 80, dtype=np.float32), (80, 1))]


def test_scenes_put_occluders_in_front_and_regions_at_their_own_depth():
    rng = np.random.default_rng(0)
    textures = _textures()
    image, depth = layered_scene(textures, 64, rng)
    assert image.shape == depth.shape == (64, 64)
    assert np.ptp(depth) > 0.1  # at least one occluder stands out in depth
    image, depth = segment_scene(textures, 64, rng)
    assert image.shape == depth.shape == (64, 64)


def test_every_pixel_has_a_best_slice_and_worse_ones_cost():
    patch = render_patch(_textures(), 64, np.random.default_rng(1))
    assert patch.slices.shape == patch.regret.shape and patch.slices.shape[0] >= 5
    assert (patch.regret >= 0).all()
    assert np.allclose(patch.regret.min(0), 0.0)  # the best slice costs nothing
    assert patch.regret.max(0).mean() > 0.01  # and the choice matters somewhere


def _features_favouring(choice: np.ndarray, n: int) -> torch.Tensor:
    """(Z, 1, H, W) "features": a checkerboard, strong in the slice ``choice`` names, faint elsewhere."""
    h, w = choice.shape
    checker = np.indices((h, w)).sum(0) % 2
    feats = np.stack([checker * np.where(choice == z, 1.0, 0.1) for z in range(n)])
    return torch.from_numpy(feats[:, None].astype(np.float32))


def test_loss_is_lower_when_activity_names_the_best_slice():
    patch = render_patch(_textures(), 64, np.random.default_rng(2))
    regret = torch.from_numpy(patch.regret[:, None])
    n = len(patch.regret)
    best = _features_favouring(patch.regret.argmin(0), n)
    worst = _features_favouring(patch.regret.argmax(0), n)
    assert float(regret_loss_of(best, regret)) < 0.5 * float(regret_loss_of(worst, regret))


def test_regret_weight_reaches_training_reproducibly():
    rng = np.random.default_rng(4)
    images = [rng.random((100, 100)).astype(np.float32) for _ in range(2)]
    config = dict(
        epochs=1, steps_per_epoch=2, batch_size=2, patch_size=32, lr=3e-3, device="cpu",
        regret_patch=48, regret_stacks=1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = FocalAutoencoder()
    plain = train(model, images, TrainConfig(**config))
    regret = train(model, images, TrainConfig(regret_weight=1.0, **config))
    again = train(model, images, TrainConfig(regret_weight=1.0, **config))
    assert regret.step_losses[0] > plain.step_losses[0]  # the regret term is in the loss
    assert again.step_losses == regret.step_losses  # stacks rendered ahead, in the same order
    a, b = plain.model.state_dict(), regret.model.state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a)
