"""Which layers are focal stacks, and how fusion results become (or update) layers.

Results are looked up by name and updated in place on a re-run, so the user's layer settings
(contrast, colormap, opacity, position in the list) survive and the layer list does not grow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import napari
    from napari.layers import Image, Layer

    from ..core.fusion import FusionResult


def is_stack_layer(layer: Any) -> bool:
    """An Image layer with a z axis first: (Z, Y, X) grey or (Z, Y, X, C) RGB, not multiscale."""
    from napari.layers import Image

    return isinstance(layer, Image) and layer.ndim >= 3 and not layer.multiscale


def stack_layers(viewer: napari.Viewer) -> list[Image]:
    return [layer for layer in viewer.layers if is_stack_layer(layer)]


def z_step_of(layer: Image, override: float = 0.0) -> float | None:
    """The z-step in µm: the override when > 0, else the layer's z scale unless it is the default 1."""
    if override and override > 0:
        return float(override)
    z = float(layer.scale[0])
    return None if np.isclose(z, 1.0) else z


def result_names(stack_name: str) -> dict[str, str]:
    return {
        "fused": f"{stack_name} fused",
        "mask": f"{stack_name} decision map",
        "height": f"{stack_name} height",
    }


def slice_colormap(n_slices: int) -> Any:
    """One colour per slice, ordered like a height map; slice 0 is coloured too (no background)."""
    from napari.utils.colormaps import DirectLabelColormap, ensure_colormap

    ramp = ensure_colormap("turbo").map(np.linspace(0.0, 1.0, max(n_slices, 2)))
    colors: dict[int | None, Any] = {i: ramp[i] for i in range(n_slices)}
    colors[None] = np.zeros(4, np.float32)
    return DirectLabelColormap(color_dict=colors, background_value=-1)


def _upsert(viewer: napari.Viewer, name: str, kind: str, data: np.ndarray, **kwargs: Any) -> Layer:
    """Replace ``.data`` of the layer called ``name`` if it has the right type, else add one."""
    from napari.layers import Image, Labels

    existing = viewer.layers[name] if name in viewer.layers else None
    rgb = kwargs.get("rgb")
    cls = Labels if kind == "labels" else Image
    if isinstance(existing, cls) and (
        rgb is None or existing.rgb == rgb
    ):
        existing.data = data
        for key in ("scale", "translate", "metadata"):
            if key in kwargs:
                setattr(existing, key, kwargs[key])
        if kind == "labels" and "colormap" in kwargs:
            existing.colormap = kwargs["colormap"]
        return existing
    if existing is not None:
        viewer.layers.remove(existing)
    return getattr(viewer, f"add_{kind}")(data, name=name, **kwargs)


def show_result(
    viewer: napari.Viewer, stack_layer: Image, result: FusionResult, n_slices: int
) -> dict[str, Layer]:
    """Add or update '<stack> fused', '<stack> decision map' and, with a z-step, '<stack> height'."""
    names = result_names(stack_layer.name)
    place = {
        "scale": tuple(stack_layer.scale[-2:]),
        "translate": tuple(stack_layer.translate[-2:]),
    }
    info = {"source": stack_layer.name, "method": result.method, "z_step": result.z_step}
    rgb = bool(stack_layer.rgb)
    image_kwargs: dict[str, Any] = {"rgb": rgb, "metadata": dict(info), **place}
    if not rgb:
        image_kwargs["contrast_limits"] = tuple(stack_layer.contrast_limits)
    out = {"fused": _upsert(viewer, names["fused"], "image", result.fused, **image_kwargs)}
    out["mask"] = _upsert(
        viewer,
        names["mask"],
        "labels",
        result.mask,
        colormap=slice_colormap(n_slices),
        opacity=0.5,
        metadata=dict(info),
        **place,
    )
    if result.z_step:
        top = max(float((n_slices - 1) * result.z_step), 1e-6)
        out["height"] = _upsert(
            viewer,
            names["height"],
            "image",
            result.height,
            colormap="viridis",
            contrast_limits=(0.0, top),
            metadata={**info, "unit": result.z_unit},
            visible=False,
            **place,
        )
    elif names["height"] in viewer.layers:  # z-step no longer known: a stale map would mislead
        viewer.layers.remove(names["height"])
    return out
