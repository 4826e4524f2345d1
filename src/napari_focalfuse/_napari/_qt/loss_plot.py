"""A small live loss curve (matplotlib in Qt): every step faintly, epoch means on top."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtCore import QTimer

_BG = "#262930"  # napari's dark theme background
_FG = "#d1d2d4"


class LossPlot(FigureCanvasQTAgg):
    """Call ``add_step`` from the GUI thread; redraws are throttled to a few per second.

    A redraw costs tens of milliseconds of the GUI thread (and the GIL the training thread
    needs), so steps arriving faster than that are batched into one redraw.
    """

    def __init__(self, interval_ms: int = 300) -> None:
        figure = Figure(figsize=(3.6, 2.2), dpi=90, facecolor=_BG)
        figure.subplots_adjust(left=0.2, right=0.96, top=0.95, bottom=0.22)
        super().__init__(figure)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.redraw)
        self.ax = figure.add_subplot()
        self.steps: list[float] = []
        self.epoch_x: list[float] = []
        self.epoch_y: list[float] = []
        self._step_line, = self.ax.plot([], [], color="#6fa8dc", lw=0.8, alpha=0.6, label="step")
        self._epoch_line, = self.ax.plot([], [], "o-", color="#f6b26b", lw=1.5, ms=4, label="epoch mean")
        self._style()
        self.setMinimumHeight(160)

    def _style(self) -> None:
        ax = self.ax
        ax.set_facecolor(_BG)
        ax.set_xlabel("step", color=_FG, fontsize=8)
        ax.set_ylabel("loss", color=_FG, fontsize=8)
        ax.tick_params(colors=_FG, labelsize=7)
        for spine in ax.spines.values():
            spine.set_color(_FG)
        ax.legend(fontsize=7, facecolor=_BG, labelcolor=_FG, edgecolor=_FG, loc="upper right")

    def reset(self) -> None:
        self.steps.clear()
        self.epoch_x.clear()
        self.epoch_y.clear()
        self._refresh()

    def add_step(self, loss: float) -> None:
        self.steps.append(float(loss))
        self._refresh()

    def add_epoch(self, mean_loss: float) -> None:
        """Mark the mean of the epoch that just ended, at the step where it ended."""
        self.epoch_x.append(float(len(self.steps)))
        self.epoch_y.append(float(mean_loss))
        self._refresh()

    def _refresh(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        """Push the data to the lines and draw now (the timer calls this)."""
        self._step_line.set_data(range(1, len(self.steps) + 1), self.steps)
        self._epoch_line.set_data(self.epoch_x, self.epoch_y)
        self.ax.relim()
        self.ax.autoscale_view()
        self.draw_idle()
