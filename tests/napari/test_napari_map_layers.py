"""Fusing other layers (fluorescence channels) with the fuse widget's current map."""

from __future__ import annotations

import numpy as np
import tifffile

from napari_focalfuse._napari._qt.fuse_widget import FuseWidget

from .conftest import prepare


def _picked(stack: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.take_along_axis(stack, mask.astype(int)[None], axis=0)[0]


def _spots(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A sparse 'fluorescent' uint16 stack: noise and a few bright pixels, differing per slice."""
    rng = np.random.default_rng(seed)
    out = rng.integers(100, 200, shape, dtype=np.uint16)
    out[rng.random(shape) > 0.995] = 4000
    return out


def test_other_layers_are_fused_with_the_current_map(make_napari_viewer, qtbot, grey_stack):
    viewer = make_napari_viewer()
    place = {"scale": (2.0, 0.5, 0.5), "translate": (0, 10, 20)}
    bf = viewer.add_image(grey_stack, name="bf", **place)
    fluo = viewer.add_image(_spots(grey_stack.shape), name="fluo", colormap="green",
                            blending="additive", **place)  # fmt: skip
    viewer.add_image(grey_stack[:, :50], name="cropped")  # another size: never offered
    widget = FuseWidget(viewer)
    panel = widget.map_panel
    assert panel.targets.choices == () and not panel.button.enabled  # no map yet
    prepare(widget, bf)
    widget.method.value = "laplacian"
    widget.run_blocking()
    assert panel.targets.choices == (fluo,) and panel.button.enabled

    panel.targets.value = [fluo]
    panel.button.clicked.emit()  # in a worker thread
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    fused = viewer.layers["fluo fused"]
    mask = viewer.layers["bf decision map"].data
    np.testing.assert_array_equal(fused.data, _picked(fluo.data, mask))
    assert fused.data.dtype == np.uint16
    for key in ("scale", "translate"):
        np.testing.assert_allclose(getattr(fused, key), getattr(viewer.layers["bf fused"], key))
    assert fused.colormap.name == "green" and fused.blending == "additive"
    assert panel.status.value == "Done: fluo fused."

    count = len(viewer.layers)
    widget.method.value = "deep"  # a new map: the same layer is updated, none added
    widget.run_blocking()
    panel.targets.value = [fluo]
    assert panel.run_blocking().error is None
    assert len(viewer.layers) == count and viewer.layers["fluo fused"] is fused
    np.testing.assert_array_equal(
        fused.data, _picked(fluo.data, viewer.layers["bf decision map"].data)
    )


def test_aligned_and_preview_maps_keep_their_geometry(make_napari_viewer, moving_u8):
    """The map of an aligned (cropped) fusion warps the other layer alike; a preview's map
    fuses the same crop of it."""
    from napari_focalfuse import apply_map

    viewer = make_napari_viewer()
    grey = moving_u8.mean(-1).round().astype(np.uint8)
    bf = viewer.add_image(grey, name="bf")
    fluo = viewer.add_image(_spots(grey.shape), name="fluo")
    widget = FuseWidget(viewer)
    prepare(widget, bf)
    widget.method.value = "laplacian"
    widget.align.value = "on"
    result = widget.run_blocking().value
    widget.map_panel.targets.value = [fluo]
    widget.map_panel.run_blocking()
    fused = viewer.layers["fluo fused"]
    assert fused.data.shape == result.mask.shape != grey.shape[1:]
    np.testing.assert_array_equal(fused.data, apply_map(fluo.data, result))
    np.testing.assert_allclose(fused.translate, viewer.layers["bf fused"].translate)
    assert tuple(fused.translate) != (0.0, 0.0)  # placed on the stack at the crop's offset

    widget.align.value = "off"
    viewer.add_shapes([np.array([[20, 30], [60, 90]])], shape_type="rectangle", name="region")
    preview = widget.run_blocking(preview=True).value
    widget.map_panel.targets.value = [fluo]
    widget.map_panel.run_blocking()
    crop = viewer.layers["fluo preview fused"]
    np.testing.assert_array_equal(crop.data, _picked(fluo.data[:, 20:60, 30:90], preview.mask))
    np.testing.assert_allclose(crop.translate, viewer.layers["bf preview fused"].translate)


def test_a_map_of_the_wrong_size_is_a_sentence(make_napari_viewer, grey_stack):
    from napari_focalfuse._napari.map_layers import MapJob

    viewer = make_napari_viewer()
    bf = viewer.add_image(grey_stack, name="bf")
    widget = FuseWidget(viewer)
    prepare(widget, bf)
    widget.method.value = "laplacian"
    widget.run_blocking()
    outcome = MapJob(widget.map_panel.current, [grey_stack[:, :40]]).run()
    assert outcome.value is None and "decision map is 96x96 px but" in outcome.error


def test_channels_of_a_file_open_as_layers_and_share_one_map(make_napari_viewer, tmp_path, grey_stack):
    """A ZCYX file opens as one layer per channel; the fused channels, written by the command
    line as one multi-channel TIFF, open as channels again."""
    from napari_focalfuse import fuse
    from napari_focalfuse.cli import main

    two = np.stack([grey_stack.astype(np.uint16) * 200, _spots(grey_stack.shape)], axis=1)
    path = tmp_path / "cells.tif"
    tifffile.imwrite(path, two, imagej=True, metadata={"axes": "ZCYX", "spacing": 2.0, "unit": "um"})
    viewer = make_napari_viewer()
    layers = viewer.open(path, plugin="napari-focalfuse")
    assert [layer.name for layer in layers] == ["cells channel 0", "cells channel 1"]
    assert all(layer.data.shape == grey_stack.shape for layer in layers)
    np.testing.assert_allclose(layers[1].scale, (2.0, 1.0, 1.0))
    widget = FuseWidget(viewer)
    prepare(widget, layers[0])
    widget.method.value = "laplacian"
    result = widget.run_blocking().value
    assert widget.map_panel.targets.choices == (layers[1],)
    widget.map_panel.targets.value = [layers[1]]
    widget.map_panel.run_blocking()
    np.testing.assert_array_equal(
        viewer.layers["cells channel 1 fused"].data, _picked(two[:, 1], result.mask)
    )

    out = tmp_path / "fused.tif"
    args = ["fuse", path, "-o", out, "--decide-on", "0", "--method", "laplacian", "-q"]
    assert main([str(a) for a in args]) == 0
    back = viewer.open(out, plugin="napari-focalfuse")
    assert [layer.name for layer in back] == ["fused channel 0", "fused channel 1"]
    expected = fuse(np.moveaxis(two, 1, -1), "laplacian", decide_on=0).fused
    for c in (0, 1):
        np.testing.assert_array_equal(back[c].data, expected[..., c])
