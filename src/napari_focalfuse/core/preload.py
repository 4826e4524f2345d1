"""Import heavy modules in a background thread while the first stages work.

``import torch`` costs about a second on one core, a quarter of a command-line run on a 3 MP
stack. Fusion needs torch only once the slices are read and aligned (OpenCV and numpy, which
release the GIL for their heavy parts), so the import can run beside that work on the other
core. A later plain ``import torch`` waits for the background import to finish (Python's
per-module import lock) and then finds the module loaded; if the background import failed,
the plain import raises the error itself.
"""

from __future__ import annotations

import importlib
import sys
import threading


def preload(*modules: str) -> threading.Thread | None:
    """Start importing ``modules`` (those not imported yet) in a daemon thread."""
    missing = [name for name in modules if name not in sys.modules]
    if not missing:
        return None

    def load() -> None:
        for name in missing:
            try:
                importlib.import_module(name)
            except Exception:  # the caller's own import reports it
                return

    thread = threading.Thread(target=load, name="focalfuse-preload", daemon=True)
    thread.start()
    return thread
