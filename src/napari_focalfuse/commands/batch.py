"""``napari-focalfuse fuse --batch``: many stacks in parallel with dask (see batch.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import FocalFuseError


def run_batch(args: argparse.Namespace) -> int:
    """Fuse every stack; report what each one read and its outcome; exit 2 if any failed."""
    from ..batch import MAPS, BatchItem, expand_inputs, fuse_many
    from ..core.align_report import alignment_warnings_silenced
    from .channels import check_decide_on
    from .fuse import fuse_options
    from .progress import bar

    check_decide_on(args)
    if args.mask:
        raise FocalFuseError("--batch writes <name>_mask.tif itself; drop --mask.")
    if args.mesh_step is not None and args.mesh is None:
        raise FocalFuseError("--mesh-step sets the mesh's resolution; add --mesh to write one.")
    named = {"aligned_stack": "aligned", "mesh": "mesh", **{k: k for k in MAPS}}
    for option, kind in named.items():
        if isinstance(getattr(args, option), str):
            ext = ".ply" if kind == "mesh" else ".tif"
            flag = "--" + option.replace("_", "-")
            raise FocalFuseError(
                f"With --batch give {flag} without a path: each stack's goes to "
                f"<name>_{kind}{ext} in the output folder."
            )
    for warning in _repeated_stacks(expand_inputs(args.inputs)):
        print(f"napari-focalfuse: warning: {warning}", file=sys.stderr)
    progress = bar(None, "stacks", "stack", args.quiet)
    finished: list[str] = []

    def done(item: BatchItem) -> None:
        progress.update(1)
        if item.ok:
            finished.append(item.input)
            progress.write(f"{item.input}: {item.read}", file=sys.stderr)
            progress.write(f"{item.input}: {item.alignment}", file=sys.stderr)
        for warning in item.warnings:
            progress.write(f"napari-focalfuse: warning: {item.input}: {warning}", file=sys.stderr)
        if not item.ok:
            progress.write(f"{item.input}: {item.error}", file=sys.stderr)

    try:
        with alignment_warnings_silenced():  # each is reported as a warning line of its stack
            items = fuse_many(
                args.inputs,
                args.output,
                scheduler=args.scheduler,
                overwrite=args.overwrite,
                workers=args.workers,
                threads=args.threads,
                channel=args.channel,
                time=args.time,
                on_done=done,
                aligned_stacks=bool(args.aligned_stack),
                meshes=bool(args.mesh),
                maps=tuple(kind for kind in MAPS if getattr(args, kind)),
                mesh_step=args.mesh_step,
                **fuse_options(args, args.scale),
                keep_size=args.keep_size,
                z_step=args.z_step,
                decide_on=args.decide_on,
            )
    except KeyboardInterrupt:
        progress.close()
        names = ", ".join(finished) or "none"
        print(f"stacks written in full before the interrupt: {names}", file=sys.stderr)
        raise
    finally:
        progress.close()
    failed = [item for item in items if not item.ok]
    print(f"fused {len(items) - len(failed)} of {len(items)} stacks into {args.output}", file=sys.stderr)
    return 2 if failed else 0


def _repeated_stacks(specs: list) -> list[str]:
    """A stack given twice is fused twice (as <name> and <name>-2): say so."""
    seen: dict[object, str] = {}
    out = []
    for spec in specs:
        source = spec.source if isinstance(spec.source, tuple) else (spec.source,)
        key = tuple(Path(p).resolve() for p in source)
        if key in seen:
            out.append(f"{spec.label} is given twice; it is fused as {seen[key]} and {spec.name}.")
        else:
            seen[key] = spec.name
    return out
