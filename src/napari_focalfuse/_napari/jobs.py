"""What the widgets run in a worker thread, with expected failures turned into outcomes.

A ``FocalFuseError`` (bad input, its message written for the user) or a cancellation is an
ordinary outcome shown as a notification, not an exception: raised in a worker it would reach
napari's error handler and open a traceback. Unexpected exceptions still propagate (bugs).
Slices that could not be aligned are not warned about here: the widget shows
``FusionResult.warnings`` itself, one notification (a sentence) each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    value: Any = None  # FusionResult or TunedModel
    error: str | None = None  # one sentence for the user
    cancelled: bool = False


def outcome_of(work: Callable[[], Any]) -> Outcome:
    """``work()``'s value, or its cancellation or user error (a sentence) as an Outcome."""
    from ..core.errors import Cancelled, FocalFuseError

    try:
        return Outcome(value=work())
    except Cancelled:
        return Outcome(cancelled=True)
    except FocalFuseError as exc:
        return Outcome(error=str(exc))


@dataclass
class FuseJob:
    """A call of :func:`napari_focalfuse.fuse` with everything captured on the GUI thread."""

    stack: Any
    options: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Outcome:
        import warnings

        from ..core.fusion import AlignmentWarning

        with warnings.catch_warnings():  # nested in the worker's own catch_warnings
            warnings.simplefilter("ignore", AlignmentWarning)
            return outcome_of(lambda: self._fuse(progress, should_stop))

    def _fuse(
        self,
        progress: Callable[[int, int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Any:
        from ..core.fusion import fuse

        return fuse(self.stack, progress=progress, should_stop=should_stop, **self.options)


@dataclass
class TrainJob:
    """A call of :func:`napari_focalfuse.finetune`; stopping is not an error, it returns a model."""

    stack: Any
    options: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        progress: Callable[[int, int, int, float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Outcome:
        from ..core.errors import FocalFuseError
        from ..core.training import finetune

        try:
            tuned = finetune(self.stack, progress=progress, should_stop=should_stop, **self.options)
        except FocalFuseError as exc:
            return Outcome(error=str(exc))
        return Outcome(value=tuned)
