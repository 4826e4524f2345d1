"""Wall time and peak memory of ``napari-focalfuse fuse`` beside focus-stack, runs alternating.

Both tools align the slices and fuse them, from JPEG files on disk to an image on disk, each as
a user starts it (a fresh process: interpreter start and ``import torch`` count for us). Runs
alternate (ours, theirs, ours, ...) so that a change in the machine's load hits both alike;
peak RSS is each process's own (``os.wait4``, see speed.py). focus-stack is not part of this
project: build it yourself (https://github.com/PetteriAimonen/focus-stack, ``make``) and pass
its binary.

    python benchmarks/versus_focus_stack.py --focus-stack ~/focus-stack/build/focus-stack --runs 5

Writes benchmarks/out/versus_focus_stack.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_stacks import slice_files
from scenes import DATA
from speed import run_child

OUT = Path(__file__).resolve().parent / "out"


def ours(files: list[Path], target: Path, extra: list[str]) -> list[str]:
    exe = shutil.which("napari-focalfuse")
    cmd = [exe] if exe else [sys.executable, "-m", "napari_focalfuse.cli"]
    return [*cmd, "fuse", *map(str, files), "-o", str(target / "fused.tif"), "--overwrite", "-q", *extra]


def theirs(binary: str, files: list[Path], target: Path) -> list[str]:
    return [binary, f"--output={target / 'fused.jpg'}", *map(str, files)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--focus-stack", required=True, help="path of a focus-stack binary")
    parser.add_argument("--stack", default="pcb-switch", help="folder in ../shared/data/stacks")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--extra", default="", help="extra options for napari-focalfuse fuse")
    args = parser.parse_args()

    files = slice_files(DATA / "stacks" / args.stack)
    tools = {"napari-focalfuse": lambda t: ours(files, t, args.extra.split()),
             "focus-stack": lambda t: theirs(args.focus_stack, files, t)}  # fmt: skip
    records: dict[str, list[dict]] = {name: [] for name in tools}
    load = [os.getloadavg()[0]]
    for run in range(args.runs):
        for name, command in tools.items():
            with tempfile.TemporaryDirectory() as tmp:
                usage = run_child(command(Path(tmp)), timeout=600)
            if usage["rc"] != 0:
                sys.exit(f"{name} failed: {usage['output'][-500:]}")
            usage.pop("output")
            records[name].append(usage)
            print(name, run, f"{usage['wall_s']:.2f} s", f"{usage['peak_rss_mb']:.0f} MB", flush=True)
    load.append(os.getloadavg()[0])

    summary = {name: {"median_wall_s": statistics.median(r["wall_s"] for r in rs),
                      "median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
                      "max_peak_rss_mb": max(r["peak_rss_mb"] for r in rs)}
               for name, rs in records.items()}  # fmt: skip
    OUT.mkdir(exist_ok=True)
    record = {"stack": args.stack, "slices": len(files), "runs": args.runs, "load": load,
              "summary": summary, "records": records}  # fmt: skip
    (OUT / "versus_focus_stack.json").write_text(json.dumps(record, indent=1))
    ref = summary["focus-stack"]
    print(f"\n{args.stack}, {len(files)} slices, {args.runs} alternating runs each, load {load[0]:.2f}->{load[1]:.2f}\n")
    print("| tool | median wall s | median CPU s | peak RSS MB | wall / focus-stack | peak / focus-stack |")
    print("|---|---|---|---|---|---|")
    for name, s in summary.items():
        print(f"| {name} | {s['median_wall_s']:.2f} | {s['median_cpu_s']:.1f} | {s['max_peak_rss_mb']:.0f} "
              f"| {s['median_wall_s'] / ref['median_wall_s']:.2f} | {s['max_peak_rss_mb'] / ref['max_peak_rss_mb']:.2f} |")


if __name__ == "__main__":
    main()
