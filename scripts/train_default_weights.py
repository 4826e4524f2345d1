"""Train the weights shipped in ``src/napari_focalfuse/weights/default.pt``.

Self-supervised (the target is the input), on natural images that ship with scikit-image,
each also seen defocused and noisy so the encoder learns what blur looks like. The scenes used
by the benchmarks (the motorcycle, ../shared/data) are held out. Runs offline on a CPU:

    python scripts/train_default_weights.py            # ~10 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage import data

from napari_focalfuse.core.luminance import luminance
from napari_focalfuse.core.model import FocalAutoencoder
from napari_focalfuse.core.training import TrainConfig, train
from napari_focalfuse.core.weights import default_weights_path, file_sha256, save_weights

IMAGES = [
    "astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "page", "text",
    "clock", "hubble_deep_field", "immunohistochemistry", "retina", "brick", "grass", "gravel",
]  # fmt: skip


def training_images(seed: int) -> list[np.ndarray]:
    """Grey images in [0, 1]: each original plus defocused (sigma 1, 2, 4) noisy copies."""
    rng = np.random.default_rng(seed)
    out = []
    for name in IMAGES:
        grey = luminance(getattr(data, name)()) / 255.0
        out.append(grey)
        for sigma in (1.0, 2.0, 4.0):
            blurred = ndimage.gaussian_filter(grey, sigma)
            out.append(np.clip(blurred + rng.normal(0, 0.005, grey.shape), 0, 1).astype(np.float32))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=default_weights_path())
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200, help="optimiser steps per epoch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()

    import torch

    torch.manual_seed(args.seed)
    model = FocalAutoencoder()
    config = TrainConfig(
        epochs=args.epochs, steps_per_epoch=args.steps, batch_size=16, patch_size=64,
        lr=args.lr, lam=1.0, seed=args.seed, device="cpu",
    )  # fmt: skip
    start = time.time()

    def report(epoch: int, step: int, steps: int, loss: float) -> None:
        if step == steps - 1:
            print(f"epoch {epoch + 1}/{args.epochs} loss {loss:.4f} ({time.time() - start:.0f} s)")

    result = train(model, training_images(args.seed), config, progress=report)
    save_weights(
        result.model, args.output, overwrite=True, epochs=args.epochs, steps=args.steps,
        seed=args.seed,
    )  # fmt: skip
    print(f"saved {args.output} (final epoch loss {result.losses[-1]:.4f})")
    print(
        "pin it in src/napari_focalfuse/core/weights.py:\n"
        f'DEFAULT_WEIGHTS_SHA256 = "{file_sha256(args.output)}"'
    )


if __name__ == "__main__":
    main()
