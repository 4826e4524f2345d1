"""Two weights on the real stacks: does a candidate for the default invent edges or pick worse?

No truth here: each fusion is scored by the false-edge share of real_stacks.py, the share of the
map that changed is printed, and full-resolution crops of both fusions are written side by side
to benchmarks/out/weights_real_<stack>.jpg for the eye (real_stacks.py's crop places).

    python benchmarks/weights_real.py --candidate benchmarks/out/candidate.pt
"""

from __future__ import annotations

import argparse
import json

import real_stacks as rs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", required=True, help="weights file to compare with the shipped default")
    parser.add_argument("--stacks", default=",".join(rs.STACKS))
    args = parser.parse_args()
    weights = {"default": None, "candidate": args.candidate}
    # the figures are for checking, not for the docs
    report = rs.compare_weights(weights, args.stacks.split(","), "weights_real", rs.OUT)
    rs.OUT.mkdir(exist_ok=True)
    (rs.OUT / "weights_real.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
