"""Writing a surface mesh as PLY or OBJ, chosen by the file name; every write is atomic.

PLY (binary little-endian: float x y z, uchar red green blue per vertex, a face list) is compact
and carries colours in its standard form. OBJ is text; its colours follow each vertex as
``v x y z r g b`` in 0..1, an extension MeshLab, Blender and trimesh read. Faces are 1-based in
OBJ, 0-based in PLY.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.errors import FocalFuseError
from ..core.mesh import SurfaceMesh
from .output_group import OutputGroup, Writer, check_writable

MESH_OUT = (".ply", ".obj")
# a warning when a stack has no pixel size: x and y of its mesh are pixels, its z µm
NO_PIXEL_SIZE = "{} has no pixel size; the mesh's x and y are in pixels, its heights in µm."
EMPTY_MESH = (
    "no slice of {} is clearly sharp anywhere (or --mesh-step is too coarse): the mesh has no "
    "faces."
)


def _write_ply(path: Path, mesh: SurfaceMesh) -> None:
    vertex = np.empty(len(mesh.vertices), [("xyz", "<f4", 3), ("rgb", "u1", 3)])
    vertex["xyz"], vertex["rgb"] = mesh.vertices, mesh.colours
    face = np.empty(len(mesh.faces), [("n", "u1"), ("corners", "<i4", 3)])
    face["n"], face["corners"] = 3, mesh.faces
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment napari-focalfuse surface\n"
        f"element vertex {len(vertex)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(face)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    with open(path, "wb") as fh:
        fh.write(header.encode("utf-8"))
        fh.write(vertex.tobytes())
        fh.write(face.tobytes())


def _write_obj(path: Path, mesh: SurfaceMesh) -> None:
    vertices = np.hstack([mesh.vertices, mesh.colours / 255.0])
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# napari-focalfuse surface: v x y z r g b (colours 0..1)\n")
        np.savetxt(fh, vertices, fmt="v %.7g %.7g %.7g %.4f %.4f %.4f")
        np.savetxt(fh, mesh.faces + 1, fmt="f %d %d %d")


def mesh_writer(target: str | os.PathLike, mesh: SurfaceMesh) -> Writer:
    """What writes ``mesh`` for an :class:`OutputGroup`: PLY or OBJ by ``target``'s suffix."""
    suffix = Path(target).suffix.lower()
    if suffix not in MESH_OUT:
        raise FocalFuseError(f"A mesh is written as .ply or .obj, not {Path(target).name}.")
    write = _write_ply if suffix == ".ply" else _write_obj
    return lambda path: write(path, mesh)


def write_mesh(path: str | os.PathLike, mesh: SurfaceMesh, *, overwrite: bool = False) -> None:
    """Write one mesh atomically (.ply or .obj); an existing file only with ``overwrite``."""
    check_writable(path, overwrite)
    group = OutputGroup(overwrite)
    group.add(path, mesh_writer(path, mesh))
    group.commit()
