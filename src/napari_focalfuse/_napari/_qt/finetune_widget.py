"""Dock widget "Fine-tune autoencoder": train on the open stack, watch the loss, keep the model.

Training runs in a napari worker thread (never on the GUI thread). Every optimiser step comes
back through a Qt relay to the progress bar and the live loss curve. Stop ends training cleanly
with the best weights so far; the result is registered for the fusion widget and can be saved.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
    SpinBox,
)

from ..jobs import Outcome, TrainJob, Tuning
from ..registry import TUNED_MODELS
from .loss_plot import LossPlot
from .outcome_status import show_problem
from .relay import TrainRelay
from .stack_picker import stack_picker
from ..weights_choice import resolve_choice, weights_choices

if TYPE_CHECKING:
    import napari


class FinetuneWidget(Container):
    """Fine-tune the autoencoder on a stack layer; the tuned model appears in "Fuse focal stack"."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        from ...core.device import available_devices

        super().__init__(labels=True)
        self._viewer = napari_viewer
        self.stack = stack_picker(napari_viewer)
        self.start_from = ComboBox(
            label="Start from", choices=lambda _w: weights_choices(with_file=False)
        )
        self.epochs = SpinBox(label="Epochs", value=3, min=1, max=1000)
        self.lr = FloatSpinBox(label="Learning rate", value=1e-4, min=1e-6, max=1e-1, step=1e-5)
        self.lr.native.setDecimals(6)
        self.lam = FloatSpinBox(label="λ (SSIM weight)", value=1.0, min=0.0, max=1e4, step=0.5)
        self.focus_weight = FloatSpinBox(
            label="Focus term weight", value=0.0, min=0.0, max=1e3, step=0.5,
            tooltip="0 = the paper's reconstruction loss alone. Above 0, the network also learns "
            "to rank each patch of the stack above the same patch defocused again "
            "(helps thin specimens in brightfield, whose fringes fool contrast measures).",
        )
        self.patch_size = SpinBox(label="Patch size (px)", value=64, min=16, max=512, step=16)
        self.steps_per_epoch = SpinBox(
            label="Steps per epoch", value=0, min=0, max=100000,
            tooltip="0 = about one pass over the stack's pixels (20 to 200 steps).",
        )
        self.device = ComboBox(label="Device", choices=available_devices(), value="auto")
        self.compare = CheckBox(
            text="Compare decision maps when done", value=True,
            tooltip="Fuse the stack with the starting and the tuned weights and add both maps "
            "as layers, to see what the tuning changed.",
        )
        self.progress = ProgressBar(label="Progress", value=0, min=0, max=1)
        self.start_button = PushButton(text="Start")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.save_button = PushButton(text="Save weights…", enabled=False)
        self.status = Label(value="")
        self.plot = LossPlot()
        self.extend([
            self.stack, self.start_from, self.epochs, self.lr, self.lam, self.focus_weight,
            self.patch_size, self.steps_per_epoch, self.device, self.compare,
            self.start_button, self.stop_button,
            self.progress, self.status, self.save_button,
        ])
        self.native.layout().addWidget(self.plot)
        self.start_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.stop)
        self.save_button.changed.connect(lambda: self.save())
        TUNED_MODELS.changed.connect(self.start_from.reset_choices)
        self.native.destroyed.connect(self._disconnect)

        self._stop = threading.Event()
        self._closed = False  # set when the dock is closed: late worker signals are ignored
        self._relay = TrainRelay()
        self._relay.progressed.connect(self._on_progress)
        self._relay.phase.connect(self._on_phase)
        self._epoch_losses: list[float] = []
        self._epoch = 0
        self.worker: Any = None
        self.tuned: Any = None  # the TunedModel of the last run
        self.tuned_name: str | None = None  # its name in the fusion widget's weights list
        self.maps: Any = None  # the MapChange of the last run, when compared

    def _disconnect(self, *_: Any) -> None:
        self._stop.set()  # a closed widget stops its training
        self._closed = True
        TUNED_MODELS.changed.disconnect(self.start_from.reset_choices)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _job(self) -> TrainJob | None:
        from napari.utils.notifications import show_error

        from ...core.errors import FocalFuseError

        layer = self.stack.value
        if layer is None:
            show_error("Open a focal stack first: an image layer with z as its first axis.")
            return None
        try:
            weights = resolve_choice(self.start_from.value)
        except FocalFuseError as exc:
            show_error(str(exc))
            return None
        options = {
            "epochs": int(self.epochs.value),
            "weights": weights,
            "lr": float(self.lr.value),
            "lam": float(self.lam.value),
            "focus_weight": float(self.focus_weight.value),
            "patch_size": int(self.patch_size.value),
            "steps_per_epoch": int(self.steps_per_epoch.value) or None,
            "device": self.device.value,
        }
        return TrainJob(layer.data, options, compare=bool(self.compare.value))

    def start(self) -> Any:
        """Start fine-tuning in a worker thread; returns the worker (None if nothing started)."""
        from napari.qt.threading import create_worker

        if self.running:
            return None
        job = self._job()
        if job is None:
            return None
        layer = self.stack.value
        self._stop.clear()
        self._epoch_losses = []
        self._epoch = 0
        self.plot.reset()
        self.progress.value = 0
        worker = create_worker(
            job.run,
            progress=self._relay.progressed.emit,
            should_stop=self._stop.is_set,
            phase=self._relay.phase.emit,
            _start_thread=False,
        )
        worker.returned.connect(lambda outcome: self._on_done(outcome, layer))
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._set_running(True)
        self.status.value = f"Preparing {layer.name}…"
        worker.start()
        return worker

    def stop(self) -> None:
        """Stop after the current step, keeping the best weights so far."""
        if self.running:
            self._stop.set()
            self.status.value = "Stopping…"

    def _set_running(self, running: bool) -> None:
        self.start_button.enabled = not running
        self.stop_button.enabled = running
        self.save_button.enabled = not running and self.tuned is not None

    def _on_progress(self, epoch: int, step: int, steps: int, loss: float) -> None:
        if self._closed:
            return
        if epoch != self._epoch and self._epoch_losses:
            self.plot.add_epoch(float(np.mean(self._epoch_losses)))
            self._epoch_losses = []
        self._epoch = epoch
        self._epoch_losses.append(loss)
        self.plot.add_step(loss)
        total = steps * int(self.epochs.value)
        self.progress.max = total
        self.progress.value = epoch * steps + step + 1
        self.status.value = f"Epoch {epoch + 1}, step {step + 1}/{steps}: loss {loss:.4f}"

    def _on_phase(self, text: str) -> None:
        if not self._closed:
            self.status.value = text

    def _on_done(self, outcome: Outcome, layer: Any) -> None:
        from napari.utils.notifications import show_info

        if self._closed:
            return
        if show_problem(outcome, self.status, "Fine-tuning was cancelled."):
            return
        tuning: Tuning = outcome.value
        tuned = tuning.tuned
        if self._epoch_losses and len(tuned.losses) > len(self.plot.epoch_y):
            self.plot.add_epoch(float(np.mean(self._epoch_losses)))
        self.plot.redraw()
        self.tuned = tuned
        stopped = " (stopped)" if tuned.stopped_early else ""
        name = f"{layer.name}, {len(tuned.losses)} epochs{stopped}"
        self.tuned_name = TUNED_MODELS.add(name, tuned)
        how = "stopped early" if tuned.stopped_early else "finished"
        ends = tuned.losses[:1] + tuned.losses[-1:] if len(tuned.losses) > 1 else tuned.losses
        losses = " → ".join(f"{v:.4f}" for v in ends) or "no full epoch"
        self.status.value = f"{how.capitalize()}: epoch loss {losses}."
        self.maps = tuning.maps
        if tuning.maps is not None and layer in self._viewer.layers:
            from ..layers import show_map_change

            show_map_change(self._viewer, layer, tuning.maps, int(layer.data.shape[0]))
            self.status.value += f" {tuning.maps.changed:.1%} of the map changed slice."
        show_info(f"Fine-tuning {how}; '{self.tuned_name}' is now a weights choice for fusion.")

    def _on_finished(self) -> None:
        self.worker = None
        if self._closed:
            return
        self._set_running(False)

    def save(self, path: str | None = None, overwrite: bool = False) -> str | None:
        """Write the last tuned model to ``path`` (asked with a file dialog when None).

        An existing file is replaced only when someone agreed: the save dialog asks about the
        name it returns; when ``.pt`` is appended to that name (or to ``path``) and the result
        exists, a second question asks about it. ``overwrite=True`` agrees in advance.
        """
        from napari.utils.notifications import show_error, show_info

        from ...core.errors import FocalFuseError

        if self.tuned is None:
            show_error("Fine-tune a model before saving it.")
            return None
        agreed = overwrite
        if path is None:
            from qtpy.QtWidgets import QFileDialog

            path, _ = QFileDialog.getSaveFileName(
                self.native, "Save weights", "focalfuse-tuned.pt", "Weights (*.pt)"
            )
            if not path:
                return None
            agreed = True  # the dialog asked before returning the name of an existing file
        path = str(path)
        if not path.endswith(".pt"):
            path += ".pt"  # a name nobody was asked about
            agreed = overwrite
            if Path(path).exists() and not agreed:
                if not self.confirm_replace(path):
                    return None
                agreed = True
        try:
            self.tuned.save(path, overwrite=agreed)
        except (FocalFuseError, OSError) as exc:
            show_error(f"Could not save weights to {path}: {exc}")
            return None
        show_info(f"Weights saved to {path}")
        return path

    def confirm_replace(self, path: str) -> bool:
        """Ask whether ``path`` may be replaced (Yes/No, No is the default)."""
        from qtpy.QtWidgets import QMessageBox

        answer = QMessageBox.question(
            self.native,
            "Replace file?",
            f"{path} already exists. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes
