"""Sample data and the writer, through a real viewer."""

from __future__ import annotations

import numpy as np
import tifffile

from napari_focalfuse._napari.sample_data import SAMPLE_Z_STEP_UM

PLUGIN = "napari-focalfuse"


def test_sample_data_loads(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "motorcycle")
    stack = viewer.layers["motorcycle"]
    assert stack.rgb and stack.data.dtype == np.uint8 and stack.data.shape == (6, 500, 741, 3)
    assert stack.scale[0] == SAMPLE_Z_STEP_UM
    assert not viewer.layers["motorcycle all-in-focus (truth)"].visible


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
