"""napari writers: the fused image and the decision map (or height map) to TIFF.

Pixels are written as they are (16-bit stays 16-bit, the map keeps its integer slice indices)
through the atomic ``write_image`` of :mod:`napari_focalfuse.io.write`. The layer's yx scale
travels as the pixel size, and a z-step the fusion widget recorded as the z-step, so the files
keep their physical units.
"""

from __future__ import annotations

from typing import Any


def _physical(attributes: dict) -> dict[str, Any]:
    import numpy as np

    scale = tuple(float(v) for v in (attributes.get("scale") or (1.0, 1.0))[-2:])
    meta = attributes.get("metadata") or {}
    out: dict[str, Any] = {}
    if not np.allclose(scale, 1.0):
        out["pixel_size"] = scale
    if meta.get("z_step"):
        out["z_step"] = float(meta["z_step"])
    if meta.get("method"):
        out["description"] = f"napari-focalfuse {meta['method']} fusion of {meta.get('source')}"
    return out


def _write(path: str, data: Any, attributes: dict) -> list[str]:
    import numpy as np

    from ..io.write import write_image

    # napari's save dialog has already asked before replacing a file
    write_image(path, np.asarray(data), overwrite=True, **_physical(attributes))
    return [path]


def write_image_layer(path: str, data: Any, attributes: dict) -> list[str]:
    """Fused (or height) image → TIFF, RGB kept as RGB."""
    return _write(path, data, attributes)


def write_labels_layer(path: str, data: Any, attributes: dict) -> list[str]:
    """Decision map → integer TIFF of slice indices (uint8 up to 256 slices)."""
    return _write(path, data, attributes)
