"""Fuse the real focal stacks in ../shared/data/stacks and save a contact sheet for the docs.

There is no ground truth for real captures: the figure shows each stack's fused image beside
its decision map, for inspection (and pcb-switch's own reference output from focus-stack).

    python benchmarks/real_stacks.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
from skimage import io, transform

import napari_focalfuse as ff
from napari_focalfuse.core.metrics import to_unit
from scenes import DATA

DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"
STACKS = ["pcb-switch", "keyboard-sweep", "pseudoscorpion-microscope", "algae-microscope", "ring-macro"]


def slice_files(folder: Path) -> list[Path]:
    """Image files of a stack, naturally sorted, without the reference output."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".png", ".tif"}]
    files = [p for p in files if p.stem != "expected"]
    return sorted(files, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)])


def colour_map(mask: np.ndarray, n: int) -> np.ndarray:
    """Decision map as RGB (viridis-like ramp from dark blue to yellow)."""
    t = mask.astype(np.float32) / max(n - 1, 1)
    return np.stack([0.27 + 0.7 * t**1.5, 0.0 + 0.9 * t, 0.33 + 0.2 * np.sin(np.pi * t)], -1).clip(0, 1)


def thumbnail(image: np.ndarray, width: int = 480) -> np.ndarray:
    img = to_unit(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    h = round(img.shape[0] * width / img.shape[1])
    return transform.resize(img[..., :3], (h, width), anti_aliasing=True)


def main() -> None:
    rows = []
    for name in STACKS:
        folder = DATA / "stacks" / name
        if not folder.exists():
            continue
        stack, _ = ff.read_stack([str(p) for p in slice_files(folder)])
        t0 = time.time()
        res = ff.fuse(stack)
        print(f"{name}: {stack.shape} fused in {time.time() - t0:.1f} s")
        row = [thumbnail(res.fused), thumbnail(colour_map(res.mask, stack.shape[0]))]
        rows.append(np.concatenate(row, 1))
    sheet = np.concatenate([np.pad(r, ((4, 4), (0, 0), (0, 0)), constant_values=1) for r in rows], 0)
    DOCS.mkdir(parents=True, exist_ok=True)
    io.imsave(DOCS / "real_stacks.jpg", (sheet * 255).astype(np.uint8), quality=85)


if __name__ == "__main__":
    main()
