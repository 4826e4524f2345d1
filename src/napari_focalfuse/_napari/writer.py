"""napari writers: the fused image and the decision map (or height map) to TIFF.

Pixels are written as they are (16-bit stays 16-bit, the map keeps its integer slice indices)
through the atomic writers of :mod:`napari_focalfuse.io.write`. The layer's yx scale travels
as the pixel size, and a z-step the fusion widget recorded as the z-step, so the files keep
their physical units.

Replacing a file. napari calls a writer in two ways:

* from *File › Save Selected Layers…* / *Save All Layers…*: napari's Qt save dialog asks
  "… already exists. Do you want to replace it?" and then hands the writer exactly the name it
  asked about (napari adds no extension when a writer was picked in the dialog). Asking again
  would be noise, and refusing would make the dialog's "Replace" fail, so that file is replaced.
* from code (``layer.save(path)``, ``viewer.layers.save(path)``): nobody was asked, and npe2
  may even have appended ``.tif`` to the name given. There an existing file is refused with a
  sentence (a ``FileExistsError``), as the command line does without ``--overwrite``.

The writer tells the two apart by whether napari's dialog method is on the call stack.
"""

from __future__ import annotations

import sys
from typing import Any

_DIALOG = "_save_layers_dialog"  # QtViewer method; a test drives the real dialog flow


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


def confirmed_by_save_dialog() -> bool:
    """True when napari's save dialog, which asks before replacing a file, led to this call."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == _DIALOG and frame.f_globals.get("__name__", "").startswith(
            "napari."
        ):
            return True
        frame = frame.f_back
    return False


def _write(path: str, data: Any, attributes: dict) -> list[str]:
    import os

    import numpy as np

    from ..io.write import write_image

    asked = confirmed_by_save_dialog()
    if os.path.exists(path) and not asked:
        # not a FocalFuseError: napari takes a ValueError from a writer for "cannot write
        # this" and replaces the sentence with "not a valid writer"
        raise FileExistsError(
            f"{path} already exists; napari-focalfuse replaces a file only when napari's save "
            "dialog has asked (File › Save Selected Layers…); delete it or choose another name."
        )
    write_image(path, np.asarray(data), overwrite=asked, **_physical(attributes))
    return [path]


def write_image_layer(path: str, data: Any, attributes: dict) -> list[str]:
    """Fused (or height) image → TIFF, RGB kept as RGB."""
    return _write(path, data, attributes)


def write_labels_layer(path: str, data: Any, attributes: dict) -> list[str]:
    """Decision map → integer TIFF of slice indices (uint8 up to 256 slices)."""
    return _write(path, data, attributes)
