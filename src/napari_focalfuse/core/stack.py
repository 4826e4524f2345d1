"""Checking what the caller passed as a focal stack, without loading it all into memory."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import FocalFuseError


def check_dtype(dtype: np.dtype, name: str = "The stack") -> np.dtype:
    """Only real-valued integer or float pixels; bool and complex are refused by name."""
    kind = np.dtype(dtype)
    if kind == np.bool_ or not (
        np.issubdtype(kind, np.integer) or np.issubdtype(kind, np.floating)
    ):
        raise FocalFuseError(
            f"{name} has pixel type {kind}, which is not supported; use integer or float images."
        )
    return kind


def as_stack(stack: Any) -> Any:
    """Validate a (Z, Y, X) or (Z, Y, X, C) stack and return it, still lazy if it was lazy.

    numpy arrays, memory maps, dask and zarr arrays pass through untouched (slices are read one
    at a time later); a list of 2-D/3-D arrays is stacked.
    """
    if isinstance(stack, (list, tuple)):
        shapes = {np.shape(s) for s in stack}
        if len(shapes) > 1:
            raise FocalFuseError(f"Slices differ in shape: {sorted(shapes)}.")
        stack = np.stack([np.asarray(s) for s in stack])
    if not hasattr(stack, "shape") or not hasattr(stack, "dtype"):
        stack = np.asarray(stack)
    shape = tuple(int(n) for n in stack.shape)
    if len(shape) == 2:
        raise FocalFuseError(
            "Got a single 2-D image; a focal stack needs several slices (Z, Y, X)."
        )
    if len(shape) == 4 and shape[-1] == 1:
        stack = stack[..., 0]
        shape = shape[:-1]
    if len(shape) == 4 and shape[-1] not in (3, 4):
        if shape[1] in (1, 3, 4):
            raise FocalFuseError(
                f"Stack shape {shape} looks channels-first; pass (Z, Y, X, C) with colour last."
            )
        raise FocalFuseError(
            f"Stack shape {shape} is 4-D without 3 or 4 colour channels last; "
            "pick one channel or time point first (fuse works on (Z, Y, X[, C]))."
        )
    if len(shape) not in (3, 4):
        raise FocalFuseError(
            f"Stack has {len(shape)} dimensions {shape}; expected (Z, Y, X) or (Z, Y, X, C)."
        )
    if shape[0] < 2:
        raise FocalFuseError(f"A focal stack needs at least 2 slices, got {shape[0]}.")
    if min(shape[1:3]) < 8:
        raise FocalFuseError(f"Slices of {shape[1]}x{shape[2]} px are too small to fuse.")
    check_dtype(stack.dtype)
    return stack


def read_slice(stack: Any, z: int) -> np.ndarray:
    """One slice as a numpy array (computes a dask slice, reads a memory-mapped page)."""
    return np.asarray(stack[z])
