"""Inputs of the speed benchmark: real stacks from ../shared/data, and generated ones cached in
benchmarks/out/ (git-ignored) so they are made once.

Every input is a list of paths as a user would pass them to ``napari-focalfuse fuse``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DATA = HERE.parent.parent / "shared" / "data" / "stacks"
if not DATA.exists():  # a worktree beside the main checkout
    DATA = Path("/work/shared/data/stacks")


@dataclass
class SpeedInput:
    """One benchmark stack: the paths given to the CLI and what it is."""

    name: str
    paths: list[str]
    group: str = "cases"  # "cases", "slices" (growth with Z) or "pixels" (growth with area)
    slices: int | None = None  # API only: use the first n slices of the stack
    api_only: bool = False
    info: dict = field(default_factory=dict)


def sorted_images(folder: Path, prefix: str = "") -> list[str]:
    from napari_focalfuse.io.formats import images_in

    return [str(p) for p in images_in(folder) if p.name.startswith(prefix)]


def synthetic_tiff(quick: bool = False) -> Path:
    """The embedded demo scene (6 x 500x741 RGB) as a uint8 multi-page TIFF, as a camera gives."""
    import tifffile

    from napari_focalfuse.core.synthetic import demo_stack

    path = OUT / ("quick" if quick else "") / ("synthetic_tiny.tif" if quick else "synthetic_6x500x741.tif")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        stack = demo_stack().stack
        if quick:
            stack = stack[:4, 150:246, 200:328]
        tifffile.imwrite(path, np.rint(stack * 255).astype(np.uint8), photometric="rgb")
    return path


def _texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """Sharp multi-scale texture in [0, 1]: fine noise over blobs, so every blur level shows."""
    from scipy import ndimage

    fine = rng.random((size, size), dtype=np.float32)
    coarse = ndimage.zoom(rng.random((size // 32 + 1, size // 32 + 1), dtype=np.float32), 32, order=1)
    tex = 0.6 * fine + 0.4 * coarse[:size, :size]
    return (tex - tex.min()) / (tex.max() - tex.min())


def big_stack(n: int = 100, size: int = 2048, quick: bool = False, max_blur: float = 6.0) -> Path:
    """An uncompressed uint16 (n, size, size) TIFF that tifffile.memmap can map.

    A textured surface whose depth is a tilted plane plus a bump; slice z is focused at depth
    (z + 0.5) / n. Each pixel takes the texture blurred by its own sigma, picked from a dozen
    pre-blurred copies, so generation needs a dozen single-slice arrays whatever ``n`` is and
    writes slice by slice.
    """
    import tifffile
    from scipy import ndimage

    path = OUT / ("quick" if quick else "") / f"big_{n}x{size}x{size}_u16.tif"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tex = _texture(size, rng)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    depth = 0.6 * xx + 0.25 * yy + 0.15 * np.exp(-((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.02)
    depth = (depth - depth.min()) / (depth.max() - depth.min())
    sigmas = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0], np.float32) * (max_blur / 6.0)
    levels = np.stack([tex if s == 0 else ndimage.gaussian_filter(tex, s) for s in sigmas])
    levels = np.rint(levels * 4000 + 50).astype(np.uint16)  # 12-bit camera data in uint16
    tmp = path.with_suffix(".part")
    with tifffile.TiffWriter(tmp) as tw:
        for z in range(n):
            sigma = max_blur * np.abs(depth - (z + 0.5) / n)
            pick = np.searchsorted(sigmas, sigma).clip(0, len(sigmas) - 1)
            sl = np.take_along_axis(levels, pick[None], 0)[0]
            noise = rng.normal(0.0, 8.0, sl.shape).astype(np.float32)
            sl = np.clip(sl + noise, 0, 65535).astype(np.uint16)
            tw.write(sl, contiguous=True, photometric="minisblack", metadata=None)
    tmp.replace(path)
    return path


def pcb_crops(megapixels: list[float], quick: bool = False) -> dict[float, list[str]]:
    """Centre crops (4:3) of the pcb slices at the given sizes, re-saved as JPEG (quality 95)."""
    from PIL import Image

    sources = sorted_images(DATA / "pcb-switch", "pcb_")
    out: dict[float, list[str]] = {}
    for mp in megapixels:
        folder = OUT / ("quick" if quick else "") / "pcb_crops" / f"{mp:g}MP"
        files = [folder / Path(p).name for p in sources]
        if not all(f.exists() for f in files):
            folder.mkdir(parents=True, exist_ok=True)
            for src, dst in zip(sources, files):
                with Image.open(src) as im:
                    w, h = im.size
                    cw = min(w, round((mp * 1e6 * 4 / 3) ** 0.5))
                    ch = min(h, round(cw * 3 / 4))
                    x0, y0 = (w - cw) // 2, (h - ch) // 2
                    im.crop((x0, y0, x0 + cw, y0 + ch)).save(dst, quality=95)
        out[mp] = [str(f) for f in files]
    return out


def build_inputs(
    quick: bool,
    cases: list[str],
    slice_counts: list[int],
    megapixels: list[float],
    big_slices: int = 100,
) -> list[SpeedInput]:
    """The stacks each benchmark group runs on; quick mode uses tiny versions of each."""
    inputs: list[SpeedInput] = []
    if "synthetic" in cases:
        inputs.append(SpeedInput("synthetic", [str(synthetic_tiff(quick))]))
    if "pcb" in cases:
        inputs.append(SpeedInput("pcb-switch", sorted_images(DATA / "pcb-switch", "pcb_")))
    if "algae" in cases:
        inputs.append(SpeedInput("algae-microscope", sorted_images(DATA / "algae-microscope")))
    if "big" in cases or "slices" in cases:
        n, size = (12, 256) if quick else (big_slices, 2048)
        path = str(big_stack(n, size, quick))
        if "big" in cases:
            inputs.append(SpeedInput(f"big-{n}x{size}x{size}-u16", [path]))
        if "slices" in cases:
            for k in slice_counts:
                if k <= n:
                    inputs.append(SpeedInput(f"big-first-{k}", [path], "slices", slices=k, api_only=True))
    if "keyboard" in cases:
        files = sorted_images(DATA / "keyboard-sweep")
        for k in slice_counts:
            if 2 <= k <= len(files):
                inputs.append(SpeedInput(f"keyboard-{k}", files[:k], "slices"))
    if "pixels" in cases:
        for mp, files in pcb_crops(megapixels, quick).items():
            inputs.append(SpeedInput(f"pcb-{mp:g}MP", files, "pixels"))
    return inputs
