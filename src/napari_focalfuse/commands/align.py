"""``napari-focalfuse align``: estimate the slices' alignment and write the aligned stack only."""

from __future__ import annotations

import argparse
import sys

from .fuse import report_alignment, report_inputs, stack_source
from .outputs import TIFF_OUT, check_outputs
from .progress import FuseBar
from .threads import thread_limit


def run_align(args: argparse.Namespace) -> int:
    with thread_limit(args.threads):
        return _align(args)


def _align(args: argparse.Namespace) -> int:
    from ..core.align import AlignedStack, align_stack
    from ..io.output_group import OutputGroup
    from ..io.read import read_stack
    from ..io.write import stack_writer

    (out,) = check_outputs([(args.output, TIFF_OUT, "aligned stack")], args.inputs, args.overwrite)
    stack, meta = read_stack(stack_source(args.inputs), channel=args.channel, time=args.time)
    n = int(stack.shape[0])
    report_inputs(meta, n)
    progress = FuseBar(f"aligning {meta['name']}", args.quiet, unit="slice")
    try:
        alignment = align_stack(
            stack, model=args.align_model, keep_size=args.keep_size, progress=progress
        )
    finally:
        progress.close()
    report_alignment(alignment, alignment.warnings, True, tuple(stack.shape[1:]))
    outputs = OutputGroup(args.overwrite)
    physical = {"z_step": meta["z_step"], "pixel_size": meta["pixel_size"]}
    outputs.add(out, stack_writer(AlignedStack(stack, alignment), **physical))
    (written,) = outputs.commit()
    print(f"aligned {n} slices of {meta['name']} -> {written}", file=sys.stderr)
    return 0
