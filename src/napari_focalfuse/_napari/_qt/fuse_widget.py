"""Dock widget "Fuse focal stack": options, a Run/Cancel pair, results as layers.

The fusion runs in a napari worker thread; slice progress travels back through a Qt relay into
a napari progress bar (activity dock) and a status line. ``run_blocking`` runs the same job on
the calling thread for scripts and tests. **Preview** fuses only the region on screen (or the
rectangles of the selected Shapes layer) with the same options, so they can be tuned on a big
stack in a fraction of a full run's time; its result replaces the previous preview's layers.
**Align slices** (auto / on / off) and **Keep size** reach fusion's alignment; what it found is
shown under the status line, slices it could not align as notifications, and cropped results
are placed on the stack where they belong.
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

from .. import surface_layer
from .. import timelapse
from ..aligned import aligned_dask, aligned_name, result_offset, show_aligned_stack
from ..jobs import FuseJob, Outcome
from ..layers import show_result, z_step_of
from ..legend import legend_html
from ..preview_region import PREVIEW_SUFFIX, preview_names, preview_region
from ..registry import TUNED_MODELS
from .map_panel import MapPanel
from .outcome_status import show_problem
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
        self.align = ComboBox(
            label="Align slices",
            choices=[("Auto (when slices moved)", "auto"), ("On", "on"), ("Off", "off")],
            value="auto",
            tooltip="Correct focus breathing and stage drift before fusing. Auto aligns only "
            "when some slice clearly moved; aligned results are cropped to the region every "
            "slice covers.",
        )
        self.keep_size = CheckBox(
            text="Keep size (no crop after aligning)",
            value=False,
            tooltip="Keep the stack's size; borders not every slice saw are filled from the "
            "nearest pixels.",
        )
        self.add_aligned = CheckBox(
            text="Add aligned stack as a layer",
            value=False,
            tooltip="A hidden '<stack> aligned' layer: the slices as fused, warped when shown.",
        )
        self.show_surface = CheckBox(
            text="Show surface in 3-D",
            value=False,
            tooltip="A '<stack> surface' layer: the relief as a mesh coloured by the fused image "
            "(heights in µm when the z-step is known, holes where no slice is sharp); the viewer "
            "turns to 3-D when it first appears.",
        )
        self.z_step = FloatSpinBox(
            label="Z-step (µm)", value=0.0, min=0.0, max=1e6, step=0.1,
            tooltip="0 = the z-step the file recorded (read by this plugin), or the layer's z "
            "scale when its unit is a length; unknown otherwise.",
        )
        self.preview_button = PushButton(
            text="Preview region",
            tooltip="Fuse only what is on screen (at most 1024x1024 px), or the rectangles of "
            "the selected Shapes layer, with the options above.",
        )
        self.run_button = PushButton(text="Fuse")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.alignment_info = Label(value="")
        self.legend = Label(value="")
        self.map_panel = MapPanel(napari_viewer)
        self.extend([
            self.stack, self.method, self.weights, self.weights_file, self.window,
            self.consistency, self.soften, self.feature_scale, self.device, self.z_step,
            self.align, self.keep_size, self.add_aligned, self.show_surface,
            self.preview_button, self.run_button, self.cancel_button, self.status,
            self.alignment_info, self.legend, *self.map_panel.widgets,
        ])
        self.method.changed.connect(self._sync_visibility)
        self.weights.changed.connect(self._sync_visibility)
        self.run_button.changed.connect(self.start)
        self.preview_button.changed.connect(self.preview)
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
        self.map_panel.close()

    def _job(self, preview: bool = False) -> tuple[FuseJob, Any, Any] | None:
        """Capture the options on the GUI thread: (job, stack layer, preview region or None);
        None (and a notification) when something is missing."""
        from napari.utils.notifications import show_error

        from ...core.align_report import align_mode
        from ...core.errors import FocalFuseError
        from ...core.fusion import auto_scale

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
            if preview:
                timelapse.refuse_preview(layer)
            region = preview_region(self._viewer, layer) if preview else None
        except FocalFuseError as exc:
            show_error(str(exc))
            return None
        scale = self.feature_scale.value
        if scale == "auto":  # the full stack's choice, so a preview measures sharpness alike
            scale = auto_scale(*layer.data.shape[1:3])
        options = {
            "method": self.method.value,
            "weights": weights,
            "window": int(self.window.value),
            "consistency": bool(self.consistency.value),
            "soften": bool(self.soften.value),
            "scale": scale,
            "device": self.device.value,
            "z_step": z_step_of(layer, self.z_step.value),
            "align": align_mode(self.align.value),
            "keep_size": bool(self.keep_size.value),
        }
        if timelapse.is_timelapse_layer(layer):  # every time point: 2-D + t results
            return timelapse.timelapse_job(layer, options, self.feature_scale.value), layer, None
        data = layer.data if region is None else region.crop(layer.data)
        return FuseJob(data, options), layer, region

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> Any:
        """Start fusing in a worker thread; returns the worker (None if nothing was started)."""
        return self._launch(preview=False)

    def preview(self) -> Any:
        """Start fusing the region on screen (or the drawn rectangles) in a worker thread."""
        return self._launch(preview=True)

    def _launch(self, preview: bool) -> Any:
        from napari.qt.threading import create_worker
        from napari.utils import progress

        if self.running:
            return None
        captured = self._job(preview)
        if captured is None:
            return None
        job, layer, region = captured
        self._stop.clear()
        what = f"{layer.name}{PREVIEW_SUFFIX if region else ''}"
        self._pbar = progress(total=0, desc=f"Fusing {what}")
        worker = create_worker(
            job.run,
            progress=self._relay.progressed.emit,
            should_stop=self._stop.is_set,
            _start_thread=False,
        )
        worker.returned.connect(lambda outcome: self._on_done(outcome, layer, region, job))
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._set_running(True)
        self.status.value = f"Fusing {what}…"
        worker.start()
        return worker

    def run_blocking(self, preview: bool = False) -> Outcome | None:
        """Run the same job on this thread (scripts, tests); results land in the viewer."""
        captured = self._job(preview)
        if captured is None:
            return None
        job, layer, region = captured
        self._stop.clear()
        outcome = job.run(should_stop=self._stop.is_set)
        self._on_done(outcome, layer, region, job)
        return outcome

    def cancel(self) -> None:
        """Ask the running fusion to stop after the current slice."""
        if self.running:
            self._stop.set()
            self.status.value = "Cancelling…"

    def _set_running(self, running: bool) -> None:
        self.run_button.enabled = not running
        self.preview_button.enabled = not running
        self.cancel_button.enabled = running

    def _on_progress(self, done: int, total: int) -> None:
        if self._pbar is not None:
            self._pbar.total = total  # set by the core's first call, (0, total)
            self._pbar.n = done
            self._pbar.refresh()
        if not self._closed:
            self.status.value = f"Fusing: {done}/{total}"

    def _on_done(
        self, outcome: Outcome, layer: Any, region: Any = None, job: FuseJob | None = None
    ) -> None:
        if self._closed:
            return
        if show_problem(outcome, self.status, "Fusion cancelled; existing results were left unchanged."):
            return
        result = outcome.value
        if isinstance(job, timelapse.TimelapseJob):
            view = timelapse.show_timelapse_result(self._viewer, layer, result)
            self.layers, self.status.value = view
            self.alignment_info.value = ""
            self.legend.value = legend_html(int(layer.data.shape[1]), result.z_step)
            return
        n = int(layer.data.shape[0])
        names = preview_names(layer.name) if region else None
        offset = result_offset(region.offset if region else (0, 0), result.alignment)
        self.layers = show_result(self._viewer, layer, result, n, names, offset)
        if job is not None:
            self._show_alignment(result, layer, region, job, offset)
        if self.show_surface.value:
            self._show_surface(result, layer, region, offset)
        used = len(np.unique(result.mask))
        where = f" of {region.describe()}" if region else ""
        z = f"z-step {result.z_step:g} µm" if result.z_step else "z-step unknown: no height map"
        self.status.value = f"Done ({result.method}{where}): the map uses {used} of {n} slices; {z}."
        self.legend.value = legend_html(n, result.z_step)
        self.map_panel.set_map(result, layer, region, self.layers["fused"])

    def _show_alignment(
        self, result: Any, layer: Any, region: Any, job: FuseJob, offset: tuple[int, int]
    ) -> None:
        """What alignment found in the label, each slice it could not align as a notification,
        and, when asked for, the aligned slices as a layer."""
        from napari.utils.notifications import show_warning

        from ...core.align_report import describe_alignment

        mode = job.options.get("align", "auto")
        self.alignment_info.value = describe_alignment(
            result.alignment, mode, tuple(job.stack.shape[1:])
        )
        for warning in result.warnings:
            show_warning(warning)
        if self.add_aligned.value:
            name = aligned_name(layer.name, preview=region is not None)
            data = aligned_dask(job.stack, result.alignment)
            self.layers["aligned"] = show_aligned_stack(self._viewer, layer, data, name, offset)

    def _show_surface(
        self, result: Any, layer: Any, region: Any, offset: tuple[int, int]
    ) -> None:
        """'<stack> surface', updated in place; the viewer turns to 3-D when it first appears."""
        from napari.utils.notifications import show_warning

        name = surface_layer.surface_name(layer.name, preview=region is not None)
        new = name not in self._viewer.layers
        surface = surface_layer.show_surface(self._viewer, layer, result, name, offset)
        if surface is None:
            show_warning("No slice is clearly sharp anywhere: there is no surface to show.")
            return
        self.layers["surface"] = surface
        if new:
            self._viewer.dims.ndisplay = 3

    def _on_finished(self) -> None:
        if self._pbar is not None:
            self._pbar.close()
            self._pbar = None
        self.worker = None
        if self._closed:
            return
        self._set_running(False)
