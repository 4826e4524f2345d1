"""Held-out renders for tuning the decision-regret training (issue 9), never the benchmark scenes.

Layered scenes (decision_loss.layered_scene: a tilted textured background and one or two
textured occluders) and segmented ones (decision_loss.segment_scene: each region of a picture
at its own depth), half each, made of scikit-image pictures that neither the training set nor the quality
benchmark uses (cell, logo, colour chart, a montage of LFW faces), rendered like the quality
benchmark (thin lens, max blur 8 px, depth of field 1; 6 slices at noise 0.005 and 0.01, 12 at
0.01; half of them with ``fill_behind``), fused by the whole pipeline (no alignment: the
stacks are still, and small enough that the estimator sees motion in defocus alone). Score: fused MAE over
that of the untrained encoder (seed 0), per stack and mean.

    python benchmarks/heldout_layers.py WEIGHTS.pt [WEIGHTS2.pt ...]
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np

import napari_focalfuse as ff
from napari_focalfuse.core import metrics

SIZE = 192
SCENES = 16


def _grey(rgb: np.ndarray) -> np.ndarray:
    from napari_focalfuse.core.luminance import luminance

    img = luminance(np.asarray(rgb))
    return (img / 255.0 if img.max() > 1.5 else img).astype(np.float32)


def heldout_textures() -> list[np.ndarray]:
    """Grey pictures in [0, 1] shipped with scikit-image and used nowhere else in training."""
    import skimage
    from skimage import data, io

    folder = Path(skimage.__file__).parent / "data"
    faces = data.lfw_subset()[:40].reshape(5, 8, 25, 25).transpose(0, 2, 1, 3).reshape(125, 200)
    faces = np.kron(faces, np.ones((2, 2)))  # 250 x 400: big enough for a 192 px crop
    return [_grey(data.cell()), _grey(data.logo()), _grey(io.imread(folder / "color.png")), faces.astype(np.float32)]


@functools.lru_cache(maxsize=1)
def heldout_stacks() -> list[tuple[np.ndarray, np.ndarray]]:
    """(stack, truth) of every held-out render, seeded."""
    from napari_focalfuse.core.decision_loss import layered_scene, segment_scene
    from napari_focalfuse.core.synthetic import render_focal_stack

    rng = np.random.default_rng(20240609)
    textures = heldout_textures()
    out = []
    for k in range(SCENES):
        image, depth = (layered_scene if k < SCENES // 2 else segment_scene)(textures, SIZE, rng)
        n, noise = ((6, 0.005), (6, 0.01), (12, 0.01))[k % 3]
        r = render_focal_stack(image, depth, n_slices=n, max_blur=8.0, noise=noise, seed=k, fill_behind=k % 2 == 1)
        out.append((r.stack, r.truth))
    return out


@functools.lru_cache(maxsize=4)
def _maes(weights: str) -> tuple[float, ...]:
    return tuple(metrics.mae(ff.fuse(s, weights=weights, align=False).fused, t) for s, t in heldout_stacks())


def score(weights) -> tuple[float, np.ndarray]:
    """(mean, per-stack) fused MAE of ``weights`` over the untrained encoder's, on held-out renders."""
    base = np.array(_maes("random"))
    mine = np.array([metrics.mae(ff.fuse(s, weights=weights, align=False).fused, t) for s, t in heldout_stacks()])
    ratio = mine / base
    return float(ratio.mean()), ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+")
    args = parser.parse_args()
    for w in args.weights:
        mean, ratio = score(None if w == "default" else w)
        print(f"{w}: mean {mean:.3f}  per stack {np.round(ratio, 3).tolist()}", flush=True)


if __name__ == "__main__":
    main()
