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
    value: Any = None  # FusionResult or Tuning
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
class Tuning:
    """What a training job returns: the tuned model and, when compared, the maps before and after."""

    tuned: Any  # TunedModel
    maps: Any = None  # MapChange, or None when not compared (not asked, or stopped)


@dataclass
class TrainJob:
    """A call of :func:`napari_focalfuse.finetune`; stopping is not an error, it returns a model.

    With ``compare`` a finished run also fuses the stack with the starting and the tuned weights,
    so the user sees what the tuning changed in the map (a stopped run skips it: Stop means now).
    """

    stack: Any
    options: dict[str, Any] = field(default_factory=dict)
    compare: bool = False

    def run(
        self,
        progress: Callable[[int, int, int, float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        phase: Callable[[str], None] | None = None,
    ) -> Outcome:
        return outcome_of(lambda: self._train(progress, should_stop, phase))

    def _train(
        self,
        progress: Callable[[int, int, int, float], None] | None,
        should_stop: Callable[[], bool] | None,
        phase: Callable[[str], None] | None,
    ) -> Tuning:
        from ..core.errors import Cancelled
        from ..core.training import compare_maps, finetune

        tuned = finetune(self.stack, progress=progress, should_stop=should_stop, **self.options)
        if not self.compare or tuned.stopped_early:
            return Tuning(tuned)
        if phase is not None:
            phase("Comparing the decision maps before and after tuning…")
        start, device = self.options.get("weights"), self.options.get("device", "auto")
        try:
            return Tuning(tuned, compare_maps(self.stack, start, tuned, device, should_stop))
        except Cancelled:  # stopped while comparing: the model is kept all the same
            return Tuning(tuned)
