"""Rendering focal stacks with a known truth from an all-in-focus image and its depth.

Thin-lens model: a pixel's blur grows with |disparity - disparity in focus|. The scene is cut
into depth layers composited far to near, each once, blurred by its own amount together with its
coverage, so depth edges get the occlusion blur real lenses give: a defocused near object
spreads over the sharp far one behind it (a halo). A layer's coverage is its own pixels and the
nearer pixels within blur reach of them (what a blurred near object can reveal behind itself;
it also keeps continuous slopes free of cracks). With ``fill_behind`` each layer's colour is
continued behind the nearer layers (nearest fill), so a blurred silhouette reveals plausible
background rather than a sharp copy of itself. :func:`apply_motion` then moves the slices as a
real capture does (focus breathing, stage drift).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class RenderedStack:
    stack: np.ndarray  # (Z, Y, X[, C]) float32 in [0, 1], with noise
    truth: np.ndarray  # (Y, X[, C]) all-in-focus original, float32 in [0, 1]
    true_index: np.ndarray  # (Y, X) slice whose focal plane is nearest to each pixel
    focus: np.ndarray  # (Z,) normalised depth in focus in each slice
    depth: np.ndarray | None = None  # (Y, X) normalised depth, 0 far .. 1 near
    transforms: np.ndarray | None = None  # (Z, 2, 3) truth pixel -> slice pixel (apply_motion)


def fill_unknown(disparity: np.ndarray, unknown: np.ndarray | None = None) -> np.ndarray:
    """Fill pixels with unknown disparity (NaN, inf, or ``unknown``) from their nearest known one."""
    disparity = np.asarray(disparity, np.float32)
    bad = ~np.isfinite(disparity)
    if unknown is not None:
        bad |= unknown
    if not bad.any():
        return disparity
    _, (iy, ix) = ndimage.distance_transform_edt(bad, return_indices=True)
    return disparity[iy, ix]


def _nearest_fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``image`` with every pixel outside ``known`` replaced by the nearest known pixel."""
    if known.all() or not known.any():
        return image
    _, (iy, ix) = ndimage.distance_transform_edt(~known, return_indices=True)
    return image[iy, ix]


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return image
    sig = (sigma, sigma, 0) if image.ndim == 3 else sigma
    return ndimage.gaussian_filter(image, sig, mode="reflect", truncate=3.0)


def render_focal_stack(
    image: np.ndarray,
    disparity: np.ndarray,
    n_slices: int = 6,
    max_blur: float = 6.0,
    noise: float = 0.005,
    levels: int = 24,
    seed: int = 0,
    depth_of_field: float = 1.0,
    fill_behind: bool = False,
    coverage: str = "own",
    bracket: bool = False,
) -> RenderedStack:
    """Render ``n_slices`` slices focused at evenly spaced depths.

    ``image`` is (Y, X) or (Y, X, C) in [0, 1] (integers are scaled), ``disparity`` (Y, X) with
    larger = nearer. ``max_blur`` is the Gaussian sigma (px) for a depth difference spanning the
    whole scene; ``noise`` the standard deviation of added Gaussian sensor noise.
    ``depth_of_field`` is the depth range, in slice steps, that each slice renders sharp (the
    circle of confusion stays under a pixel there): 1 is a well-sampled capture whose step equals
    the depth of field, 0 a pure thin lens where only the exact focal plane is sharp.
    ``fill_behind`` continues each depth layer's colour behind the nearer layers, so the rim
    of a blurred near object shows the background behind it (realistic halos); without it the
    layer carries the nearer objects' own colours there (the original benchmark protocol).
    ``coverage="nested"`` reproduces tables recorded before 2026-12-05: each layer then covered
    itself and everything nearer, so a near object's blurred rim was painted once per depth
    layer between it and the background, erasing the background's detail beside it in every
    slice (with many layers); ``"own"`` paints every layer once.
    The slices are focused at the centres of ``n_slices`` equal depth bins, so the scene's
    nearest and farthest half-bins lie beyond the end slices; with ``bracket`` the first and
    last slices are focused on the scene's nearest and farthest depths instead (a stack that
    brackets the specimen, as focus stacks are shot).
    """
    if coverage not in ("own", "nested"):
        raise ValueError(f"coverage must be 'own' or 'nested', not {coverage!r}")
    img = np.asarray(image)
    if np.issubdtype(img.dtype, np.integer):
        img = img.astype(np.float32) / np.iinfo(img.dtype).max
    img = img.astype(np.float32)
    d = fill_unknown(disparity)
    d = (d - d.min()) / max(float(d.max() - d.min()), 1e-6)
    focus = np.linspace(0.0, 1.0, n_slices) if bracket else (np.arange(n_slices) + 0.5) / n_slices
    centers = (np.arange(levels) + 0.5) / levels
    layer = np.clip((d * levels).astype(int), 0, levels - 1)
    steps = max(n_slices - 1, 1) if bracket else n_slices  # slice steps across the depth range
    half_dof = depth_of_field / (2 * steps)
    rng = np.random.default_rng(seed)

    top = int(layer.max())
    colours = [_nearest_fill(img, layer == level) if fill_behind else img for level in range(top + 1)]
    covers = [_coverage(layer, level, max_blur, coverage) for level in range(top + 1)]
    slices = []
    for f in focus:
        out = np.zeros_like(img)
        total = np.zeros(img.shape[:2], np.float32)
        for level in range(top + 1):  # far (small disparity) to near
            if not covers[level].any():
                continue
            sigma = max_blur * max(0.0, abs(centers[level] - f) - half_dof)
            alpha = _blur(covers[level], sigma)
            cover = covers[level][..., None] if img.ndim == 3 else covers[level]
            colour = _blur(colours[level] * cover, sigma)
            a = alpha[..., None] if img.ndim == 3 else alpha
            out = out * (1 - a) + colour
            total = total * (1 - alpha) + alpha
        if coverage == "own":  # where blurred coverages fall short of 1, keep the brightness
            t = np.maximum(total, 1e-6)
            out = out / (t[..., None] if img.ndim == 3 else t)
        out = out + rng.normal(0.0, noise, out.shape).astype(np.float32)
        slices.append(np.clip(out, 0.0, 1.0))
    true_index = np.abs(d[None] - focus[:, None, None]).argmin(0)
    return RenderedStack(np.stack(slices).astype(np.float32), img, true_index, focus, d)


def _coverage(layer: np.ndarray, level: int, max_blur: float, mode: str) -> np.ndarray:
    """Where depth layer ``level`` is painted: its pixels and, behind nearer ones, its reach."""
    if mode == "nested":
        return (layer >= level).astype(np.float32)
    own = layer == level
    if not own.any():
        return own.astype(np.float32)
    import cv2

    reach = int(np.ceil(3.0 * max_blur)) + 1
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    near = cv2.dilate(own.astype(np.uint8), disk).astype(bool) & (layer > level)
    return (own | near).astype(np.float32)


def motion_matrices(
    n: int,
    shape: tuple[int, int],
    breathing: float = 0.0,
    drift: float = 0.0,
    rotation: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """(n, 2, 3) matrices mapping a truth pixel (x, y) to where slice z shows it.

    ``breathing`` is the total change of magnification across the stack (0.037 = 3.7 %, the
    middle slice unchanged); ``drift`` the standard deviation (px) of each slice's random-walk
    step of the stage; ``rotation`` the largest rotation (degrees), also a random walk.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    mid = n // 2
    steps = rng.normal(0.0, drift, (n, 2))
    turns = rng.normal(0.0, rotation / max(np.sqrt(n), 1.0), n)
    shift = np.cumsum(steps, 0) - np.cumsum(steps, 0)[mid]
    angle = np.radians(np.cumsum(turns) - np.cumsum(turns)[mid])
    out = np.empty((n, 2, 3))
    for z in range(n):
        s = 1.0 + breathing * (mid - z) / max(n - 1, 1)
        rot = s * np.array([[np.cos(angle[z]), -np.sin(angle[z])], [np.sin(angle[z]), np.cos(angle[z])]])
        out[z, :, :2] = rot
        out[z, :, 2] = centre - rot @ centre + shift[z]
    return out


def apply_motion(rendered: RenderedStack, matrices: np.ndarray) -> RenderedStack:
    """The same stack as captured by a moving camera: slice z shows truth pixel p at m_z(p).

    Pixels that leave the frame are filled by mirroring; a fusion that crops to the region
    every slice covers never uses them.
    """
    stack = rendered.stack
    moved = np.empty_like(stack)
    for z, m in enumerate(matrices):
        inverse = np.linalg.inv(np.vstack([m, [0, 0, 1]]))  # slice pixel -> truth pixel
        moved[z] = _resample(stack[z], inverse[:2])
    return RenderedStack(
        moved, rendered.truth, rendered.true_index, rendered.focus, rendered.depth, matrices
    )


def _resample(image: np.ndarray, m: np.ndarray) -> np.ndarray:
    """out[p] = image[m(p)] (bilinear, mirrored borders); ``m`` maps (x, y) pixel coordinates."""
    # ndimage works in (row, col) order: swap the axes of the matrix
    rc = np.array([[m[1, 1], m[1, 0]], [m[0, 1], m[0, 0]]])
    offset = np.array([m[1, 2], m[0, 2]])
    if image.ndim == 2:
        return ndimage.affine_transform(image, rc, offset, order=1, mode="mirror")
    return np.stack(
        [ndimage.affine_transform(image[..., c], rc, offset, order=1, mode="mirror") for c in range(image.shape[-1])],
        axis=-1,
    )


def motorcycle_scene() -> tuple[np.ndarray, np.ndarray]:
    """Real RGB image (500x741) and disparity shipped with scikit-image (Middlebury 2014)."""
    from skimage import data

    left, _, disparity = data.stereo_motorcycle()
    return left, fill_unknown(disparity)


def demo_stack(n_slices: int = 6, noise: float = 0.005, seed: int = 0) -> RenderedStack:
    """The embedded default: the motorcycle scene rendered as a 6-slice focal stack."""
    image, disparity = motorcycle_scene()
    return render_focal_stack(image, disparity, n_slices=n_slices, noise=noise, seed=seed)
