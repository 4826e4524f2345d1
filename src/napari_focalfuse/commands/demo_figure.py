"""The demo's ``comparison.png``: what the tool did, readable at a glance by a newcomer.

Top row: one defocused input slice, the truth, both fused images (with their errors) and the
decision map with a colour bar. Below: close-ups of the two places where the deep method and
the Laplacian baseline differ most, marked by rectangles above. Drawn with matplotlib's Agg
canvas (no window, no pyplot state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.metrics import mae, to_unit
from ..io.preview import slice_colours


@dataclass
class Panel:
    title: str
    image: np.ndarray  # RGB float in [0, 1], or a decision map (int) when ``is_map``
    is_map: bool = False


def differing_regions(a: np.ndarray, b: np.ndarray, size: int, count: int = 2) -> list[tuple[int, int]]:
    """Top-left corners of ``count`` non-overlapping size x size windows where a and b differ most."""
    from scipy import ndimage

    diff = np.abs(to_unit(a) - to_unit(b))
    diff = diff.mean(-1) if diff.ndim == 3 else diff
    score = ndimage.uniform_filter(diff, size, mode="constant")
    half = size // 2
    h, w = diff.shape
    valid = np.zeros_like(score, bool)
    valid[half : h - size + half + 1, half : w - size + half + 1] = True
    corners: list[tuple[int, int]] = []
    for _ in range(count):
        masked = np.where(valid, score, -np.inf)
        cy, cx = np.unravel_index(int(np.argmax(masked)), masked.shape)
        corners.append((int(cy) - half, int(cx) - half))
        valid[max(0, cy - size) : cy + size, max(0, cx - size) : cx + size] = False
    return corners


def _rgb(image: np.ndarray) -> np.ndarray:
    img = np.clip(to_unit(image), 0.0, 1.0)
    return np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]


def comparison_figure(
    stack: np.ndarray,
    truth: np.ndarray,
    deep: np.ndarray,
    laplacian: np.ndarray,
    mask: np.ndarray,
    crop: int = 96,
) -> np.ndarray:
    """The figure as a uint8 RGB array (1500 x 860 px)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = int(stack.shape[0])
    errors = [mae(stack[z], truth) for z in range(n)]
    blurred = int(np.argmax(errors))  # the input slice least like the truth
    deep_err, lap_err = mae(deep, truth), mae(laplacian, truth)
    panels = [
        Panel(f"Input: slice {blurred} of the {n}\n(the most out of focus)", _rgb(stack[blurred])),
        Panel("Truth: all in focus\n(what fusion should give)", _rgb(truth)),
        Panel(f"Fused, deep (this tool)\nerror {deep_err:.4f}", _rgb(deep)),
        Panel(f"Fused, Laplacian baseline\nerror {lap_err:.4f}", _rgb(laplacian)),
        Panel("Decision map: the slice\neach pixel was taken from", mask, is_map=True),
    ]
    corners = differing_regions(deep, laplacian, crop)
    colours = ListedColormap(slice_colours(n))
    norm = BoundaryNorm(np.arange(n + 1) - 0.5, n)
    edge = ("#ff2d2d", "#2de1ff")

    fig = Figure(figsize=(15, 8.6), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 6, width_ratios=[1, 1, 1, 1, 1, 0.06], height_ratios=[0.78, 1, 1])
    fig.suptitle(
        f"napari-focalfuse demo: a {n}-slice focal stack rendered from the Middlebury motorcycle "
        f"(known truth). Error = mean |fused − truth|; deep / Laplacian = {deep_err / lap_err:.2f}",
        fontsize=13,
    )
    image = None
    for col, panel in enumerate(panels):
        ax = fig.add_subplot(grid[0, col])
        if panel.is_map:
            image = ax.imshow(panel.image, cmap=colours, norm=norm, interpolation="nearest")
        else:
            ax.imshow(panel.image)
        ax.set_title(panel.title, fontsize=10)
        for (y, x), colour in zip(corners, edge):
            ax.add_patch(Rectangle((x, y), crop, crop, fill=False, edgecolor=colour, lw=1.5))
        ax.set_axis_off()
        for row, ((y, x), colour) in enumerate(zip(corners, edge), start=1):
            sub = fig.add_subplot(grid[row, col])
            part = panel.image[y : y + crop, x : x + crop]
            if panel.is_map:
                sub.imshow(part, cmap=colours, norm=norm, interpolation="nearest")
            else:
                sub.imshow(part, interpolation="nearest")
            sub.set_xticks([])
            sub.set_yticks([])
            for spine in sub.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(2.5)
            if col == 0:
                box = ("red", "blue")[row - 1]
                sub.set_ylabel(f"close-up {row} ({box} box):\nthe methods differ", fontsize=10)
    bar = fig.colorbar(image, cax=fig.add_subplot(grid[0, 5]), ticks=range(n))
    bar.set_label("slice index (0 = focused farthest)", fontsize=9)
    fig.subplots_adjust(left=0.05, right=0.96, top=0.88, bottom=0.01, wspace=0.08, hspace=0.22)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
