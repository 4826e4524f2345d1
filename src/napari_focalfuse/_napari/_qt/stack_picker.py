"""A ComboBox of the viewer's focal-stack layers that follows the layer list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox

from ..layers import stack_layers

if TYPE_CHECKING:
    import napari


def stack_picker(viewer: napari.Viewer) -> ComboBox:
    """ComboBox listing Image layers with a z axis first; refreshed when layers come or go."""

    def choices(_widget: Any) -> list[tuple[str, Any]]:
        return [(layer.name, layer) for layer in stack_layers(viewer)]

    combo = ComboBox(label="Stack", choices=choices, nullable=False)
    combo.tooltip = (
        "Image layer with z as its first axis: (Z, Y, X) grey or (Z, Y, X, RGB); or a "
        "time-lapse (T, Z, Y, X[, RGB]), fused at every time point."
    )
    emitters = [getattr(viewer.layers.events, n) for n in ("inserted", "removed", "reordered")]
    for emitter in emitters:
        emitter.connect(combo.reset_choices)

    def disconnect(*_: Any) -> None:  # a closed dock must not be called by the layer list
        for emitter in emitters:
            emitter.disconnect(combo.reset_choices)

    combo.native.destroyed.connect(disconnect)
    return combo


def select_layer(combo: ComboBox, layer: Any) -> None:
    """Select ``layer`` (used by tests and scripts that add a layer after the widget)."""
    combo.reset_choices()
    combo.value = layer
