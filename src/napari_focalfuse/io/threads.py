"""How many threads a reader may use to decode one slice.

tifffile decodes the strips or tiles of a compressed page in parallel (by default on half the
cores); ``napari-focalfuse --threads`` lowers that so a run shares the CPU as asked. JPEG/PNG
slices are decoded on one thread anyway.
"""

from __future__ import annotations

DECODE_THREADS: int | None = None  # None: the decoder's own default


def decode_threads() -> int | None:
    """The ``maxworkers`` to hand to tifffile."""
    return DECODE_THREADS


def set_decode_threads(n: int | None) -> int | None:
    """Set the limit (None: no limit); returns the previous one."""
    global DECODE_THREADS
    previous, DECODE_THREADS = DECODE_THREADS, n
    return previous
