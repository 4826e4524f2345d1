"""Atomic writes: an interrupted run leaves either the old file or the complete new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import FocalFuseError


def check_writable(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an existing file unless ``overwrite``; make sure the folder exists."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FocalFuseError(f"{path} already exists; pass --overwrite to replace it.")
    if path.is_dir():
        raise FocalFuseError(f"{path} is a folder, not a file name.")
    if not path.parent.exists():
        raise FocalFuseError(f"Output folder does not exist: {path.parent}")
    return path


def _final_mode(path: Path) -> int:
    """Permissions the result should get: the replaced file's, else the usual 0o666 & ~umask.

    (mkstemp creates its file 0o600, which would silently make results private.)
    """
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto it."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
