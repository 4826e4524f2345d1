"""'Show surface in 3-D': the relief as a Surface layer coloured by the fused image."""

from __future__ import annotations

import numpy as np
from napari.layers import Surface

from napari_focalfuse._napari._qt.fuse_widget import FuseWidget
from napari_focalfuse.core.mesh import result_mesh

from .conftest import prepare


def test_surface_layer_has_the_fused_colours_and_is_updated_in_place(make_napari_viewer, rgb_stack):
    viewer = make_napari_viewer()
    stack = viewer.add_image(rgb_stack, rgb=True, name="moto", scale=(2.0, 0.5, 0.5),
                             translate=(5, 10, 20), units=("µm", "µm", "µm"))  # fmt: skip
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.show_surface.value = True
    outcome = widget.run_blocking()

    surface = viewer.layers["moto surface"]
    assert isinstance(surface, Surface) and widget.layers["surface"] is surface
    assert viewer.dims.ndisplay == 3
    vertices, faces = surface.data[:2]
    expected = result_mesh(outcome.value)  # the z-step (2 µm, from the layer's units) is known
    assert len(vertices) == len(expected.vertices) > 0.9 * 96 * 96 and len(faces) > len(vertices)
    z, rows, cols = vertices.T
    np.testing.assert_allclose(z, expected.vertices[:, 2])  # µm
    assert 0 <= z.min() and z.max() <= 3 * 2.0 + 1e-3
    # each vertex has its own pixel's colour in the fused image
    fused = viewer.layers["moto fused"].data
    np.testing.assert_allclose(surface.vertex_colors[:, :3] * 255,
                               fused[rows.astype(int), cols.astype(int)], atol=0.5)  # fmt: skip
    # z in µm from the stack's z origin; y, x placed like the fused image
    np.testing.assert_allclose(surface.scale, (1.0, 0.5, 0.5))
    np.testing.assert_allclose(surface.translate, (5, 10, 20))

    count = len(viewer.layers)
    widget.method.value = "laplacian"
    outcome = widget.run_blocking()
    assert len(viewer.layers) == count and viewer.layers["moto surface"] is surface
    assert len(surface.data[0]) == len(result_mesh(outcome.value).vertices)
    assert len(surface.vertex_colors) == len(surface.data[0])


def test_no_surface_layer_unless_asked(make_napari_viewer, grey_stack):
    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.method.value = "laplacian"
    widget.run_blocking()
    assert "grey surface" not in viewer.layers and viewer.dims.ndisplay == 2


def test_surface_lies_inside_the_stack_whatever_its_z_scale(make_napari_viewer, grey_stack):
    """A z-step typed into the widget (2.5 µm) on a stack of unit z scale: the surface's heights
    (µm) are placed where their slices lie, not 2.5 times as far."""
    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.method.value = "laplacian"
    widget.z_step.value = 2.5
    widget.show_surface.value = True
    widget.run_blocking()
    surface = viewer.layers["grey surface"]
    world_z = surface.data[0][:, 0] * surface.scale[0] + surface.translate[0]
    assert surface.scale[0] == 1 / 2.5
    assert 0 <= world_z.min() and world_z.max() <= len(grey_stack) - 1 + 1e-3
