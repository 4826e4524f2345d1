"""``napari-focalfuse train``: fine-tune on the user's stack and save the weights atomically."""

from __future__ import annotations

import argparse
import sys

from .fuse import report_inputs, stack_source
from .outputs import check_outputs
from .progress import TrainBar
from .threads import thread_limit


def run_train(args: argparse.Namespace) -> int:
    with thread_limit(args.threads):
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    from ..io.read import read_stack

    out, picture = check_outputs(
        [(args.output, (".pt", ".pth"), "weights file"), (args.compare, (".png",), "comparison")],
        args.inputs,
        args.overwrite,
    )
    stack, meta = read_stack(stack_source(args.inputs), channel=args.channel, time=args.time)
    report_inputs(meta, int(stack.shape[0]))

    from ..core.training import compare_maps, finetune

    progress = TrainBar(args.epochs, args.quiet)
    try:
        tuned = finetune(
            stack,
            args.epochs,
            args.weights,
            lr=args.lr,
            patch_size=args.patch_size,
            batch_size=args.batch_size,
            steps_per_epoch=args.steps,
            seed=args.seed,
            focus_weight=args.focus_weight,
            device=args.device,
            progress=progress,
        )
    finally:
        progress.close()
    tuned.save(out, overwrite=args.overwrite)
    losses = ", ".join(f"{v:.4f}" for v in tuned.losses)
    print(f"fine-tuned on {meta['name']}: loss per epoch {losses} -> {out}", file=sys.stderr)
    maps = compare_maps(stack, args.weights, tuned, device=args.device)
    start = "the starting weights" if args.weights else "the shipped weights"
    print(
        f"decision map: {maps.changed:.1%} of pixels now come from another slice than with {start}",
        file=sys.stderr,
    )
    if picture is not None:
        from ..io.preview import map_comparison
        from ..io.write import write_png

        write_png(picture, map_comparison(maps.before, maps.after, int(stack.shape[0])), overwrite=args.overwrite)
        print(f"maps before | after | changed pixels -> {picture}", file=sys.stderr)
    return 0
