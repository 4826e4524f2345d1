"""Sub-slice height on real stacks, against the same stack sampled more finely.

Real captures have no true depth, but a stack has a finer version of itself: every k-th slice
is a stack with a k times coarser step, and the full stack's surface (divided by k) is a
reference for it that lies between the subset's slices. Scored on pixels confident in both
and inside the subset's range (away from its end slices), as the mean absolute difference in
the subset's slices, for the subset's surface and its decision map; and, apart, on the pixels
the subset puts on its first or last slice whose reference lies inside the full stack (away
from its end slices), where the subset's height comes from the end slice and the next two.
Slices are not aligned (``align=False``), so the two results share one frame.

    python benchmarks/surface_subsampled.py [--log-model]

``--log-model`` reads every stack through the parabola of the log measure (the model before
2026-12-05's per-stack focus curve) for comparison.
"""

from __future__ import annotations

import argparse

import numpy as np

from napari_focalfuse import fuse, read_stack
from napari_focalfuse.core.mesh import MIN_CONFIDENCE
from real_stacks import slice_files
from scenes import DATA

CASES = (("keyboard-sweep", 4), ("keyboard-sweep", 3), ("pseudoscorpion-microscope", 2),
         ("pseudoscorpion-microscope", 3), ("pcb-switch", 2))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log-model", action="store_true")
    args = parser.parse_args()
    if args.log_model:
        from napari_focalfuse.core import surface

        surface.focus_curve_exponent = lambda *_, **__: 0.0
    print(
        "| stack | subset | slices | pixels | map | surface | ratio | end-slice pixels | map "
        "| surface | ratio |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for name, k in CASES:
        files = slice_files(DATA / "stacks" / name)
        full = fuse(read_stack(files)[0], align=False)
        for first in range(k):
            subset = files[first::k]
            sub = fuse(read_stack(subset)[0], align=False)
            reference = (full.surface - first) / k  # in the subset's slices
            confident = (full.confidence >= MIN_CONFIDENCE) & (sub.confidence >= MIN_CONFIDENCE)
            used = confident & (reference > 0.5) & (reference < len(subset) - 1.5)
            ends = confident & ((sub.mask == 0) | (sub.mask == len(subset) - 1))
            ends &= (full.surface > 0.5) & (full.surface < len(files) - 1.5)
            cells = " | ".join(_errors(sub.mask, sub.surface, reference, w) for w in (used, ends))
            print(f"| {name} | 1 in {k}, from slice {first} | {len(subset)} | {cells} |", flush=True)


def _errors(mask: np.ndarray, height: np.ndarray, reference: np.ndarray, where: np.ndarray) -> str:
    """Share of the frame, the map's and the surface's mean error and their ratio there."""
    if not where.any():
        return "0 | – | – | –"
    surface = np.abs(height - reference)[where].mean()
    index = np.abs(mask - reference)[where].mean()
    return f"{where.mean():.2f} | {index:.3f} | {surface:.3f} | {surface / index:.2f}"


if __name__ == "__main__":
    main()
