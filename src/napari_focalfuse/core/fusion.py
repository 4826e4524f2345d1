"""Whole-stack focal fusion, streaming over the slices.

Pass one reads each slice once, measures its activity (the deep feature gradient, or the
Laplacian baseline) and keeps three running single-slice maps: the best activity so far, its
slice index (the decision map) and the pixels of that sharpest slice. With ``soften``, pass two
(no network) blends the slices that agree with those sharpest pixels within the sensor noise
(see blending.py). Memory is a handful of slice-sized maps whatever the number of slices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .blending import agreement_blend, noise_sigma
from .decision import verify_consistency
from .errors import Cancelled, FocalFuseError
from .luminance import LuminanceScaler
from .slices import DEFAULT_BUDGET, SliceSource
from .stack import as_stack

METHODS = ("deep", "laplacian")

# progress(done, total): (0, total) first, then after every step; total never changes
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


def _check_options(method: str, window: int, scale: int) -> None:
    if method not in METHODS:
        raise FocalFuseError(f"Unknown method '{method}'; use one of {', '.join(METHODS)}.")
    if window < 0 or scale < 1:
        raise FocalFuseError("window must be >= 0 and scale >= 1.")


def auto_scale(height: int, width: int, target_pixels: int = 150_000) -> int:
    """Down-sampling (a power of two) that leaves the features ~``target_pixels`` or more."""
    scale = 1
    while height * width / (2 * scale) ** 2 >= target_pixels:
        scale *= 2
    return scale


def _cast_like(values: Any, dtype: np.dtype) -> np.ndarray:
    """Float tensor back to a numpy array of the input's dtype, rounded and clipped in place."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        values = values.round_().clamp_(info.min, info.max)
    return values.cpu().numpy().astype(dtype, copy=False)


def _check_finite(slice_: np.ndarray, z: int) -> None:
    if np.issubdtype(slice_.dtype, np.floating) and not np.isfinite(slice_).all():
        raise FocalFuseError(
            f"Slice {z} contains NaN or infinite values; replace them before fusing."
        )


def _gather(read: Callable[[int], np.ndarray], mask: np.ndarray, out: np.ndarray) -> None:
    """out[p] = slice mask[p] at p, reading one slice at a time."""
    for z in np.unique(mask):
        sel = mask == z
        out[sel] = read(int(z))[sel]


def fuse(
    stack: Any,
    method: str = "deep",
    weights: Any = None,
    *,
    window: int | None = None,
    scale: int | str = "auto",
    consistency: bool | None = None,
    soften: bool | None = None,
    z_step: float | None = None,
    z_unit: str = "µm",
    device: str = "auto",
    precision: str = "auto",
    progress: FuseProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FusionResult:
    """Fuse a focal stack (Z, Y, X) or (Z, Y, X, C) into one all-in-focus image.

    ``window``, ``consistency`` and ``soften`` left at None take the method's own defaults:
    the deep method windows (radius 5), verifies and blends; "laplacian" is the paper's
    baseline as published (pixel-wise |Laplacian| argmax, none of the three).
    ``weights`` (deep method only) is ``None`` for the shipped model, a weights file, a model,
    or a :class:`~napari_focalfuse.core.training.TunedModel`. ``scale`` down-samples slices
    before measuring activity ("auto" keeps ~0.15 MP per slice, so big frames stay fast).
    With ``soften=False`` every fused pixel is exactly that pixel of the slice the map names.
    ``precision`` "auto" runs the network in bfloat16 where the hardware supports it natively,
    "float32" always in full precision.
    """
    import torch

    from .activity import FeatureExtractor, fast_dtype, slice_activity
    from .device import pick_device

    stack = as_stack(stack)
    n, h, w = stack.shape[:3]
    deep_defaults = method == "deep"
    window = (5 if deep_defaults else 0) if window is None else window
    consistency = deep_defaults if consistency is None else consistency
    soften = deep_defaults if soften is None else soften
    scale = auto_scale(h, w) if scale == "auto" else int(scale)
    _check_options(method, window, scale)
    dtype = np.dtype(stack.dtype)
    total = 2 * n if soften else n
    if progress is not None:
        progress(0, total)  # before any slice is read: progress bars never re-scale

    encoder = None
    if method == "deep":
        from .weights import resolve_model

        dev = pick_device(device)
        encoder = resolve_model(weights).encoder
    else:
        dev = pick_device("cpu" if device == "auto" else device)

    if precision not in ("auto", "float32", "bfloat16"):
        raise FocalFuseError(f"Unknown precision '{precision}'; use auto, float32 or bfloat16.")
    net_dtype = {"auto": fast_dtype(dev), "float32": torch.float32, "bfloat16": torch.bfloat16}[precision]
    if encoder is not None:  # weights are copied (cast): the caller's model is left untouched
        encoder = FeatureExtractor(encoder, net_dtype, dev)

    source = SliceSource(stack, budget=DEFAULT_BUDGET if soften else 0)  # keep for pass two
    picks = LuminanceScaler.sample_slices(n)
    following = dict(zip(picks, picks[1:] + [0]))  # read the next one while this one is used
    scaler = LuminanceScaler.fit(stack, read=lambda z: source.get(z, ahead=following[z]))
    best = torch.full((h, w), -torch.inf, device=dev)
    mask = torch.zeros((h, w), dtype=torch.int16 if n < 32768 else torch.int32, device=dev)
    reference = None  # the sharpest slice's pixels so far, what pass two compares against
    sigma = np.inf  # sensor noise, from the blurriest (least textured) slice

    def read(z: int, check: bool = False) -> torch.Tensor:
        if should_stop is not None and should_stop():
            raise Cancelled("fusion cancelled")
        sl = source.get(z, ahead=z + 1)
        if check:  # pass one; pass two reads the same slices again
            if sl.shape != stack.shape[1:]:
                raise FocalFuseError(f"Slice {z} has shape {sl.shape}, expected {stack.shape[1:]}.")
            _check_finite(sl, z)
        return torch.from_numpy(_native(sl)).to(dev).float()

    with source, torch.inference_mode():
        for z in range(n):
            values = read(z, check=True)
            grey = scaler.torch(values)
            act = slice_activity(grey, method, encoder, window, scale, dev)
            better = act > best
            best = torch.maximum(best, act)
            mask.masked_fill_(better, z)
            if soften:
                sigma = min(sigma, noise_sigma(grey))
                if reference is None:
                    reference = values.clone()
                else:
                    reference[better] = values[better]
            if progress is not None:
                progress(z + 1, total)
        if soften:
            blended = agreement_blend(
                read, n, reference, scaler.torch, sigma,
                on_slice=None if progress is None else lambda z: progress(n + z + 1, total),
            )  # fmt: skip
            del reference
            fused = _cast_like(blended, dtype)
        mask = mask.cpu().numpy()
        if consistency:
            mask = verify_consistency(mask, scale=scale).astype(mask.dtype, copy=False)
        if not soften:
            fused = np.empty(stack.shape[1:], dtype)
            _gather(source.get, mask, fused)
    return FusionResult(
        fused=fused, mask=mask, method=method, z_step=z_step, z_unit=z_unit if z_step else "slice"
    )


def _native(values: np.ndarray) -> np.ndarray:
    """A slice torch.from_numpy accepts without copying twice or warning: native byte order,
    contiguous, writable (torch warns on read-only memory maps), uint16/float64 as float32."""
    if values.dtype == np.uint16 or values.dtype == np.float64 or not values.dtype.isnative:
        return values.astype(np.float32)
    return np.require(values, requirements=["C", "W"])
