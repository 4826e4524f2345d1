"""The shipped weights against the brightfield weights on the real microscope stacks.

No truth here: each fusion is scored by the false-edge share of real_stacks.py (does the
brightfield choice invent edges?) and shown in full-resolution crops side by side, the
default fusion on the left and the brightfield one on the right.

    python benchmarks/brightfield_real.py       # ~4 min; docs/images/brightfield_<stack>.jpg
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import real_stacks as rs

STACKS = ["algae-microscope", "pseudoscorpion-microscope"]
WEIGHTS = ["default", "brightfield"]


def main() -> None:
    import napari_focalfuse as ff

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default=",".join(STACKS))
    args = parser.parse_args()
    report = {}
    for name in args.stacks.split(","):
        stack, _ = ff.read_stack([str(f) for f in rs.slice_files(rs.DATA / "stacks" / name)])
        slices, composite = rs.reference_slices(stack)
        fused, masks = {}, {}
        for weights in WEIGHTS:
            start = time.perf_counter()
            res = ff.fuse(stack, weights=weights)
            fused[weights], masks[weights] = res.fused, res.mask
            share = rs.false_edges(res.fused, composite, slices)
            report[f"{name} {weights}"] = {"false_edge_share": share, "seconds": time.perf_counter() - start}
            print(f"{name:26s} {weights:12s} false-edge share {share:.4f}", flush=True)
        changed = float(np.mean(masks["default"] != masks["brightfield"]))
        report[f"{name} map changed"] = changed
        print(f"{name:26s} {changed:.1%} of the map differs", flush=True)
        rs.crops_figure(name, fused, {w: (0, 0) for w in WEIGHTS}, f"brightfield_{name}.jpg")
    rs.OUT.mkdir(exist_ok=True)
    (rs.OUT / "brightfield_real.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
