"""Self-supervised training of the autoencoder: the target is the input itself.

The same loop pre-trains the shipped weights (scripts/train_default_weights.py) and fine-tunes
on a user's open stack. It samples random patches from the slices' luminance, reports progress
through a callback and stops cooperatively, always keeping the best weights seen so far.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .device import pick_device
from .errors import Cancelled, FocalFuseError
from .luminance import LuminanceScaler
from .model import FocalAutoencoder
from .prefetch import Prefetch
from .ssim import reconstruction_loss
from .weights import WeightsLike, resolve_model, save_weights

FAST = torch.channels_last  # the training copy's memory format
# progress(epoch, step, steps_per_epoch, loss) after every optimiser step
TrainProgress = Callable[[int, int, int, float], None]


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run."""

    epochs: int = 3
    steps_per_epoch: int | None = None  # None: about one pass over the stack's pixels
    batch_size: int = 8
    patch_size: int = 64
    lr: float = 1e-4
    lam: float = 1.0  # weight of the SSIM term
    focus_weight: float = 0.0  # weight of the defocus-ranking term (focus_loss.py); 0: the paper's loss
    brightfield_share: float = 0.5  # share of the ranking pairs that are thin specimens in brightfield
    seed: int = 0
    device: str = "auto"


@dataclass
class TunedModel:
    """Result of :func:`finetune`: the best model and its loss history."""

    model: FocalAutoencoder
    losses: list[float] = field(default_factory=list)  # mean loss of each finished epoch
    step_losses: list[float] = field(default_factory=list)  # every optimiser step, in order
    stopped_early: bool = False

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write the weights atomically; an existing file is replaced only if ``overwrite``."""
        save_weights(self.model, path, overwrite=overwrite, epochs=len(self.losses))


class PatchSampler:
    """Draws random square luminance patches from a list of 2-D float images in [0, 1]."""

    def __init__(self, images: Sequence[np.ndarray], patch: int, seed: int):
        self.images = [img for img in images if min(img.shape) >= patch]
        if not self.images:
            smallest = min(min(img.shape) for img in images)
            raise FocalFuseError(
                f"Slices are {smallest} px on their short side; patches of {patch} px need bigger "
                "images (lower the patch size)."
            )
        self.patch = patch
        self.rng = np.random.default_rng(seed)
        sizes = np.array([img.size for img in self.images], dtype=float)
        self.p = sizes / sizes.sum()

    def batch(self, n: int) -> torch.Tensor:
        out = np.empty((n, 1, self.patch, self.patch), np.float32)
        for k in range(n):
            img = self.images[self.rng.choice(len(self.images), p=self.p)]
            y = self.rng.integers(0, img.shape[0] - self.patch + 1)
            x = self.rng.integers(0, img.shape[1] - self.patch + 1)
            tile = img[y : y + self.patch, x : x + self.patch]
            if self.rng.random() < 0.5:
                tile = tile[:, ::-1]
            out[k, 0] = np.rot90(tile, self.rng.integers(4))
        return torch.from_numpy(out)


class PairSampler(PatchSampler):
    """Patches and the same patches defocused again (focus_loss.redefocus), for the ranking term.

    Its own random stream: the reconstruction patches are the same with or without it.
    """

    def __init__(self, images: Sequence[np.ndarray], patch: int, seed: int, brightfield_share: float = 0.5):
        super().__init__(images, patch, seed + 7919)
        self.blur_rng = np.random.default_rng(seed + 104729)
        self.share = brightfield_share

    def pairs(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        from .focus_loss import defocus_pair

        made = [defocus_pair(t[0].numpy(), self.blur_rng, self.share) for t in self.batch(n)]
        sharp = np.stack([a[None] for a, _ in made])
        blurred = np.stack([b[None] for _, b in made])
        return torch.from_numpy(sharp), torch.from_numpy(blurred)


def train(
    model: FocalAutoencoder,
    images: Sequence[np.ndarray],
    config: TrainConfig,
    progress: TrainProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TunedModel:
    """Train ``model`` (a copy is made) on grey images in [0, 1]; returns the best epoch's weights.

    ``should_stop`` is polled between steps; when it returns True the run ends cleanly and the
    best weights of the finished epochs (or the starting weights) are returned.
    """
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    # channels-last convolutions train ~20 % faster on a CPU; the result is converted back
    model = copy.deepcopy(model).to(device, memory_format=FAST).train()
    sampler = PatchSampler(images, config.patch_size, config.seed)
    pairs = None
    if config.focus_weight > 0:
        sampler_pairs = PairSampler(images, config.patch_size, config.seed, config.brightfield_share)
        pairs = Prefetch(lambda: sampler_pairs.pairs(config.batch_size))
    steps = config.steps_per_epoch or default_steps(images, config)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)

    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    best_loss = math.inf
    result = TunedModel(model=model)
    try:
        for epoch in range(config.epochs):
            epoch_losses = []
            for step in range(steps):
                if should_stop is not None and should_stop():
                    raise Cancelled
                batch = sampler.batch(config.batch_size).to(device, memory_format=FAST)
                if pairs is None:
                    loss = reconstruction_loss(model(batch), batch, config.lam)
                else:  # one encoder pass for the reconstruction batch and the pairs
                    from .focus_loss import ranking_loss_of

                    sharp, blurred = (t.to(device) for t in pairs.get())
                    both = torch.cat([batch, sharp, blurred]).contiguous(memory_format=FAST)
                    features = model.encoder(both)
                    n = len(batch)
                    loss = reconstruction_loss(model.decoder(features[:n]), batch, config.lam)
                    ranking = ranking_loss_of(features[n:], sharp, blurred)
                    loss = loss + config.focus_weight * ranking
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FocalFuseError(
                        "Training diverged (the loss became NaN); lower the learning rate."
                    )
                epoch_losses.append(value)
                result.step_losses.append(value)
                if progress is not None:
                    progress(epoch, step, steps, value)
            mean = float(np.mean(epoch_losses))
            result.losses.append(mean)
            if mean < best_loss:
                best_loss = mean
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    except Cancelled:
        result.stopped_early = True
    finally:
        if pairs is not None:
            pairs.close()
    model.load_state_dict(best_state)
    result.model = model.cpu().to(memory_format=torch.contiguous_format).eval()
    return result


def default_steps(images: Sequence[np.ndarray], config: TrainConfig) -> int:
    """About one pass over the stack's pixels per epoch, bounded to keep epochs short on a CPU."""
    pixels = sum(img.size for img in images)
    per_step = config.batch_size * config.patch_size**2
    return int(np.clip(pixels // per_step, 20, 200))


def finetune(
    stack,
    epochs: int = 3,
    weights: WeightsLike = None,
    *,
    lr: float = 1e-4,
    lam: float = 1.0,
    focus_weight: float = 0.0,
    patch_size: int = 64,
    batch_size: int = 8,
    steps_per_epoch: int | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: TrainProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TunedModel:
    """Fine-tune the autoencoder on ``stack`` itself (no labels), starting from ``weights``.

    ``stack`` is (Z, Y, X) or (Z, Y, X, C) like for :func:`napari_focalfuse.fuse`.
    ``focus_weight`` > 0 adds the defocus-ranking term (focus_loss.py) to the paper's
    reconstruction loss: the encoder's activity must rank each patch of the stack above the same
    patch defocused again, which teaches it focus rather than appearance (thin specimens in
    brightfield, whose fringes fool contrast measures).
    """
    from .stack import as_stack

    stack = as_stack(stack)
    scaler = LuminanceScaler.fit(stack)
    images = [scaler(np.asarray(stack[z])) for z in range(stack.shape[0])]
    if epochs < 1:
        raise FocalFuseError("epochs must be at least 1.")
    if not (focus_weight >= 0 and math.isfinite(focus_weight)):
        raise FocalFuseError("focus_weight must be a finite number >= 0.")
    config = TrainConfig(
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        patch_size=patch_size,
        lr=lr,
        lam=lam,
        focus_weight=focus_weight,
        seed=seed,
        device=device,
    )
    return train(resolve_model(weights), images, config, progress, should_stop)


@dataclass
class MapChange:
    """The decision maps of one stack before and after fine-tuning: what the tuning bought."""

    before: np.ndarray  # (Y, X) slice index per pixel with the starting weights
    after: np.ndarray  # the same with the tuned weights

    @property
    def changed(self) -> float:
        """Share of pixels that now come from another slice."""
        return float(np.mean(self.before != self.after))


def compare_maps(
    stack,
    before: WeightsLike,
    after: WeightsLike,
    device: str = "auto",
    should_stop: Callable[[], bool] | None = None,
) -> MapChange:
    """Decision maps of ``stack`` with two weights, on the stack's own geometry (no alignment).

    Tells a user whether fine-tuning changed anything that matters (the map), not just the loss.
    """
    from .fusion import fuse

    masks = [
        fuse(stack, weights=w, align=False, device=device, should_stop=should_stop).mask
        for w in (before, after)
    ]
    return MapChange(*masks)
