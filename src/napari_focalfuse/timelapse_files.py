"""A time-lapse file fused into T-stack TIFFs, for ``fuse`` and ``fuse --batch``.

Read lazily (io.timelapse), fused one time point at a time (core.timelapse) and written frame
by frame (io.tstack): memory is one z-stack's fusion whatever the number of time points. No Qt
or napari; torch only through fusion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.errors import FocalFuseError

# outputs that describe one focal stack and have no time-lapse form (option -> what it writes)
SINGLE_STACK_ONLY = {
    "aligned_stack": "--aligned-stack writes one focal stack's aligned slices",
    "mesh": "--mesh writes one focal stack's surface",
    "surface": "--surface writes one focal stack's sub-slice height",
    "confidence": "--confidence writes one focal stack's confidence map",
    "decide_on": "--decide-on reads every channel of one focal stack",
}


def single_stack_refusal(name: str, option: str) -> FocalFuseError:
    return FocalFuseError(
        f"{name} is a time-lapse and {SINGLE_STACK_ONLY[option]}; choose a time point with "
        "--time for it."
    )


@dataclass
class TimelapseRun:
    """What one run read, aligned and wrote, for the report."""

    n_time: int
    n_slices: int
    aligned: int = 0  # time points whose slices moved and were aligned
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def read(self, meta: dict) -> str:
        """'5 time points x 8 slices of movie.tif'."""
        return f"{self.n_time} time points x {self.n_slices} slices of {Path(meta['paths'][0]).name}"

    def alignment(self, mode: bool | str) -> str:
        """One sentence over all time points (each is aligned on its own)."""
        if mode is False:
            return "Alignment off: slices used as they are."
        if not self.aligned:
            return f"Slices did not move at any of the {self.n_time} time points: not aligned."
        return (
            f"Aligned the slices of {self.aligned} of {self.n_time} time points; every frame "
            "keeps the input's size."
        )


def fuse_timelapse_to_tiffs(
    timelapse: Any,
    meta: dict,
    targets: dict[str, Path],
    *,
    overwrite: bool = False,
    progress: Any = None,
    **fuse_kwargs: Any,
) -> TimelapseRun:
    """Fuse every time point of ``timelapse`` (io.timelapse.read_timelapse) into T-stack TIFFs:
    ``targets`` "fused" and optionally "mask", "height". ``fuse_kwargs`` go to
    :func:`~napari_focalfuse.core.timelapse.fuse_timelapse`; its ``z_step`` (µm) or else the
    file's is written with the maps. All files or none, as every output of the package."""
    from .core.timelapse import fuse_timelapse
    from .io.tstack import write_timelapse

    z_step = fuse_kwargs.pop("z_step", None) or meta.get("z_step")
    if "height" in targets and z_step is None:
        raise FocalFuseError(
            f"{meta['name']} has no z-step in its metadata; pass --z-step to write a height map."
        )
    run = TimelapseRun(*(int(n) for n in timelapse.shape[:2]))
    frames = fuse_timelapse(timelapse, z_step=z_step, progress=progress, **fuse_kwargs)

    def reported():
        t = 0  # not enumerate(): its cached (t, frame) pair would hold the frame on
        for frame in frames:
            run.aligned += frame.alignment is not None
            run.warnings += [f"time point {t}: {w}" for w in frame.warnings]
            yield frame
            del frame  # not held while the next time point is fused
            t += 1

    run.written = write_timelapse(
        reported(), run.n_time, run.n_slices, targets, overwrite=overwrite,
        pixel_size=meta.get("pixel_size"),
    )  # fmt: skip
    return run


def fuse_timelapse_item(spec: Any, fused_path: str, mask_path: str, **task: Any) -> Any:
    """:func:`napari_focalfuse.batch.fuse_one` for a time-lapse (``task``: its other
    arguments): ``<name>_fused.tif`` and ``<name>_mask.tif`` as T-stacks; a failure becomes
    the item's error sentence."""
    from time import perf_counter

    import torch

    from .batch import BatchItem, _one_sentence, _source, _task_threads
    from .core.align_report import alignment_warnings_silenced
    from .io.timelapse import read_timelapse

    start = perf_counter()
    item = BatchItem(spec.label, fused_path, mask_path, ok=False)
    try:
        kwargs = dict(task.get("fuse_kwargs") or {})
        kwargs.pop("keep_size", None)  # a time-lapse always keeps it
        maps = dict(task.get("map_paths") or {})  # the height map is a T-stack; others refused
        asked = {
            "aligned_stack": task.get("aligned_path"),
            "mesh": task.get("mesh_path"),
            "surface": maps.get("surface"),
            "confidence": maps.get("confidence"),
            "decide_on": kwargs.pop("decide_on", None),
        }
        for option, value in asked.items():
            if value is not None:
                raise single_stack_refusal(spec.label, option)
        torch.set_num_threads(_task_threads(task.get("concurrent", 1), task.get("cores")))
        channel = (task.get("read_options") or {}).get("channel")
        timelapse, meta = read_timelapse(_source(spec), channel=channel)
        targets = {"fused": Path(fused_path), "mask": Path(mask_path)}
        if "height" in maps:
            targets["height"] = Path(maps["height"])
        with alignment_warnings_silenced():  # reported through item.warnings
            run = fuse_timelapse_to_tiffs(
                timelapse, meta, targets, overwrite=task.get("overwrite", False), **kwargs
            )
        item.read, item.alignment = run.read(meta), run.alignment(kwargs.get("align", "auto"))
        item.warnings = run.warnings
        item.ok, item.shape = True, tuple(int(k) for k in timelapse.shape)
    except Exception as exc:  # noqa: BLE001 - one stack's failure must not stop the batch
        item.error = _one_sentence(exc)
    item.seconds = perf_counter() - start
    return item
