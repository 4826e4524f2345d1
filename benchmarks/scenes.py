"""Real scenes with depth, for rendering focal stacks with a known all-in-focus truth.

The motorcycle ships with scikit-image; the others are read from ``../shared/data/rgbd`` beside
the checkout (see its README for sources and licences) and skipped when absent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from skimage import io, transform

from napari_focalfuse.core.synthetic import fill_unknown, motorcycle_scene

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

Scene = tuple[np.ndarray, np.ndarray]  # RGB float [0, 1], disparity (larger = nearer)


def _unit(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if np.issubdtype(rgb.dtype, np.integer):
        return rgb.astype(np.float32) / np.iinfo(rgb.dtype).max
    return (rgb / 255.0 if rgb.max() > 1.5 else rgb).astype(np.float32)


def motorcycle() -> Scene:
    rgb, disp = motorcycle_scene()
    return _unit(rgb), disp


def cones() -> Scene:
    folder = DATA / "rgbd" / "middlebury-cones"
    rgb = io.imread(folder / "left_rgb.tif")
    disp = io.imread(folder / "Cones_LEFT_GT.tif").astype(np.float32)
    return _unit(rgb)[..., :3], fill_unknown(disp, disp <= 0)


def aloe() -> Scene:
    folder = DATA / "rgbd" / "middlebury-aloe"
    rgb = _unit(io.imread(folder / "aloeL.jpg"))
    disp = io.imread(folder / "aloeGT.png").astype(np.float32)
    disp = fill_unknown(disp, disp <= 0)
    half = (rgb.shape[0] // 2, rgb.shape[1] // 2)  # keep rendering quick
    return (
        transform.resize(rgb, half, anti_aliasing=True).astype(np.float32),
        transform.resize(disp, half, order=0, anti_aliasing=False).astype(np.float32),
    )


def _from_depth(rgb_path: Path, depth_path: Path, to_metres: float) -> Scene:
    rgb = _unit(io.imread(rgb_path))[..., :3]
    depth = io.imread(depth_path).astype(np.float32) * to_metres
    disp = np.where(depth > 0, 1.0 / np.maximum(depth, 1e-6), np.nan)
    return rgb, fill_unknown(disp)


def redwood() -> Scene:
    base = DATA / "rgbd" / "open3d-rgbd"
    return _from_depth(base / "color" / "00000.jpg", base / "depth" / "00000.png", 1e-3)


def tum() -> Scene:
    base = DATA / "rgbd" / "open3d-rgbd" / "other_formats"
    return _from_depth(base / "TUM_color.png", base / "TUM_depth.png", 1 / 5000)


SCENES: dict[str, Callable[[], Scene]] = {
    "motorcycle": motorcycle,
    "cones": cones,
    "aloe": aloe,
    "redwood": redwood,
    "tum": tum,
}


def available() -> dict[str, Callable[[], Scene]]:
    """Scenes whose files are present (the motorcycle always is)."""
    return {k: f for k, f in SCENES.items() if k == "motorcycle" or DATA.exists()}
