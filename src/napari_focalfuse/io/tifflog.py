"""tifffile reports damaged files through ``logging``; we turn that into one clear error.

Left alone, a truncated multi-page TIFF opens as a single page with log lines on stderr, and the
user is told "a single image" instead of "truncated". Inside :func:`tifffile_warnings` the
records are collected (not printed) so the caller can decide.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

# words in tifffile's warnings that mean the file itself is damaged
_DAMAGE = ("offset", "truncat", "reshape", "corrupt", "invalid", "eof", "incomplete")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def tifffile_warnings() -> Iterator[list[str]]:
    """Collect tifffile's warnings (instead of printing them) into the yielded list."""
    logger = logging.getLogger("tifffile")
    handler = _Collect()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


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
