"""Batch fusion: many focal stacks, each read -> fused -> written as one dask task.

A stack is the unit of work (never split across tasks): fusion streams its slices, so one task
needs memory for a few slice-sized maps only, and tasks are independent. Locally they run on
dask's threaded (default) or process scheduler; ``scheduler="tcp://host:port"`` sends them to an
existing ``dask.distributed`` cluster. A failing stack records its one-sentence error and the
others still complete. No Qt or napari here; dask and torch are imported only when used.
"""

from __future__ import annotations

import glob
import os
from time import perf_counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class StackSpec:
    """One stack to fuse: a TIFF path, a folder, or a group of slice files, and its output name."""

    name: str
    source: str | tuple[str, ...]
    problem: str | None = None  # known before reading (e.g. a glob that matched nothing)

    @property
    def label(self) -> str:
        """What the user gave, for reports."""
        if isinstance(self.source, tuple):
            return str(Path(self.source[0]).parent / "*") if self.source else self.name
        return self.source


MAPS = ("height", "surface", "confidence")  # optional maps, each <name>_<kind>.tif


@dataclass
class BatchItem:
    """Outcome of one stack; ``error`` is a sentence for the user when ``ok`` is False."""

    input: str
    fused_path: str | None
    mask_path: str | None
    ok: bool
    error: str | None = None
    seconds: float = 0.0
    shape: tuple[int, ...] = field(default_factory=tuple)
    read: str = ""  # what was read, e.g. "7 slices: 1.jpg, 2.jpg, …"
    warnings: list[str] = field(default_factory=list)  # e.g. a slice given twice
    aligned_path: str | None = None  # the aligned stack, when asked for
    mesh_path: str | None = None  # the surface mesh, when asked for
    alignment: str = ""  # what alignment found, one sentence (core.align_report)


# ---------------------------------------------------------------- expanding the inputs


def _is_stack_tiff(path: Path) -> bool:
    """A TIFF holding several planes (a stack on its own), as opposed to one slice."""
    from .io.formats import is_tiff

    if not is_tiff(path):
        return False
    try:
        import tifffile

        from .io.tifflog import tifffile_warnings

        with tifffile_warnings(), tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            axes, shape = series.axes, tuple(series.shape)
    except Exception:  # noqa: BLE001 - unreadable: read_stack reports it as this stack's error
        return True
    if axes in ("YX", "YXS"):
        return False
    return not (axes in ("SYX", "CYX") and shape[0] in (3, 4))


def _stem(path: Path) -> str:
    """Output name of a stack file: ``cells.ome.tif`` -> ``cells``."""
    name = path.stem
    return name[:-4] if name.lower().endswith(".ome") else name


def _folder_specs(folder: Path) -> list[StackSpec]:
    """A folder of slices is one stack; a folder of TIFF stacks and/or stack folders is many."""
    from .io.formats import images_in

    images = images_in(folder)
    if images and not all(_is_stack_tiff(p) for p in images):
        return [StackSpec(folder.resolve().name, str(folder))]
    specs = [StackSpec(_stem(p), str(p)) for p in images]
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    specs += [StackSpec(p.name, str(p)) for p in subfolders if images_in(p)]
    return specs or [StackSpec(folder.resolve().name, str(folder))]  # read_stack says what is wrong


def _glob_specs(pattern: str) -> list[StackSpec]:
    """Folders and multi-page TIFFs matched are stacks each; single images form one stack."""
    from .io.formats import is_image, natural_key

    matches = sorted((Path(p) for p in glob.glob(pattern)), key=natural_key)
    if not matches:
        return [StackSpec(Path(pattern).stem or "stack", pattern, f"{pattern} matches no files.")]
    specs: list[StackSpec] = []
    slices: list[Path] = []
    for path in matches:
        if path.is_dir():
            specs.extend(_folder_specs(path))
        elif _is_stack_tiff(path):
            specs.append(StackSpec(_stem(path), str(path)))
        elif is_image(path):
            slices.append(path)
    if slices:
        parents = {p.resolve().parent for p in slices}
        name = parents.pop().name if len(parents) == 1 else slices[0].stem
        specs.append(StackSpec(name, tuple(str(p) for p in slices)))
    if not specs:
        return [StackSpec(Path(pattern).stem or "stack", pattern, f"{pattern} matches no images.")]
    return specs


def _unique_names(specs: list[StackSpec]) -> list[StackSpec]:
    """Two stacks named alike would write the same files: number the later ones."""
    seen: dict[str, int] = {}
    out = []
    for spec in specs:
        count = seen.get(spec.name, 0) + 1
        seen[spec.name] = count
        name = spec.name if count == 1 else f"{spec.name}-{count}"
        out.append(StackSpec(name, spec.source, spec.problem))
    return out


def expand_inputs(inputs: Sequence[str | os.PathLike] | str | os.PathLike) -> list[StackSpec]:
    """Turn TIFF paths, folders, globs and folders of stack folders into one spec per stack.

    Paths that do not exist are kept, so the stack reports "no such file" instead of vanishing.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    specs: list[StackSpec] = []
    for item in inputs:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            specs.extend(_folder_specs(path))
        elif not path.exists() and _GLOB_CHARS & set(text):
            specs.extend(_glob_specs(text))
        else:
            specs.append(StackSpec(_stem(path) or text, text))
    return _unique_names(specs)


# ---------------------------------------------------------------- one task


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _task_threads(concurrent: int | None, cores: int | None = None) -> int:
    """Torch threads per task so that tasks x threads <= cores (all of them unless limited)."""
    if concurrent is None:  # on a distributed worker: share its cores among its task slots
        try:
            from distributed import get_worker

            concurrent = get_worker().state.nthreads
        except Exception:  # noqa: BLE001 - not on a worker, or an older distributed
            concurrent = 1
    return max(1, (cores or cpu_count()) // max(1, int(concurrent)))


def memory_workers(
    specs: Sequence[StackSpec],
    limit: int,
    method: str = "deep",
    scale: Any = 1,
    read_options: dict[str, Any] | None = None,
) -> int:
    """At most ``limit`` concurrent stacks, fewer when the largest would not fit in RAM that many times.

    Uses the readers' own estimate (io.limits.fusion_bytes) on headers only; ``scale`` "auto"
    counts as 1 (an upper bound). Unreadable stacks are skipped here and report their error later.
    ``read_options`` (channel, time) are those the stacks will be read with.
    """
    from .io.limits import available_memory, fusion_bytes
    from .io.read import read_stack

    factor = scale if isinstance(scale, int) else 1
    need = 0
    for spec in specs:
        if spec.problem:
            continue
        options = dict(read_options or {})
        if _is_timelapse(spec, read_options):  # fused one time point at a time
            options["time"] = 0
        try:
            stack, _ = read_stack(_source(spec), **options)
        except Exception:  # noqa: BLE001, S112 - the task itself reports it
            continue
        need = max(need, fusion_bytes(tuple(stack.shape), stack.dtype, method, factor))
        close = getattr(stack, "close", None)
        if callable(close):
            close()
    if need == 0:
        return limit
    return max(1, min(limit, available_memory() // need))


def _one_sentence(exc: BaseException) -> str:
    from .core.errors import FocalFuseError

    if isinstance(exc, FocalFuseError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory to fuse this stack; use fewer workers, a larger scale or a crop."
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"Unexpected {type(exc).__name__}: {exc}"


def _source(spec: StackSpec) -> str | list[str]:
    return list(spec.source) if isinstance(spec.source, tuple) else spec.source


def _is_timelapse(spec: StackSpec, read_options: dict[str, Any] | None) -> bool:
    """A time-lapse file with no time point chosen: fused at every time point (header only)."""
    from .io.timelapse import time_points

    return (read_options or {}).get("time") is None and not spec.problem and bool(
        time_points(_source(spec))
    )


def _map_of(result: Any, kind: str) -> Any:
    """The map ``kind`` (one of MAPS) of a FusionResult, as the single-stack command writes it."""
    from .core.mesh import MIN_CONFIDENCE

    if kind == "height":
        return result.height
    if kind == "surface":
        return result.surface_height(MIN_CONFIDENCE)
    return result.confidence


def fuse_one(
    spec: StackSpec,
    fused_path: str,
    mask_path: str,
    *,
    overwrite: bool = False,
    concurrent: int | None = 1,
    cores: int | None = None,
    read_options: dict[str, Any] | None = None,
    fuse_kwargs: dict[str, Any] | None = None,
    aligned_path: str | None = None,
    mesh_path: str | None = None,
    mesh_step: int | None = None,
    map_paths: dict[str, str] | None = None,
) -> BatchItem:
    """Read, fuse and write one stack (all files or none); failures become ``item.error``.

    ``read_options`` (channel, time) go to :func:`read_stack`; a ``z_step`` in ``fuse_kwargs``
    overrides the file's. ``cores``: CPU threads shared by all ``concurrent`` tasks.
    ``aligned_path``: also write the slices as fused (aligned, cropped) as a multi-page TIFF.
    ``mesh_path``: also write the surface mesh (.ply/.obj; needs a z-step), ``mesh_step`` px
    per vertex (None: core.mesh.default_step). ``map_paths``: kind (one of ``MAPS``) -> where
    that map goes; height and surface need a z-step.
    A time-lapse file (no ``time`` chosen) is fused at every time point into T-stacks.
    """
    if _is_timelapse(spec, read_options):
        from .timelapse_files import fuse_timelapse_item

        task = {k: v for k, v in locals().items() if k not in ("spec", "fused_path", "mask_path")}
        return fuse_timelapse_item(spec, fused_path, mask_path, **task)
    start = perf_counter()
    item = BatchItem(
        spec.label, fused_path, mask_path, ok=False, aligned_path=aligned_path, mesh_path=mesh_path
    )
    stack = None
    try:
        from .core.errors import FocalFuseError

        if spec.problem:
            raise FocalFuseError(spec.problem)
        import torch

        from .io.inputs import describe_inputs, input_warnings
        from .core.align_report import (
            aligned_slices,
            alignment_warnings_silenced,
            describe_alignment,
        )
        from .core.fusion import fuse
        from .io.output_group import OutputGroup, check_writable
        from .io.read import read_stack
        from .io.write import channels_writer, decision_map_writer, stack_writer, tiff_writer

        map_paths = dict(map_paths or {})
        for path in (fused_path, mask_path, aligned_path, mesh_path, *map_paths.values()):
            if path is not None:
                check_writable(path, overwrite)
        torch.set_num_threads(_task_threads(concurrent, cores))
        stack, meta = read_stack(_source(spec), **(read_options or {}))
        n = int(stack.shape[0])
        item.read = describe_inputs(meta, n)
        item.warnings = input_warnings(meta["paths"])
        kwargs = dict(fuse_kwargs or {})
        if kwargs.get("z_step") is None:
            kwargs["z_step"] = meta.get("z_step")  # µm, or None
        wants = {"height": "height map", "surface": "surface height map"}
        needs_step = [what for kind, what in wants.items() if kind in map_paths]
        needs_step += ["mesh"] if mesh_path is not None else []
        if needs_step and kwargs["z_step"] is None:
            raise FocalFuseError(
                f"{meta['name']} has no z-step in its metadata; pass --z-step to write a "
                f"{needs_step[0]}."
            )
        with alignment_warnings_silenced():  # reported through item.warnings
            result = fuse(stack, **kwargs)
        item.alignment = describe_alignment(
            result.alignment, kwargs.get("align", "auto"), tuple(stack.shape[1:])
        )
        item.warnings += result.warnings
        physical = {"z_step": result.z_step, "pixel_size": meta.get("pixel_size")}
        outputs = OutputGroup(overwrite)
        by_map = kwargs.get("decide_on") is not None  # all channels, from one channel's map
        writer = channels_writer if by_map else tiff_writer
        outputs.add(fused_path, writer(result.fused, **physical))
        outputs.add(mask_path, decision_map_writer(result.mask, n, **physical))
        for kind, path in map_paths.items():
            outputs.add(path, tiff_writer(_map_of(result, kind), **physical))
        if aligned_path is not None:
            outputs.add(aligned_path, stack_writer(aligned_slices(stack, result.alignment), **physical))
        if mesh_path is not None:
            from .core.mesh import result_mesh
            from .io.mesh import EMPTY_MESH, NO_PIXEL_SIZE, mesh_writer

            if meta.get("pixel_size") is None:
                item.warnings.append(NO_PIXEL_SIZE.format(meta["name"]))
            mesh = result_mesh(result, meta.get("pixel_size"), step=mesh_step)
            if not len(mesh.faces):
                item.warnings.append(EMPTY_MESH.format(meta["name"]))
            outputs.add(mesh_path, mesh_writer(mesh_path, mesh))
        outputs.commit()
        item.ok, item.shape = True, tuple(int(k) for k in stack.shape)
    except Exception as exc:  # noqa: BLE001 - one stack's failure must not stop the batch
        item.error = _one_sentence(exc)
    finally:
        close = getattr(stack, "close", None)
        if callable(close):
            close()
    item.seconds = perf_counter() - start
    return item


# ---------------------------------------------------------------- the batch


def _run_local(tasks: list, scheduler: str, workers: int, on_done: Callable | None) -> list:
    import dask
    from dask.callbacks import Callback

    def posttask(key, result, dsk, state, worker_id):  # runs in the scheduling thread
        if on_done is not None and isinstance(result, BatchItem):
            on_done(result)

    with Callback(posttask=posttask):
        return list(dask.compute(*tasks, scheduler=scheduler, num_workers=workers))


def _run_distributed(tasks: list, address: str, specs: list, paths: list, on_done: Callable | None) -> list:
    from .core.errors import FocalFuseError

    try:
        from distributed import Client, as_completed
    except ImportError:
        raise FocalFuseError(
            "A cluster scheduler needs dask.distributed: pip install 'napari-focalfuse[batch]'."
        ) from None

    items: list[BatchItem | None] = [None] * len(tasks)
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise FocalFuseError(f"Cannot reach the dask scheduler at {address} ({exc}).") from None
    with client:  # the default client while open: as_completed looks it up
        futures = client.compute(tasks)
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            i = index[future.key]
            try:
                item = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (e.g. killed for memory)
                item = BatchItem(specs[i].label, *paths[i], ok=False, error=_one_sentence(exc))
            items[i] = item
            if on_done is not None:
                on_done(item)
    return items


def fuse_many(
    inputs: Sequence[str | os.PathLike] | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    threads: int | None = None,
    channel: int | None = None,
    time: int | None = None,
    on_done: Callable[[BatchItem], None] | None = None,
    aligned_stacks: bool = False,
    meshes: bool = False,
    mesh_step: int | None = None,
    maps: tuple[str, ...] = (),
    **fuse_kwargs: Any,
) -> list[BatchItem]:
    """Fuse every stack in ``inputs`` into ``out_dir/<name>_fused.tif`` and ``<name>_mask.tif``
    (and ``<name>_aligned.tif``, the slices as fused, with ``aligned_stacks``; the surface as
    ``<name>_mesh.ply`` with ``meshes``, one vertex per ``mesh_step`` px, a stack without a
    z-step failing; and ``<name>_<kind>.tif`` for each kind of ``maps``, see ``MAPS``).

    ``scheduler``: None/"threads" (default), "processes", "synchronous", or a
    ``tcp://host:port`` address of a running dask.distributed scheduler. ``workers``: stacks
    fused at once locally (default: one per core, at most one per stack, fewer when the largest
    stack would not fit in the free memory that many times); each gets cores // workers torch
    threads. ``threads`` caps the CPU threads of all local tasks together (default: every
    core). ``channel`` and ``time`` pick one channel / time point of every stack, as in
    :func:`read_stack`; with ``decide_on`` (in ``fuse_kwargs``) every channel is read and the
    fused channels are written as one multi-channel TIFF. ``on_done(item)`` is called as each
    stack finishes. ``fuse_kwargs`` go to :func:`napari_focalfuse.fuse` (a ``z_step`` there
    replaces every file's own). Results keep the order of the stacks.
    """
    import dask

    from .core.errors import FocalFuseError

    specs = expand_inputs(inputs)
    if not specs:
        raise FocalFuseError("No input stacks were given.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FocalFuseError(f"{out} is a file, not an output folder.")
    paths = [(str(out / f"{s.name}_fused.tif"), str(out / f"{s.name}_mask.tif")) for s in specs]
    aligned = [str(out / f"{s.name}_aligned.tif") if aligned_stacks else None for s in specs]
    mesh_paths = [str(out / f"{s.name}_mesh.ply") if meshes else None for s in specs]
    unknown = set(maps) - set(MAPS)
    if unknown:
        raise FocalFuseError(f"Unknown maps {sorted(unknown)}; choose from {', '.join(MAPS)}.")
    map_paths = [{kind: str(out / f"{s.name}_{kind}.tif") for kind in maps} for s in specs]

    remote = scheduler is not None and "://" in scheduler
    if not remote and (scheduler or "threads") not in LOCAL_SCHEDULERS:
        raise FocalFuseError(
            f"Unknown scheduler '{scheduler}'; use threads, processes, synchronous or tcp://host:port."
        )
    if workers is not None and workers < 1:
        raise FocalFuseError(f"workers must be at least 1, got {workers}.")
    read_options = {"channel": channel, "time": time}
    if fuse_kwargs.get("decide_on") is not None:
        read_options["all_channels"] = True
    cores = min(threads, cpu_count()) if threads else cpu_count()
    if scheduler == "synchronous":
        n_local = 1
    elif workers is not None:
        n_local = min(len(specs), workers)
    elif remote:
        n_local = 0  # the cluster decides
    else:
        n_local = memory_workers(
            specs, min(len(specs), cores), fuse_kwargs.get("method", "deep"),
            fuse_kwargs.get("scale", 1), read_options,
        )  # fmt: skip
    concurrent = None if remote else n_local
    out.mkdir(parents=True, exist_ok=True)
    task = dask.delayed(fuse_one, pure=False)
    tasks = [
        task(
            spec, f, m, overwrite=overwrite, concurrent=concurrent,
            cores=None if remote else cores, read_options=read_options, fuse_kwargs=fuse_kwargs,
            aligned_path=a, mesh_path=mp, mesh_step=mesh_step, map_paths=mm,
        )  # fmt: skip
        for spec, (f, m), a, mp, mm in zip(specs, paths, aligned, mesh_paths, map_paths)
    ]
    if remote:
        return _run_distributed(tasks, scheduler, specs, paths, on_done)

    import torch

    before = torch.get_num_threads()
    try:
        return _run_local(tasks, scheduler or "threads", n_local, on_done)
    finally:
        torch.set_num_threads(before)  # threaded tasks changed this process-wide setting
