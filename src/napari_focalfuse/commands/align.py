"""``napari-focalfuse align``: estimate the slices' alignment and write the aligned stack only."""

from __future__ import annotations

import argparse
import sys

from .fuse import report_inputs, stack_source
from .outputs import TIFF_OUT, check_outputs
from .progress import bar
from .threads import thread_limit


class _AlignBar:
    """``progress(done, total)`` for align_stack: one step per slice read."""

    def __init__(self, desc: str, quiet: bool) -> None:
        self.bar = bar(None, desc, "slice", quiet)

    def __call__(self, done: int, total: int) -> None:
        if self.bar.total is None:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def run_align(args: argparse.Namespace) -> int:
    with thread_limit(args.threads):
        return _align(args)


def _align(args: argparse.Namespace) -> int:
    from ..core.align import AlignedStack, align_stack
    from ..core.align_report import describe_alignment
    from ..io.output_group import OutputGroup
    from ..io.read import read_stack
    from ..io.write import stack_writer

    (out,) = check_outputs([(args.output, TIFF_OUT, "aligned stack")], args.inputs, args.overwrite)
    stack, meta = read_stack(stack_source(args.inputs), channel=args.channel, time=args.time)
    n = int(stack.shape[0])
    report_inputs(meta, n)
    progress = _AlignBar(f"aligning {meta['name']}", args.quiet)
    try:
        alignment = align_stack(
            stack, model=args.align_model, keep_size=args.keep_size, progress=progress
        )
    finally:
        progress.close()
    print(describe_alignment(alignment, True, tuple(stack.shape[1:])), file=sys.stderr)
    for warning in alignment.warnings:
        print(f"napari-focalfuse: warning: {warning}", file=sys.stderr)
    outputs = OutputGroup(args.overwrite)
    physical = {"z_step": meta["z_step"], "pixel_size": meta["pixel_size"]}
    outputs.add(out, stack_writer(AlignedStack(stack, alignment), **physical))
    (written,) = outputs.commit()
    print(f"aligned {n} slices of {meta['name']} -> {written}", file=sys.stderr)
    return 0
