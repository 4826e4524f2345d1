"""``napari-focalfuse fuse`` on a time-lapse file (TZYX, TCZYX) without ``--time``.

Every time point is fused and the frames stream into T-stack TIFFs (fused image, and the
decision / height maps when asked for) under one progress bar over the whole file; the files
appear together at the end, or none of them (error, Ctrl-C). ``--time T`` still fuses one time
point the usual way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .outputs import TIFF_OUT, check_outputs, sibling_target
from .progress import FuseBar


def is_timelapse_run(args: argparse.Namespace) -> bool:
    """A time-lapse file is given and no time point is chosen (header only)."""
    from ..io.timelapse import time_points
    from .fuse import stack_source

    return args.time is None and time_points(stack_source(args.inputs)) > 0


def _refuse_single_stack_options(args: argparse.Namespace, name: str) -> None:
    from ..timelapse_files import SINGLE_STACK_ONLY, single_stack_refusal

    for option in SINGLE_STACK_ONLY:
        value = getattr(args, option, None)
        if value is not None and value is not False:  # 0 (--decide-on 0) is given too
            raise single_stack_refusal(name, option)


def fuse_timelapse_file(args: argparse.Namespace) -> int:
    from ..core.align_report import align_mode, alignment_warnings_silenced
    from ..core.fusion import auto_scale
    from ..io.limits import check_memory
    from ..io.timelapse import read_timelapse
    from ..timelapse_files import fuse_timelapse_to_tiffs
    from .fuse import fuse_options, stack_source

    source = stack_source(args.inputs)
    _refuse_single_stack_options(args, Path(args.inputs[0]).name)
    out, mask_out, height_out = check_outputs(
        [
            (args.output, TIFF_OUT, "time-lapse output"),
            (args.mask, TIFF_OUT, "time-lapse mask"),
            (sibling_target(args.height, args.output, "height"), TIFF_OUT, "time-lapse height map"),
        ],
        args.inputs,
        args.overwrite,
    )
    timelapse, meta = read_timelapse(source, channel=args.channel)
    n_time, n = (int(k) for k in timelapse.shape[:2])
    print(f"reading {n_time} time points x {n} slices of {meta['name']}", file=sys.stderr)
    scale = auto_scale(*timelapse.shape[2:4]) if args.scale == "auto" else args.scale
    check_memory(timelapse.shape[1:], timelapse.dtype, meta["name"], args.method, scale)

    targets = {"fused": out, "mask": mask_out, "height": height_out}
    mode = align_mode(args.align)
    progress = FuseBar(f"fusing {meta['name']} ({args.method}, {n_time} time points)", args.quiet)
    try:
        with alignment_warnings_silenced():  # reported below, one line each
            run = fuse_timelapse_to_tiffs(
                timelapse,
                meta,
                {kind: path for kind, path in targets.items() if path is not None},
                overwrite=args.overwrite,
                progress=progress,
                z_step=args.z_step,
                **fuse_options(args, scale),
            )
    finally:
        progress.close()
    print(run.alignment(mode), file=sys.stderr)
    for warning in run.warnings:
        print(f"napari-focalfuse: warning: {warning}", file=sys.stderr)
    print(
        f"fused {n_time} time points x {n} slices of {meta['name']} ({args.method}) -> "
        f"{', '.join(map(str, run.written))}",
        file=sys.stderr,
    )
    return 0
