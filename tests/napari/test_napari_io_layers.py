"""Sample data and the writer, through a real viewer."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

PLUGIN = "napari-focalfuse"


def test_sample_data_loads_with_the_documented_z_step(make_napari_viewer):
    from napari_focalfuse._napari._qt.fuse_widget import FuseWidget

    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "motorcycle")
    stack = viewer.layers["motorcycle"]
    assert stack.rgb and stack.data.dtype == np.uint8 and stack.data.shape == (6, 500, 741, 3)
    assert stack.scale[0] == 10.0  # docs/napari.md: "a z-step of 10 µm is assumed"
    assert not viewer.layers["motorcycle all-in-focus (truth)"].visible
    widget = FuseWidget(viewer)
    widget.stack.value = stack
    widget.method.value = "laplacian"
    widget.run_blocking()
    height = viewer.layers["motorcycle height"]
    np.testing.assert_allclose(height.data, viewer.layers["motorcycle decision map"].data * 10.0)


def test_writer_round_trips_image_and_labels(make_napari_viewer, tmp_path, rgb_stack):
    viewer = make_napari_viewer()
    fused = viewer.add_image(rgb_stack[0], rgb=True, name="fused")
    mask = np.arange(96 * 96, dtype=np.int16).reshape(96, 96) % 4
    labels = viewer.add_labels(mask, name="decision map")
    fused.save(str(tmp_path / "fused.tif"), plugin=PLUGIN)
    labels.save(str(tmp_path / "map.tif"), plugin=PLUGIN)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "fused.tif"), rgb_stack[0])
    back = tifffile.imread(tmp_path / "map.tif")
    assert np.issubdtype(back.dtype, np.integer)
    np.testing.assert_array_equal(back, mask)


def test_saving_from_code_never_replaces_a_file(make_napari_viewer, tmp_path, rgb_stack, file_state):
    viewer = make_napari_viewer()
    layer = viewer.add_image(rgb_stack[0], rgb=True, name="fused")
    target = tmp_path / "fused.tif"
    target.write_bytes(b"an earlier result")
    before = file_state(target)
    with pytest.raises(Exception, match=r"fused\.tif already exists; .* napari's save dialog"):
        layer.save(str(target), plugin=PLUGIN)
    with pytest.raises(Exception, match="already exists"):  # npe2 appends .tif: not asked either
        layer.save(str(tmp_path / "fused"), plugin=PLUGIN)
    assert file_state(target) == before


def test_the_save_dialog_asked_so_the_file_is_replaced(make_napari_viewer, tmp_path, monkeypatch, rgb_stack):
    """File › Save Selected Layers…: Qt's dialog asked "replace?" for this very name."""
    from qtpy.QtWidgets import QFileDialog

    viewer = make_napari_viewer()
    viewer.add_image(rgb_stack[0], rgb=True, name="fused")
    target = tmp_path / "fused.tif"
    target.write_bytes(b"an earlier result")

    def user_confirms_replacing(*args, **kwargs):
        filters = kwargs.get("filter") or args[3]
        chosen = next(f for f in filters.split(";;") if "FocalFuse" in f)
        return str(target), chosen

    monkeypatch.setattr(QFileDialog, "getSaveFileName", user_confirms_replacing)
    viewer.window._qt_viewer._save_layers_dialog(selected=True)
    np.testing.assert_array_equal(tifffile.imread(target), rgb_stack[0])
