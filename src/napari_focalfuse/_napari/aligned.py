"""Where aligned results lie on the stack, and the aligned slices as a lazy layer (no Qt here).

Aligned output is cropped to the region every slice covers: its pixel (0, 0) is the stack's
pixel (y0, x0), so the result layers are translated by that offset times the layer's scale.
The aligned stack is shown through dask, one slice warped when napari displays it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import napari
    from napari.layers import Image, Layer

    from ..core.align import Alignment


def result_offset(region_offset: tuple[int, int], alignment: Alignment | None) -> tuple[int, int]:
    """(rows, columns) of the stack where the result's first pixel lies: the preview region's
    offset (if any) plus the alignment crop's."""
    from ..core.align_report import crop_offset

    dy, dx = crop_offset(alignment)
    return int(region_offset[0]) + dy, int(region_offset[1]) + dx


def aligned_dask(stack: Any, alignment: Alignment | None) -> Any:
    """(Z, Y', X'[, C]) dask array of the slices as fusion used them; computed slice by slice."""
    import dask
    import dask.array as da

    from ..core.align_report import aligned_slices

    view = aligned_slices(stack, alignment)
    shape = tuple(view.shape[1:])
    read = dask.delayed(view.__getitem__)  # not pure: hashing would read the whole stack
    return da.stack([da.from_delayed(read(z), shape, view.dtype) for z in range(len(view))])


def aligned_name(stack_name: str, preview: bool = False) -> str:
    from .preview_region import PREVIEW_SUFFIX

    return f"{stack_name}{PREVIEW_SUFFIX if preview else ''} aligned"


def show_aligned_stack(
    viewer: napari.Viewer,
    stack_layer: Image,
    data: Any,
    name: str,
    offset: tuple[int, int] = (0, 0),
) -> Layer:
    """Add (or update) the aligned stack as a hidden layer placed on ``stack_layer`` at
    ``offset``; a new one goes right above the stack, and the selection is left as it was."""
    from .layers import _upsert

    scale = tuple(float(v) for v in stack_layer.scale)
    translate = list(float(t) for t in stack_layer.translate)
    for axis, shift in zip((-2, -1), offset):
        translate[axis] += shift * scale[axis]
    kwargs: dict[str, Any] = {
        "rgb": bool(stack_layer.rgb),
        "scale": scale,
        "translate": tuple(translate),
        "metadata": {"source": stack_layer.name, "aligned": True},
        "visible": False,
    }
    if not stack_layer.rgb:
        kwargs["contrast_limits"] = tuple(stack_layer.contrast_limits)
    new = name not in viewer.layers
    active = viewer.layers.selection.active
    layer = _upsert(viewer, name, "image", data, **kwargs)
    if new and stack_layer in viewer.layers:
        viewer.layers.move(viewer.layers.index(layer), viewer.layers.index(stack_layer) + 1)
        viewer.layers.selection.active = active
    return layer
