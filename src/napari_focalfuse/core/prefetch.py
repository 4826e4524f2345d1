"""Make the next batch in a background thread while the network trains on this one.

Ranking pairs are rendered with numpy FFTs, which release the GIL; made one step ahead they
overlap with the optimiser step instead of adding to it. One worker thread keeps the batches
in the order a plain loop would make them, so a seeded run stays reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class Prefetch(Generic[T]):
    """``get()`` returns ``make()``'s next result; the one after is already being made."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="focalfuse-prefetch")
        self._next = self._pool.submit(make)

    def get(self) -> T:
        value = self._next.result()
        self._next = self._pool.submit(self._make)
        return value

    def close(self) -> None:
        self._next.cancel()
        self._pool.shutdown(wait=True)
