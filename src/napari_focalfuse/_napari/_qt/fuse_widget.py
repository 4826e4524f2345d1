"""Dock widget "Fuse focal stack": options, a Run/Cancel pair, results as layers.

The fusion runs in a napari worker thread; slice progress travels back through a Qt relay into
a napari progress bar (activity dock) and a status line. ``run_blocking`` runs the same job on
the calling thread for scripts and tests.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    PushButton,
    SpinBox,
)

from ..jobs import FuseJob, Outcome
from ..layers import show_result, z_step_of
from ..registry import TUNED_MODELS
from .relay import FuseRelay
from .stack_picker import stack_picker
from ..weights_choice import FILE, resolve_choice, weights_choices

if TYPE_CHECKING:
    import napari


class FuseWidget(Container):
    """Fuse the chosen stack into '<stack> fused', '<stack> decision map' (and '<stack> height')."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        from ...core.device import available_devices

        super().__init__(labels=True)
        self._viewer = napari_viewer
        self.stack = stack_picker(napari_viewer)
        self.method = ComboBox(
            label="Method",
            choices=[("Deep (autoencoder)", "deep"), ("Laplacian", "laplacian")],
            value="deep",
        )
        self.weights = ComboBox(label="Weights", choices=lambda _w: weights_choices())
        self.weights_file = FileEdit(label="Weights file", mode="r", filter="*.pt", visible=False)
        self.window = SpinBox(label="Window radius (px)", value=5, min=0, max=64)
        self.consistency = CheckBox(text="Consistency check of the map", value=True)
        self.soften = CheckBox(text="Soften seams (blend equally sharp slices)", value=True)
        self.feature_scale = ComboBox(
            label="Feature scale",
            choices=[("Auto", "auto"), ("Full resolution", 1), ("1/2", 2), ("1/4", 4)],
            value="auto",
            tooltip="Sharpness measured on down-sampled slices: faster, nearly as good at 1/2.",
        )
        self.device = ComboBox(label="Device", choices=available_devices(), value="auto")
        self.z_step = FloatSpinBox(
            label="Z-step (µm)", value=0.0, min=0.0, max=1e6, step=0.1,
            tooltip="0 = take it from the layer's z scale (unknown when that is 1).",
        )
        self.run_button = PushButton(text="Fuse")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.extend([
            self.stack, self.method, self.weights, self.weights_file, self.window,
            self.consistency, self.soften, self.feature_scale, self.device, self.z_step,
            self.run_button, self.cancel_button, self.status,
        ])
        self.method.changed.connect(self._sync_visibility)
        self.weights.changed.connect(self._sync_visibility)
        self.run_button.changed.connect(self.start)
        self.cancel_button.changed.connect(self.cancel)
        TUNED_MODELS.changed.connect(self._tuned_models_changed)
        self.native.destroyed.connect(self._disconnect)

        self._stop = threading.Event()
        self._closed = False  # set when the dock is closed: late worker signals are ignored
        self._relay = FuseRelay()
        self._relay.progressed.connect(self._on_progress)
        self._pbar: Any = None
        self.worker: Any = None
        self.layers: dict[str, Any] = {}  # the result layers of the last run

    # -- options ---------------------------------------------------------------------------
    def _sync_visibility(self, *_: Any) -> None:
        deep = self.method.value == "deep"
        self.weights.enabled = deep
        self.weights_file.visible = deep and self.weights.value == FILE

    def _tuned_models_changed(self) -> None:
        self.weights.reset_choices()

    def _disconnect(self, *_: Any) -> None:
        self._stop.set()  # a closed widget cancels its fusion
        self._closed = True
        TUNED_MODELS.changed.disconnect(self._tuned_models_changed)

    def _job(self) -> FuseJob | None:
        """Capture the options on the GUI thread; None (and a notification) when incomplete."""
        from napari.utils.notifications import show_error

        from ...core.errors import FocalFuseError

        layer = self.stack.value
        if layer is None:
            show_error("Open a focal stack first: an image layer with z as its first axis.")
            return None
        try:
            weights = (
                resolve_choice(self.weights.value, self.weights_file.value)
                if self.method.value == "deep"
                else None
            )
        except FocalFuseError as exc:
            show_error(str(exc))
            return None
        options = {
            "method": self.method.value,
            "weights": weights,
            "window": int(self.window.value),
            "consistency": bool(self.consistency.value),
            "soften": bool(self.soften.value),
            "scale": self.feature_scale.value,
            "device": self.device.value,
            "z_step": z_step_of(layer, self.z_step.value),
            "z_unit": "µm",
        }
        return FuseJob(layer.data, options)

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> Any:
        """Start fusing in a worker thread; returns the worker (None if nothing was started)."""
        from napari.qt.threading import create_worker
        from napari.utils import progress

        if self.running:
            return None
        job = self._job()
        if job is None:
            return None
        layer = self.stack.value
        self._stop.clear()
        self._pbar = progress(total=int(layer.data.shape[0]), desc=f"Fusing {layer.name}")
        worker = create_worker(
            job.run,
            progress=self._relay.progressed.emit,
            should_stop=self._stop.is_set,
            _start_thread=False,
        )
        worker.returned.connect(lambda outcome: self._on_done(outcome, layer))
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._set_running(True)
        self.status.value = f"Fusing {layer.name}…"
        worker.start()
        return worker

    def run_blocking(self) -> Outcome | None:
        """Run the same job on this thread (scripts, tests); results land in the viewer."""
        job = self._job()
        if job is None:
            return None
        layer = self.stack.value
        self._stop.clear()
        outcome = job.run(should_stop=self._stop.is_set)
        self._on_done(outcome, layer)
        return outcome

    def cancel(self) -> None:
        """Ask the running fusion to stop after the current slice."""
        if self.running:
            self._stop.set()
            self.status.value = "Cancelling…"

    def _set_running(self, running: bool) -> None:
        self.run_button.enabled = not running
        self.cancel_button.enabled = running

    def _on_progress(self, done: int, total: int) -> None:
        if self._pbar is not None:
            self._pbar.total = total  # the core may make more than one pass over the slices
            self._pbar.n = done
            self._pbar.refresh()
        if not self._closed:
            self.status.value = f"Fusing: {done}/{total}"

    def _on_done(self, outcome: Outcome, layer: Any) -> None:
        from napari.utils.notifications import show_error, show_info

        if self._closed:
            return
        if outcome.cancelled:
            self.status.value = "Cancelled."
            show_info("Fusion cancelled; existing results were left unchanged.")
        elif outcome.error:
            self.status.value = "Failed."
            show_error(outcome.error)
        else:
            result = outcome.value
            self.layers = show_result(self._viewer, layer, result, int(layer.data.shape[0]))
            n = int(layer.data.shape[0])
            used = len(np.unique(result.mask))
            self.status.value = f"Done ({result.method}): the map uses {used} of {n} slices."

    def _on_finished(self) -> None:
        if self._pbar is not None:
            self._pbar.close()
            self._pbar = None
        self.worker = None
        if self._closed:
            return
        self._set_running(False)
