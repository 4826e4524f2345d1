"""tifffile reports damaged files through ``logging``; we turn that into one clear error.

Left alone, a truncated multi-page TIFF opens as a single page with log lines on stderr, and the
user is told "a single image" instead of "truncated". Inside :func:`tifffile_warnings` the
records are collected (not printed) so the caller can decide.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

# words in tifffile's warnings that mean the file itself is damaged
_DAMAGE = ("offset", "truncat", "reshape", "corrupt", "invalid", "eof", "incomplete")


class _Collect(logging.Handler):
    """Keeps the records of one thread only: batch fusion reads several files at once."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


_lock = threading.Lock()
_active = 0  # collectors open in any thread; while > 0 tifffile's records are not printed
_propagate = True


@contextlib.contextmanager
def tifffile_warnings() -> Iterator[list[str]]:
    """Collect this thread's tifffile warnings (instead of printing them) into the list."""
    global _active, _propagate
    logger = logging.getLogger("tifffile")
    handler = _Collect()
    with _lock:
        if _active == 0:
            _propagate = logger.propagate
            logger.propagate = False
        _active += 1
        logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        with _lock:
            logger.removeHandler(handler)
            _active -= 1
            if _active == 0:
                logger.propagate = _propagate


def looks_damaged(messages: list[str]) -> bool:
    return any(word in m.lower() for m in messages for word in _DAMAGE)


def codec_missing(exc: BaseException, name: str) -> Exception | None:
    """A clear error when tifffile lacks the optional ``imagecodecs`` package for a compression."""
    from ..core.errors import FocalFuseError

    if "imagecodecs" in str(exc):
        return FocalFuseError(
            f"{name} is compressed in a way that needs the imagecodecs package; "
            "install it (pip install imagecodecs)."
        )
    return None
