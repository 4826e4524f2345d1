"""The "Fine-tune autoencoder" dock widget: trains in a worker, plots the loss, stops, saves."""

from __future__ import annotations

import numpy as np

import napari_focalfuse as ff
from napari_focalfuse._napari._qt.finetune_widget import FinetuneWidget
from napari_focalfuse._napari._qt.fuse_widget import FuseWidget
from napari_focalfuse._napari.registry import TUNED_MODELS
from napari_focalfuse.core.weights import load_weights

PLUGIN = "napari-focalfuse"


def _tiny_settings(widget: FinetuneWidget, layer, epochs: int, steps: int) -> None:
    widget.stack.reset_choices()
    widget.stack.value = layer
    widget.start_from.value = "random"  # a clear fall of the loss in a few steps
    widget.epochs.value = epochs
    widget.steps_per_epoch.value = steps
    widget.patch_size.value = 32
    widget.lr.value = 1e-3
    widget.device.value = "cpu"


def test_finetune_loss_falls_and_model_reaches_fusion(make_napari_viewer, qtbot, tmp_path, grey_stack):
    viewer = make_napari_viewer()
    layer = viewer.add_image(grey_stack, name="grey")
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Fine-tune autoencoder")
    fuse = FuseWidget(viewer)
    _tiny_settings(widget, layer, epochs=3, steps=6)
    widget.start_button.clicked.emit()
    assert widget.running and not widget.start_button.enabled
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)

    tuned = widget.tuned
    assert tuned is not None and not tuned.stopped_early
    assert len(tuned.losses) == 3 and tuned.losses[-1] < tuned.losses[0]
    assert len(widget.plot.steps) == 18 and len(widget.plot.epoch_y) == 3  # the live curve
    assert widget.progress.value == widget.progress.max == 18
    assert widget.tuned_name in TUNED_MODELS

    # what the tuning bought: the maps before and after, as layers over the stack
    before, after = viewer.layers["grey map before tuning"], viewer.layers["grey map after tuning"]
    np.testing.assert_array_equal(before.data, ff.fuse(grey_stack, weights="random", align=False).mask)
    np.testing.assert_array_equal(after.data, ff.fuse(grey_stack, weights=tuned, align=False).mask)
    changed = np.mean(before.data != after.data)
    assert changed > 0.01 and f"{changed:.1%} of the map changed slice" in widget.status.value
    key = "tuned:" + widget.tuned_name
    assert key in fuse.weights.choices  # listed for fusion

    fuse.stack.value = layer
    fuse.weights.value = key
    fuse.consistency.value = fuse.soften.value = False  # the raw map shows the network's choice
    outcome = fuse.run_blocking()
    assert outcome.error is None and "grey fused" in viewer.layers
    options = dict(consistency=False, soften=False, scale=1)
    np.testing.assert_array_equal(outcome.value.mask, ff.fuse(grey_stack, weights=tuned, **options).mask)
    shipped = ff.fuse(grey_stack, weights="default", **options).mask
    assert np.mean(outcome.value.mask != shipped) > 0.01  # the tuned network, not the shipped one

    saved = widget.save(str(tmp_path / "tuned"))
    assert saved.endswith("tuned.pt")
    model = load_weights(saved)
    ref = tuned.model.state_dict()
    assert all(np.allclose(v.numpy(), ref[k].numpy()) for k, v in model.state_dict().items())


def test_save_never_replaces_a_file_nobody_was_asked_about(
    make_napari_viewer, tmp_path, monkeypatch, file_state
):
    from qtpy.QtWidgets import QFileDialog

    from napari_focalfuse.core.model import FocalAutoencoder
    from napari_focalfuse.core.training import TunedModel

    errors, questions = [], []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    widget = FinetuneWidget(make_napari_viewer())
    widget.tuned = TunedModel(model=FocalAutoencoder(), losses=[0.5])
    target = tmp_path / "tuned.pt"
    target.write_bytes(b"last week's weights")
    before = file_state(target)

    answer = {"value": False}
    monkeypatch.setattr(
        FinetuneWidget, "confirm_replace", lambda self, path: questions.append(path) or answer["value"]
    )
    # ".pt" appended to a name: tuned.pt was never shown to the user, so they are asked
    assert widget.save(str(tmp_path / "tuned")) is None
    assert questions == [str(target)] and file_state(target) == before
    # the dialog returns "tuned" (no extension): same question, this time answered yes
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "tuned"), ""))
    answer["value"] = True
    assert widget.save() == str(target) and len(questions) == 2
    assert file_state(target) != before
    load_weights(target)
    # the dialog returns tuned.pt itself: Qt asked already, no second question
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert widget.save() == str(target) and len(questions) == 2
    # a script naming an existing file without overwrite=True gets a refusal
    assert widget.save(str(target)) is None and "already exists" in errors[-1]


def test_stop_ends_cleanly_with_a_model(make_napari_viewer, qtbot, grey_stack):
    viewer = make_napari_viewer()
    layer = viewer.add_image(grey_stack, name="grey")
    widget = FinetuneWidget(viewer)
    _tiny_settings(widget, layer, epochs=200, steps=20)
    widget.start()
    qtbot.waitUntil(lambda: len(widget.plot.steps) >= 3, timeout=60_000)
    widget.stop()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert widget.tuned is not None and widget.tuned.stopped_early
    assert widget.maps is None and "grey map after tuning" not in viewer.layers  # Stop means now
    assert len(widget.plot.steps) < 200 * 20
    assert widget.save_button.enabled and widget.start_button.enabled
    assert len(TUNED_MODELS) == 1


def test_rerun_with_the_focus_term_updates_the_map_layers(make_napari_viewer, qtbot, grey_stack):
    viewer = make_napari_viewer()
    layer = viewer.add_image(grey_stack, name="grey")
    widget = FinetuneWidget(viewer)
    _tiny_settings(widget, layer, epochs=1, steps=3)
    widget.start()
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    first, n_layers = viewer.layers["grey map after tuning"], len(viewer.layers)
    plain = widget.tuned

    widget.focus_weight.value = 2.0
    widget.start()
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert len(viewer.layers) == n_layers and viewer.layers["grey map after tuning"] is first
    np.testing.assert_array_equal(first.data, widget.maps.after)
    ranked = ff.finetune(grey_stack, 1, "random", lr=1e-3, patch_size=32, steps_per_epoch=3,
                         focus_weight=2.0, device="cpu")
    for name, value in widget.tuned.model.state_dict().items():  # the focus term was used
        np.testing.assert_allclose(value.numpy(), ranked.model.state_dict()[name].numpy(), atol=1e-6)
    assert any(
        not np.allclose(v.numpy(), plain.model.state_dict()[k].numpy())
        for k, v in widget.tuned.model.state_dict().items()
    )


def test_training_error_is_a_notification(make_napari_viewer, qtbot, monkeypatch):
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    viewer = make_napari_viewer()
    tiny = viewer.add_image(np.zeros((3, 20, 20), np.uint8), name="tiny")  # smaller than a patch
    widget = FinetuneWidget(viewer)
    _tiny_settings(widget, tiny, epochs=1, steps=2)
    widget.start()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert len(errors) == 1 and "patch" in errors[0]
    assert widget.tuned is None and not widget.save_button.enabled and widget.start_button.enabled
    assert len(TUNED_MODELS) == 0
