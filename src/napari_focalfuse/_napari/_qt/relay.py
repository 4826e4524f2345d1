"""Qt signals that carry progress from a worker thread to the GUI thread.

The core reports progress through plain callbacks called in the worker thread; emitting a Qt
signal there queues the call onto the thread that owns the relay (the GUI), where widgets and
napari progress bars may safely be touched.
"""

from __future__ import annotations

from qtpy.QtCore import QObject, Signal


class FuseRelay(QObject):
    progressed = Signal(int, int)  # done, total slices


class TrainRelay(QObject):
    progressed = Signal(int, int, int, float)  # epoch, step, steps per epoch, loss
    phase = Signal(str)  # a new stage after training (the map comparison)
