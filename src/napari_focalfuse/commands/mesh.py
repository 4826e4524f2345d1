"""``fuse --mesh``: adding the surface mesh to the command's outputs, with its warnings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..io.mesh import EMPTY_MESH, MESH_OUT, NO_PIXEL_SIZE

__all__ = ["MESH_OUT", "add_mesh"]


def add_mesh(outputs: Any, target: Path, result: Any, meta: dict, step: int | None) -> None:
    """Plan the mesh of ``result`` in ``outputs``; say so when x and y can only be pixels, and
    when no pixel has a known height (a mesh without faces)."""
    from ..core.mesh import result_mesh
    from ..io.mesh import mesh_writer

    if meta.get("pixel_size") is None:
        print(f"napari-focalfuse: warning: {NO_PIXEL_SIZE.format(meta['name'])}", file=sys.stderr)
    mesh = result_mesh(result, meta.get("pixel_size"), step=step)
    if not len(mesh.faces):
        print(f"napari-focalfuse: warning: {EMPTY_MESH.format(meta['name'])}", file=sys.stderr)
    outputs.add(target, mesh_writer(target, mesh))
