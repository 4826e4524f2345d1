"""PLY and OBJ meshes read back by trimesh (an independent reader), written atomically."""

from __future__ import annotations

import numpy as np
import pytest

from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.mesh import surface_mesh
from napari_focalfuse.io import mesh as mesh_io
from napari_focalfuse.io.mesh import write_mesh

trimesh = pytest.importorskip("trimesh")

H, W = 24, 32
PIXEL = (0.4, 0.2)  # µm (y, x)


@pytest.fixture(scope="module")
def mesh():
    """A tilted plane (1.5 µm per column) with an unknown 4 x 5 px hole, random colours."""
    height = np.tile(np.arange(W, dtype=np.float32) * 1.5, (H, 1))
    height[5:9, 10:15] = np.nan
    image = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    return surface_mesh(height, image, pixel_size=PIXEL)


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
def test_round_trip_keeps_vertices_faces_extent_and_colours(tmp_path, mesh, suffix):
    path = tmp_path / f"surface{suffix}"
    write_mesh(path, mesh)
    back = trimesh.load(path, process=False)
    assert len(back.vertices) == H * W - 20 == len(mesh.vertices)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_allclose(back.vertices, mesh.vertices, atol=1e-4)
    top = [(W - 1) * PIXEL[1], (H - 1) * PIXEL[0], (W - 1) * 1.5]  # µm: x, y, height
    np.testing.assert_allclose(back.bounds, [[0, 0, 0], top], atol=1e-4)
    np.testing.assert_array_equal(back.visual.vertex_colors[:, :3], mesh.colours)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


def test_other_suffixes_are_refused_before_writing(tmp_path, mesh):
    with pytest.raises(FocalFuseError, match=r"written as \.ply or \.obj, not surface\.stl"):
        write_mesh(tmp_path / "surface.stl", mesh)
    assert not any(tmp_path.iterdir())


def test_existing_file_is_kept_without_overwrite_and_after_a_failed_write(
    tmp_path, monkeypatch, mesh, file_state
):
    path = tmp_path / "keep.ply"
    path.write_bytes(b"an older mesh")
    before = file_state(path)
    with pytest.raises(FocalFuseError, match=r"keep\.ply already exists; pass --overwrite"):
        write_mesh(path, mesh)

    def explode(target, _mesh):
        target.write_bytes(b"half a mesh")
        raise OSError("disk full")

    monkeypatch.setattr(mesh_io, "_write_ply", explode)
    with pytest.raises(OSError, match="disk full"):
        write_mesh(path, mesh, overwrite=True)
    assert file_state(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.ply"]
    monkeypatch.undo()
    write_mesh(path, mesh, overwrite=True)
    assert len(trimesh.load(path, process=False).vertices) == len(mesh.vertices)
