"""How long one fine-tuning epoch takes on a 10 x 2 MP stack, and how soon Stop is obeyed.

The stack is rendered (the motorcycle scene focused along its depth, 10 slices of 1200 x 1700
px, grey); an epoch is what ``finetune`` does by default (about one pass over the stack's
pixels, capped at 200 steps of 8 patches of 64 px). Each loss is timed for two epochs, with the
reconstruction loss alone (the default) and with the focus term, on every thread torch has.
Stop is asked for in the middle of an epoch; the latency is the time from that request to the
returned model.

    python benchmarks/finetune_speed.py            # writes out/finetune_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_inputs import OUT  # noqa: E402


def render_stack(height: int, width: int, n_slices: int) -> np.ndarray:
    import cv2

    from napari_focalfuse.core.synthetic import motorcycle_scene, render_focal_stack

    rgb, disparity = motorcycle_scene()
    grey = cv2.cvtColor(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC), cv2.COLOR_RGB2GRAY)
    depth = cv2.resize(disparity, (width, height), interpolation=cv2.INTER_LINEAR)
    return render_focal_stack(grey, depth, n_slices=n_slices, max_blur=6.0, levels=12).stack


def time_epochs(stack: np.ndarray, focus_weight: float, epochs: int) -> dict:
    from napari_focalfuse import finetune

    marks: list[float] = []
    steps = {}

    def progress(epoch: int, step: int, n: int, _loss: float) -> None:
        steps["n"] = n
        if step == n - 1:
            marks.append(time.perf_counter())

    start = time.perf_counter()
    finetune(stack, epochs, focus_weight=focus_weight, device="cpu", progress=progress)
    edges = [start, *marks]
    return {"steps": steps["n"], "epoch_s": [b - a for a, b in zip(edges, edges[1:])]}


def stop_latency(stack: np.ndarray, focus_weight: float) -> float:
    from napari_focalfuse import finetune

    asked: dict[str, float] = {}

    def progress(_epoch: int, step: int, _n: int, _loss: float) -> None:
        if step == 20 and "at" not in asked:
            asked["at"] = time.perf_counter()

    tuned = finetune(stack, 2, focus_weight=focus_weight, device="cpu", progress=progress,
                     should_stop=lambda: "at" in asked)  # fmt: skip
    assert tuned.stopped_early
    return time.perf_counter() - asked["at"]


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=(1200, 1700), metavar=("H", "W"))
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--focus-weight", type=float, default=5.0)
    args = parser.parse_args()

    stack = render_stack(*args.size, args.slices)
    report = {"stack": list(stack.shape), "threads": torch.get_num_threads(), "cpus": os.cpu_count()}
    for name, weight in (("reconstruction", 0.0), (f"focus term {args.focus_weight:g}", args.focus_weight)):
        timing = time_epochs(stack, weight, args.epochs)
        timing["median_epoch_s"] = statistics.median(timing["epoch_s"])
        timing["stop_latency_s"] = stop_latency(stack, weight)
        report[name] = timing
        print(f"{name}: {timing['steps']} steps per epoch, epochs "
              + ", ".join(f"{s:.1f}" for s in timing["epoch_s"])
              + f" s; Stop obeyed after {timing['stop_latency_s']:.2f} s", flush=True)  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "finetune_speed.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
