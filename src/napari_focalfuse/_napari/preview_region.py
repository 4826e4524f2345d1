"""Which part of a stack the fast preview fuses: the rectangles drawn, else what is on screen.

A preview is the same fusion on a crop of the stack (read lazily, slice by slice), so options
can be tuned on a 20 MP stack in a tenth of a full run's time; its layers are placed on the
stack at the crop's position and replaced by the next preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import napari
    from napari.layers import Image

MAX_SIDE = 1024  # a larger view is previewed around its centre: ~1 MP keeps it quick
MIN_SIDE = 16
PREVIEW_SUFFIX = " preview"


@dataclass(frozen=True)
class PreviewRegion:
    """Rows y0:y1 and columns x0:x1 of the stack (data coordinates)."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def offset(self) -> tuple[int, int]:
        return self.y0, self.x0

    def crop(self, data: Any) -> Any:
        from ..io.crop import CroppedStack

        return CroppedStack(data, slice(self.y0, self.y1), slice(self.x0, self.x1))

    def describe(self) -> str:
        return f"rows {self.y0}–{self.y1}, columns {self.x0}–{self.x1}"


def preview_names(stack_name: str) -> dict[str, str]:
    base = stack_name + PREVIEW_SUFFIX
    return {"fused": f"{base} fused", "mask": f"{base} decision map", "height": f"{base} height"}


def _drawn_box(viewer: napari.Viewer, layer: Image) -> np.ndarray | None:
    """(2, 2) [[y0, x0], [y1, x1]] in the stack's data coordinates around the selected (or all)
    shapes of the active Shapes layer, or None."""
    from napari.layers import Shapes

    shapes = viewer.layers.selection.active
    if not isinstance(shapes, Shapes) or len(shapes.data) == 0:
        return None
    chosen = shapes.selected_data or range(len(shapes.data))
    points = []
    for k in chosen:
        for vertex in np.asarray(shapes.data[k]):
            world = shapes.data_to_world(vertex)
            points.append(np.asarray(layer.world_to_data(world))[-2:])
    points = np.array(points)
    return np.array([points.min(0), points.max(0)])


def _view_box(layer: Image) -> np.ndarray | None:
    """The part of the stack on screen: napari keeps it in ``corner_pixels`` (inclusive)."""
    corners = np.asarray(layer.corner_pixels)[:, -2:].astype(float)
    if not (corners[1] > corners[0]).all():  # not drawn yet
        return None
    return np.array([corners[0], corners[1] + 1])


def preview_region(viewer: napari.Viewer, layer: Image) -> PreviewRegion:
    """The region to preview, clipped to the stack and at most MAX_SIDE px on a side."""
    from ..core.errors import FocalFuseError

    h, w = (int(k) for k in layer.data.shape[1:3])
    box = _drawn_box(viewer, layer)
    if box is None:
        box = _view_box(layer)
    if box is None:
        box = np.array([[0.0, 0.0], [h, w]])
    lo = np.clip(np.floor(box[0]), 0, [h, w]).astype(int)
    hi = np.clip(np.ceil(box[1]), 0, [h, w]).astype(int)
    size = np.minimum(hi - lo, MAX_SIDE)
    lo = lo + (hi - lo - size) // 2  # a larger region is cut around its centre
    hi = lo + size
    if (size < MIN_SIDE).any():
        raise FocalFuseError(
            f"The preview region is {size[1]}x{size[0]} px; zoom out or draw a rectangle of "
            f"at least {MIN_SIDE}x{MIN_SIDE} px over the stack."
        )
    return PreviewRegion(int(lo[0]), int(hi[0]), int(lo[1]), int(hi[1]))
