"""The specimen's surface as a triangle mesh: one vertex per known pixel (or block of pixels),
two triangles per grid cell, coloured by the fused image.

Vertices are (x, y, z) in µm in the image's own frame: x along columns, y along rows (down),
z the height. Pixels whose height is unknown (NaN: no slice was clearly sharp there) get no
vertex and no triangle touches them, so flat background becomes a hole instead of a made-up
surface. With ``step`` > 1 each vertex stands for a ``step`` x ``step`` block: its height and
colour are the block's means (not one sampled pixel, which would alias fine texture and noise
into the colours), and a block is unknown when most of its pixels are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import FocalFuseError

if TYPE_CHECKING:
    from .fusion import FusionResult

MAX_VERTICES = 1_000_000  # default budget: a PLY of ~35 MB that viewers still turn smoothly
# Below this confidence a pixel's height is unknown. Measured on a rendered tilted plane with a
# flat patch (deep method, 4-20 slices, noise 0.005-0.02): the flat patch has a median of
# 0.03-0.07 and keeps 0-2 % of its pixels, the textured surface a median of 0.44-0.68 and keeps
# 80-96 %. Real stacks: the white ground of ring-macro goes, its ring stays (14 % of the frame
# kept); pcb-switch keeps 84 % (98 % before depth steps were made unknown, surface.py),
# pseudoscorpion 92 %. (The Laplacian method's confidence is not calibrated for this: with it,
# more flat background stays in.)
MIN_CONFIDENCE = 0.25


@dataclass
class SurfaceMesh:
    vertices: np.ndarray  # (N, 3) float32: x, y, z in µm (or pixels / slices when unknown)
    faces: np.ndarray  # (M, 3) int32 vertex indices, counter-clockwise seen from +z
    colours: np.ndarray  # (N, 3) uint8 RGB


def default_step(shape: tuple[int, ...], max_vertices: int = MAX_VERTICES) -> int:
    """Smallest block size that keeps an image of ``shape`` (Y, X, ...) under ``max_vertices``."""
    h, w = int(shape[0]), int(shape[1])
    step = 1
    while math.ceil(h / step) * math.ceil(w / step) > max_vertices:
        step += 1
    return step


def _colour_means(image: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Block means of ``image`` as (y, x, 3) float32 in 0..255, and the pixels of each block.

    Grey is repeated, alpha dropped, other channel counts (fluorescence channels) give the first
    channel in grey; uint8 is taken as is, any other dtype is stretched from the image's own
    minimum to its maximum (a 12-bit camera's uint16 would be dark on the full 16-bit range).
    Means first, then the stretch: no float copy of the whole image.
    """
    a = np.asarray(image)
    a = a[..., None] if a.ndim == 2 else a
    a = a[..., :3] if a.shape[-1] in (3, 4) else a[..., :1]
    means, count = _block_means(a, step)
    if a.dtype != np.uint8:
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        means = (means - lo) * np.float32(255.0 / (hi - lo) if hi > lo else 0.0)
    return np.broadcast_to(means, (*means.shape[:2], 3)), count[..., 0]


def _block_means(values: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """(Y, X, K) -> mean of the finite values of each ``step`` x ``step`` block, and how many
    there were; blocks at the right and bottom edges may be smaller. One pass, output-sized
    memory."""
    h, w, k = values.shape
    shape = (math.ceil(h / step), math.ceil(w / step), k)
    total = np.zeros(shape, np.float64)
    count = np.zeros(shape, np.int32)
    for dy in range(step):
        for dx in range(step):
            part = values[dy::step, dx::step]
            known = np.isfinite(part)
            rows, cols = part.shape[:2]
            total[:rows, :cols] += np.where(known, part, 0.0)
            count[:rows, :cols] += known
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(np.float32), count


def _block_centres(n: int, step: int, size: float) -> np.ndarray:
    """Centre of each block along an axis of ``n`` pixels, times the pixel ``size``."""
    start = np.arange(0, n, step)
    return ((start + np.minimum(start + step, n) - 1) / 2 * size).astype(np.float32)


def surface_mesh(
    height: np.ndarray,
    colours: np.ndarray,
    *,
    pixel_size: tuple[float, float] = (1.0, 1.0),
    step: int = 1,
) -> SurfaceMesh:
    """Grid mesh of a (Y, X) ``height`` map (NaN = unknown), coloured from the (Y, X[, C])
    image ``colours``; ``pixel_size`` is (y, x) in the height's unit, ``step`` the block size."""
    z = np.asarray(height, np.float32)
    if z.ndim != 2 or np.ndim(colours) not in (2, 3) or np.shape(colours)[:2] != z.shape:
        raise FocalFuseError(
            f"A mesh needs a (Y, X) height map and an image of the same size, not {z.shape} "
            f"and {np.asarray(colours).shape}."
        )
    if step < 1:
        raise FocalFuseError(f"The mesh step must be at least 1 pixel, not {step}.")
    heights, known = _block_means(z[..., None], step)
    rgb, pixels = _colour_means(colours, step)
    heights = np.where(2 * known[..., 0] >= pixels, heights[..., 0], np.nan)

    ys = _block_centres(z.shape[0], step, float(pixel_size[0]))
    xs = _block_centres(z.shape[1], step, float(pixel_size[1]))
    keep = np.isfinite(heights)
    index = np.full(heights.shape, -1, np.int64)
    index[keep] = np.arange(int(keep.sum()))
    rows, cols = np.nonzero(keep)
    vertices = np.stack([xs[cols], ys[rows], heights[keep]], axis=1).astype(np.float32)

    # each cell a-b / c-d gives triangles (a, b, c) and (b, d, c), kept when all corners are known
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    triangles = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                                np.stack([b, d, c], -1).reshape(-1, 3)])  # fmt: skip
    faces = triangles[(triangles >= 0).all(axis=1)].astype(np.int32)
    colours_u8 = np.clip(np.rint(rgb[keep]), 0, 255).astype(np.uint8)
    return SurfaceMesh(vertices, faces, colours_u8)


def result_mesh(
    result: FusionResult,
    pixel_size: tuple[float, float] | None = None,
    *,
    min_confidence: float = MIN_CONFIDENCE,
    step: int | None = None,
) -> SurfaceMesh:
    """The surface of a fusion result, coloured by its fused image.

    Heights are ``result.surface_height(min_confidence)``: µm when the result has a z-step, in
    slices when it has none. ``pixel_size`` (y, x) in µm, as :func:`read_stack` gives it in
    ``meta["pixel_size"]``; None puts x and y in pixels. ``step``: None picks
    :func:`default_step`.
    """
    height = result.surface_height(min_confidence)
    if height is None:
        raise FocalFuseError("This fusion result has no surface; fuse the stack again to get one.")
    step = default_step(height.shape) if step is None else step
    return surface_mesh(height, result.fused, pixel_size=pixel_size or (1.0, 1.0), step=step)
