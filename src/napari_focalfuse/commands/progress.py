"""tqdm progress bars on stderr, adapted to the callbacks of fuse and finetune."""

from __future__ import annotations

import sys
from typing import Any


class _Silent:
    """What ``--quiet`` gets instead of a bar: the same calls, nothing shown, tqdm not loaded."""

    def __init__(self, total: int | None) -> None:
        self.total, self.n = total, 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(text: str, file: Any = None) -> None:
        """Messages still appear, as tqdm.write prints them even for a disabled bar."""
        print(text, file=file if file is not None else sys.stdout)


def bar(total: int | None, desc: str, unit: str, quiet: bool) -> Any:
    if quiet:
        return _Silent(total)
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=quiet,
        leave=False,
        dynamic_ncols=True,
    )


class FuseBar:
    """``progress(done, total)`` for fuse (and align_stack): the total comes with the first
    call, ``(0, total)``, before any slice is read, and stays fixed (a step reads one slice)."""

    def __init__(self, desc: str, quiet: bool, unit: str = "step"):
        self.bar = bar(None, desc, unit, quiet)

    def __call__(self, done: int, total: int) -> None:
        if self.bar.total is None:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


class TrainBar:
    """``progress(epoch, step, steps, loss)`` for finetune: one bar over all epochs' steps."""

    def __init__(self, epochs: int, quiet: bool):
        self.epochs = epochs
        self.bar = bar(None, "fine-tuning", "step", quiet)

    def __call__(self, epoch: int, step: int, steps: int, loss: float) -> None:
        if self.bar.total is None:
            self.bar.total = self.epochs * steps
        self.bar.update(epoch * steps + step + 1 - self.bar.n)
        self.bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}", refresh=False)

    def close(self) -> None:
        self.bar.close()
