"""Whole-stack focal fusion in one streaming pass over the slices.

Each slice is read once, its activity computed (deep feature gradient or Laplacian), and three
running maps are updated: the best activity so far, its slice index (the decision map), and —
when seams are softened — a running, re-normalised weighted sum of the slices. Memory is
therefore a handful of single-slice maps whatever the number of slices.

Soft weights are ``activity ** sharpness`` normalised over slices (an online softmax of the
log-activity): where one slice is clearly sharpest it dominates and the result is that slice's
pixel; where several are equally sharp (flat areas, between two focal planes) they are
averaged, which also averages their sensor noise — the only way to beat picking pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .decision import verify_consistency
from .errors import Cancelled, FocalFuseError
from .luminance import LuminanceScaler
from .stack import as_stack, read_slice

METHODS = ("deep", "laplacian")

# progress(done, total) after every slice
FuseProgress = Callable[[int, int], None]


@dataclass
class FusionResult:
    """Fused image, decision map and what is needed to turn the map into heights."""

    fused: np.ndarray  # (Y, X[, C]) in the stack's dtype
    mask: np.ndarray  # (Y, X) integer slice index
    method: str
    z_step: float | None = None
    z_unit: str = "slice"

    @property
    def height(self) -> np.ndarray:
        """Height map: slice index times the z-step (in slices when the z-step is unknown)."""
        return self.mask.astype(np.float32) * np.float32(self.z_step or 1.0)


@dataclass(frozen=True)
class FuseOptions:
    """The knobs of :func:`fuse` that change the result."""

    method: str = "deep"
    window: int = 5  # radius, full-resolution px, of the activity window
    scale: int = 1  # activity computed on slices down-sampled this many times
    consistency: bool = True
    soften: bool = True
    sharpness: float = 8.0  # exponent of the soft weights; higher = closer to a hard pick

    def check(self) -> None:
        if self.method not in METHODS:
            raise FocalFuseError(f"Unknown method '{self.method}'; use one of {', '.join(METHODS)}.")
        if self.window < 0 or self.scale < 1 or self.sharpness <= 0:
            raise FocalFuseError("window must be >= 0, scale >= 1 and sharpness > 0.")


class _SoftAccumulator:
    """Online normalised sum of slices weighted by exp(log-weight), stable for any count."""

    def __init__(self, shape: tuple[int, ...]):
        self.m = None
        self.s = None
        self.num = np.zeros(shape, np.float32)

    def add(self, logw: np.ndarray, slice_: np.ndarray) -> None:
        if self.m is None:
            self.m = logw.copy()
            self.s = np.ones_like(logw)
            self.num += slice_
            return
        m_new = np.maximum(self.m, logw)
        old = np.exp(self.m - m_new)
        new = np.exp(logw - m_new)
        self.s = self.s * old + new
        if slice_.ndim == 3:
            old, new = old[..., None], new[..., None]
        self.num *= old
        self.num += new * slice_
        self.m = m_new

    def result(self) -> np.ndarray:
        s = self.s[..., None] if self.num.ndim == 3 else self.s
        return self.num / s


def _cast_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float result back to the input's dtype, rounded and clipped for integers."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def _check_finite(slice_: np.ndarray, z: int) -> None:
    if np.issubdtype(slice_.dtype, np.floating) and not np.isfinite(slice_).all():
        raise FocalFuseError(
            f"Slice {z} contains NaN or infinite values; replace them before fusing."
        )


def _gather(stack: Any, mask: np.ndarray, out: np.ndarray, where: np.ndarray | None = None) -> None:
    """out[p] = stack[mask[p]][p] for the pixels in ``where`` (all when None), one slice at a time."""
    names = mask if where is None else np.where(where, mask, -1)
    for z in np.unique(names):
        if z < 0:
            continue
        sel = names == z
        out[sel] = read_slice(stack, int(z))[sel]


def fuse(
    stack: Any,
    method: str = "deep",
    weights: Any = None,
    *,
    window: int = 5,
    scale: int = 1,
    consistency: bool = True,
    soften: bool = True,
    sharpness: float = 8.0,
    z_step: float | None = None,
    z_unit: str = "µm",
    device: str = "auto",
    progress: FuseProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FusionResult:
    """Fuse a focal stack (Z, Y, X) or (Z, Y, X, C) into one all-in-focus image.

    ``weights`` (deep method only) is ``None`` for the shipped model, a weights file, a model,
    or a :class:`~napari_focalfuse.core.training.TunedModel`. With ``soften=False`` every fused
    pixel is exactly that pixel of the slice the decision map names.
    """
    options = FuseOptions(method, window, scale, consistency, soften, sharpness)
    options.check()
    stack = as_stack(stack)
    n, h, w = stack.shape[:3]
    dtype = np.dtype(stack.dtype)

    encoder = None
    torch_device = None
    if method == "deep":
        from .device import pick_device
        from .weights import resolve_model

        torch_device = pick_device(device)
        encoder = resolve_model(weights).encoder.to(torch_device).eval()
    else:
        from .device import pick_device

        torch_device = pick_device("cpu" if device == "auto" else device)

    from .activity import slice_activity

    scaler = LuminanceScaler.fit(stack)
    best = np.full((h, w), -np.inf, np.float32)
    mask = np.zeros((h, w), np.int16 if n < 32768 else np.int32)
    acc = _SoftAccumulator(stack.shape[1:]) if soften else None
    # activity floor: below it a slice counts as featureless, so flat areas blend evenly
    floor = None
    for z in range(n):
        if should_stop is not None and should_stop():
            raise Cancelled("fusion cancelled")
        sl = read_slice(stack, z)
        if sl.shape != stack.shape[1:]:
            raise FocalFuseError(f"Slice {z} has shape {sl.shape}, expected {stack.shape[1:]}.")
        _check_finite(sl, z)
        act = slice_activity(scaler(sl), method, encoder, window, scale, torch_device)
        better = act > best
        best[better] = act[better]
        mask[better] = z
        if acc is not None:
            if floor is None:
                floor = np.float32(max(float(np.median(act)) * 1e-3, 1e-12))
            acc.add(sharpness * np.log(act + floor), sl.astype(np.float32, copy=False))
        if progress is not None:
            progress(z + 1, n)

    raw = mask
    if consistency:
        mask = verify_consistency(mask).astype(raw.dtype, copy=False)

    if acc is not None:
        fused = _cast_like(acc.result(), dtype)
        _gather(stack, mask, fused, where=mask != raw)  # follow the verified map where it moved
    else:
        fused = np.empty(stack.shape[1:], dtype)
        _gather(stack, mask, fused)
    return FusionResult(fused=fused, mask=mask, method=method, z_step=z_step, z_unit=z_unit if z_step else "slice")
