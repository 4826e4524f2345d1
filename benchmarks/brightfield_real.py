"""The shipped weights against the brightfield weights on the real microscope stacks.

No truth here: each fusion is scored by the false-edge share of real_stacks.py (does the
brightfield choice invent edges?) and shown in full-resolution crops side by side, the
default fusion on the left and the brightfield one on the right.

    python benchmarks/brightfield_real.py       # ~4 min; docs/images/brightfield_<stack>.jpg
"""

from __future__ import annotations

import argparse
import json

import real_stacks as rs

STACKS = ["algae-microscope", "pseudoscorpion-microscope"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default=",".join(STACKS))
    args = parser.parse_args()
    weights = {"default": "default", "brightfield": "brightfield"}
    report = rs.compare_weights(weights, args.stacks.split(","), "brightfield", rs.DOCS)
    rs.OUT.mkdir(exist_ok=True)
    (rs.OUT / "brightfield_real.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
