"""``napari-focalfuse fuse``: read, fuse, write the image and optional decision/height maps."""

from __future__ import annotations

import argparse
import sys

from ..core.errors import FocalFuseError
from .outputs import IMAGE_OUT, TIFF_OUT, check_outputs, sibling_target
from .progress import FuseBar


def stack_source(inputs: list[str]):
    """One argument is a file or folder; several are one file per slice."""
    return inputs[0] if len(inputs) == 1 else inputs


def report_inputs(meta: dict, n_slices: int) -> None:
    """Name the files read, in the order used, and warn about slices given twice or named off
    the numbering."""
    from ..io.inputs import describe_inputs, input_warnings

    print(f"reading {describe_inputs(meta, n_slices)}", file=sys.stderr)
    for warning in input_warnings(meta["paths"]):
        print(f"napari-focalfuse: warning: {warning}", file=sys.stderr)


def report_alignment(alignment, warnings: list[str], mode: bool | str, slice_shape: tuple[int, ...]) -> None:
    """What alignment found, and each slice it could not align, one line each on stderr."""
    from ..core.align_report import describe_alignment

    print(describe_alignment(alignment, mode, slice_shape), file=sys.stderr)
    for warning in warnings:
        print(f"napari-focalfuse: warning: {warning}", file=sys.stderr)


def fuse_options(args: argparse.Namespace, scale: int | str) -> dict:
    """The options of ``fuse()`` every fuse command takes from its arguments alike."""
    from ..core.align_report import align_mode

    return {
        "method": args.method, "weights": args.weights, "window": args.window, "scale": scale,
        "consistency": args.consistency, "soften": args.soften, "align": align_mode(args.align),
        "align_model": args.align_model, "device": args.device,
    }  # fmt: skip


def run_fuse(args: argparse.Namespace) -> int:
    from .channels import check_decide_on
    from .threads import thread_limit

    if args.scheduler or args.workers:
        raise FocalFuseError("--scheduler and --workers only apply with --batch.")
    if args.mesh_step is not None and args.mesh is None:
        raise FocalFuseError("--mesh-step sets the mesh's resolution; add --mesh to write one.")
    check_decide_on(args)
    with thread_limit(args.threads):
        return _fuse(args)


def _fuse(args: argparse.Namespace) -> int:
    from .fuse_timelapse import fuse_timelapse_file, is_timelapse_run

    if is_timelapse_run(args):  # every time point, into T-stacks
        return fuse_timelapse_file(args)
    from ..io.output_group import OutputGroup
    from ..io.read import read_stack
    from ..io.write import (
        decision_map_writer,
        png_writer,
        stack_writer,
        tiff_writer,
    )
    from .channels import check_channel, fused_writer

    from ..core.mesh import MIN_CONFIDENCE
    from .mesh import MESH_OUT, add_mesh

    out, mask_out, height_out, surface_out, confidence_out, aligned_out, mesh_out = check_outputs(
        [
            (args.output, IMAGE_OUT, "output"),
            (args.mask, TIFF_OUT + (".png",), "mask"),
            (sibling_target(args.height, args.output, "height"), TIFF_OUT, "height map"),
            (sibling_target(args.surface, args.output, "surface"), TIFF_OUT, "surface height map"),
            (sibling_target(args.confidence, args.output, "confidence"), TIFF_OUT, "confidence map"),
            (sibling_target(args.aligned_stack, args.output, "aligned"), TIFF_OUT, "aligned stack"),
            (sibling_target(args.mesh, args.output, "mesh", ".ply"), MESH_OUT, "mesh"),
        ],
        args.inputs,
        args.overwrite,
    )
    stack, meta = read_stack(
        stack_source(args.inputs), channel=args.channel, time=args.time,
        all_channels=args.decide_on is not None,
    )  # fmt: skip
    n = int(stack.shape[0])
    report_inputs(meta, n)
    check_channel(stack, args.decide_on, meta)
    z_step = args.z_step if args.z_step is not None else meta["z_step"]  # µm either way
    if height_out is not None and z_step is None:
        raise FocalFuseError(
            f"{meta['name']} has no z-step in its metadata; pass --z-step to write a height map."
        )
    if surface_out is not None and z_step is None:
        raise FocalFuseError(
            f"{meta['name']} has no z-step in its metadata; pass --z-step to write a surface "
            "height map."
        )
    if mesh_out is not None and z_step is None:
        raise FocalFuseError(
            f"{meta['name']} has no z-step in its metadata; pass --z-step to write a mesh."
        )

    from ..core.align_report import align_mode, aligned_slices, alignment_warnings_silenced
    from ..core.fusion import auto_scale, fuse
    from ..io.limits import check_memory

    scale = auto_scale(*stack.shape[1:3]) if args.scale == "auto" else args.scale
    check_memory(stack.shape, stack.dtype, meta["name"], args.method, scale)

    progress = FuseBar(f"fusing {meta['name']} ({args.method})", args.quiet)
    mode = align_mode(args.align)
    try:
        with alignment_warnings_silenced():  # reported below, one line each
            result = fuse(
                stack, **fuse_options(args, scale), keep_size=args.keep_size, z_step=z_step,
                progress=progress, decide_on=args.decide_on,
            )  # fmt: skip
    finally:
        progress.close()
    report_alignment(result.alignment, result.warnings, mode, tuple(stack.shape[1:]))

    # all outputs appear together at the end, or (error, Ctrl-C) none of them
    physical = {"z_step": z_step, "pixel_size": meta["pixel_size"]}
    outputs = OutputGroup(args.overwrite)
    outputs.add(out, fused_writer(out, result.fused, args.decide_on, **physical))
    if mask_out is not None and mask_out.suffix.lower() == ".png":
        outputs.add(mask_out, png_writer(result.mask.astype("uint8" if n <= 256 else "uint16")))
    elif mask_out is not None:
        outputs.add(mask_out, decision_map_writer(result.mask, n, **physical))
    if height_out is not None:
        outputs.add(height_out, tiff_writer(result.height, description="height in µm", **physical))
    if surface_out is not None:
        surface = result.surface_height(MIN_CONFIDENCE)
        outputs.add(surface_out, tiff_writer(surface, description="height in µm", **physical))
    if confidence_out is not None:
        outputs.add(confidence_out, tiff_writer(result.confidence, **physical))
    if aligned_out is not None:
        outputs.add(aligned_out, stack_writer(aligned_slices(stack, result.alignment), **physical))
    if mesh_out is not None:
        add_mesh(outputs, mesh_out, result, meta, args.mesh_step)
    written = outputs.commit()
    print(
        f"fused {n} slices of {meta['name']} ({args.method}) -> {', '.join(map(str, written))}",
        file=sys.stderr,
    )
    return 0
