"""Fusing other layers with the current decision map (no Qt here).

Fluorescence channels opened as separate layers are fused by the map of the channel that shows
structure (core/apply_map.py): every pixel from exactly the slice the map names, warped as the
fusion warped it, so the fused channels lie exactly on the fused image. Results are
"<layer> fused" layers, updated in place on a re-run, with the fused image's placement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .jobs import Outcome, outcome_of
from .layers import _upsert, is_stack_layer
from .preview_region import PREVIEW_SUFFIX

if TYPE_CHECKING:
    import napari
    from napari.layers import Image, Layer

    from ..core.fusion import FusionResult
    from .preview_region import PreviewRegion


@dataclass
class CurrentMap:
    """The last fusion's map and where its results lie: what other layers are fused with."""

    result: FusionResult
    stack: Image  # the layer it was fused from
    region: PreviewRegion | None  # the preview's crop, or None for the whole stack
    place: dict[str, tuple[float, ...]]  # scale and translate of the fused image layer

    def fits(self, layer: Any) -> bool:
        """A focal-stack layer of the fused stack's (Z, Y, X), other than the stack itself and
        its aligned view."""
        return (
            is_stack_layer(layer)
            and layer.ndim == 3  # (Z, Y, X) grey or RGB: not a time-lapse or many channels
            and layer is not self.stack
            and not (layer.metadata or {}).get("aligned")
            and tuple(layer.data.shape[:3]) == tuple(self.stack.data.shape[:3])
        )

    def targets(self, viewer: napari.Viewer) -> list[Image]:
        return [layer for layer in viewer.layers if self.fits(layer)]

    def name_for(self, layer: Image) -> str:
        return f"{layer.name}{PREVIEW_SUFFIX if self.region is not None else ''} fused"


@dataclass
class MapJob:
    """:func:`~napari_focalfuse.core.apply_map.apply_map` on several layers' data, captured on
    the GUI thread; the value is one fused image per layer, in order."""

    current: CurrentMap
    stacks: list[Any]

    def run(
        self,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Outcome:
        return outcome_of(lambda: self._fuse_all(progress, should_stop))

    def _fuse_all(
        self,
        progress: Callable[[int, int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> list[Any]:
        from ..core.apply_map import apply_map

        n = int(self.current.stack.data.shape[0])
        total = n * len(self.stacks)
        fused = []
        for i, data in enumerate(self.stacks):
            if self.current.region is not None:
                data = self.current.region.crop(data)
            step = (lambda done, _n, i=i: progress(i * n + done, total)) if progress else None
            fused.append(apply_map(data, self.current.result, progress=step, should_stop=should_stop))
        return fused


def show_map_fused(
    viewer: napari.Viewer, current: CurrentMap, layer: Image, fused: Any
) -> Layer:
    """Add or update "<layer> fused" on the fused image's place, looking like ``layer`` (its
    colormap, contrast and blending), right above it when new."""
    kwargs: dict[str, Any] = {
        "rgb": bool(layer.rgb),
        **current.place,
        "metadata": {"source": layer.name, "map_of": current.stack.name},
        "blending": layer.blending,
    }
    if not layer.rgb:
        kwargs.update(colormap=layer.colormap, contrast_limits=tuple(layer.contrast_limits))
    name = current.name_for(layer)
    new = name not in viewer.layers
    out = _upsert(viewer, name, "image", fused, **kwargs)
    if new and layer in viewer.layers:
        viewer.layers.move(viewer.layers.index(out), viewer.layers.index(layer) + 1)
    return out
