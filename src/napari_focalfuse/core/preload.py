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
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import TypeVar

T = TypeVar("T")


_threads: list[threading.Thread] = []


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
    _threads.append(thread)
    return thread


def loading() -> bool:
    """Whether a background import is still running (work that needs it would wait)."""
    _threads[:] = [thread for thread in _threads if thread.is_alive()]
    return bool(_threads)


def ahead_while_loading(items: Iterable[T], limit: int) -> Iterator[T]:
    """``items`` in order. While a background import runs, up to ``limit`` of them are made at
    once, before this returns: work that needs no heavy module fills the wait for it instead of
    queueing behind it. The rest are made as they are iterated."""
    items = iter(items)
    made: list[T] = []
    while len(made) < limit and loading():
        try:
            made.append(next(items))
        except StopIteration:
            break
    return chain(made, items)
