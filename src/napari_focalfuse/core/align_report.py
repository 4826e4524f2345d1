"""Words for what alignment did, and the user-facing align choices, shared by the CLI and napari.

No torch, no Qt: the command line and the fuse widget both turn a choice ("auto", "on", "off")
into :func:`napari_focalfuse.fuse`'s ``align`` argument and a :class:`FusionResult`'s alignment
into one line for people.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .align import AlignedStack, Alignment

ALIGN_CHOICES = ("auto", "on", "off")
_MODES: dict[str, bool | str] = {"auto": "auto", "on": True, "off": False}


def align_mode(choice: str) -> bool | str:
    """``fuse``'s ``align`` value for a user's choice: "auto" -> "auto", "on" -> True, "off" -> False."""
    from .errors import FocalFuseError

    if choice not in _MODES:
        raise FocalFuseError(f"Unknown align choice '{choice}'; use one of {', '.join(ALIGN_CHOICES)}.")
    return _MODES[choice]


def describe_alignment(
    alignment: Alignment | None, mode: bool | str, slice_shape: tuple[int, ...]
) -> str:
    """One sentence: what alignment found, and the output geometry it gave.

    ``mode`` is the ``align`` value fuse was called with, ``slice_shape`` (Y, X, ...) the input's.
    """
    from .align import MIN_SIDE

    if mode is False:
        return "Alignment off: slices used as they are."
    if alignment is None:
        if min(slice_shape[:2]) < MIN_SIDE:
            return "Slices too small to align: used as they are."
        return "Slices did not move: not aligned."
    y0, x0, h, w = alignment.crop
    if (h, w) == tuple(alignment.shape[:2]):
        where = "full frame kept"
    else:
        where = f"cropped to {w}x{h} px at x {x0}, y {y0}"
    return f"Aligned: {alignment.summary()}; {where}."


def aligned_slices(stack: Any, alignment: Alignment | None) -> AlignedStack:
    """A lazy (Z, Y', X'[, C]) view of the slices in the fused image's geometry: warped and
    cropped as fusion used them, or as they are when they were not aligned."""
    from .align import AlignedStack, Alignment

    if alignment is None:
        alignment = Alignment.identity(int(stack.shape[0]), tuple(stack.shape[1:3]))
    return AlignedStack(stack, alignment)


def crop_offset(alignment: Alignment | None) -> tuple[int, int]:
    """(y0, x0) of the output in the input's pixels: where fused results lie on the stack."""
    if alignment is None:
        return (0, 0)
    return int(alignment.crop[0]), int(alignment.crop[1])


@contextlib.contextmanager
def alignment_warnings_silenced() -> Iterator[None]:
    """Keep :class:`AlignmentWarning` from being printed, for callers that report
    ``FusionResult.warnings`` themselves (one line each).

    Warning filters are process-wide: only the main thread changes them (worker threads run
    inside their caller's ``with``, or under their own handler, e.g. napari's workers).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from .fusion import AlignmentWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlignmentWarning)
        yield
