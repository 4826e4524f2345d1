"""Fusion quality on rendered focal stacks with a known all-in-focus truth.

For every scene (see scenes.py) and stack kind (6 slices as in the paper, noisier, 12 slices),
fuse with each method and report MAE, PSNR, SSIM and decision-map accuracy, plus the MAE ratio
to the paper's baseline (pixel-wise |Laplacian| argmax). Results go to benchmarks/out/ and
docs/benchmarks.md.

    python benchmarks/quality.py              # all scenes, ~15 min on 2 cores
    python benchmarks/quality.py --quick      # motorcycle only
    python benchmarks/quality.py --legacy-src OLD/src   # also another checkout's default fusion
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import napari_focalfuse as ff
from napari_focalfuse.core import metrics
from baselines import smoothed_laplacian
from cases import CACHE, Case, default_cases, render
from legacy import legacy_fused

OUT = Path(__file__).resolve().parent / "out"


def methods(case: Case, stack: np.ndarray) -> dict[str, np.ndarray | tuple]:
    """name -> FusionResult or a fused image, for one rendered stack."""
    out: dict = {
        "laplacian": ff.fuse(stack, "laplacian", window=0, consistency=False, soften=False),
        "laplacian σ=1": smoothed_laplacian(stack, 1.0),
        "laplacian + our pipeline": ff.fuse(stack, "laplacian", window=5, consistency=True, soften=True),
        "deep, untrained": ff.fuse(stack, weights="random"),
        "deep, no blending": ff.fuse(stack, soften=False),
        "deep": ff.fuse(stack),
    }
    if case.n_slices == 6 and case.noise == 0.01:
        tuned = ff.finetune(stack, epochs=2, seed=0)
        out["deep, fine-tuned"] = ff.fuse(stack, weights=tuned)
    return out


def evaluate(case: Case, legacy: dict[str, np.ndarray]) -> list[dict]:
    r = render(case)
    rows = []
    results = methods(case, r.stack)
    if case.name in legacy:
        results["deep, before alignment"] = legacy[case.name]
    results["oracle pick"] = metrics.oracle_pick(r.stack, r.true_index)
    for name, res in results.items():
        fused = getattr(res, "fused", res)
        mask = getattr(res, "mask", None)
        rows.append(
            {
                "case": case.name, "scene": case.scene, "slices": case.n_slices,
                "noise": case.noise, "dof": case.depth_of_field, "method": name,
                "mae": metrics.mae(fused, r.truth), "psnr": metrics.psnr(fused, r.truth),
                "ssim": metrics.ssim(fused, r.truth),
                "map_exact": None if mask is None else metrics.map_accuracy(mask, r.true_index),
                "map_within1": None if mask is None else metrics.map_accuracy(mask, r.true_index, 1),
            }
        )  # fmt: skip
    base = rows[0]["mae"]
    for row in rows:
        row["ratio"] = row["mae"] / base
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="motorcycle scene only")
    parser.add_argument("--dof", type=float, default=1.0, help="depth of field in slice steps")
    parser.add_argument("--legacy-src", help="src/ folder of another checkout to compare with")
    args = parser.parse_args()
    cases = [c for c in default_cases(args.dof) if not args.quick or c.scene == "motorcycle"]
    legacy = {}
    if args.legacy_src:  # the other package reads the cached renderings
        for case in cases:
            render(case)
        legacy = legacy_fused(args.legacy_src, CACHE, [c.name for c in cases], OUT / "quality-legacy")
    rows = []
    for case in cases:
        t0 = time.time()
        rows += evaluate(case, legacy)
        deep = next(r for r in rows[::-1] if r["method"] == "deep" and r["case"] == case.name)
        print(f"{case.name}: deep/laplacian {deep['ratio']:.3f} ({time.time() - t0:.0f} s)", flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / f"quality-dof{args.dof:g}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
