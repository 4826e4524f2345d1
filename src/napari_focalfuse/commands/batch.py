"""``napari-focalfuse fuse --batch``: many stacks in parallel with dask (see batch.py)."""

from __future__ import annotations

import argparse
import sys

from ..core.errors import FocalFuseError


def run_batch(args: argparse.Namespace) -> int:
    """Fuse every stack; report each one's outcome; exit 2 if any stack failed."""
    from ..batch import BatchItem, fuse_many
    from .progress import bar

    if args.mask or args.height:
        raise FocalFuseError("--batch writes <name>_mask.tif itself; drop --mask/--height.")
    progress = bar(None, "stacks", "stack", args.quiet)

    def done(item: BatchItem) -> None:
        progress.update(1)
        if not item.ok:
            progress.write(f"{item.input}: {item.error}", file=sys.stderr)

    try:
        items = fuse_many(
            args.inputs,
            args.output,
            scheduler=args.scheduler,
            overwrite=args.overwrite,
            workers=args.workers,
            on_done=done,
            method=args.method,
            weights=args.weights,
            window=args.window,
            scale=args.scale,
            consistency=args.consistency,
            soften=args.soften,
            device=args.device,
        )
    finally:
        progress.close()
    failed = [item for item in items if not item.ok]
    print(f"fused {len(items) - len(failed)} of {len(items)} stacks into {args.output}", file=sys.stderr)
    return 2 if failed else 0
