"""Time-lapse layers (T, Z, Y, X[, C]): opening them, fusing every time point, showing frames.

No Qt here. A time-lapse layer is an Image layer with four axes besides colour: time, z, y, x.
Its results are 2-D + t, given to napari as (T, 1, Y, X[, C]): napari lines a layer's axes up
with the viewer's from the right, so a (T, Y, X) layer would follow the stack's z slider
instead of its time slider. The one plane is scaled to span the stack's whole z range, so
every z position shows the current time point's frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .jobs import FuseJob

if TYPE_CHECKING:
    import napari
    from napari.layers import Image, Layer

    from ..core.timelapse import TimelapseResult

LayerData = tuple[Any, dict, str]


def is_timelapse_layer(layer: Any) -> bool:
    """A 4-D Image layer: (T, Z, Y, X) grey or (T, Z, Y, X, RGB), time first as napari orders
    a time-lapse. This plugin's reader opens multi-channel stacks as one 3-D layer per channel,
    so a 4-D layer from it is always a time-lapse; a (Z, C, Y, X) array opened otherwise would
    be taken for one (the status line then says "N time points of C slices")."""
    from napari.layers import Image

    return isinstance(layer, Image) and layer.ndim == 4 and not layer.multiscale


def refuse_preview(layer: Any) -> None:
    """Preview fuses a region of one focal stack; a time-lapse has one per time point."""
    from ..core.errors import FocalFuseError

    if is_timelapse_layer(layer):
        raise FocalFuseError(
            f"{layer.name} is a time-lapse; Preview region works on one focal stack, so fuse "
            "the whole time-lapse, or one time point saved as its own layer."
        )


def read_timelapse_layers(path: Path) -> list[LayerData]:
    """A time-lapse file as a lazy (T, Z, Y, X[, C]) layer, or one layer per channel (TCZYX).

    Scale (t, z, y, x): 1 per time point, then the z-step and pixel size in µm as for a stack.
    """
    from ..io.timelapse import channel_count, read_timelapse
    from .reader import layer_kwargs

    n = channel_count(path)
    layers = []
    for channel in range(n) if n > 1 else [None]:
        timelapse, meta = read_timelapse(path, channel=channel)
        first = timelapse[0]
        np.asarray(first[0]), np.asarray(timelapse[-1][-1])  # a truncated file fails now
        kwargs = layer_kwargs(first, meta)
        kwargs["scale"] = (1.0, *kwargs["scale"])
        if channel is not None:
            kwargs["name"] = f"{kwargs['name']} channel {channel}"
            kwargs["metadata"]["focalfuse"]["channel"] = channel
        layers.append((timelapse.to_dask(), kwargs, "image"))
    return layers


class TimelapseJob(FuseJob):
    """:func:`napari_focalfuse.core.timelapse.fuse_timelapse` over a (T, Z, Y, X[, C]) layer's
    data, collected into (T, Y, X[, C]) frames; captured on the GUI thread like a FuseJob."""

    def _fuse(
        self,
        progress: Callable[[int, int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Any:
        from ..core.timelapse import TimelapseResult, fuse_timelapse

        frames = fuse_timelapse(
            self.stack, progress=progress, should_stop=should_stop, **self.options
        )
        return TimelapseResult.collect(frames, int(self.stack.shape[0]))


def timelapse_job(layer: Image, options: dict[str, Any], scale: int | str) -> TimelapseJob:
    """The widget's options for one stack, made fit for a time-lapse: frames keep the input's
    size, and the feature scale chosen ("auto" resolved per time point from Y and X)."""
    options = {key: value for key, value in options.items() if key != "keep_size"}
    options["scale"] = scale
    return TimelapseJob(layer.data, options)


@dataclass
class _Frames:
    """A TimelapseResult seen as napari layers: (T, 1, Y, X[, C]) views, nothing copied."""

    fused: Any
    mask: Any
    height: Any
    method: str
    z_step: float | None


def show_timelapse_result(
    viewer: napari.Viewer, stack_layer: Image, result: TimelapseResult
) -> tuple[dict[str, Layer], str]:
    """'<stack> fused', '<stack> decision map' (and '<stack> height') as 2-D + t layers on the
    time-lapse, updated in place on a re-run; returns them and a status sentence."""
    from .layers import show_result

    n_time, n_slices = (int(k) for k in stack_layer.data.shape[:2])
    st, sz, sy, sx = (float(v) for v in stack_layer.scale)
    tt, tz, ty, tx = (float(v) for v in stack_layer.translate)
    place = {  # one plane as thick as the stack, centred on it
        "scale": (st, n_slices * sz, sy, sx),
        "translate": (tt, tz + (n_slices - 1) * sz / 2, ty, tx),
    }
    frames = _Frames(
        result.fused[:, None], result.mask[:, None], result.height[:, None], result.method,
        result.z_step,
    )  # fmt: skip
    layers = show_result(viewer, stack_layer, frames, n_slices, place=place)
    z = f"z-step {result.z_step:g} µm" if result.z_step else "z-step unknown: no height map"
    missed = f", {len(result.warnings)} slices not" if result.warnings else ""
    status = (
        f"Done ({result.method}): {n_time} time points of {n_slices} slices (aligned at "
        f"{result.aligned}{missed}); {z}."
    )
    return layers, status
