"""All or nothing: a command's output files appear together, or none of them does.

Every output of an :class:`OutputGroup` is first written completely to a hidden temporary file
beside its target (``.<name>.XXXX.part``) and flushed to disk. Only when all of them are
complete are they renamed onto their targets, one right after the other, with Ctrl-C held back
until the last rename is done. An error or an interrupt before that point deletes the temporary
files and leaves every target as it was (absent, or the old file). A single file is a group of
one, so every write in the package goes through here.

Adding an output to a command is one line::

    outputs = OutputGroup(overwrite=args.overwrite)
    outputs.add(args.output, tiff_writer(result.fused))
    outputs.add(args.mask, decision_map_writer(result.mask, n))
    outputs.add(args.aligned, stack_writer(aligned))  # a multi-page TIFF, slice by slice
    outputs.commit()
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..core.errors import FocalFuseError

Writer = Callable[[Path], None]  # writes one complete file at the path it is given

_RENAMING = threading.Lock()  # held while a group renames: an exiting process waits for it
_PENDING: set[Path] = set()  # temporary files of groups not committed yet, in any thread


def check_writable(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an existing file unless ``overwrite``; make sure the folder exists."""
    path = Path(path)
    if path.is_dir():
        raise FocalFuseError(f"{path} is a folder, not a file name.")
    if path.exists() and not overwrite:
        raise FocalFuseError(
            f"{path} already exists; pass --overwrite (overwrite=True in Python) to replace it."
        )
    if not path.parent.exists():
        raise FocalFuseError(f"Output folder does not exist: {path.parent}")
    return path


class OutputGroup:
    """Files written together: :meth:`add` each one, then :meth:`commit` them all."""

    def __init__(self, overwrite: bool = False) -> None:
        self.overwrite = overwrite
        self._outputs: list[tuple[Path, Writer | None]] = []

    def add(self, path: str | os.PathLike, write: Writer | None = None) -> Path:
        """Plan ``write(tmp)`` for ``path``; the target is checked now, written at commit.
        Without ``write`` the output is filled in the block of :meth:`stream` instead."""
        target = check_writable(path, self.overwrite)
        if any(target.resolve() == planned.resolve() for planned, _ in self._outputs):
            raise FocalFuseError(f"{target} is given as two different outputs.")
        self._outputs.append((target, write))
        return target

    @property
    def targets(self) -> list[Path]:
        return [target for target, _ in self._outputs]

    def commit(self) -> list[Path]:
        """Write every output to its temporary file, then rename them all into place."""
        with self.stream() as temporaries:
            for (_, write), tmp in zip(self._outputs, temporaries):
                write(tmp)
        return self.targets

    @contextlib.contextmanager
    def stream(self) -> Iterator[list[Path]]:
        """Every output's temporary file, for the block to fill piece by piece (a time-lapse
        frame by frame, into several files at once); after the block they are flushed and
        renamed into place together, as by :meth:`commit`. An error or Ctrl-C in the block
        deletes them and leaves every target as it was."""
        temporaries: list[Path] = []
        try:
            for target in self.targets:
                temporaries.append(_temporary(target))
            yield temporaries
            for target, tmp in zip(self.targets, temporaries):
                _flush(tmp, _final_mode(target))
            with _RENAMING, _interrupts_held():
                for target in self.targets:  # created meanwhile by someone else?
                    check_writable(target, self.overwrite)
                _rename_all(self.targets, temporaries)
        finally:
            for tmp in temporaries:
                _PENDING.discard(tmp)
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()


def finish_outputs() -> None:
    """Before the process exits: wait for a group that is renaming, then delete the temporary
    files of groups that never got to commit (worker threads of an interrupted batch).

    Holds the rename lock for good, so no other thread starts renaming; call it only right
    before ``os._exit``.
    """
    _RENAMING.acquire()
    for tmp in list(_PENDING):
        with contextlib.suppress(OSError):
            tmp.unlink()


def _temporary(target: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    _PENDING.add(Path(name))
    return Path(name)


def _flush(path: Path, mode: int) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    os.chmod(path, mode)


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


def _rename_all(targets: list[Path], temporaries: list[Path]) -> None:
    """Rename each temporary onto its target; a failure says exactly which files were written."""
    for k, (target, tmp) in enumerate(zip(targets, temporaries)):
        try:
            os.replace(tmp, target)
        except OSError as exc:
            done = ", ".join(str(t) for t in targets[:k]) or "none"
            left = ", ".join(str(t) for t in targets[k:])
            raise FocalFuseError(
                f"Could not move the finished {target.name} into place ({exc.strerror}); "
                f"written: {done}; not written: {left}."
            ) from None


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and kill / timeout / batch schedulers


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the renames run (main thread only: others never get
    them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, object]] = []
    previous: dict[int, Any] = {}
    try:
        for signum in HELD_SIGNALS:
            previous[signum] = signal.signal(signum, lambda s, frame: caught.append((s, frame)))
    except ValueError:  # pragma: no cover - not the main interpreter
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:  # deliver the held-back signal now that every file is in place
        signum, frame = caught[0]
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            os.kill(os.getpid(), signum)
