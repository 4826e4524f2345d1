"""Speed and memory of whole fusion runs: the CLI as a user runs it, and the API warm.

Every measured run is a child process, so wall time and peak memory are that run's alone:
the CLI child's peak RSS comes from ``os.wait4`` (its own rusage, not the sum or max over all
children), the API child resets its peak counter after a warm-up (see speed_child.py).

    python benchmarks/speed.py --quick                       # smoke run on tiny inputs (~1 min)
    python benchmarks/speed.py                               # everything (long: run on a quiet machine)
    python benchmarks/speed.py --cases pcb --modes cli api --scale 2 --json out.json --doc out.md

Writes JSON records (benchmarks/out/speed.json), a Markdown table (docs/benchmarks_speed.md)
and plots (docs/images/speed_*.png); --quick writes under benchmarks/out/quick/ instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_inputs import OUT, SpeedInput, build_inputs

ROOT = Path(__file__).resolve().parent.parent
ALL_CASES = ["synthetic", "pcb", "algae", "big", "slices", "keyboard", "pixels"]


# A lean middle process starts the measured one and reports its rusage. Linux folds the
# forking process's peak RSS into the child's ru_maxrss at exec, so forking from this (large)
# process would report at least our own peak; the launcher's own peak is ~10 MB.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as fh:
    json.dump({"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024,
               "rc": os.waitstatus_to_exitcode(status)}, fh)
"""


def run_child(cmd: list[str], timeout: float) -> dict:
    """Run ``cmd``; wall time, CPU time and peak RSS of exactly that process, and its output."""
    with tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        log_file = Path(tmp) / "log.txt"
        with open(log_file, "wb") as log:
            launcher = subprocess.Popen(
                [sys.executable, "-S", "-c", LAUNCHER, str(usage_file), *cmd],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
            )
            try:
                launcher.wait(timeout)
            except subprocess.TimeoutExpired:  # kill the launcher and the measured run with it
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
        text = log_file.read_text("utf-8", errors="replace")
        if not usage_file.exists():
            return {"wall_s": None, "cpu_s": None, "peak_rss_mb": None, "rc": -9,
                    "output": text + f"\nkilled after {timeout:.0f} s"}
        usage = json.loads(usage_file.read_text())
    usage["output"] = text
    return usage


def cli_command(paths: list[str], out_dir: Path, method: str, scale: int | str, weights: str | None) -> list[str]:
    exe = shutil.which("napari-focalfuse")
    cmd = [exe] if exe else [sys.executable, "-m", "napari_focalfuse.cli"]
    cmd += ["fuse", *paths, "-o", str(out_dir / "fused.tif"), "--mask", str(out_dir / "mask.tif"),
            "--method", method, "--overwrite", "-q"]
    if scale != "default":  # "default": whatever the CLI does without --scale
        cmd += ["--scale", str(scale)]
    if method == "deep" and weights:
        cmd += ["--weights", weights]
    return cmd


def describe(item: SpeedInput) -> dict:
    """Shape and dtype from the headers (no pixels decoded)."""
    from napari_focalfuse import read_stack

    stack, _ = read_stack(item.paths[0] if len(item.paths) == 1 else item.paths)
    shape = list(stack.shape)
    if item.slices:
        shape[0] = item.slices
    return {"shape": shape, "dtype": str(stack.dtype), "n_slices": shape[0],
            "megapixels": round(shape[1] * shape[2] / 1e6, 3)}


def _last_json(text: str) -> dict:
    """The child's result line (warnings on stderr may surround it)."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("the API child printed no result")


def measure(item: SpeedInput, mode: str, method: str, scale: int | str, weights: str | None, timeout: float) -> dict:
    record = {"input": item.name, "group": item.group, "mode": mode, "method": method, "scale": scale,
              "load_before": round(os.getloadavg()[0], 2), **describe(item)}
    if mode == "cli":
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            res = run_child(cli_command(item.paths, Path(tmp), method, scale, weights), timeout)
            record["ok"] = res["rc"] == 0 and (Path(tmp) / "fused.tif").exists()
    else:
        spec = {"paths": item.paths, "method": method, "scale": scale, "weights": weights,
                "slices": item.slices}
        child = [sys.executable, str(Path(__file__).with_name("speed_child.py")), json.dumps(spec)]
        res = run_child(child, timeout)
        record["ok"] = res["rc"] == 0
        if record["ok"]:
            inner = _last_json(res["output"])
            res["process_wall_s"], res["process_cpu_s"] = res["wall_s"], res["cpu_s"]
            res.update(inner)  # wall_s and cpu_s become the timed call's
            res["call_extra_rss_mb"] = res["call_peak_rss_mb"] - res["rss_before_mb"]
    output = res.pop("output")
    if not record["ok"]:
        record["error"] = output.strip().splitlines()[-1] if output.strip() else f"exit status {res['rc']}"
    record.update(res)
    return record


def summary(rec: dict) -> str:
    def num(key: str, fmt: str) -> str:
        return format(rec[key], fmt) if rec.get(key) is not None else "-"

    return (f"{rec['input']:26s} {rec['mode']:3s} {rec['method']:9s} x{rec['scale']}  "
            f"wall {num('wall_s', '7.2f')} s  cpu {num('cpu_s', '6.1f')} s  "
            f"peak {num('peak_rss_mb', '6.0f')} MB  call peak {num('call_peak_rss_mb', '6.0f')} MB  "
            f"{'ok' if rec['ok'] else rec.get('error')}")


def default_weights() -> str | None:
    """The shipped weights when present (None = shipped), else an untrained net: same speed."""
    from napari_focalfuse.core.weights import default_weights_path

    return None if default_weights_path().is_file() else "random"


def _scale(text: str) -> int | str:
    return text if text == "default" else int(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny inputs, a smoke test of the harness")
    p.add_argument("--cases", nargs="+", choices=ALL_CASES, help="which stacks (default: all)")
    p.add_argument("--modes", nargs="+", choices=("cli", "api"), default=["cli", "api"])
    p.add_argument("--method", nargs="+", choices=("deep", "laplacian"), default=["deep"])
    p.add_argument("--scale", nargs="+", type=_scale,
                   help="feature down-sampling (default 2 4; quick: 2); 'default' passes none, "
                   "so the CLI and fuse() each use their own default")
    p.add_argument("--slices", nargs="+", type=int,
                   help="slice counts of the growth study (default: keyboard 2..32, big stack 10..100)")
    p.add_argument("--megapixels", nargs="+", type=float, help="pcb crop sizes (default 0.5 1 2 3)")
    p.add_argument("--weights", help="weights for deep: a file, 'random' (default: shipped if present)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per run before it is killed")
    p.add_argument("--json", type=Path, help="records file (default benchmarks/out/speed.json)")
    p.add_argument("--doc", type=Path, help="Markdown report (default docs/benchmarks_speed.md)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quick_dir = OUT / "quick"
    if args.quick:
        args.cases = args.cases or ["synthetic", "big", "slices", "keyboard", "pixels"]
    args.slices = args.slices or ([2, 4, 8] if args.quick else [2, 4, 8, 16, 32, 10, 25, 50, 100])
    args.megapixels = args.megapixels or ([0.05, 0.1] if args.quick else [0.5, 1, 2, 3])
    args.scale = args.scale or ([2] if args.quick else [2, 4])
    cases = args.cases or ALL_CASES
    json_path = args.json or (quick_dir / "speed.json" if args.quick else OUT / "speed.json")
    doc_path = args.doc or (quick_dir / "benchmarks_speed.md" if args.quick else ROOT / "docs" / "benchmarks_speed.md")
    image_dir = doc_path.parent / "images"
    weights = args.weights or default_weights()
    OUT.mkdir(parents=True, exist_ok=True)

    import torch
    from speed_report import write_report

    from napari_focalfuse.batch import cpu_count

    machine = {"cpus": cpu_count(), "torch": torch.__version__, "load_start": [round(v, 2) for v in os.getloadavg()],
               "weights": weights or "shipped", "quick": args.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    inputs = build_inputs(args.quick, cases, args.slices, args.megapixels)
    records: list[dict] = []
    for item in inputs:
        for method in args.method:
            for scale in args.scale:
                for mode in args.modes:
                    if mode == "cli" and item.api_only:
                        continue
                    rec = measure(item, mode, method, scale, weights, args.timeout)
                    records.append(rec)
                    print(summary(rec), flush=True)
                    json_path.parent.mkdir(parents=True, exist_ok=True)
                    json_path.write_text(json.dumps({"machine": machine, "records": records}, indent=1))
    machine["load_end"] = [round(v, 2) for v in os.getloadavg()]
    json_path.write_text(json.dumps({"machine": machine, "records": records}, indent=1))
    title = "Speed benchmark (quick smoke run)" if args.quick else "Speed and memory benchmark"
    write_report(records, machine, doc_path, image_dir, title)
    print(f"wrote {json_path} and {doc_path}")
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
