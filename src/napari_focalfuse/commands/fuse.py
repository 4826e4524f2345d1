"""``napari-focalfuse fuse``: read, fuse, write the image and optional decision/height maps."""

from __future__ import annotations

import argparse
import sys

from ..core.errors import FocalFuseError
from .outputs import IMAGE_OUT, TIFF_OUT, check_outputs
from .progress import FuseBar


def stack_source(inputs: list[str]):
    """One argument is a file or folder; several are one file per slice."""
    return inputs[0] if len(inputs) == 1 else inputs


def run_fuse(args: argparse.Namespace) -> int:
    from ..io.read import read_stack
    from ..io.write import write_any, write_decision_map, write_image

    if args.scheduler or args.workers:
        raise FocalFuseError("--scheduler and --workers only apply with --batch.")

    out, mask_out, height_out = check_outputs(
        [
            (args.output, IMAGE_OUT, "output"),
            (args.mask, TIFF_OUT + (".png",), "mask"),
            (args.height, TIFF_OUT, "height map"),
        ],
        args.inputs,
        args.overwrite,
    )
    stack, meta = read_stack(stack_source(args.inputs), channel=args.channel, time=args.time)
    if args.z_step is not None:  # given in µm on the command line
        z_step, z_unit = args.z_step, "µm"
    else:
        z_step, z_unit = meta["z_step"], meta["z_unit"]
    if height_out is not None and z_step is None:
        raise FocalFuseError(
            f"{meta['name']} has no z-step in its metadata; pass --z-step to write a height map."
        )

    from ..core.fusion import auto_scale, fuse
    from ..io.limits import check_memory

    scale = auto_scale(*stack.shape[1:3]) if args.scale == "auto" else args.scale
    check_memory(stack.shape, stack.dtype, meta["name"], args.method, scale)

    progress = FuseBar(f"fusing {meta['name']} ({args.method})", args.quiet, int(stack.shape[0]))
    try:
        result = fuse(
            stack,
            args.method,
            args.weights,
            window=args.window,
            scale=scale,
            consistency=args.consistency,
            soften=args.soften,
            z_step=z_step,
            z_unit=z_unit,
            device=args.device,
            progress=progress,
        )
    finally:
        progress.close()

    n = int(stack.shape[0])
    extra = {"pixel_size": meta["pixel_size"]}
    write_any(out, result.fused, overwrite=args.overwrite, z_step=z_step, z_unit=z_unit, **extra)
    written = [str(out)]
    if mask_out is not None:
        if mask_out.suffix.lower() == ".png":
            write_any(
                mask_out,
                result.mask.astype("uint8" if n <= 256 else "uint16"),
                overwrite=args.overwrite,
            )
        else:
            write_decision_map(
                mask_out,
                result.mask,
                n,
                overwrite=args.overwrite,
                z_step=z_step,
                z_unit=z_unit,
                **extra,
            )
        written.append(str(mask_out))
    if height_out is not None:
        write_image(
            height_out,
            result.height,
            overwrite=args.overwrite,
            z_step=z_step,
            z_unit=z_unit,
            description=f"height in {z_unit}",
            **extra,
        )
        written.append(str(height_out))
    print(
        f"fused {n} slices of {meta['name']} ({args.method}) -> {', '.join(written)}",
        file=sys.stderr,
    )
    return 0
