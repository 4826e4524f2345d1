"""A training signal aimed at the fused image's error: *decision regret* on rendered stacks.

Why: on rendered scenes with real depth, a decision that always names the truly focused slice
fuses *worse* than the untrained encoder (benchmarks/oracle_headroom.py): next to a depth edge
the focused far slice carries the near object's halo, and a slice that is "wrong" for focus is
often closer to the truth there. What can be gained lies almost entirely at depth edges, so
this term trains the encoder on exactly that: small layered scenes (a textured background,
a textured occluder with a random silhouette, both at random depths) are made from generic
pictures, rendered into a thin-lens focal stack with occlusion blur (core/synthetic.py), and
the encoder's windowed log-activity, turned into soft slice weights, is charged the *regret*
of each slice: how much further from the truth its neighbourhood is than the best slice's,
measured on the noiseless render (so lucky noise is never rewarded).

The decision is still made by the encoder's features alone (the spatial frequency fusion
measures); this only trains them. No benchmark scene is used: the pictures are the training
set's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DECISION_RADIUS = 5  # the fusion's fine window (decision.FINE_RADIUS at scale 1)
REGRET_RADIUS = 2  # px: window of the slice-to-truth error
TEMPERATURE = 0.25  # log-activity units: a slice twice as active gets ~16x the weight
BORDER = 8  # px of every patch that the encoder's padding touches: not evidence


@dataclass
class RenderedPatch:
    """One small rendered stack for the regret term."""

    slices: np.ndarray  # (Z, H, W) float32, noisy, what the encoder sees
    regret: np.ndarray  # (Z, H, W) float32 >= 0: windowed error above the best slice's


def _tile(textures: list[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` square crop of a random texture, flipped and rotated at random."""
    img = textures[rng.integers(len(textures))]
    y = rng.integers(0, img.shape[0] - size + 1)
    x = rng.integers(0, img.shape[1] - size + 1)
    tile = img[y : y + size, x : x + size]
    if rng.random() < 0.5:
        tile = tile[:, ::-1]
    return np.ascontiguousarray(np.rot90(tile, rng.integers(4)), dtype=np.float32)


def silhouette(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random occluder mask: smooth blobs, a straight edge, or thin bars (wires, spokes)."""
    from scipy import ndimage

    kind = rng.random()
    yy, xx = np.mgrid[:size, :size].astype(np.float32) - size / 2
    if kind < 0.45:
        field = ndimage.gaussian_filter(rng.normal(size=(size, size)), rng.uniform(3.0, 12.0))
        return field > np.quantile(field, rng.uniform(0.3, 0.7))
    angle = rng.uniform(0, np.pi)
    across = xx * np.cos(angle) + yy * np.sin(angle)
    if kind < 0.7:
        return across > rng.uniform(-size / 4, size / 4)
    period = rng.uniform(8.0, 32.0)
    width = rng.uniform(1.0, 5.0)
    return np.mod(across + rng.uniform(0, period), period) < width


def layered_scene(textures: list[np.ndarray], size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(image, depth) of a background and one or two occluders, each its own texture and depth.

    The background is a tilted plane; an occluder is nearer than what it covers (larger depth =
    nearer, as the renderer's disparity)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) / size - 0.5
    image = _tile(textures, size, rng)
    depth = rng.uniform(0.0, 0.3) + rng.uniform(-0.3, 0.3) * xx + rng.uniform(-0.3, 0.3) * yy
    for _ in range(rng.integers(1, 3)):
        mask = silhouette(size, rng)
        near = float(depth[mask].max()) if mask.any() else 0.0
        level = near + rng.uniform(0.15, 0.8) + rng.uniform(-0.1, 0.1) * xx
        image = np.where(mask, _tile(textures, size, rng), image)
        depth = np.where(mask, level, depth)
    return image.astype(np.float32), depth.astype(np.float32)


def segment_scene(textures: list[np.ndarray], size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(image, depth) where every region of one picture (a Felzenszwalb segmentation) gets its
    own depth: depth edges fall on the picture's own edges, as at real objects' borders, and
    smooth regions border sharp ones."""
    from skimage.segmentation import felzenszwalb

    yy, xx = np.mgrid[:size, :size].astype(np.float32) / size - 0.5
    image = _tile(textures, size, rng)
    labels = felzenszwalb(image, scale=rng.uniform(50.0, 400.0), sigma=0.8, min_size=size * size // 60)
    levels = rng.uniform(0.0, 1.0, labels.max() + 1).astype(np.float32)
    depth = levels[labels] + rng.uniform(-0.2, 0.2) * xx + rng.uniform(-0.2, 0.2) * yy
    return image, depth.astype(np.float32)


def render_patch(textures: list[np.ndarray], size: int, rng: np.random.Generator) -> RenderedPatch:
    """A layered or segmented scene rendered as a focal stack with random optics, and each
    slice's regret."""
    from scipy import ndimage

    from .synthetic import render_focal_stack

    scene = layered_scene if rng.random() < 0.5 else segment_scene
    image, depth = scene(textures, size, rng)
    n = int(rng.choice([5, 6, 8, 10, 12]))
    clean = render_focal_stack(
        image, depth, n_slices=n, max_blur=rng.uniform(4.0, 10.0), noise=0.0, levels=16,
        depth_of_field=rng.uniform(0.5, 1.0), fill_behind=bool(rng.random() < 0.5),
    ).stack  # fmt: skip
    k = 2 * REGRET_RADIUS + 1
    error = np.stack([ndimage.uniform_filter(np.abs(s - image), k) for s in clean])
    regret = error - error.min(0, keepdims=True)
    noisy = clean + rng.normal(0.0, rng.uniform(0.002, 0.015), clean.shape)
    return RenderedPatch(np.clip(noisy, 0.0, 1.0).astype(np.float32), regret.astype(np.float32))


def regret_loss_of(features, regret, temperature: float = TEMPERATURE):
    """Expected regret of the soft decision: softmax over slices of the windowed log-activity
    of ``features`` (Z, C, H, W), weighted by ``regret`` (Z, 1, H, W); the patch border is cut."""
    import torch

    from .activity import spatial_frequency
    from .windows import box_mean

    log_activity = torch.log(box_mean(spatial_frequency(features), DECISION_RADIUS) + 1e-6)
    weights = torch.softmax(log_activity / temperature, dim=0)
    crop = (..., slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    return (weights[crop] * regret[crop]).sum(0).mean()
