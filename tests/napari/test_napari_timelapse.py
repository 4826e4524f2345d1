"""Time-lapse layers in napari: opened as (T, Z, Y, X), fused into frames that follow time."""

from __future__ import annotations

import numpy as np
import tifffile
from napari.layers import Image, Labels

from napari_focalfuse._napari._qt.fuse_widget import FuseWidget
from napari_focalfuse.core.fusion import fuse

from ..timelapse_data import rendered_timelapse
from .conftest import prepare

PLUGIN = "napari-focalfuse"
LAPLACIAN = {"method": "laplacian", "window": 5, "consistency": True, "soften": True}  # widget's


def _widget(viewer, layer) -> FuseWidget:
    widget = FuseWidget(viewer)
    prepare(widget, layer)
    widget.method.value = "laplacian"
    return widget


def test_reader_opens_a_time_lapse_file_as_one_lazy_4d_layer(make_napari_viewer, tmp_path):
    movie = rendered_timelapse()
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, movie, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "TZYX", "spacing": 0.75, "unit": "um"})  # fmt: skip
    hyper = tmp_path / "hyper.ome.tif"
    tifffile.imwrite(hyper, np.stack([movie, movie[:, ::-1]], axis=1), ome=True,
                     metadata={"axes": "TCZYX"})  # fmt: skip
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin=PLUGIN)
    assert layer.name == "movie" and layer.data.shape == (3, 4, 64, 64) and not layer.rgb
    np.testing.assert_allclose(layer.scale, [1.0, 0.75, 0.5, 0.5])  # t, z-step, pixel size
    np.testing.assert_array_equal(np.asarray(layer.data[2, 1]), movie[2, 1])
    channels = viewer.open(hyper, plugin=PLUGIN)  # one time-lapse layer per channel
    assert [c.name for c in channels] == ["hyper channel 0", "hyper channel 1"]
    np.testing.assert_array_equal(np.asarray(channels[1].data[1, 2]), movie[1, 1])


def test_widget_fuses_every_time_point_into_frames_on_the_time_slider(
    make_napari_viewer, qtbot, monkeypatch
):
    import napari.utils

    bars = []

    class SpyProgress(napari.utils.progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(napari.utils, "progress", SpyProgress)
    movie = rendered_timelapse()
    viewer = make_napari_viewer()
    stack = viewer.add_image(movie, name="movie", scale=(1.0, 2.0, 0.5, 0.5),
                             units=("s", "µm", "µm", "µm"))  # fmt: skip
    widget = _widget(viewer, stack)
    widget.run_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    steps = []
    fuse(movie[0], keep_size=True, progress=lambda d, t: steps.append(t), **LAPLACIAN)
    assert len(bars) == 1 and bars[0].n == bars[0].total == 3 * steps[0]  # one bar, all of it

    fused, mask, height = (viewer.layers[f"movie {k}"] for k in ("fused", "decision map", "height"))
    assert isinstance(fused, Image) and isinstance(mask, Labels)
    assert fused.data.shape == mask.data.shape == height.data.shape == (3, 1, 64, 64)
    for t in range(3):
        alone = fuse(movie[t], keep_size=True, **LAPLACIAN)
        np.testing.assert_array_equal(fused.data[t, 0], alone.fused)
        np.testing.assert_array_equal(mask.data[t, 0], alone.mask)
    np.testing.assert_allclose(height.data, mask.data * 2.0)  # z from the stack's µm z scale
    # the frames line up with the stack's time axis and cover its every z position
    for layer in (fused, mask, height):
        for t in range(3):
            for z in range(4):
                world = stack.data_to_world((t, z, 10, 20))
                assert tuple(np.round(layer.world_to_data(world)).astype(int)) == (t, 0, 10, 20)
    assert "3 time points of 4 slices" in widget.status.value

    count = len(viewer.layers)
    widget.run_blocking()  # a re-run updates the frames in place
    assert len(viewer.layers) == count and viewer.layers["movie fused"] is fused


def test_cancel_and_preview_of_a_time_lapse(make_napari_viewer, qtbot, monkeypatch):
    messages, errors = [], []
    monkeypatch.setattr("napari.utils.notifications.show_info", messages.append)
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    viewer = make_napari_viewer()
    stack = viewer.add_image(rendered_timelapse(), name="movie")
    widget = _widget(viewer, stack)
    widget.start()
    widget.cancel()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert len(viewer.layers) == 1 and widget.status.value == "Cancelled."
    assert any("cancelled" in m for m in messages)
    assert widget.preview() is None
    assert errors and "movie is a time-lapse; Preview region works on one focal stack" in errors[0]
