"""The surface mesh against a height map of known shape: a tilted plane with a hole."""

from __future__ import annotations

import numpy as np
import pytest

from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.mesh import default_step, result_mesh, surface_mesh

H, W = 30, 40
PIXEL = (0.5, 0.25)  # µm (y, x)
HOLE = (slice(10, 15), slice(20, 26))


def tilted_plane() -> np.ndarray:
    """Height 2 µm per column plus 1 µm per row, NaN (unknown) in a 5 x 6 px hole."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    height = 2.0 * xx + 1.0 * yy
    height[HOLE] = np.nan
    return height


def test_vertices_faces_and_extent_of_a_tilted_plane_with_a_hole():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    mesh = surface_mesh(tilted_plane(), image, pixel_size=PIXEL)
    assert len(mesh.vertices) == H * W - 5 * 6
    assert mesh.vertices.dtype == np.float32 and mesh.faces.dtype == np.int32
    assert mesh.colours.dtype == np.uint8 and mesh.colours.shape == (H * W - 30, 3)
    x, y, z = mesh.vertices.T
    np.testing.assert_allclose([x.min(), x.max()], [0, (W - 1) * PIXEL[1]])
    np.testing.assert_allclose([y.min(), y.max()], [0, (H - 1) * PIXEL[0]])
    # every vertex lies on the plane, at its own pixel, with that pixel's colour
    cols, rows = np.rint(x / PIXEL[1]).astype(int), np.rint(y / PIXEL[0]).astype(int)
    np.testing.assert_allclose(z, 2.0 * cols + rows)
    np.testing.assert_array_equal(mesh.colours, image[rows, cols])
    assert not (np.isin(rows, range(10, 15)) & np.isin(cols, range(20, 26))).any()
    # two triangles per cell; none in the 6 x 7 cells touching the hole, except one in each of
    # the two corner cells whose diagonal runs past it (top left, bottom right)
    assert len(mesh.faces) == 2 * ((H - 1) * (W - 1) - 6 * 7) + 2
    assert mesh.faces.min() == 0 and mesh.faces.max() == len(mesh.vertices) - 1
    # faces join grid neighbours only, and all face +z (counter-clockwise seen from above)
    corners = mesh.vertices[mesh.faces]
    span_x = np.ptp(corners[..., 0], axis=1) / PIXEL[1]
    span_y = np.ptp(corners[..., 1], axis=1) / PIXEL[0]
    np.testing.assert_allclose(span_x, 1)
    np.testing.assert_allclose(span_y, 1)
    normal_z = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])[:, 2]
    assert (normal_z > 0).all()


def test_blocks_average_height_and_colour_and_drop_mostly_unknown_ones():
    height = tilted_plane()
    grey = np.tile(np.arange(W, dtype=np.uint16) * 1000, (H, 1))  # 0 .. 39000: stretched
    mesh = surface_mesh(height, grey, pixel_size=PIXEL, step=4)
    # 8 x 10 blocks, the last row of blocks 2 px high. The hole (rows 10-14, columns 20-25)
    # leaves 8, 4 and 6 of 16 pixels known in blocks (2, 5), (2, 6) and (3, 6): kept; 12 of 16
    # are unknown in block (3, 5): dropped
    x, y, z = mesh.vertices.T
    assert len(mesh.vertices) == 8 * 10 - 1
    centre = (np.array([3, 5]) * 4 + 1.5) * PIXEL
    assert not ((y == centre[0]) & (x == centre[1])).any()
    kept = (y == 9.5 * PIXEL[0]) & (x == 21.5 * PIXEL[1])  # block (2, 5): its known rows 8, 9
    np.testing.assert_allclose(z[kept], 2.0 * 21.5 + 8.5)
    first = (x == x.min()) & (y == y.min())
    np.testing.assert_allclose([x[first][0], y[first][0]], [1.5 * PIXEL[1], 1.5 * PIXEL[0]])
    np.testing.assert_allclose(z[first], 2.0 * 1.5 + 1.5)  # mean of the 4 x 4 block
    np.testing.assert_allclose(y.max(), 28.5 * PIXEL[0])  # the 2-row block's centre
    # grey repeated to RGB and stretched from its minimum (0) to its maximum (39000)
    assert (mesh.colours[:, 0] == mesh.colours[:, 2]).all()
    cols = x / PIXEL[1]
    np.testing.assert_allclose(mesh.colours[:, 1], np.rint(cols * 1000 * 255 / 39000), atol=1)

    half = np.full((8, 8), 1.0, np.float32)
    half[:4, :2] = np.nan  # block (0, 0): 8 of 16 unknown -> kept; block (0, 1) none
    half[4:, 4:7] = np.nan  # block (1, 1): 12 of 16 unknown -> dropped
    mesh = surface_mesh(half, np.zeros((8, 8)), step=4)
    assert len(mesh.vertices) == 3 and len(mesh.faces) == 1
    np.testing.assert_allclose(mesh.vertices[:, 2], 1.0)


def test_float_and_rgba_colours_use_the_image_range():
    height = np.zeros((4, 5), np.float32)
    rgba = np.zeros((4, 5, 4), np.float32)
    rgba[..., 0] = 0.2
    rgba[0, 0, :3] = (0.2, 0.6, 1.0)
    rgba[..., 3] = 7.0  # alpha is not colour
    mesh = surface_mesh(height, rgba)
    assert tuple(mesh.colours[0]) == (51, 153, 255)
    assert tuple(mesh.colours[1]) == (51, 0, 0)  # 0.2 on a 0..1 range


def test_bad_shapes_are_refused_in_one_sentence():
    with pytest.raises(FocalFuseError, match="same size"):
        surface_mesh(np.zeros((4, 5)), np.zeros((4, 6)))
    with pytest.raises(FocalFuseError, match="at least 1"):
        surface_mesh(np.zeros((4, 5)), np.zeros((4, 5)), step=0)


def test_default_step_keeps_big_images_under_the_vertex_budget():
    assert default_step((1000, 1000)) == 1
    assert default_step((1001, 1000)) == 2
    step = default_step((4000, 5000))  # 20 MP: 800 x 1000 vertices
    assert step == 5
    assert default_step((4000, 5000), max_vertices=1_250_000) == 4


def test_result_mesh_uses_the_sub_slice_surface_and_its_confidence():
    from napari_focalfuse.core.fusion import FusionResult

    surface = np.tile(np.linspace(0, 4, 8, dtype=np.float32), (6, 1))
    confidence = np.full((6, 8), 0.6, np.float32)
    confidence[:, :2] = 0.1  # flat background: unknown
    fused = np.full((6, 8, 3), 200, np.uint8)
    result = FusionResult(fused, np.zeros((6, 8), int), "deep", z_step=2.5, surface=surface,
                          confidence=confidence)  # fmt: skip
    mesh = result_mesh(result, (0.5, 0.5))
    assert len(mesh.vertices) == 6 * 6
    x, y, z = mesh.vertices.T
    np.testing.assert_allclose(z, surface[0, np.rint(x / 0.5).astype(int)] * 2.5)  # µm
    result.z_step = None
    np.testing.assert_allclose(result_mesh(result).vertices[:, 2], z / 2.5)  # slices
    assert len(result_mesh(result, min_confidence=0).vertices) == 6 * 8
