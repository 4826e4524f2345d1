"""Candidate weights on the quality stacks: fused MAE over the untrained encoder's (issue 9).

Only the deep pipeline with default options (what ``fuse(stack, weights=...)`` does), so a
candidate is scored in minutes rather than the full quality.py run; the untrained encoder's
MAEs are cached in benchmarks/out/untrained-mae.json.

    python benchmarks/weights_quality.py default benchmarks/out/candidate.pt [--cases tum cones]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import napari_focalfuse as ff
from napari_focalfuse.core import metrics
from cases import default_cases, render
from quality import OUT


def untrained_maes(cases) -> dict[str, float]:
    """Fused MAE of the untrained encoder (seed 0) per case, computed once and cached."""
    path = OUT / "untrained-mae.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    for case in cases:
        if case.name not in cache:
            r = render(case)
            cache[case.name] = metrics.mae(ff.fuse(r.stack, weights="random").fused, r.truth)
            OUT.mkdir(exist_ok=True)
            path.write_text(json.dumps(cache, indent=1))
    return cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", help="'default', 'brightfield' or weights files")
    parser.add_argument("--cases", nargs="*", help="name prefixes (default: all 15, dof 1)")
    args = parser.parse_args()
    cases = [c for c in default_cases(1.0) if not args.cases or any(c.name.startswith(p) for p in args.cases)]
    base = untrained_maes(cases)
    ratios: dict[str, list[float]] = {w: [] for w in args.weights}
    for case in cases:
        r = render(case)
        for w in args.weights:
            ratios[w].append(metrics.mae(ff.fuse(r.stack, weights=w).fused, r.truth) / base[case.name])
        print(case.name, "  ".join(f"{w} {ratios[w][-1]:.3f}" for w in args.weights), flush=True)
    for w in args.weights:
        print(f"mean {w}: {np.mean(ratios[w]):.4f}")


if __name__ == "__main__":
    main()
