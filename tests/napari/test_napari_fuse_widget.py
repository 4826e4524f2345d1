"""The "Fuse focal stack" dock widget in a real napari window."""

from __future__ import annotations

import numpy as np
from napari.layers import Image, Labels

from napari_focalfuse._napari._qt.fuse_widget import FuseWidget

from .conftest import WEIGHTS, prepare

PLUGIN = "napari-focalfuse"


def _run(qtbot, widget: FuseWidget) -> None:
    """Press the Fuse button and wait for the worker to finish (the GUI thread keeps running)."""
    widget.run_button.clicked.emit()
    assert widget.running
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)


def test_docked_widget_fuses_and_updates_in_place(make_napari_viewer, qtbot, monkeypatch, rgb_stack):
    import napari.utils

    bars = []

    class SpyProgress(napari.utils.progress):  # the bar napari shows in its activity dock
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(napari.utils, "progress", SpyProgress)
    viewer = make_napari_viewer()
    stack = viewer.add_image(rgb_stack, rgb=True, name="moto", scale=(2.0, 0.5, 0.5),
                             translate=(0, 10, 20), units=("µm", "µm", "µm"))
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Fuse focal stack")
    assert isinstance(widget, FuseWidget)
    prepare(widget, stack)
    _run(qtbot, widget)
    assert len(bars) == 1 and bars[0].n == bars[0].total >= len(rgb_stack)  # ran to the end

    fused = viewer.layers["moto fused"]
    mask = viewer.layers["moto decision map"]
    height = viewer.layers["moto height"]  # a z scale of 2 in µm (napari units) is a z-step
    assert isinstance(fused, Image) and isinstance(mask, Labels) and isinstance(height, Image)
    assert fused.rgb and fused.data.shape == rgb_stack.shape[1:] and fused.data.dtype == np.uint8
    assert mask.data.shape == rgb_stack.shape[1:3] and np.issubdtype(mask.data.dtype, np.integer)
    assert 0 <= mask.data.min() and mask.data.max() < len(rgb_stack)
    np.testing.assert_allclose(height.data, mask.data * 2.0)
    for layer in (fused, mask, height):
        np.testing.assert_allclose(layer.scale, (0.5, 0.5))
        np.testing.assert_allclose(layer.translate, (10, 20))
    # the map lies under the fused image, which is selected: no paint tools are offered
    order = [layer.name for layer in viewer.layers]
    assert order.index("moto decision map") < order.index("moto fused")
    assert order.index("moto height") < order.index("moto fused")
    assert viewer.layers.selection.active is fused and mask.mode == "pan_zoom"
    assert mask.opacity == 1.0 and mask.visible

    count, objects = len(viewer.layers), (fused, mask, height)
    widget.method.value = "laplacian"
    _run(qtbot, widget)
    assert len(viewer.layers) == count
    assert (viewer.layers["moto fused"], viewer.layers["moto decision map"],
            viewer.layers["moto height"]) == objects
    assert fused.metadata["method"] == "laplacian"


def test_direct_widget_grey_stack_blocking(make_napari_viewer, grey_stack):
    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
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
    prepare(widget, stack)
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
    prepare(widget, tiny)
    _run(qtbot, widget)
    assert len(errors) == 1 and "too small" in errors[0]
    assert len(viewer.layers) == 1 and widget.status.value == "Failed."


def test_stack_choices_follow_layers(make_napari_viewer, rgb_stack):
    viewer = make_napari_viewer()
    widget = FuseWidget(viewer)
    assert widget.stack.choices == ()
    viewer.add_image(rgb_stack[0], rgb=True, name="flat")  # 2-D RGB: not a stack
    stack = viewer.add_image(rgb_stack, rgb=True, name="moto")
    assert widget.stack.choices == (stack,)
    viewer.layers.remove(stack)
    assert widget.stack.choices == ()


def test_missing_weights_file_is_reported(make_napari_viewer, monkeypatch, grey_stack):
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
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
    prepare(widget, stack)
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


def test_map_colours_and_legend_match_the_demo_figure(make_napari_viewer, grey_stack):
    """The layer, the widget's legend and the demo's comparison.png colour a slice alike."""
    from napari_focalfuse.io.preview import slice_colours

    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.z_step.value = 2.5
    widget.run_blocking()
    mask = viewer.layers["grey decision map"]
    n = len(grey_stack)
    expected = slice_colours(n)
    for z in range(n):
        np.testing.assert_allclose(mask.colormap.map(z)[:3], expected[z], atol=1e-6)
    legend = widget.legend.value
    for z in range(n):
        hex_colour = "#" + "".join(f"{round(c * 255):02x}" for c in expected[z])
        assert f'color:{hex_colour}">&#9632;</span>&nbsp;{z}: {z * 2.5:g} µm' in legend
    # hovering the map shows the slice's height in the status bar
    status = mask.get_status((10, 10), world=True)["coordinates"]
    z = int(mask.data[10, 10])
    assert f"z (µm): {z * 2.5:g}" in status


def test_a_bare_z_scale_is_not_taken_for_a_z_step(make_napari_viewer, grey_stack):
    """napari scales are in pixels unless a unit says otherwise: no made-up height map."""
    viewer = make_napari_viewer()
    stack = viewer.add_image(grey_stack, name="grey", scale=(2.0, 1.0, 1.0))
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.method.value = "laplacian"
    widget.run_blocking()
    assert "grey height" not in viewer.layers
    assert "z-step unknown" in widget.status.value and "unknown" in widget.legend.value


def _select_region(viewer, stack, y0, y1, x0, x1):
    """Draw a rectangle (in world coordinates) on a new Shapes layer, which becomes active."""
    sy, sx = stack.scale[-2:]
    ty, tx = stack.translate[-2:]
    corners = np.array([[ty + y0 * sy, tx + x0 * sx], [ty + y1 * sy, tx + x1 * sx]])
    return viewer.add_shapes([corners], shape_type="rectangle", name="region")


def test_preview_fuses_only_the_drawn_region_with_the_same_options(make_napari_viewer, rgb_stack):
    from napari_focalfuse import fuse

    viewer = make_napari_viewer()
    stack = viewer.add_image(rgb_stack, rgb=True, name="moto", scale=(1, 0.5, 0.5), translate=(0, 10, 20))
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.window.value = 3
    _select_region(viewer, stack, 20, 60, 30, 90)
    outcome = widget.run_blocking(preview=True)
    assert outcome.error is None
    fused = viewer.layers["moto preview fused"]
    mask = viewer.layers["moto preview decision map"]
    assert fused.data.shape == (40, 60, 3) and mask.data.shape == (40, 60)
    np.testing.assert_allclose(fused.translate, (10 + 20 * 0.5, 20 + 30 * 0.5))
    np.testing.assert_allclose(mask.scale, (0.5, 0.5))
    crop = rgb_stack[:, 20:60, 30:90]
    same = fuse(crop, "deep", WEIGHTS, window=3, scale=1)
    np.testing.assert_array_equal(mask.data, same.mask)
    np.testing.assert_array_equal(fused.data, same.fused)
    assert "moto fused" not in viewer.layers  # a preview is not the result

    count = len(viewer.layers)
    viewer.layers.selection.active = viewer.layers["region"]
    viewer.layers["region"].data = [np.array([[10.0 + 5, 20.0 + 5], [10.0 + 20, 20.0 + 30]])]
    viewer.layers["region"].selected_data = set()
    widget.run_blocking(preview=True)
    assert len(viewer.layers) == count  # the next preview replaces the layers
    assert viewer.layers["moto preview fused"].data.shape == (30, 50, 3)


def test_preview_without_a_rectangle_takes_what_is_on_screen(make_napari_viewer, qtbot, grey_stack):
    viewer = make_napari_viewer(show=True)  # napari tracks the visible part while it draws
    big = np.tile(grey_stack, (1, 4, 4))  # 384 x 384
    stack = viewer.add_image(big, name="big")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.method.value = "laplacian"
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera  # napari 0.9
    camera.center = (0, 100, 250)
    camera.zoom = 8
    qtbot.waitUntil(lambda: stack.corner_pixels[1, -1] - stack.corner_pixels[0, -1] < 200, timeout=10_000)
    (y0, x0), (y1, x1) = stack.corner_pixels[:, -2:]
    widget.run_blocking(preview=True)
    fused = viewer.layers["big preview fused"]
    assert fused.data.shape == (y1 - y0 + 1, x1 - x0 + 1)
    np.testing.assert_allclose(fused.translate, (y0, x0))
    assert abs((y0 + y1) / 2 - 100) <= 1 and abs((x0 + x1) / 2 - 250) <= 1


def test_preview_of_a_large_view_is_cut_to_its_centre(make_napari_viewer, monkeypatch):
    """A preview stays about a second: at most 1024 x 1024 px, here around the view's centre,
    and with the feature scale "auto" would pick for the whole stack."""
    from napari_focalfuse._napari import jobs, preview_region

    monkeypatch.setattr(preview_region, "MAX_SIDE", 64)
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.random.default_rng(0).random((3, 1200, 1000), np.float32), name="s")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    captured = {}
    def capture(self, **kwargs):
        captured["job"] = self
        return jobs.Outcome(cancelled=True)

    monkeypatch.setattr(jobs.FuseJob, "run", capture)
    widget.run_blocking(preview=True)  # not drawn yet: the whole stack is "on screen"
    job = captured["job"]
    assert job.stack.shape == (3, 64, 64)
    assert (job.stack.rows, job.stack.cols) == (slice(568, 632), slice(468, 532))
    assert job.options["scale"] == 2  # auto for 1200 x 1000, not for the 64 x 64 crop


# ------------------------------------------------------------------ alignment (issue 8)


def test_align_choice_reaches_fusion_and_results_sit_on_the_stack(make_napari_viewer, moving_u8):
    """Off: the whole frame. On: cropped to what every slice covers, placed at the crop's offset
    (times the layer scale) so it overlays the stack; the same layers are updated. Keep size:
    the whole frame again. The label says what alignment found."""
    import napari_focalfuse as ff
    from napari_focalfuse._napari.aligned import result_offset

    viewer = make_napari_viewer()
    stack = viewer.add_image(moving_u8, rgb=True, name="moving", scale=(2.0, 0.5, 0.5),
                             translate=(0, 10, 20))  # fmt: skip
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.method.value = "laplacian"
    assert widget.align.value == "auto" and not widget.keep_size.value  # the defaults
    widget.align.value = "off"
    assert widget.run_blocking().value.alignment is None
    fused, mask = viewer.layers["moving fused"], viewer.layers["moving decision map"]
    assert fused.data.shape == moving_u8.shape[1:]
    np.testing.assert_allclose(fused.translate, (10, 20))
    assert widget.alignment_info.value == "Alignment off: slices used as they are."

    widget.align.value = "on"
    widget.add_aligned.value = True
    count = len(viewer.layers)
    result = widget.run_blocking().value
    y0, x0, h, w = result.crop
    assert y0 > 0 and x0 > 0 and (h, w) < moving_u8.shape[1:3]
    assert viewer.layers["moving fused"] is fused and viewer.layers["moving decision map"] is mask
    assert len(viewer.layers) == count + 1  # only the aligned stack is new
    assert fused.data.shape == (h, w, 3) and mask.data.shape == (h, w)
    for layer in (fused, mask):
        np.testing.assert_allclose(layer.translate, (10 + 0.5 * y0, 20 + 0.5 * x0))
        np.testing.assert_allclose(layer.data_to_world((0, 0)), stack.data_to_world((0, y0, x0))[1:])
    assert widget.alignment_info.value.startswith("Aligned: largest shift ")
    assert f"cropped to {w}x{h} px" in widget.alignment_info.value
    assert result_offset((5, 7), result.alignment) == (5 + y0, 7 + x0)  # a preview's crop too

    aligned = viewer.layers["moving aligned"]
    assert aligned.data.shape == (len(moving_u8), h, w, 3) and not aligned.visible
    np.testing.assert_allclose(aligned.translate, (0, 10 + 0.5 * y0, 20 + 0.5 * x0))
    view = ff.AlignedStack(moving_u8, result.alignment)
    np.testing.assert_array_equal(np.asarray(aligned.data[1]), view[1])
    assert viewer.layers.selection.active is fused  # the aligned stack did not take the focus

    widget.keep_size.value = True
    widget.run_blocking()
    assert fused.data.shape == moving_u8.shape[1:]
    np.testing.assert_allclose(fused.translate, (10, 20))
    assert "full frame kept" in widget.alignment_info.value


def test_alignment_warnings_are_notifications(make_napari_viewer, qtbot, monkeypatch, moving_u8):
    """A slice that cannot be aligned is one warning notification (a sentence), shown once."""
    import napari.qt.threading

    shown, relayed = [], []
    monkeypatch.setattr("napari.utils.notifications.show_warning", shown.append)
    real_create_worker = napari.qt.threading.create_worker

    def create_worker(*args, **kwargs):  # record what the worker relays as Python warnings
        worker = real_create_worker(*args, **kwargs)
        worker.warned.connect(lambda args: relayed.append(args))
        return worker

    monkeypatch.setattr(napari.qt.threading, "create_worker", create_worker)
    blank = moving_u8.copy()
    blank[4] = 0
    viewer = make_napari_viewer()
    stack = viewer.add_image(blank, rgb=True, name="blank")
    widget = FuseWidget(viewer)
    prepare(widget, stack)
    widget.method.value = "laplacian"
    widget.align.value = "on"
    _run(qtbot, widget)  # in a worker thread, as from the button
    assert shown == [
        "Slice 4 was not aligned: it has no texture to register (blank or flat); "
        "it keeps its position."
    ]
    assert not [a for a in relayed if "not aligned" in str(a[0])]  # not also a Python warning
    assert widget.alignment_info.value.startswith("Aligned: ")
    assert viewer.layers["blank fused"].data.shape[:2] < blank.shape[1:3]
