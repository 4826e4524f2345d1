"""The fuse widget's "Fuse other layers with this map" controls (logic in ../map_layers.py).

After a fusion, image layers with the fused stack's (Z, Y, X) (e.g. fluorescence channels
opened as separate layers) are listed; the button fuses the selected ones with the current map
in a worker thread (the same button cancels it) and adds or updates "<layer> fused".
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from magicgui.widgets import Label, PushButton, Select

from ..jobs import Outcome
from ..map_layers import CurrentMap, MapJob, show_map_fused
from .outcome_status import show_problem
from .relay import FuseRelay

if TYPE_CHECKING:
    import napari

RUN_TEXT = "Fuse selected layers with this map"
LIST_HEIGHT = 96  # px: four or five layer names; the list scrolls past that


class MapPanel:
    """Widgets (``widgets``, added to the fuse widget) and the job that applies the map."""

    def __init__(self, viewer: napari.Viewer) -> None:
        self._viewer = viewer
        self.current: CurrentMap | None = None
        self.targets = Select(
            label="Fuse other layers with this map",
            choices=self._choices,
            tooltip="Stacks of the same size as the one fused (e.g. fluorescence channels): each "
            "pixel is taken from the slice the current decision map names.",
        )
        self.targets.native.setMaximumHeight(LIST_HEIGHT)
        self.button = PushButton(text=RUN_TEXT, enabled=False)
        self.status = Label(value="")
        self.widgets = [self.targets, self.button, self.status]
        self.button.changed.connect(self._pressed)
        self._stop = threading.Event()
        self._closed = False
        self._relay = FuseRelay()
        self._relay.progressed.connect(self._on_progress)
        self.worker: Any = None
        events = viewer.layers.events
        self._emitters = [events.inserted, events.removed]
        for emitter in self._emitters:
            emitter.connect(self._refresh)

    def _choices(self, _widget: Any) -> list[tuple[str, Any]]:
        if self.current is None:
            return []
        return [(layer.name, layer) for layer in self.current.targets(self._viewer)]

    def _refresh(self, *_: Any) -> None:
        self.targets.reset_choices()
        ready = self.current is not None and bool(self.targets.choices)
        self.button.enabled = self.running or ready

    def set_map(self, result: Any, stack: Any, region: Any, fused_layer: Any) -> None:
        """A fusion of ``stack`` (``region`` of it, for a preview) finished, shown as
        ``fused_layer``: its map is the one other layers are fused with from now on."""
        place = {k: tuple(map(float, getattr(fused_layer, k))) for k in ("scale", "translate")}
        self.current = CurrentMap(result, stack, region, place)
        self._refresh()

    def close(self) -> None:
        """The dock closed: stop a running job and leave the layer list alone."""
        self._stop.set()
        self._closed = True
        for emitter in self._emitters:
            emitter.disconnect(self._refresh)

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def _pressed(self, *_: Any) -> None:
        if self.running:
            self._stop.set()
            self.status.value = "Cancelling…"
        else:
            self.start()

    def _job(self) -> tuple[MapJob, list[Any]] | None:
        from napari.utils.notifications import show_error

        layers = list(self.targets.value)
        if self.current is None or not layers:
            show_error("Fuse a stack first, then select the layers to fuse with its map.")
            return None
        wrong = [layer.name for layer in layers if not self.current.fits(layer)]
        if wrong:
            show_error(f"{', '.join(wrong)} does not have the fused stack's size; it was skipped.")
            layers = [layer for layer in layers if self.current.fits(layer)]
        if not layers:
            return None
        return MapJob(self.current, [layer.data for layer in layers]), layers

    def start(self) -> Any:
        """Fuse the selected layers in a worker thread; returns it (None if nothing started)."""
        from napari.qt.threading import create_worker

        captured = None if self.running else self._job()
        if captured is None:
            return None
        job, layers = captured
        self._stop.clear()
        worker = create_worker(
            job.run,
            progress=self._relay.progressed.emit,
            should_stop=self._stop.is_set,
            _start_thread=False,
        )
        worker.returned.connect(lambda outcome: self._on_done(outcome, job, layers))
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.button.text = "Cancel"
        self.status.value = f"Fusing {len(layers)} layer(s) with the map…"
        worker.start()
        return worker

    def run_blocking(self) -> Outcome | None:
        """The same job on this thread (scripts, tests); results land in the viewer."""
        captured = self._job()
        if captured is None:
            return None
        job, layers = captured
        self._stop.clear()
        outcome = job.run(should_stop=self._stop.is_set)
        self._on_done(outcome, job, layers)
        return outcome

    def _on_progress(self, done: int, total: int) -> None:
        if not self._closed and self.running:
            self.status.value = f"Fusing with the map: {done}/{total}"

    def _on_done(self, outcome: Outcome, job: MapJob, layers: list[Any]) -> None:
        if self._closed:
            return
        cancelled = "Fusing with the map was cancelled; existing layers were left unchanged."
        if show_problem(outcome, self.status, cancelled):
            return
        for layer, fused in zip(layers, outcome.value):
            show_map_fused(self._viewer, job.current, layer, fused)
        names = ", ".join(job.current.name_for(layer) for layer in layers)
        self.status.value = f"Done: {names}."

    def _on_finished(self) -> None:
        self.worker = None
        if self._closed:
            return
        self.button.text = RUN_TEXT
        self._refresh()
