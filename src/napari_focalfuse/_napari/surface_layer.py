"""The specimen's surface as a napari Surface layer, coloured by the fused image (no Qt here).

The mesh is core.mesh's, in the stack's data coordinates: rows and columns of the stack, and
heights in µm when the z-step is known, else in slices; a z scale of the stack's own z scale
over the z-step puts a height of k slices where slice k lies, whatever unit the stack's z
scale is in (or none). y and x take the stack's scale and
translate plus the result's offset, like the fused image, so in 3-D the surface lies inside
the stack's volume. A re-run replaces the layer's data in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import napari
    from napari.layers import Image, Surface

    from ..core.fusion import FusionResult


def surface_name(stack_name: str, preview: bool = False) -> str:
    from .preview_region import PREVIEW_SUFFIX

    return f"{stack_name}{PREVIEW_SUFFIX if preview else ''} surface"


def surface_data(result: FusionResult) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """((vertices (z, y, x), faces), vertex colours RGB in 0..1) of the result's surface."""
    from ..core.mesh import result_mesh

    mesh = result_mesh(result)  # x, y in pixels; z in µm, or slices without a z-step
    vertices = np.ascontiguousarray(mesh.vertices[:, ::-1])
    return (vertices, mesh.faces), mesh.colours.astype(np.float32) / 255.0


def show_surface(
    viewer: napari.Viewer,
    stack_layer: Image,
    result: FusionResult,
    name: str,
    offset: tuple[int, int] = (0, 0),
) -> Surface | None:
    """Add or update the Surface layer ``name``; None (and no stale layer) when no pixel of the
    result has a known height."""
    from napari.layers import Surface

    data, colours = surface_data(result)
    existing = viewer.layers[name] if name in viewer.layers else None
    if not len(data[1]):
        if existing is not None:
            viewer.layers.remove(existing)
        return None
    sz, sy, sx = (float(v) for v in stack_layer.scale[-3:])
    tz, ty, tx = (float(v) for v in stack_layer.translate[-3:])
    place: dict[str, Any] = {
        "scale": (sz / (result.z_step or 1.0), sy, sx),  # slice k lies at tz + k * sz
        "translate": (tz, ty + offset[0] * sy, tx + offset[1] * sx),
        "metadata": {"source": stack_layer.name, "z_unit": "µm" if result.z_step else "slice"},
    }
    if isinstance(existing, Surface):
        existing.vertex_colors = None  # the old colours may not fit the new vertices
        existing.data = data
        existing.vertex_colors = colours
        for key, value in place.items():
            setattr(existing, key, value)
        return existing
    if existing is not None:
        viewer.layers.remove(existing)
    return viewer.add_surface(data, name=name, vertex_colors=colours, shading="smooth", **place)
