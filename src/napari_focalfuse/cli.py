"""Command line: ``napari-focalfuse fuse|align|train|demo``. No Qt, no napari; torch when needed.

Every known problem ends as one line ``napari-focalfuse: error: <sentence>`` and exit status 2;
Ctrl-C exits with 130; an unexpected bug prints one line and exits with 1 (set
``NAPARI_FOCALFUSE_DEBUG=1`` to see its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

PROG = "napari-focalfuse"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _scale(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="use at most N CPU threads for the network and the decoders, to leave the rest of "
        "the machine to other work (default: all cores; with --batch, N in all)",
    )


def _add_selection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--channel",
        type=int,
        metavar="C",
        help="channel to use from a multi-channel file (TCZYX), or colour index of an RGB stack",
    )
    p.add_argument("--time", type=int, metavar="T", help="time point to use from a time-lapse file")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace output files that already exist (never done without this flag)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_threads_option(p)


def _add_input_options(p: argparse.ArgumentParser) -> None:
    _add_selection_options(p)
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where the network runs (default: auto = GPU if available)",
    )
    _add_run_options(p)


def _add_geometry_options(p: argparse.ArgumentParser) -> None:
    """--align-model and --keep-size, shared by ``fuse`` and ``align``."""
    from .core.align import MODELS

    p.add_argument(
        "--align-model",
        default="similarity",
        choices=MODELS,
        help="motion the slices may have: similarity = shift, scale and rotation (default, "
        "focus breathing and drift), affine = also shear, translation = shift only",
    )
    p.add_argument(
        "--keep-size",
        action="store_true",
        help="keep the input's size instead of cropping to the region every aligned slice "
        "covers (borders are then filled from the nearest pixels of the slices)",
    )


def _add_align_options(p: argparse.ArgumentParser) -> None:
    """--align, --align-model, --keep-size and --aligned-stack of ``fuse``."""
    from .core.align_report import ALIGN_CHOICES

    p.add_argument(
        "--align",
        default="auto",
        choices=ALIGN_CHOICES,
        help="align the slices before fusing: auto (default) aligns only when some slice "
        "clearly moved (focus breathing, stage drift), on always aligns, off never does",
    )
    _add_geometry_options(p)
    p.add_argument(
        "--aligned-stack",
        nargs="?",
        const=True,
        default=None,
        metavar="PATH",
        help="also write the aligned slices as a multi-page TIFF with the fused image's size "
        "(PATH defaults to <OUT>_aligned.tif; with --batch give no PATH: each stack's goes to "
        "<name>_aligned.tif in OUT)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Deep focal stacking: fuse a z-stack into one all-in-focus image and a "
        "decision (height) map.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    f = sub.add_parser(
        "fuse",
        help="fuse a focal stack",
        description=(
            "Fuse a focal stack into one all-in-focus image. INPUT is one multi-page TIFF / "
            "OME-TIFF, a folder of images (read in natural order: 1, 2, ..., 10) or several image "
            "files. Outputs are written atomically and never replace a file without --overwrite."
        ),
    )
    f.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="multi-page TIFF, folder, or image files"
    )
    f.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="fused image (.tif keeps the input's pixel type; .png is 8-bit for viewing)",
    )
    f.add_argument(
        "--mask",
        metavar="MASK.tif",
        help="also write the decision map (slice index per pixel, uint8/uint16)",
    )
    maps = {
        "height": "the height map: slice index x z-step, float32 (needs a z-step)",
        "surface": "the sub-slice height map in µm, float32: where focus peaks between slices, "
        "NaN where no slice is clearly sharp (needs a z-step)",
        "confidence": "how clearly one slice is sharpest at each pixel, float32 in 0..1 (near 0 "
        "on flat, textureless background, 0 beside depth steps)",
    }
    for kind, what in maps.items():
        f.add_argument(
            f"--{kind}",
            nargs="?",
            const=True,
            default=None,
            metavar="PATH",
            help=f"also write {what}; PATH defaults to <OUT>_{kind}.tif; with --batch give no "
            f"PATH: each stack's goes to <name>_{kind}.tif in OUT",
        )
    f.add_argument(
        "--mesh",
        nargs="?",
        const=True,
        default=None,
        metavar="M.ply|M.obj",
        help="also write the surface as a coloured triangle mesh (PLY or OBJ; needs a z-step): "
        "heights in µm, x and y in µm from the file's pixel size, else in pixels; pixels where "
        "no slice is clearly sharp are left out (holes). PATH defaults to <OUT>_mesh.ply; with "
        "--batch give no PATH: each stack's goes to <name>_mesh.ply in OUT",
    )
    f.add_argument(
        "--mesh-step",
        type=_positive_int,
        metavar="N",
        help="one mesh vertex per N x N pixels, their mean height and colour (default: the "
        "smallest N that keeps the mesh under a million vertices)",
    )
    f.add_argument(
        "--method",
        default="deep",
        choices=("deep", "laplacian"),
        help="deep feature gradient (default) or the classic Laplacian baseline",
    )
    f.add_argument(
        "--weights",
        metavar="W.pt",
        help="weights file for the deep method (default: the shipped model; 'brightfield' for "
        "the shipped model trained to rank focus on thin specimens in brightfield; 'random' "
        "for an untrained network)",
    )
    f.add_argument(
        "--window",
        type=_non_negative_int,
        default=None,
        metavar="R",
        help="radius in pixels of the sharpness window (default 5 for deep, 0 = pixel-wise for "
        "the Laplacian baseline)",
    )
    f.add_argument(
        "--scale",
        type=_scale,
        default="auto",
        metavar="S",
        help="compute sharpness on slices down-sampled S times (2 is ~4x faster); default "
        "'auto' keeps about 0.15 MP per slice, so big frames stay fast",
    )
    f.add_argument(
        "--no-consistency",
        dest="consistency",
        action="store_false",
        default=None,
        help="skip cleaning the decision map of isolated specks (deep only; the Laplacian "
        "baseline never cleans)",
    )
    f.add_argument(
        "--no-soften",
        dest="soften",
        action="store_false",
        default=None,
        help="pick every pixel from exactly one slice (no blending of equally sharp slices; "
        "the Laplacian baseline always picks)",
    )
    f.add_argument(
        "--z-step",
        type=_positive_float,
        metavar="UM",
        help="distance between slices in µm; overrides the z-step in the file's metadata",
    )
    f.add_argument(
        "--decide-on",
        type=int,
        metavar="C",
        help="multi-channel files (CZYX, ZCYX; TCZYX with --time): decide which slice is sharp "
        "on channel C alone (e.g. brightfield) and take every channel from that slice; the "
        "fused channels are written as one multi-channel TIFF",
    )
    _add_align_options(f)
    f.add_argument(
        "--batch",
        action="store_true",
        help="fuse many stacks in parallel: each INPUT is a stack (TIFF or folder of slices), a "
        "folder of stacks, or a quoted glob; OUT is a folder receiving <name>_fused.tif and "
        "<name>_mask.tif (and <name>_aligned.tif with --aligned-stack, <name>_mesh.ply with "
        "--mesh, <name>_height.tif with --height, and so on for --surface and --confidence)",
    )
    f.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --batch: 'threads' (default), 'processes', or the tcp://host:port address of "
        "a running dask.distributed scheduler to spread the stacks over a cluster",
    )
    f.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="with --batch: stacks fused at once on this machine (default: fits cores and memory)",
    )
    _add_input_options(f)

    a = sub.add_parser(
        "align",
        help="align the slices of a stack and write them",
        description=(
            "Align the slices of a focal stack (focus breathing, stage drift) onto its middle "
            "slice, as 'fuse' does, and write them as one multi-page TIFF: cropped to the region "
            "every slice covers unless --keep-size. The file is written atomically and never "
            "replaces a file without --overwrite."
        ),
    )
    a.add_argument(
        "inputs", nargs="+", metavar="STACK", help="multi-page TIFF, folder, or image files"
    )
    a.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.tif",
        help="aligned stack to write (multi-page TIFF, the input's pixel type)",
    )
    _add_geometry_options(a)
    _add_selection_options(a)
    _add_run_options(a)

    t = sub.add_parser(
        "train",
        help="fine-tune the network on a stack",
        description=(
            "Fine-tune the autoencoder on your own stack (self-supervised, no labels) and save the "
            "weights for 'fuse --weights'. The weights file is written atomically: Ctrl-C or a crash "
            "leaves any previous file untouched."
        ),
    )
    t.add_argument(
        "inputs", nargs="+", metavar="STACK", help="multi-page TIFF, folder, or image files"
    )
    t.add_argument("-o", "--output", required=True, metavar="W.pt", help="weights file to write")
    t.add_argument(
        "--epochs", type=_positive_int, default=3, metavar="N", help="training epochs (default 3)"
    )
    t.add_argument("--lr", type=_positive_float, default=1e-4, help="learning rate (default 1e-4)")
    t.add_argument(
        "--steps",
        type=_positive_int,
        metavar="N",
        help="optimiser steps per epoch (default: about one pass over the stack)",
    )
    t.add_argument(
        "--patch-size",
        type=_positive_int,
        default=64,
        metavar="PX",
        help="side of the training patches in pixels (default 64)",
    )
    t.add_argument(
        "--batch-size",
        type=_positive_int,
        default=8,
        metavar="B",
        help="patches per step (default 8)",
    )
    t.add_argument(
        "--weights",
        metavar="W.pt",
        help="weights to start from (default: the shipped model; 'brightfield' or 'random' allowed)",
    )
    t.add_argument(
        "--focus-weight",
        type=_non_negative_float,
        default=0.0,
        metavar="W",
        help="add the defocus-ranking loss with this weight (default 0: reconstruction only, "
        "the paper's loss); the network learns to rank each patch above itself defocused",
    )
    t.add_argument(
        "--compare",
        metavar="MAPS.png",
        help="also write the decision map before and after tuning side by side, and the pixels "
        "that changed slice (white)",
    )
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _add_input_options(t)

    d = sub.add_parser(
        "demo",
        help="fuse a built-in synthetic stack and report its accuracy",
        description=(
            "Render the built-in motorcycle scene as a 6-slice focal stack with a known all-in-focus "
            "truth, fuse it with the deep and the Laplacian methods, write fused.tif, "
            "decision_map.tif, truth.tif and comparison.png, and print the errors against the truth."
        ),
    )
    d.add_argument(
        "-o",
        "--output",
        default="focalfuse-demo",
        metavar="DIR",
        help="folder for the results (created if missing; default ./focalfuse-demo)",
    )
    d.add_argument(
        "--weights",
        metavar="W.pt",
        help="weights for the deep method (default: shipped; 'brightfield' or 'random' allowed)",
    )
    d.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where the network runs (default: auto)",
    )
    d.add_argument(
        "--overwrite", action="store_true", help="replace result files that already exist"
    )
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_threads_option(d)
    return parser


def _error(message: str, status: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``napari-focalfuse`` script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0)

    from .core.errors import FocalFuseError

    if args.command in ("fuse", "train", "demo"):  # they need torch: load it while reading
        from .core.preload import preload

        preload("torch")
    try:
        if args.command == "fuse" and args.batch:
            from .commands.batch import run_batch as run
        elif args.command == "fuse":
            from .commands.fuse import run_fuse as run
        elif args.command == "align":
            from .commands.align import run_align as run
        elif args.command == "train":
            from .commands.train import run_train as run
        else:
            from .commands.demo import run_demo as run
        return run(args)
    except KeyboardInterrupt:  # outputs are written as a group (io/output_group.py): all or none
        print(f"\n{PROG}: interrupted; no partial output was written.", file=sys.stderr)
        return 130
    except FocalFuseError as exc:
        return _error(str(exc), 2)
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return _error(f"{exc.strerror or exc}{where}", 2)
    except MemoryError:
        return _error("not enough memory; crop the stack or use --scale 2.", 2)
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("NAPARI_FOCALFUSE_DEBUG"):
            raise
        return _error(
            f"unexpected {type(exc).__name__}: {exc} (set NAPARI_FOCALFUSE_DEBUG=1 for details)", 1
        )


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _reuse_freed_memory() -> None:
    """Let glibc hand the memory of freed image-sized buffers to the next ones.

    A fusion allocates and frees many slice-sized arrays, in the main thread and in worker
    threads. By default each one over 32 MB is a fresh mapping, and each thread allocates from
    an arena of its own, so a buffer freed by one stage is rarely what the next stage gets: the
    kernel maps and zeroes new pages instead, which cost ~0.4 s of system time on 7 x 3 MP
    slices and ~170 MB of peak memory. One arena, no mappings for big blocks and no trimming
    make freed memory the next allocation's; it goes back to the system at exit. Other C
    libraries: nothing to do.
    """
    import ctypes
    import ctypes.util

    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold, m_arena_max = -1, -2, -3, -8
    mallopt(m_arena_max, 1)  # before any worker thread starts
    mallopt(m_mmap_threshold, 1 << 30)
    mallopt(m_trim_threshold, 1 << 30)
    mallopt(m_top_pad, 1 << 28)


# Idle threads of torch's OpenMP pool and OpenCV's pool spin (busy-wait) by default, to start
# the next parallel call a few microseconds sooner. Fusion alternates torch, OpenCV, numpy and
# its own worker threads, so on a small machine the spinning threads take the cores from the
# ones with work: on 7 x 3 MP slices and two cores they cost ~0.7 s of CPU and ~0.2 s of wall
# time (benchmarks/versus_focus_stack.py). Read once, when each library starts, so they are set
# before either loads; a user's own setting wins. Not for training, whose convolutions follow
# one another without pause: there spinning saves ~7 % of the wall time (keyboard-sweep, 20
# steps: 10.1 s spinning, 10.8 s passive).
PASSIVE_WAITS = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER": "0",
    "OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN": "0",
}


def _passive_waits() -> None:
    for name, value in PASSIVE_WAITS.items():
        os.environ.setdefault(name, value)


def entry() -> None:
    """Console script: run, flush, and leave without the interpreter's teardown.

    Unloading torch at exit costs ~0.4 s, a tenth of a typical run; every output is already
    written, fsynced and renamed into place when ``main`` returns. Worker threads of an
    interrupted batch may still be running: a group of outputs being renamed is finished, the
    temporary files of the others are deleted.
    """
    import signal

    from .io.output_group import finish_outputs

    signal.signal(signal.SIGTERM, _terminated)  # cleaned up like Ctrl-C: no partial output
    if sys.argv[1:2] != ["train"]:  # training's back-to-back convolutions gain from spinning
        _passive_waits()
    _reuse_freed_memory()
    status = main()
    finish_outputs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    entry()
