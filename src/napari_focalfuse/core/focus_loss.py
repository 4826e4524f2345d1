"""A self-supervised training signal tied to focus: *defocus ranking*.

Reconstruction alone teaches the encoder to describe images, not to tell focus: an untrained
encoder ranks slices as well as the shipped one. Here the encoder's own feature activity (the
spatial frequency fusion uses, windowed like the decision) must rank the sharper side of a
pair above the defocused side, by a margin in log units, in every window the defocus changed.
Pairs are made from training patches (the user's own slices when fine-tuning), no labels:

* **incoherent**: the patch and the patch blurred by a Gaussian PSF of random width, at the
  same mean and contrast (blur cannot be undone, so the patch is always the sharper side);
* **brightfield**: the patch, smoothed, taken as a thin specimen (grey values as absorption and
  phase) and imaged in focus and at a random defocus (angular spectrum, partial coherence):
  the fringes of the defocused side are often *more* contrasty than the focused specimen,
  which is what fools contrast measures on smears and monolayers.

Both sides carry the patch's sensor noise, or the encoder would learn "noisy means sharp".
The decision is still made by the encoder's features alone; this only trains them.
"""

from __future__ import annotations

import numpy as np

DECISION_RADIUS = 5  # windowed like fusion's fine window (windows.box_mean)
MARGIN = 0.5  # log-activity margin the sharper patch must win by
SOFTEN = (0.5, 2.5)  # px: Gaussian smoothing of a tile before it becomes a thin specimen


def _gaussian(tile: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(tile, sigma, mode="reflect")


def _noise_like(tile: np.ndarray, images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """``images`` with Gaussian noise added up to ``tile``'s sensor noise (defocus and rendering
    smooth noise away: without it "noisy" would mean "sharp")."""
    from .blending import noise_sigma

    target = noise_sigma(tile) ** 2
    out = []
    for img in images:
        missing = target - noise_sigma(img) ** 2
        if missing > 0:
            img = img + rng.normal(0.0, np.sqrt(missing), img.shape)
        out.append(np.clip(img, 0.0, 1.0).astype(np.float32))
    return out


def incoherent_pair(tile: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(tile, tile blurred by a Gaussian PSF of random width), same mean and deviation: the
    blur cannot be undone, so the tile is always the sharper one."""
    blurred = _gaussian(tile, rng.uniform(1.0, 4.0))
    blurred = (blurred - blurred.mean()) * (tile.std() / max(float(blurred.std()), 1e-6)) + tile.mean()
    return tuple(_noise_like(tile, [tile, blurred], rng))  # type: ignore[return-value]


def coherent_pair(tile: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The tile's grey values taken as a thin specimen (absorption and phase), imaged in focus
    and at a random defocus in brightfield (angular spectrum, partial coherence).

    Both sides are rendered the same way, so only focus tells them apart; the in-focus side is
    the specimen's plane by construction (defocusing a real slice could bring it *into* focus,
    so a real slice is never used as the sharp side here).
    """
    from .thin_specimen import Optics, intensities, transmittance

    # a thin specimen in focus is smooth at the pupil's resolution; a slice's edges may be fringes
    soft = _gaussian(tile, rng.uniform(*SOFTEN))
    lo, hi = float(soft.min()), float(soft.max())
    obj = (soft - lo) / max(hi - lo, 1e-6)
    if rng.random() < 0.5:
        obj = 1.0 - obj
    phase = rng.uniform(0.3, 2.0) * (1 if rng.random() < 0.5 else -1)
    t = transmittance(np.pad(obj, 8, mode="reflect"), rng.uniform(0.1, 0.4), phase)
    optics = Optics(condenser_na=rng.uniform(0.05, 0.3), rings=1)
    d = rng.uniform(2.0, 20.0) * (1 if rng.random() < 0.5 else -1)
    sharp, blurred = intensities(t, np.array([0.0, d]), optics)[:, 8:-8, 8:-8]
    gain = tile.mean() / max(float(sharp.mean()), 1e-6)
    return tuple(_noise_like(tile, [sharp * gain, blurred * gain], rng))  # type: ignore[return-value]


def defocus_pair(tile: np.ndarray, rng: np.random.Generator, coherent_share: float = 0.5):
    """A (sharper, defocused) pair made from ``tile`` (H, W) in [0, 1]: coherent (thin specimen
    in brightfield) a ``coherent_share`` of the time, else incoherent."""
    return coherent_pair(tile, rng) if rng.random() < coherent_share else incoherent_pair(tile, rng)


def ranking_loss(encoder, sharp, blurred, margin: float = MARGIN):
    """Hinge on log-activity: ``sharp`` must beat ``blurred`` by ``margin`` in every window that
    the defocus changed (windows weighted by how much it changed them; flat ones count little)."""
    import torch

    return ranking_loss_of(encoder(torch.cat([sharp, blurred])), sharp, blurred, margin)


def ranking_loss_of(features, sharp, blurred, margin: float = MARGIN):
    """:func:`ranking_loss` from the encoder's features of ``cat([sharp, blurred])``, so that
    training can encode these and its reconstruction batch in one pass."""
    import torch

    from .activity import spatial_frequency
    from .windows import box_mean

    log_activity = torch.log(box_mean(spatial_frequency(features), DECISION_RADIUS) + 1e-6)
    a, b = log_activity.chunk(2)
    weight = box_mean((sharp - blurred).square(), DECISION_RADIUS)
    weight = weight / weight.mean().clamp_min(1e-12)
    crop = (..., slice(4, -4), slice(4, -4))  # the encoder's padded borders are not evidence
    return (weight[crop] * torch.relu(margin - (a - b)[crop])).mean()
