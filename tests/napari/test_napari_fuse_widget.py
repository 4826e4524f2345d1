"""The "Fuse focal stack" dock widget in a real napari window."""

from __future__ import annotations

import numpy as np
from napari.layers import Image, Labels

from napari_focalfuse._napari._qt.fuse_widget import FuseWidget
from napari_focalfuse.core.weights import default_weights_path

PLUGIN = "napari-focalfuse"
WEIGHTS = "default" if default_weights_path().is_file() else "random"


def _run(qtbot, widget: FuseWidget) -> None:
    """Press the Fuse button and wait for the worker to finish (the GUI thread keeps running)."""
    widget.run_button.clicked.emit()
    assert widget.running
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)


def _prepare(widget: FuseWidget, layer) -> None:
    widget.stack.reset_choices()
    widget.stack.value = layer
    widget.weights.value = WEIGHTS


def test_docked_widget_fuses_and_updates_in_place(make_napari_viewer, qtbot, monkeypatch, rgb_stack):
    import napari.utils

    bars = []

    class SpyProgress(napari.utils.progress):  # the bar napari shows in its activity dock
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(napari.utils, "progress", SpyProgress)
    viewer = make_napari_viewer()
    stack = viewer.add_image(rgb_stack, rgb=True, name="astro", scale=(2.0, 0.5, 0.5),
                             translate=(0, 10, 20))
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Fuse focal stack")
    assert isinstance(widget, FuseWidget)
    _prepare(widget, stack)
    _run(qtbot, widget)
    assert len(bars) == 1 and bars[0].n == bars[0].total >= len(rgb_stack)  # ran to the end

    fused = viewer.layers["astro fused"]
    mask = viewer.layers["astro decision map"]
    height = viewer.layers["astro height"]  # the layer's z scale (2 µm) is a known z-step
    assert isinstance(fused, Image) and isinstance(mask, Labels) and isinstance(height, Image)
    assert fused.rgb and fused.data.shape == rgb_stack.shape[1:] and fused.data.dtype == np.uint8
    assert mask.data.shape == rgb_stack.shape[1:3] and np.issubdtype(mask.data.dtype, np.integer)
    assert 0 <= mask.data.min() and mask.data.max() < len(rgb_stack)
    np.testing.assert_allclose(height.data, mask.data * 2.0)
    for layer in (fused, mask, height):
        np.testing.assert_allclose(layer.scale, (0.5, 0.5))
        np.testing.assert_allclose(layer.translate, (10, 20))

    count, objects = len(viewer.layers), (fused, mask, height)
    widget.method.value = "laplacian"
    _run(qtbot, widget)
    assert len(viewer.layers) == count
    assert (viewer.layers["astro fused"], viewer.layers["astro decision map"],
            viewer.layers["astro height"]) == objects
    assert fused.metadata["method"] == "laplacian"


def test_direct_widget_grey_stack_blocking(make_napari_viewer, grey_stack):
    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey")
    widget = FuseWidget(viewer)
    _prepare(widget, stack)
    widget.soften.value = False
    outcome = widget.run_blocking()
    assert outcome.error is None and not outcome.cancelled
    fused = viewer.layers["grey fused"]
    assert fused.data.shape == grey_stack.shape[1:] and fused.data.dtype == np.uint8
    assert "grey height" not in viewer.layers  # z scale 1 and no override: z-step unknown
    # without softening every fused pixel is that pixel of the slice the map names
    picked = np.take_along_axis(grey_stack, outcome.value.mask[None].astype(int), 0)[0]
    np.testing.assert_array_equal(fused.data, picked)

    widget.z_step.value = 3.0  # the override makes the height map appear
    widget.run_blocking()
    mask = viewer.layers["grey decision map"].data
    np.testing.assert_allclose(viewer.layers["grey height"].data, mask * 3.0)
    widget.z_step.value = 0.0  # unknown again: the stale height map goes
    widget.run_blocking()
    assert "grey height" not in viewer.layers


def test_cancel_leaves_viewer_unchanged(make_napari_viewer, qtbot, monkeypatch, grey_stack):
    messages = []
    monkeypatch.setattr("napari.utils.notifications.show_info", messages.append)
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.concatenate([grey_stack] * 3), name="long")
    widget = FuseWidget(viewer)
    _prepare(widget, stack)
    widget.start()
    widget.cancel()  # before the worker reaches its first slice
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert len(viewer.layers) == 1
    assert widget.status.value == "Cancelled."
    assert any("cancelled" in m for m in messages)
    assert widget.run_button.enabled and not widget.cancel_button.enabled


def test_core_error_is_a_notification(make_napari_viewer, qtbot, monkeypatch):
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    viewer = make_napari_viewer()
    tiny = viewer.add_image(np.zeros((3, 6, 6), np.uint8), name="tiny")  # too small to fuse
    widget = FuseWidget(viewer)
    _prepare(widget, tiny)
    _run(qtbot, widget)
    assert len(errors) == 1 and "too small" in errors[0]
    assert len(viewer.layers) == 1 and widget.status.value == "Failed."


def test_stack_choices_follow_layers(make_napari_viewer, rgb_stack):
    viewer = make_napari_viewer()
    widget = FuseWidget(viewer)
    assert widget.stack.choices == ()
    viewer.add_image(rgb_stack[0], rgb=True, name="flat")  # 2-D RGB: not a stack
    stack = viewer.add_image(rgb_stack, rgb=True, name="astro")
    assert widget.stack.choices == (stack,)
    viewer.layers.remove(stack)
    assert widget.stack.choices == ()


def test_missing_weights_file_is_reported(make_napari_viewer, monkeypatch, grey_stack):
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey")
    widget = FuseWidget(viewer)
    _prepare(widget, stack)
    widget.weights.value = "file"
    assert not widget.weights_file.native.isHidden()  # shown once the file choice is made
    assert widget.run_blocking() is None
    assert errors and "weights file" in errors[0]



def test_destroyed_widget_cancels_its_run(make_napari_viewer, qtbot, monkeypatch, grey_stack):
    """Late worker signals must not touch a deleted widget (no errors, no results added)."""
    import time

    from napari_focalfuse._napari import jobs

    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="stack")
    dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Fuse focal stack")
    _prepare(widget, stack)
    run = jobs.FuseJob.run

    def run_after_close(self, *args, **kwargs):  # the worker starts only once the dock is gone
        deadline = time.time() + 30
        while not widget._closed and time.time() < deadline:
            time.sleep(0.01)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(jobs.FuseJob, "run", run_after_close)
    worker = widget.start()
    finished = []
    worker.finished.connect(lambda: finished.append(True))
    viewer.window.remove_dock_widget(dock)
    widget.native.deleteLater()
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    assert widget._closed and len(viewer.layers) == 1
