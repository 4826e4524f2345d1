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
least ``--min-confidence`` (default: the mesh export's threshold). Run:
``python benchmarks/surface_height.py`` (minutes); writes benchmarks/out/surface_height.json
and prints a Markdown table.
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


def measure(image, disparity, n: int, dof: float, min_confidence: float) -> dict:
    r = render_focal_stack(
        image, disparity, n_slices=n, max_blur=8, noise=0.005, depth_of_field=dof, seed=1,
        levels=LEVELS,
    )  # fmt: skip
    layer = np.clip((r.depth * LEVELS).astype(int), 0, LEVELS - 1)
    truth = (layer + 0.5) / LEVELS * n - 0.5  # slice z is focused at depth (z + 0.5) / n
    res = fuse(r.stack, align=False)
    inner = (slice(10, -10), slice(10, -10))
    index = np.abs(res.mask - truth)[inner]
    surface = np.abs(res.surface - truth)[inner]
    sure = res.confidence[inner] >= min_confidence
    return {
        "index": float(index.mean()),
        "surface": float(surface.mean()),
        "confident_share": float(sure.mean()),
        "confident_index": float(index[sure].mean()) if sure.any() else None,
        "confident_surface": float(surface[sure].mean()) if sure.any() else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE)
    parser.add_argument("--slices", type=int, nargs="+", default=[6, 12])
    args = parser.parse_args()
    scenes = {"tilted plane": tilted_plane, **available()}
    rows = {}
    print(
        "| stack | slices | depth of field | map | surface | ratio | confident share | map "
        "| surface | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, load in scenes.items():
        image, disparity = load()
        for n in args.slices:
            for dof in (0.0, 1.0):
                m = measure(image, disparity, n, dof, args.min_confidence)
                rows[f"{name}-{n}-dof{dof:g}"] = m
                ci, cs = m["confident_index"], m["confident_surface"]
                conf = f"{ci:.3f} | {cs:.3f} | {cs / ci:.2f}" if ci else "– | – | –"
                print(
                    f"| {name} | {n} | {dof:g} | {m['index']:.3f} | {m['surface']:.3f} | "
                    f"{m['surface'] / m['index']:.2f} | {m['confident_share']:.2f} | {conf} |",
                    flush=True,
                )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
