"""Time-lapse fusion: a focal stack per time point, fused one time point after the other.

Only one z-stack is being fused at any moment: time point t's stack is taken (``stacks[t]``,
lazy for files, dask and zarr) when its turn comes and dropped when its frame is out, so memory
is that of one z-stack's fusion plus whatever the caller keeps of the frames.

Geometry: every frame keeps the input's size (``keep_size=True``). With ``align="auto"`` each
time point decides for itself whether its slices moved and, when aligned, would crop to its own
covered region, so frames would differ in shape; cropping all to their common region would need
every time point's alignment before the first frame could be written, i.e. a second pass over
the whole file or every frame held in memory. Keeping the size costs nothing of that and still
aligns each time point's slices onto its middle slice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import Cancelled, FocalFuseError
from .fusion import METHODS, FuseProgress, FusionResult


def time_points(stacks: Any) -> int:
    """How many time points ``stacks`` holds: a (T, Z, Y, X[, C]) array-like, or a sequence of
    (Z, Y, X[, C]) stacks. Raises a sentence for anything else."""
    shape = getattr(stacks, "shape", None)
    if shape is not None and hasattr(stacks, "dtype"):
        shape = tuple(int(n) for n in shape)
        if len(shape) == 4 and shape[-1] in (3, 4):
            raise FocalFuseError(
                f"Shape {shape} is one (Z, Y, X, C) focal stack, not a time-lapse; use fuse, or "
                "pass (T, Z, Y, X, C)."
            )
        if len(shape) not in (4, 5):
            raise FocalFuseError(
                f"A time-lapse is (T, Z, Y, X) or (T, Z, Y, X, C), not shape {shape}."
            )
        n = shape[0]
    elif isinstance(stacks, Sequence) and not isinstance(stacks, (str, bytes)):
        n = len(stacks)
    else:
        raise FocalFuseError(
            "A time-lapse is a (T, Z, Y, X[, C]) array or a list of (Z, Y, X[, C]) stacks, not "
            f"{type(stacks).__name__}."
        )
    if n < 1:
        raise FocalFuseError("The time-lapse has no time points.")
    return n


def fuse_timelapse(
    stacks: Any,
    method: str = "deep",
    weights: Any = None,
    *,
    progress: FuseProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    **options: Any,
) -> Iterator[FusionResult]:
    """Fuse every time point of a time-lapse; yields one :class:`FusionResult` per time point.

    ``stacks`` is a (T, Z, Y, X[, C]) array-like (numpy, memory map, dask, zarr, or
    :class:`~napari_focalfuse.io.timelapse.TimeLapse`) or a sequence of (Z, Y, X[, C]) stacks.
    ``options`` are :func:`~napari_focalfuse.fuse`'s, the same for every time point; frames
    always keep the input's size (``keep_size=False`` is refused: see the module's note).
    ``progress(done, total)`` counts over all time points: ``(0, total)`` first, before any
    slice is read, and the total never changes. ``should_stop()`` is polled before every slice
    read; it raises :class:`~napari_focalfuse.core.errors.Cancelled`. Errors of one time point
    name it. The input, method and weights are checked at the call, before the first frame.
    """
    n = time_points(stacks)
    if method not in METHODS:
        raise FocalFuseError(f"Unknown method '{method}'; use one of {', '.join(METHODS)}.")
    if options.pop("keep_size", True) is not True:
        raise FocalFuseError(
            "A time-lapse keeps every frame at the input's size (keep_size=True) so that frames "
            "share one shape; leave keep_size out."
        )
    if method == "deep":  # loaded once, not once per time point
        from .weights import resolve_model

        weights = resolve_model(weights)
    options.update(method=method, weights=weights, keep_size=True)
    return _frames(stacks, n, options, progress, should_stop)


def _frames(
    stacks: Any,
    n: int,
    options: dict[str, Any],
    progress: FuseProgress | None,
    should_stop: Callable[[], bool] | None,
) -> Iterator[FusionResult]:
    from .fusion import fuse

    per_time: list[int] = []  # steps of one time point: fuse's own total, the same for all

    def relay(t: int) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if not per_time:
                per_time.append(total)
                if progress is not None:
                    progress(0, n * total)
            if done and progress is not None:
                progress(t * per_time[0] + done, n * per_time[0])

        return report

    first: tuple[int, ...] | None = None  # slice shape of time point 0
    for t in range(n):
        if should_stop is not None and should_stop():
            raise Cancelled("fusion cancelled")
        stack = stacks[t]
        shape = tuple(int(k) for k in np.shape(stack)[1:])
        if first is not None and shape != first:
            raise FocalFuseError(
                f"Time point {t} has slices of shape {shape}, time point 0 of {first}; every "
                "time point must have the same size."
            )
        first = shape
        try:
            result = fuse(stack, progress=relay(t), should_stop=should_stop, **options)
        except FocalFuseError as exc:
            raise FocalFuseError(f"Time point {t}: {exc}") from None
        finally:
            del stack  # nothing of this time point outlives its frame
        yield result
        del result  # not held while the next time point is fused


@dataclass
class TimelapseResult:
    """All frames of a time-lapse fusion, stacked: what napari shows (the CLI streams instead)."""

    fused: np.ndarray  # (T, Y, X[, C]) in the stack's dtype
    mask: np.ndarray  # (T, Y, X) integer slice index
    method: str
    z_step: float | None = None
    aligned: int = 0  # time points whose slices moved and were aligned
    warnings: list[str] = field(default_factory=list)  # "Time point t: ..." each

    @property
    def height(self) -> np.ndarray:
        """(T, Y, X) height maps: slice index times the z-step (in slices when unknown)."""
        return self.mask.astype(np.float32) * np.float32(self.z_step or 1.0)

    @classmethod
    def collect(cls, frames: Iterator[FusionResult], n: int) -> TimelapseResult:
        """Stack the frames as they come (their 2-D images only; each result is let go)."""
        out: TimelapseResult | None = None
        t = 0  # not enumerate(): its cached (t, frame) pair would hold the frame on
        for frame in frames:
            if out is None:
                fused = np.empty((n, *frame.fused.shape), frame.fused.dtype)
                mask = np.empty((n, *frame.mask.shape), frame.mask.dtype)
                out = cls(fused, mask, frame.method, frame.z_step)
            out.fused[t], out.mask[t] = frame.fused, frame.mask
            out.aligned += frame.alignment is not None
            out.warnings += [f"Time point {t}: {w}" for w in frame.warnings]
            del frame  # its maps are not held while the next time point is fused
            t += 1
        if out is None:
            raise FocalFuseError("The time-lapse has no time points.")
        return out
