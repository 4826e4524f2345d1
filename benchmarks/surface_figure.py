"""Figures of the sub-slice height against the true depth, for docs/benchmarks.md (issue 11).

``surface_height.jpg``: for four rendered bracketing stacks (12 slices, thin lens) the fused
image, the true depth, the decision map's error, the surface's error (both in slices, same
scale) and the confidence, with the pixels the mesh leaves out (below ``MIN_CONFIDENCE``)
tinted. The tilted plane is the smooth specimen the sub-slice height is made for; the other
scenes have depth steps (the motorcycle the largest), and redwood textureless walls and floor.

``surface_height_edges.png``: mean error by distance from the nearest depth step (where the true
depth jumps by more than a slice within 3 px), on its far and its near side, for the scenes with
steps: where the surface halves the map's error and where neither knows the depth.

Run: ``python benchmarks/surface_figure.py [--out docs/images]`` (about a minute).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_focalfuse.core.mesh import MIN_CONFIDENCE
from surface_height import render_and_fuse, tilted_plane
from scenes import available

SLICES = 12
ERROR_SCALE = 2.0  # slices: top of the error colour scale
MAX_DISTANCE = 16  # px from a depth step covered by the edge profile


def step_distance(truth: np.ndarray, jump: float = 1.0) -> np.ndarray:
    """Signed distance (px) to the nearest depth step, where the true depth changes by more than
    ``jump`` slices within 3 x 3 px: > 0 on its far side, < 0 on its near side."""
    from scipy import ndimage

    lower = ndimage.grey_erosion(truth, size=3)
    upper = ndimage.grey_dilation(truth, size=3)
    steps = upper - lower > jump
    if not steps.any():
        return np.full(truth.shape, np.inf)
    distance, (y, x) = ndimage.distance_transform_edt(~steps, return_indices=True)
    far_side = np.abs(truth - lower[y, x]) < np.abs(truth - upper[y, x])
    return np.where(far_side, distance, -distance)


def cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(image, disparity) of the figure's scenes, those whose files are present."""
    scenes = available()
    chosen = {"tilted plane": tilted_plane()}
    for name in ("cones", "motorcycle", "redwood"):
        if name in scenes:
            chosen[name] = scenes[name]()
    return chosen


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_maps(rows: list[dict], path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 5, figsize=(17, 3.1 * len(rows)), dpi=80, squeeze=False)
    for ax_row, row in zip(axes, rows):
        res, truth = row["result"], row["truth"]
        map_error = np.abs(res.mask - truth)
        surface_error = np.abs(res.surface - truth)
        unknown = res.confidence < MIN_CONFIDENCE
        inner = (slice(10, -10), slice(10, -10))
        fused = res.fused.astype(np.float32)
        ax_row[0].imshow(np.clip(fused / max(float(fused.max()), 1e-6), 0, 1))
        ax_row[0].set_title(f"{row['name']}: fused")
        shown = ax_row[1].imshow(truth, cmap="viridis", vmin=-0.5, vmax=SLICES - 0.5)
        ax_row[1].set_title("true depth (slices)")
        fig.colorbar(shown, ax=ax_row[1], fraction=0.04)
        by_map, by_surface = map_error[inner], surface_error[inner]
        kept = ~unknown[inner]
        ratio = by_surface.mean() / by_map.mean()
        sure = by_surface[kept].mean() / by_map[kept].mean()
        titles = (
            f"|map - truth|: mean {by_map.mean():.3f}",
            f"|surface - truth|: mean {by_surface.mean():.3f}\n{ratio:.2f} x the map's; {sure:.2f} x where confident",
        )
        for ax, error, title in zip(ax_row[2:4], (map_error, surface_error), titles):
            shown = ax.imshow(error, cmap="magma", vmin=0, vmax=ERROR_SCALE)
            ax.set_title(title, fontsize=9)
            fig.colorbar(shown, ax=ax, fraction=0.04)
        confidence = np.dstack([res.confidence] * 3).clip(0, 1)
        confidence[unknown] = 0.6 * confidence[unknown] + 0.4 * np.array([1.0, 0.0, 0.6])
        ax_row[4].imshow(confidence)
        ax_row[4].set_title(f"confidence (tinted: unknown, {unknown[inner].mean():.0%})")
        for ax in ax_row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, pil_kwargs={"quality": 85})
    plt.close(fig)


def draw_edges(rows: list[dict], path: Path) -> None:
    plt = _pyplot()
    distances = np.arange(-MAX_DISTANCE, MAX_DISTANCE + 1)
    distances = distances[distances != 0]
    fig, ax = plt.subplots(figsize=(9, 4), dpi=80)
    with_steps = [r for r in rows if (np.abs(r["distance"]) <= MAX_DISTANCE).mean() > 0.01]
    for row, colour in zip(with_steps, ("C1", "C2", "C3", "C4")):
        res, truth, distance = row["result"], row["truth"], np.round(row["distance"])
        for estimate, style, label in ((res.mask, "--", "map"), (res.surface, "-", "surface")):
            error = np.abs(estimate - truth)
            means = [error[distance == d].mean() if (distance == d).sum() > 50 else np.nan for d in distances]
            ax.plot(distances, means, style, color=colour, label=f"{row['name']}: {label}")
            away = np.abs(distance) > MAX_DISTANCE
            ax.axhline(error[away].mean(), color=colour, linestyle=style, linewidth=0.6, alpha=0.5)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel("distance from the nearest depth step, px (< 0 near side, > 0 far side)")
    ax.set_ylabel("mean |error|, slices")
    ax.set_title(f"{SLICES} bracketing slices, thin lens; thin lines: over {MAX_DISTANCE} px from any step")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    docs = Path(__file__).resolve().parent.parent / "docs" / "images"
    parser.add_argument("--out", type=Path, default=docs)
    args = parser.parse_args()
    rows = []
    for name, (image, disparity) in cases().items():
        truth, res = render_and_fuse(image, disparity, SLICES, 0.0, bracket=True)
        rows.append({"name": name, "truth": truth, "result": res, "distance": step_distance(truth)})
        print(name, "done", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    draw_maps(rows, args.out / "surface_height.jpg")
    draw_edges(rows, args.out / "surface_height_edges.png")


if __name__ == "__main__":
    main()
