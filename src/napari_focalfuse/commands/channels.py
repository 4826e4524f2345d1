"""``fuse --decide-on C``: options that cannot go with it, and how its fused image is written.

With ``--decide-on`` every channel of a multi-channel file is read, the map is made on channel
C and all channels are fused from it (``fuse(decide_on=C)``); the fused channels are written
as one ImageJ multi-channel TIFF, which Fiji and this plugin's napari reader open as channels.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import FocalFuseError


def check_decide_on(args: argparse.Namespace) -> None:
    """Refuse, before anything is read, what ``--decide-on`` cannot be combined with."""
    if args.decide_on is None:
        return
    if args.channel is not None:
        raise FocalFuseError(
            "--decide-on fuses every channel by the map of channel C; drop --channel."
        )
    if args.aligned_stack is not None:
        raise FocalFuseError(
            "--aligned-stack cannot be written with --decide-on; drop one of them."
        )
    if not args.batch and Path(args.output).suffix.lower() == ".png":
        raise FocalFuseError(
            "--decide-on writes all channels as one multi-channel TIFF; name the output .tif."
        )


def check_channel(stack: Any, decide_on: int | None, meta: dict) -> None:
    """Say, before any fusing, when the input has no channel ``decide_on``."""
    if decide_on is None:
        return
    paths = meta.get("paths") or []
    name = Path(paths[0]).name if len(paths) == 1 else meta.get("name", "The stack")
    shape = tuple(stack.shape)
    if len(shape) != 4:
        raise FocalFuseError(
            f"{name} has a single channel; --decide-on needs a multi-channel file (CZYX, ZCYX)."
        )
    if not -shape[3] <= decide_on < shape[3]:  # negative counts from the last, as --channel
        raise FocalFuseError(
            f"{name} has {shape[3]} channels (0-{shape[3] - 1}); --decide-on {decide_on} is "
            "out of range."
        )


def fused_writer(target: str | Path, fused: np.ndarray, decide_on: int | None, **physical: Any):
    """The fused image's writer: all channels as a multi-channel TIFF with ``--decide-on``."""
    from ..io.write import channels_writer, image_writer

    if decide_on is None:
        return image_writer(target, fused, **physical)
    return channels_writer(fused, **physical)
