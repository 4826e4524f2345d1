"""Sub-slice height against the true depth: ``FusionResult.surface`` versus the decision map.

Stacks are rendered with 96 depth layers, so the depth the renderer really used (each pixel's
layer centre, the truth here) is nearly continuous; with the renderer's default 24 layers a
12-slice stack only holds depths a quarter slice from a focal plane, and no estimate could beat
the map by much. Depth of field 0 is the pure thin lens (only the focal plane is sharp); at
depth of field 1 every depth within half a slice of a focal plane renders equally sharp, so
there is nothing between slices to interpolate. Besides the real scenes, a textured tilted
plane with a gentle wave (the case of ``tests/core/test_surface.py``, another crop) shows the
smooth specimen the sub-slice height is meant for.

Error: mean absolute difference in slices over the frame without a 10 px border, for the
decision map (``mask``) and the surface; "confident" keeps the pixels whose confidence is at
least ``--min-confidence`` (default: the mesh export's threshold); "away from edges" leaves
out the far side of occluding edges (pixels within 8 px of a pixel more than a slice nearer),
where a nearer object's blurred rim veils the background: ``veil()`` prints how much of its
detail the background's own focal slice keeps, by distance from the edge (before the renderer
painted each layer once, ``coverage="nested"``, it kept almost none with 96 layers).

The slices are focused at the centres of equal depth bins, so the scene's nearest and farthest
half-slices lie beyond the end slices, where no estimate from within the stack can do better
than the map; ``--bracket`` focuses the end slices on the scene's nearest and farthest depths
(a stack that brackets the specimen, as focus stacks are shot), with the same blur per slice.
Run: ``python benchmarks/surface_height.py [--bracket] [--slices 8 16] [--dof 0.5 1.5 2]``
(minutes); writes benchmarks/out/surface_height[_bracket][_8-16_dof0.5-1.5-2].json and prints a
Markdown table. Other slice counts and depths of field than the default 6, 12 and 0, 1 make a
held-out set for constants tuned on the default ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from napari_focalfuse import fuse
from napari_focalfuse.core.mesh import MIN_CONFIDENCE
from napari_focalfuse.core.synthetic import render_focal_stack
from scenes import available

LEVELS = 96
OUT = Path(__file__).resolve().parent / "out" / "surface_height.json"


def tilted_plane() -> tuple[np.ndarray, np.ndarray]:
    """A crop of the motorcycle photograph on a tilted, gently waving plane (disparity)."""
    from skimage import data

    image = data.stereo_motorcycle()[0][40:296, 420:740].astype(np.float32) / 255.0
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    return image, xx / (w - 1) * 0.8 + 0.1 + 0.05 * np.sin(yy / 40)


def beside_nearer(truth: np.ndarray, reach: float = 8.0) -> np.ndarray:
    """Pixels within ``reach`` px of a pixel more than one slice nearer: an occluding edge's far side."""
    from scipy import ndimage

    near = np.zeros(truth.shape, bool)
    for level in np.arange(np.floor(truth.min()), np.ceil(truth.max()) + 0.5, 0.5):
        own = (truth >= level) & (truth < level + 0.5)
        if own.any():
            near |= own & (ndimage.distance_transform_edt(truth <= level + 1.0) < reach)
    return near


def veil(levels: tuple[int, ...] = (8, 24, 96)) -> None:
    """Share of the background's detail that its own focal slice keeps beside a nearer block."""
    import cv2
    from scipy import ndimage

    image = tilted_plane()[0]
    depth = np.full(image.shape[:2], 0.15)
    depth[60:180, 100:220] = 0.85
    distance = ndimage.distance_transform_edt(depth < 0.5)

    def detail(grey: np.ndarray) -> np.ndarray:
        return cv2.blur(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=1) ** 2, (5, 5))

    sharp = detail(image.mean(-1))
    bands = ((1, 3), (3, 5), (5, 8), (8, 12), (12, 20))
    print("\n| layers | " + " | ".join(f"{a}–{b} px" for a, b in bands) + " |")
    print("|---" * (len(bands) + 1) + "|")
    for n_levels in levels:
        r = render_focal_stack(image, depth, n_slices=10, max_blur=6, noise=0.0, depth_of_field=0.0, levels=n_levels)
        kept = detail(r.stack[0].mean(-1))  # slice 0 is focused on the background (depth 0)
        shares = [np.median((kept / sharp)[(distance >= a) & (distance < b) & (sharp > 1e-3)]) for a, b in bands]
        print(f"| {n_levels} | " + " | ".join(f"{v:.2f}" for v in shares) + " |")


def render_and_fuse(image, disparity, n: int, dof: float, bracket: bool = False):
    """(true depth in slices, FusionResult) of a stack rendered with ``LEVELS`` depth layers."""
    steps = n - 1 if bracket else n  # slice steps across the scene's depth; 8 / n px of blur each
    r = render_focal_stack(
        image, disparity, n_slices=n, max_blur=8 * steps / n, noise=0.005, depth_of_field=dof,
        seed=1, levels=LEVELS, bracket=bracket,
    )  # fmt: skip
    layer = np.clip((r.depth * LEVELS).astype(int), 0, LEVELS - 1)
    centre = (layer + 0.5) / LEVELS
    # slice z is focused at depth z / (n - 1) when bracketing, else at (z + 0.5) / n
    truth = centre * steps if bracket else centre * n - 0.5
    return truth, fuse(r.stack, align=False)


def measure(image, disparity, n: int, dof: float, min_confidence: float, bracket: bool = False) -> dict:
    truth, res = render_and_fuse(image, disparity, n, dof, bracket)
    inner = (slice(10, -10), slice(10, -10))
    index = np.abs(res.mask - truth)[inner]
    surface = np.abs(res.surface - truth)[inner]
    sure = res.confidence[inner] >= min_confidence
    away = ~beside_nearer(truth)[inner]
    return {
        "index": float(index.mean()),
        "surface": float(surface.mean()),
        "away_share": float(away.mean()),
        "away_index": float(index[away].mean()),
        "away_surface": float(surface[away].mean()),
        "confident_share": float(sure.mean()),
        "confident_index": float(index[sure].mean()) if sure.any() else None,
        "confident_surface": float(surface[sure].mean()) if sure.any() else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE)
    parser.add_argument("--slices", type=int, nargs="+", default=[6, 12])
    parser.add_argument("--dof", type=float, nargs="+", default=[0.0, 1.0], help="in slice steps")
    parser.add_argument(
        "--bracket", action="store_true",
        help="first and last slices focused on the scene's nearest and farthest depths",
    )  # fmt: skip
    args = parser.parse_args()
    scenes = {"tilted plane": tilted_plane, **available()}
    rows = {}
    print(
        "| stack | slices | depth of field | map | surface | ratio | confident share | map "
        "| surface | ratio | away from edges: share | map | surface | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, load in scenes.items():
        image, disparity = load()
        for n in args.slices:
            for dof in args.dof:
                m = measure(image, disparity, n, dof, args.min_confidence, args.bracket)
                rows[f"{name}-{n}-dof{dof:g}"] = m
                ci, cs = m["confident_index"], m["confident_surface"]
                conf = f"{ci:.3f} | {cs:.3f} | {cs / ci:.2f}" if ci else "– | – | –"
                ai, asf = m["away_index"], m["away_surface"]
                print(
                    f"| {name} | {n} | {dof:g} | {m['index']:.3f} | {m['surface']:.3f} | "
                    f"{m['surface'] / m['index']:.2f} | {m['confident_share']:.2f} | {conf} | "
                    f"{m['away_share']:.2f} | {ai:.3f} | {asf:.3f} | {asf / ai:.2f} |",
                    flush=True,
                )
    out = OUT.with_stem(OUT.stem + "_bracket") if args.bracket else OUT
    if args.slices != [6, 12] or args.dof != [0.0, 1.0]:  # a held-out set of its own
        n, dof = "-".join(map(str, args.slices)), "-".join(f"{d:g}" for d in args.dof)
        out = out.with_stem(f"{out.stem}_{n}_dof{dof}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    if not args.bracket:
        veil()


if __name__ == "__main__":
    main()
