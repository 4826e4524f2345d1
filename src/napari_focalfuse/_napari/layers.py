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
    """An Image layer with a z axis first: (Z, Y, X) grey or (Z, Y, X, C) RGB, not multiscale;
    or a time-lapse of them, (T, Z, Y, X[, C])."""
    from napari.layers import Image

    return isinstance(layer, Image) and layer.ndim >= 3 and not layer.multiscale


def stack_layers(viewer: napari.Viewer) -> list[Image]:
    return [layer for layer in viewer.layers if is_stack_layer(layer)]


def z_step_of(layer: Image, override: float = 0.0) -> float | None:
    """The z-step in µm, or None when it is not known.

    In order: the override when > 0; the z-step our reader (or sample) recorded in the layer's
    metadata; the z scale when the layer's z unit is a length (napari's ``units``). A bare z
    scale is not a z-step: napari scales are in pixels unless a unit says otherwise, so a
    z scale of 1 may be a real 1 µm step or no information at all.
    """
    if override and override > 0:
        return float(override)
    recorded = ((layer.metadata or {}).get("focalfuse") or {}).get("z_step")
    if recorded:
        return float(recorded)
    units = getattr(layer, "units", None)  # napari >= 0.6
    if units:
        try:  # z is the third axis from the end: (Z, Y, X) or a time-lapse's (T, Z, Y, X)
            z = float(layer.scale[-3]) * units[-3]
            return float(z.to("micrometer").magnitude)
        except Exception:  # noqa: BLE001 - pixels, or not a length
            return None
    return None


def result_names(stack_name: str) -> dict[str, str]:
    return {
        "fused": f"{stack_name} fused",
        "mask": f"{stack_name} decision map",
        "height": f"{stack_name} height",
    }


def slice_colormap(n_slices: int) -> Any:
    """One colour per slice (io.preview.slice_colours, as in the demo figure); slice 0 is
    coloured too (no background)."""
    from napari.utils.colormaps import DirectLabelColormap

    from ..io.preview import slice_colours

    rgb = slice_colours(n_slices)
    colors: dict[int | None, Any] = {i: (*rgb[i], 1.0) for i in range(n_slices)}
    colors[None] = np.zeros(4, np.float32)
    return DirectLabelColormap(color_dict=colors, background_value=-1)


def slice_features(n_slices: int, z_step: float | None) -> dict[str, Any]:
    """Per-slice features of the map: napari's status bar shows them for the label under the cursor."""
    features: dict[str, Any] = {"index": np.arange(n_slices)}
    if z_step:
        features["z (µm)"] = np.round(np.arange(n_slices) * float(z_step), 6)
    return features


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
        for key in ("scale", "translate", "metadata", "features"):
            if key in kwargs:
                setattr(existing, key, kwargs[key])
        if kind == "labels" and "colormap" in kwargs:
            existing.colormap = kwargs["colormap"]
        return existing
    if existing is not None:
        viewer.layers.remove(existing)
    return getattr(viewer, f"add_{kind}")(data, name=name, **kwargs)


def stack_place(stack_layer: Image, offset: tuple[int, int] = (0, 0)) -> dict[str, tuple[float, ...]]:
    """Scale and translate that put a (Y, X) result on the stack's y and x; ``offset`` (rows,
    columns of the stack) places a result computed on a crop."""
    scale = tuple(float(v) for v in stack_layer.scale[-2:])
    translate = tuple(float(t) + o * s for t, o, s in zip(stack_layer.translate[-2:], offset, scale))
    return {"scale": scale, "translate": translate}


def _upsert_map(
    viewer: napari.Viewer, name: str, mask: np.ndarray, n_slices: int, z_step: float | None, **kwargs: Any
) -> Layer:
    """A decision map as a Labels layer in the slice colours, opaque, ready to pan (not paint)."""
    layer = _upsert(
        viewer,
        name,
        "labels",
        mask,
        colormap=slice_colormap(n_slices),
        features=slice_features(n_slices, z_step),
        opacity=1.0,
        **kwargs,
    )
    layer.mode = "pan_zoom"
    return layer


def show_result(
    viewer: napari.Viewer,
    stack_layer: Image,
    result: FusionResult,
    n_slices: int,
    names: dict[str, str] | None = None,
    offset: tuple[int, int] = (0, 0),
    place: dict[str, tuple[float, ...]] | None = None,
) -> dict[str, Layer]:
    """Add or update '<stack> fused', '<stack> decision map' and, with a z-step, '<stack> height'.

    New layers go on top with the fused image uppermost: the decision map and the height map lie
    under it, ready to be shown by hiding the fused image, and the fused image is selected so the
    map's paint tools are not what the layer controls offer. ``offset`` (rows, columns of the
    stack) places a result computed on a crop; ``names`` replaces the default layer names;
    ``place`` (scale and translate) replaces the placement on the stack's y and x.
    """
    names = names or result_names(stack_layer.name)
    place = place or stack_place(stack_layer, offset)
    info = {"source": stack_layer.name, "method": result.method, "z_step": result.z_step}
    rgb = bool(stack_layer.rgb)
    new = [name for name in names.values() if name not in viewer.layers]
    image_kwargs: dict[str, Any] = {"rgb": rgb, "metadata": dict(info), **place}
    if not rgb:
        image_kwargs["contrast_limits"] = tuple(stack_layer.contrast_limits)
    out = {"fused": _upsert(viewer, names["fused"], "image", result.fused, **image_kwargs)}
    out["mask"] = _upsert_map(
        viewer, names["mask"], result.mask, n_slices, result.z_step, metadata=dict(info), **place
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
            metadata={**info, "unit": "µm"},
            visible=False,
            **place,
        )
    elif names["height"] in viewer.layers:  # z-step no longer known: a stale map would mislead
        viewer.layers.remove(names["height"])
    for key in ("mask", "height"):  # freshly added maps go under the fused image
        if key in out and out[key].name in new:
            viewer.layers.move(viewer.layers.index(out[key]), viewer.layers.index(out["fused"]))
    if new:
        viewer.layers.selection.active = out["fused"]
    return out


def show_map_change(viewer: napari.Viewer, stack_layer: Image, maps: Any, n_slices: int) -> dict[str, Layer]:
    """Add or update '<stack> map before tuning' and '<stack> map after tuning' over the stack.

    Toggling the upper one shows what fine-tuning changed; the status bar names each pixel's
    slice in both. The maps are on the stack's own geometry (compared without alignment).
    """
    place, z_step = stack_place(stack_layer), z_step_of(stack_layer)
    return {
        key: _upsert_map(viewer, f"{stack_layer.name} map {key} tuning", mask, n_slices, z_step, **place)
        for key, mask in (("before", maps.before), ("after", maps.after))
    }
