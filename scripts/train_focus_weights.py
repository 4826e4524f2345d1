"""Make the shipped "brightfield" weights: the default ones trained further to rank focus.

Same scikit-image training pictures as scripts/train_default_weights.py (the benchmark's scenes
and specimens are held out), reconstruction loss plus ``--focus-weight`` × defocus ranking,
half the pairs rendered as thin specimens in brightfield (issue 9). It never touches the
shipped ``default.pt``; by default it replaces the packaged ``brightfield.pt``:

    python scripts/train_focus_weights.py              # ~5 min on 1 core; prints the SHA-256 to pin
    python scripts/train_focus_weights.py -o benchmarks/out/focus.pt   # an experiment beside it
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from napari_focalfuse.core.training import TrainConfig, train
from napari_focalfuse.core.weights import (
    builtin_weights_path,
    default_weights_path,
    file_sha256,
    load_weights,
    save_weights,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=builtin_weights_path("brightfield"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--focus-weight", type=float, default=5.0)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--brightfield-share", type=float, default=0.5, help="share of thin-specimen pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.output.resolve() == default_weights_path().resolve():
        parser.error("this script never replaces the shipped weights")

    import torch

    from train_default_weights import training_images

    torch.set_num_threads(1)
    config = TrainConfig(
        epochs=args.epochs, steps_per_epoch=args.steps, batch_size=8, patch_size=64, lr=args.lr,
        focus_weight=args.focus_weight, brightfield_share=args.brightfield_share, seed=args.seed,
        device="cpu",
    )  # fmt: skip
    start = time.time()

    def report(epoch: int, step: int, steps: int, loss: float) -> None:
        if step == steps - 1:
            print(f"epoch {epoch + 1}/{args.epochs} loss {loss:.4f} ({time.time() - start:.0f} s)", flush=True)

    result = train(load_weights(default_weights_path()), training_images(args.seed), config, progress=report)
    save_weights(result.model, args.output, overwrite=True, focus_weight=args.focus_weight, steps=args.steps)
    print(f"saved {args.output}; epoch losses {[round(v, 4) for v in result.losses]}")
    if args.output.resolve() == builtin_weights_path("brightfield").resolve():
        print(
            "pin it in src/napari_focalfuse/core/weights.py (BUILTIN_WEIGHTS):\n"
            f'"brightfield": ("brightfield.pt", "{file_sha256(args.output)}")'
        )


if __name__ == "__main__":
    main()
