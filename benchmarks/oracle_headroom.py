"""How much fused MAE would a perfect focus measure buy inside the same pipeline? (issue 9)

For rendered quality stacks (cases.py), the fusion pipeline (blend + agreement averaging) is run
with the decision replaced by an oracle, and the encoders' own fused error is broken down by
where it lies:

* *oracle true slice*: the decision is the truly nearest slice at every pixel (render truth);
* *oracle best slice*: the decision is the slice closest to the all-in-focus truth in a 5 x 5
  window, from the noiseless slices (what a perfect measure of "which slice looks like the
  truth here" would pick: near a depth edge this need not be the true slice, whose far pixels
  carry the near object's halo);
  *r5*: the same in an 11 x 11 window, the size of the decision's fine window;
* *encoder*: the untrained (seed 0) and the shipped default encoders, the pipeline as shipped.

MAE ratios are against the untrained encoder (issue 9's yardstick: ≤ 0.95). The breakdown
splits each method's absolute error over three regions: *depth edges* (within 6 px of a depth
jump), *flat* (the truth's gradient below its 25th percentile, away from depth
edges) and *the rest* (textured surfaces away from depth edges), and over pixels whose decision
is right (±0) / off by one / off by more.

    python benchmarks/oracle_headroom.py --cases motorcycle-6sl-n0.01-dof1 cones-6sl-n0.01-dof1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from unittest import mock

import numpy as np
from scipy import ndimage

import napari_focalfuse as ff
from napari_focalfuse.core import decision, metrics
from cases import default_cases, render

OUT = Path(__file__).resolve().parent / "out"
EDGE_PX = 6


def clean_render(case):
    """The case's stack rendered without sensor noise (same optics), and its normalised depth."""
    from napari_focalfuse.core.synthetic import render_focal_stack
    from scenes import available

    path = OUT / "cache" / f"{case.name}-clean.npz"
    if path.exists():
        z = np.load(path)
        return z["stack"], z["depth"]
    image, disparity = available()[case.scene]()
    r = render_focal_stack(image, disparity, n_slices=case.n_slices, max_blur=case.max_blur, noise=0.0,
                           depth_of_field=case.depth_of_field, seed=1)  # fmt: skip
    np.savez(path, stack=r.stack, depth=r.depth)
    return r.stack, r.depth


def best_slice(stack: np.ndarray, truth: np.ndarray, radius: int = 2) -> np.ndarray:
    """Per pixel, the slice whose (2r+1)^2 neighbourhood is closest to the truth (mean |error|).

    Given the noiseless slices, so it cannot pick a slice for its lucky noise."""
    err = np.abs(stack - truth[None]).mean(-1) if stack.ndim == 4 else np.abs(stack - truth[None])
    k = 2 * radius + 1
    return np.stack([ndimage.uniform_filter(e, k) for e in err]).argmin(0).astype(np.int32)


def fuse_with_index(stack: np.ndarray, index: np.ndarray) -> ff.FusionResult:
    """The shipped pipeline (blend, agreement averaging) with ``index`` as the decision."""
    with mock.patch.object(decision.FocusDecision, "decide", lambda self: index.copy()):
        return ff.fuse(stack, weights="random", consistency=False, scale=1)


def regions(depth: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks: depth edges, flat surfaces, textured surfaces (they partition the frame).

    A depth edge is a jump of more than 3 % of the scene's depth range between neighbours
    (a blur difference of 0.24 px sigma per pixel at max_blur 8), dilated by EDGE_PX."""
    jump = ndimage.maximum_filter(depth, 3) - ndimage.minimum_filter(depth, 3) > 0.03
    edge = ndimage.binary_dilation(jump, iterations=EDGE_PX)
    grey = truth.mean(-1) if truth.ndim == 3 else truth
    grad = metrics.gradient_magnitude(grey, 1.0)
    flat = (grad < np.percentile(grad, 25)) & ~edge
    return {"edge": edge, "flat": flat, "texture": ~edge & ~flat}


def breakdown(fused: np.ndarray, mask: np.ndarray, r, parts: dict[str, np.ndarray]) -> dict:
    """Share of the total |error| per region and per decision outcome, and the MAE inside each."""
    err = np.abs(metrics.to_unit(fused) - metrics.to_unit(r.truth))
    err = err.mean(-1) if err.ndim == 3 else err
    total = err.sum()
    off = np.abs(mask.astype(int) - r.true_index.astype(int))
    out = {}
    for name, m in {**parts, "right": off == 0, "off1": off == 1, "off2+": off >= 2}.items():
        out[name] = {"area": float(m.mean()), "error_share": float(err[m].sum() / total),
                     "mae": float(err[m].mean()) if m.any() else 0.0}  # fmt: skip
    return out


def evaluate(case) -> dict:
    r = render(case)
    clean, depth = clean_render(case)
    parts = regions(depth, r.truth)
    runs = {
        "untrained": ff.fuse(r.stack, weights="random"),
        "default": ff.fuse(r.stack),
        "oracle true slice": fuse_with_index(r.stack, r.true_index.astype(np.int32)),
        "oracle best slice": fuse_with_index(r.stack, best_slice(clean, r.truth)),
        "oracle best slice r5": fuse_with_index(r.stack, best_slice(clean, r.truth, radius=5)),
    }
    base = metrics.mae(runs["untrained"].fused, r.truth)
    row = {"case": case.name}
    for name, res in runs.items():
        m = metrics.mae(res.fused, r.truth)
        row[name] = {"mae": m, "ratio_to_untrained": m / base,
                     "map_exact": metrics.map_accuracy(res.mask, r.true_index),
                     "breakdown": breakdown(res.fused, res.mask, r, parts)}  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", help="case names (default: all, dof 1)")
    args = parser.parse_args()
    cases = [c for c in default_cases(1.0) if not args.cases or c.name in args.cases]
    rows = []
    for case in cases:
        row = evaluate(case)
        rows.append(row)
        summary = ", ".join(f"{k} {row[k]['ratio_to_untrained']:.3f}" for k in row if isinstance(row[k], dict))
        print(f"{case.name}: {summary}", flush=True)
    OUT.mkdir(exist_ok=True)
    name = "oracle-headroom.json" if not args.cases else f"oracle-headroom-{len(rows)}.json"
    (OUT / name).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
