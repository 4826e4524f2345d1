"""Turning a file's named axes (TCZYX, QYXS, ...) into a (Z, Y, X[, C]) focal stack.

The plan says which axes are fixed to one index (time point, channel), which axis is the stack
(Z) and which is colour, so the same plan serves a memory map (numpy views, nothing read) and a
page-by-page reader of compressed files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import FocalFuseError

# how to choose one, in both the command line's and Python's words
CHOOSE = {
    "T": "(--time T, or time= in Python)",
    "C": "(--channel C, or channel= in Python)",
}


@dataclass(frozen=True)
class AxisPlan:
    shape: tuple[int, ...]
    select: dict[int, int]  # axis position -> the one index kept
    z: int  # position of the stack axis
    y: int
    x: int
    colour: int | None  # position of the colour axis kept last, if any

    @property
    def out_shape(self) -> tuple[int, ...]:
        dims = [self.z, self.y, self.x] + ([self.colour] if self.colour is not None else [])
        return tuple(self.shape[i] for i in dims)

    def apply(self, array, first: int = 0):
        """Index and transpose ``array`` whose axes are positions ``first..`` of the plan.

        Numpy views stay views, so a memory map stays unread.
        """
        positions = range(first, first + np.ndim(array))
        index = tuple(self.select.get(i, slice(None)) for i in positions)
        kept = [i for i in positions if i not in self.select]
        order = [p for p in (self.z, self.y, self.x, self.colour) if p is not None and p in kept]
        view = array[index]
        return np.transpose(view, [kept.index(p) for p in order])


def _pick(name: str, shape: tuple[int, ...], pos: int, value: int, what: str) -> int:
    n = shape[pos]
    if not -n <= value < n:
        raise FocalFuseError(f"{name} has {n} {what}s (0-{n - 1}); {what} {value} is out of range.")
    return value % n


def plan_axes(
    axes: str,
    shape: tuple[int, ...],
    name: str,
    *,
    channel: int | None = None,
    time: int | None = None,
    rgb_planar: bool = False,
    all_channels: bool = False,
) -> AxisPlan:
    """Work out how ``axes``/``shape`` become (Z, Y, X[, C]); raise one clear error otherwise.

    ``rgb_planar`` says samples stored before Y/X are real RGB planes (photometric RGB) rather
    than channels-first data. ``all_channels`` keeps every channel (a C axis, or samples stored
    anywhere, in any number) as the last axis instead of asking for one.
    """
    axes = axes.upper()
    shape = tuple(int(n) for n in shape)
    if "Y" not in axes or "X" not in axes:
        raise FocalFuseError(f"{name} has axes {axes} without Y and X; it is not an image.")
    y, x = axes.index("Y"), axes.index("X")
    select: dict[int, int] = {}

    colour = axes.index("S") if "S" in axes else None
    if all_channels:
        colour = _all_channels_axis(axes, shape, name, channel, colour)
    elif colour is not None and colour < y and not rgb_planar and channel is None:
        raise FocalFuseError(
            f"{name} stores {shape[colour]} channels before Y and X (axes {axes}), which looks "
            "channels-first; save it as (Z, Y, X, C) or choose a channel " + CHOOSE["C"] + "."
        )
    if "T" in axes and time is not None:
        t = axes.index("T")
        select[t] = _pick(name, shape, t, time, "time point")
    if "C" in axes and channel is not None:
        c = axes.index("C")
        select[axes.index("C")] = _pick(name, shape, c, channel, "channel")
    elif colour is not None and channel is not None:
        select[colour] = _pick(name, shape, colour, channel, "channel")
        colour = None
    elif channel is not None:
        raise FocalFuseError(f"{name} has a single channel (axes {axes}); leave channel unset.")
    if time is not None and "T" not in axes:
        raise FocalFuseError(f"{name} has no time axis (axes {axes}); leave time unset.")

    rest = [i for i in range(len(axes)) if i not in select and i not in (y, x, colour)]
    select.update({i: 0 for i in rest if shape[i] == 1})
    rest = [i for i in rest if shape[i] > 1]
    needs = [axes[i] for i in rest if axes[i] in "TC"]
    stackable = [i for i in rest if axes[i] not in "TC"]
    if not stackable and needs == ["T"]:  # a focus sweep saved as frames (TYX): time is z
        stackable, needs = [axes.index("T")], []
    if not stackable:
        if needs == ["C"] and shape[axes.index("C")] in (3, 4) and "S" not in axes:
            raise FocalFuseError(
                f"{name} is a single {shape[axes.index('C')]}-channel image (axes {axes}), "
                "not a focal stack; give a multi-page file or several images."
            )
        if not needs:
            kind = "image"
            if colour is not None:
                rgb = axes[colour] == "S" and shape[colour] in (3, 4)
                kind = "RGB image" if rgb else "multi-channel image"
            raise FocalFuseError(
                f"{name} is a single {kind} (axes {axes}); a focal stack needs several slices."
            )
    if needs:
        wanted = {"T": f"a time point {CHOOSE['T']}", "C": f"a channel {CHOOSE['C']}"}
        choose = " and ".join(wanted[a] for a in "TC" if a in needs)
        raise FocalFuseError(f"{name} has axes {axes}; choose {choose} to get one focal stack.")
    # a named Z wins; otherwise the one remaining axis (tifffile's generic Q/I/E page axis)
    z = axes.index("Z") if "Z" in axes and axes.index("Z") in stackable else stackable[0]
    others = [i for i in stackable if i != z]
    if others:
        extra = others[-1]
        if colour is None and shape[extra] in (1, 3, 4) and extra < y:
            raise FocalFuseError(
                f"{name} has shape {shape} (axes {axes}), which looks channels-first; "
                "save it as (Z, Y, X, C) with colour last."
            )
        raise FocalFuseError(
            f"{name} has axes {axes} with shape {shape}; only one of them can be the focal "
            "(Z) axis, so reduce it to (Z, Y, X[, C]) first."
        )
    if colour is not None and shape[colour] not in (3, 4):
        if shape[colour] == 1:
            select[colour] = 0
            colour = None
        elif not all_channels:  # any number of channels is kept when all are asked for
            raise FocalFuseError(
                f"{name} has {shape[colour]} samples per pixel; only grey, RGB and RGBA are "
                "supported (choose one: " + CHOOSE["C"][1:] + "."
            )
    return AxisPlan(shape, select, z, y, x, colour)


def _all_channels_axis(
    axes: str, shape: tuple[int, ...], name: str, channel: int | None, colour: int | None
) -> int | None:
    """The axis kept last when every channel is wanted: C, else the samples, if any."""
    if channel is not None:
        raise FocalFuseError(f"{name}: choose one channel or all channels, not both.")
    if "C" in axes and colour is not None and shape[colour] > 1 and shape[axes.index("C")] > 1:
        raise FocalFuseError(
            f"{name} has both channels and colour samples (axes {axes}); choose a channel."
        )
    if "C" in axes and (colour is None or shape[colour] == 1):
        return axes.index("C")
    return colour
