"""napari reader: multi-page (OME-)TIFF, a folder of images, or several images as one z-stack.

The layer gets z first, the z-step and pixel size as its scale (z, y, x), and ``rgb=True`` for
colour stacks. Anything else returns None so napari asks its other readers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .probe import PathOrPaths, stack_paths, tiff_channel_image

LayerData = tuple[Any, dict, str]


def get_reader(path: PathOrPaths) -> Callable[[PathOrPaths], list[LayerData]] | None:
    """npe2 reader command: a reading function for focal stacks and for multi-channel images
    (as ``fuse --decide-on`` writes them), None for anything else."""
    paths = stack_paths(path)
    if paths is not None:
        return lambda _path: read_focal_stack(paths)
    channels = tiff_channel_image(path)
    if channels is not None:
        return lambda _path: read_channels(channels)
    return None


def _named(message: str, paths: list[Path]) -> str:
    label = paths[0].name if len(paths) == 1 else f"{paths[0].name} (+{len(paths) - 1} files)"
    return message if paths[0].name in message else f"{label}: {message}"


def read_focal_stack(paths: list[Path]) -> list[LayerData]:
    """Read with :func:`napari_focalfuse.read_stack`; broken files raise an error naming them."""
    import numpy as np

    from ..core.errors import FocalFuseError
    from ..io.read import read_stack

    from ..io.timelapse import time_points

    source = paths[0] if len(paths) == 1 else [str(p) for p in paths]
    try:
        if time_points(source):  # (T, Z, Y, X[, C]): see timelapse.py
            from .timelapse import read_timelapse_layers

            return read_timelapse_layers(paths[0])
        stack, meta = read_stack(source, all_channels=True)
        # touch the first and last slice: a truncated file fails here, not later while drawing
        np.asarray(stack[0]), np.asarray(stack[-1])
    except FocalFuseError as exc:
        raise FocalFuseError(_named(str(exc), paths)) from None
    except (OSError, ValueError) as exc:
        raise FocalFuseError(
            _named(f"could not read the stack ({type(exc).__name__}: {exc}).", paths)
        ) from None
    if meta.get("channels"):
        return channel_layers(stack, meta)
    return [(stack, layer_kwargs(stack, meta), "image")]


def channel_layers(stack: Any, meta: dict) -> list[LayerData]:
    """A multi-channel stack (Z, Y, X, C) as one (Z, Y, X) layer per channel, "<name> channel c",
    each with the stack's scale and metadata; napari colours them (magenta, green, ...).

    A memory map is split into views; other stacks go through dask, one slice read when shown.
    """
    import numpy as np

    data = stack if isinstance(stack, np.ndarray) else _slice_by_slice(stack)
    kwargs = layer_kwargs(stack, meta)
    n = int(stack.shape[-1])
    kwargs.update(
        channel_axis=-1,
        rgb=False,
        name=[f"{kwargs['name']} channel {c}" for c in range(n)],
        metadata=[
            {"focalfuse": {**kwargs["metadata"]["focalfuse"], "axes": "ZYX", "channel": c}}
            for c in range(n)
        ],
    )
    return [(data, kwargs, "image")]


def _slice_by_slice(stack: Any) -> Any:
    """A dask array reading ``stack[z]`` only when slice z is shown."""
    import dask
    import dask.array as da

    read = dask.delayed(stack.__getitem__, pure=False)
    shape = tuple(int(k) for k in stack.shape[1:])
    return da.stack([da.from_delayed(read(z), shape, stack.dtype) for z in range(len(stack))])


def read_channels(path: Path) -> list[LayerData]:
    """One image layer per channel (napari's ``channel_axis``), with the file's pixel size."""
    from ..io.channel_image import read_channel_image

    data, meta = read_channel_image(path)
    py, px = meta["pixel_size"] or (1.0, 1.0)
    kwargs = {
        "channel_axis": 0,
        "name": [f"{meta['name']} channel {c}" for c in range(len(data))],
        "scale": (float(py), float(px)),
    }
    return [(data, kwargs, "image")]


def layer_kwargs(stack: Any, meta: dict) -> dict:
    """Layer name, (z, y, x) scale from the z-step and pixel size (µm), rgb flag and metadata.

    The z-step also goes into ``metadata["focalfuse"]``: that, not the scale, is what tells the
    fuse widget it is known (a scale of 1 is napari's default, and also a real 1 µm step).
    """
    shape = tuple(stack.shape)
    z = meta.get("z_step") or 1.0
    py, px = meta.get("pixel_size") or (1.0, 1.0)
    keep = ("name", "axes", "z_step", "z_unit", "pixel_size")
    return {
        "name": meta.get("name") or "focal stack",
        "scale": (float(z), float(py), float(px)),
        "rgb": len(shape) == 4 and shape[-1] in (3, 4),
        "metadata": {"focalfuse": {k: meta.get(k) for k in keep}},
    }
