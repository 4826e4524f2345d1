"""napari reader: multi-page (OME-)TIFF, a folder of images, or several images as one z-stack.

The layer gets z first, the z-step and pixel size as its scale (z, y, x), and ``rgb=True`` for
colour stacks. Anything else returns None so napari asks its other readers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .probe import PathOrPaths, stack_paths

LayerData = tuple[Any, dict, str]


def get_reader(path: PathOrPaths) -> Callable[[PathOrPaths], list[LayerData]] | None:
    """npe2 reader command: a reading function for focal stacks, None for anything else."""
    paths = stack_paths(path)
    if paths is None:
        return None
    return lambda _path: read_focal_stack(paths)


def _named(message: str, paths: list[Path]) -> str:
    label = paths[0].name if len(paths) == 1 else f"{paths[0].name} (+{len(paths) - 1} files)"
    return message if paths[0].name in message else f"{label}: {message}"


def read_focal_stack(paths: list[Path]) -> list[LayerData]:
    """Read with :func:`napari_focalfuse.read_stack`; broken files raise an error naming them."""
    import numpy as np

    from ..core.errors import FocalFuseError
    from ..io.read import read_stack

    source = paths[0] if len(paths) == 1 else [str(p) for p in paths]
    try:
        stack, meta = read_stack(source)
        # touch the first and last slice: a truncated file fails here, not later while drawing
        np.asarray(stack[0]), np.asarray(stack[-1])
    except FocalFuseError as exc:
        raise FocalFuseError(_named(str(exc), paths)) from None
    except (OSError, ValueError) as exc:
        raise FocalFuseError(
            _named(f"could not read the stack ({type(exc).__name__}: {exc}).", paths)
        ) from None
    return [(stack, layer_kwargs(stack, meta), "image")]


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
