"""``fuse(..., decide_on=c)``: decide (and align) on one channel, pick every channel by that map.

A brightfield or reflected-light channel shows the specimen's structure in every slice; a
fluorescence channel of the same field is mostly dark, so its own decision would follow noise.
The map and the alignment are made on channel ``c`` alone, as a grey stack, and every channel
is then taken from exactly the slice the map names (core/apply_map.py), so all channels stay
registered and keep their values (no blending across slices).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import FocalFuseError

if TYPE_CHECKING:
    from .fusion import FusionResult


class ChannelView:
    """(Z, Y, X) view of one channel of a (Z, Y, X, C) array-like: ``[z]`` reads slice z only."""

    def __init__(self, stack: Any, channel: int) -> None:
        self.stack = stack
        self.channel = channel
        self.shape = tuple(int(k) for k in stack.shape[:3])
        self.dtype = np.dtype(stack.dtype)
        self.ndim = 3

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, z: int) -> np.ndarray:
        if not isinstance(z, (int, np.integer)):
            raise TypeError("a ChannelView is read one slice at a time: view[z]")
        return np.asarray(self.stack[int(z)])[..., self.channel]


def channel_of(stack: Any, channel: int) -> Any:
    """Channel ``channel`` of a (Z, Y, X, C) stack as a (Z, Y, X) stack, read lazily.

    A numpy array (a memory map too) gives a view, so nothing is read and the map's pages are
    still released as slices are used (core/slices.py); other array-likes are wrapped.
    """
    if isinstance(stack, np.ndarray):
        return stack[..., channel]
    return ChannelView(stack, channel)


def check_decide_on(stack: Any, decide_on: int) -> int:
    """The channel index (negative counts from the end), or one sentence on why it cannot be."""
    shape = tuple(int(k) for k in getattr(stack, "shape", np.shape(stack)))
    if isinstance(decide_on, bool) or not isinstance(decide_on, (int, np.integer)):
        raise FocalFuseError(f"decide_on must be a channel index (an integer), not {decide_on!r}.")
    if len(shape) != 4:
        raise FocalFuseError(
            f"decide_on needs a stack with channels last (Z, Y, X, C); this one has shape {shape}."
        )
    c = shape[3]
    if not -c <= decide_on < c:
        raise FocalFuseError(
            f"The stack has {c} channels (0-{c - 1}); decide_on={decide_on} is out of range."
        )
    return int(decide_on) % c


def fuse_on_channel(stack: Any, decide_on: int, **options: Any) -> FusionResult:
    """:func:`~napari_focalfuse.core.fusion.fuse` deciding on one channel; ``options`` are its
    other arguments. The result's ``fused`` has every channel (Y, X, C) in the stack's dtype;
    map, surface, alignment and crop are the deciding channel's."""
    from .apply_map import apply_map
    from .fusion import fuse

    if isinstance(stack, (list, tuple)):
        stack = np.stack([np.asarray(s) for s in stack])
    if not hasattr(stack, "shape") or not hasattr(stack, "dtype"):
        stack = np.asarray(stack)
    channel = check_decide_on(stack, decide_on)
    if options.get("soften"):
        raise FocalFuseError(
            "With decide_on every channel is taken from exactly the slice the map names; "
            "leave soften unset."
        )
    progress = options.pop("progress", None)
    n = int(stack.shape[0])
    totals: list[int] = []

    def deciding(done: int, total: int) -> None:  # the deciding pass, then n picking steps
        if not totals:
            totals.append(total + n)
        progress(done, totals[0])

    def picking(done: int, _total: int) -> None:
        if done:  # apply_map's (0, n) start is no step
            progress(totals[0] - n + done, totals[0])

    options["soften"] = False  # its map is the same; only the picks are needed, not a blend
    result = fuse(
        channel_of(stack, channel), progress=deciding if progress else None, **options
    )
    fused = apply_map(
        stack, result, progress=picking if progress else None,
        should_stop=options.get("should_stop"),
    )  # fmt: skip
    return replace(result, fused=fused)
