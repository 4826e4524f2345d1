"""Two weights on the real stacks: does a candidate for the default invent edges or pick worse?

No truth here: each fusion is scored by the false-edge share of real_stacks.py, the share of the
map that changed is printed, and full-resolution crops of both fusions are written side by side
to benchmarks/out/weights_real_<stack>.jpg for the eye (real_stacks.py's crop places).

    python benchmarks/weights_real.py --candidate benchmarks/out/candidate.pt
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import real_stacks as rs


def main() -> None:
    import napari_focalfuse as ff

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", required=True, help="weights file to compare with the shipped default")
    parser.add_argument("--stacks", default=",".join(rs.STACKS))
    args = parser.parse_args()
    weights = {"default": None, "candidate": args.candidate}
    rs.DOCS = rs.OUT  # the figures are for checking, not for the docs
    report = {}
    for name in args.stacks.split(","):
        stack, _ = ff.read_stack([str(f) for f in rs.slice_files(rs.DATA / "stacks" / name)])
        slices, composite = rs.reference_slices(stack)
        fused, masks = {}, {}
        for label, w in weights.items():
            start = time.perf_counter()
            res = ff.fuse(stack, weights=w)
            fused[label], masks[label] = res.fused, res.mask
            share = rs.false_edges(res.fused, composite, slices)
            report[f"{name} {label}"] = {"false_edge_share": share, "seconds": time.perf_counter() - start}
            print(f"{name:26s} {label:10s} false-edge share {share:.5f}", flush=True)
        changed = float(np.mean(masks["default"] != masks["candidate"]))
        report[f"{name} map changed"] = changed
        print(f"{name:26s} {changed:.1%} of the map differs", flush=True)
        rs.crops_figure(name, fused, {k: (0, 0) for k in weights}, f"weights_real_{name}.jpg")
    rs.OUT.mkdir(exist_ok=True)
    (rs.OUT / "weights_real.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
