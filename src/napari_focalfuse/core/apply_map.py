"""Fusing a stack with a decision map made elsewhere: every pixel from the slice the map names.

Fluorescence stacks are fused from the map of the channel that shows structure (brightfield,
reflected light): a sparse fluorescent channel has too little texture to decide on, and every
channel picked from one map stays registered with the others. Slices are read one at a time
(only those the map names), so memory does not grow with the number of slices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import Cancelled, FocalFuseError
from .slices import SliceSource
from .stack import check_dtype

if TYPE_CHECKING:
    from .align import Alignment
    from .fusion import FusionResult

MAX_WARP_CHANNELS = 4  # OpenCV's bicubic warp takes at most 4 channels at once


def apply_map(
    stack: Any,
    mask_or_result: np.ndarray | FusionResult,
    *,
    alignment: Alignment | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Fuse ``stack`` (Z, Y, X) or (Z, Y, X, C) with any C by a decision map, in its dtype.

    ``mask_or_result`` is a (Y, X) map of slice indices or a :class:`FusionResult`, whose map
    and alignment are used: each slice is warped as fusion warped it, so the output has the
    result's (possibly cropped) geometry. ``alignment`` goes with a bare map made on aligned
    slices. Every output pixel is exactly that pixel of the (warped) slice the map names.
    ``progress(done, total)`` counts slices ((0, total) first); ``should_stop()`` cancels.
    """
    mask, alignment = _map_and_alignment(mask_or_result, alignment)
    shape = _check_stack(stack)
    n = shape[0]
    _check_map(mask, shape, alignment)
    out = np.empty(mask.shape + shape[3:], np.dtype(stack.dtype))
    used = [int(z) for z in np.unique(mask)]
    following = dict(zip(used, used[1:] + [None]))  # read the next named slice meanwhile
    if progress is not None:
        progress(0, n)
    with SliceSource(stack, budget=0) as source:
        for z in range(n):
            if should_stop is not None and should_stop():
                raise Cancelled("fusion cancelled")
            if z in following:
                values = source.get(z, ahead=following[z])
                if values.shape != shape[1:]:
                    raise FocalFuseError(
                        f"Slice {z} has shape {values.shape}, expected {shape[1:]}."
                    )
                if alignment is not None:
                    values = warp_channels(alignment, values, z)
                picked = mask == z
                out[picked] = values[picked]
            if progress is not None:
                progress(z + 1, n)
    return out


def warp_channels(alignment: Alignment, values: np.ndarray, z: int) -> np.ndarray:
    """``alignment.warp`` for any number of channels (OpenCV warps at most 4 at a time)."""
    if values.ndim < 3 or values.shape[2] <= MAX_WARP_CHANNELS:
        return alignment.warp(values, z)
    parts = [
        alignment.warp(np.ascontiguousarray(values[..., c : c + MAX_WARP_CHANNELS]), z)
        for c in range(0, values.shape[2], MAX_WARP_CHANNELS)
    ]
    return np.concatenate(parts, axis=2)


def _map_and_alignment(
    mask_or_result: Any, alignment: Alignment | None
) -> tuple[np.ndarray, Alignment | None]:
    if hasattr(mask_or_result, "mask") and hasattr(mask_or_result, "alignment"):
        if alignment is not None:
            raise FocalFuseError(
                "A FusionResult brings its own alignment; pass either it or a map with alignment=."
            )
        return np.asarray(mask_or_result.mask), mask_or_result.alignment
    return np.asarray(mask_or_result), alignment


def _check_stack(stack: Any) -> tuple[int, ...]:
    if not hasattr(stack, "shape") or not hasattr(stack, "dtype"):
        raise FocalFuseError(
            f"apply_map needs an array-like stack (Z, Y, X[, C]), not {type(stack).__name__}."
        )
    shape = tuple(int(k) for k in stack.shape)
    if len(shape) not in (3, 4):
        raise FocalFuseError(
            f"The stack has shape {shape}; a decision map applies to (Z, Y, X) or (Z, Y, X, C)."
        )
    check_dtype(stack.dtype)
    return shape


def _check_map(mask: np.ndarray, shape: tuple[int, ...], alignment: Alignment | None) -> None:
    n, h, w = shape[:3]
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise FocalFuseError(
            "The decision map must be a 2-D array of slice indices, not "
            f"{mask.ndim}-D {mask.dtype}."
        )
    if alignment is not None:
        if tuple(alignment.shape) != (h, w) or len(alignment.matrices) != n:
            ah, aw = alignment.shape
            raise FocalFuseError(
                f"The alignment is for {len(alignment.matrices)} slices of {aw}x{ah} px but the "
                f"stack has {n} slices of {w}x{h} px."
            )
        expected = tuple(alignment.out_shape)
    else:
        expected = (h, w)
    if mask.shape != expected:
        raise FocalFuseError(
            f"The decision map is {mask.shape[1]}x{mask.shape[0]} px but the stack's fused "
            f"image would be {expected[1]}x{expected[0]} px; use the map fused from a stack of "
            "the same size."
        )
    if mask.size and (int(mask.min()) < 0 or int(mask.max()) >= n):
        raise FocalFuseError(
            f"The decision map names slices {int(mask.min())}–{int(mask.max())} but the stack "
            f"has {n} slices (0–{n - 1})."
        )
