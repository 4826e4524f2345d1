"""Memory and time of fusing a whole time-lapse against fusing one of its z-stacks.

A rendered TZYX file (5 time points x 8 slices, RGB uint8, 1536x2048 px by default: the
motorcycle scene focused along its depth, seen through a window that moves 4 px per time
point) is fused by the command line in child processes, alternating:

* the whole time-lapse: ``fuse movie.tif -o fused.tif --mask mask.tif`` (T-stacks out);
* one z-stack of the same size: ``fuse movie.tif --time 2 -o ... --mask ...``.

Peak RSS is each child's own (os.wait4 through speed.py's launcher). Streaming holds when the
whole time-lapse peaks no higher than one z-stack (within noise), whatever the number of time
points.

    python benchmarks/timelapse_memory.py                    # 3 rounds, writes out/timelapse_memory.json
    python benchmarks/timelapse_memory.py --size 256 320 --rounds 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import run_child  # noqa: E402 - the benchmarks' own launcher
from speed_inputs import OUT  # noqa: E402

N_TIME, N_SLICES, STEP_PX = 5, 8, 4


def render_movie(path: Path, height: int, width: int) -> None:
    """Write the rendered (T, Z, Y, X, 3) uint8 time-lapse as an ImageJ hyperstack."""
    import cv2
    import tifffile

    from napari_focalfuse.core.synthetic import motorcycle_scene, render_focal_stack

    rgb, disparity = motorcycle_scene()
    wide = width + STEP_PX * (N_TIME - 1)
    image = cv2.resize(rgb, (wide, height), interpolation=cv2.INTER_CUBIC)
    depth = cv2.resize(disparity, (wide, height), interpolation=cv2.INTER_LINEAR)
    stack = render_focal_stack(image, depth, n_slices=N_SLICES, max_blur=6.0, levels=12).stack
    stack = np.clip(np.rint(stack * 255), 0, 255).astype(np.uint8)
    movie = np.stack([stack[:, :, STEP_PX * t : STEP_PX * t + width] for t in range(N_TIME)])
    tifffile.imwrite(path, movie, imagej=True, metadata={"axes": "TZYXS", "spacing": 1.0})


def fuse_command(movie: Path, out: Path, time: int | None) -> list[str]:
    exe = Path(sys.executable).with_name("napari-focalfuse")  # this environment's, not PATH's
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "napari_focalfuse.cli"]
    cmd += ["fuse", str(movie), "-o", str(out / "fused.tif"), "--mask", str(out / "mask.tif"),
            "--overwrite", "-q"]  # fmt: skip
    return cmd + (["--time", str(time)] if time is not None else [])


def measure(movie: Path, time: int | None) -> dict:
    import tifffile

    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        load = os.getloadavg()[0]
        res = run_child(fuse_command(movie, Path(tmp), time), timeout=1800)
        ok = res["rc"] == 0 and (Path(tmp) / "fused.tif").exists()
        frames = tifffile.imread(Path(tmp) / "fused.tif").shape if ok else None
    return {"case": "whole time-lapse" if time is None else f"one z-stack (--time {time})",
            "ok": ok, "frames_shape": frames, "wall_s": res["wall_s"],
            "peak_rss_mb": res["peak_rss_mb"], "load_before": round(load, 2),
            "error": None if ok else res["output"].strip().splitlines()[-1:]}  # fmt: skip


def table(records: list[dict]) -> str:
    rows = ["| run | peak RSS (MB), median [all] | wall (s), median [all] |", "|---|---|---|"]
    for case in dict.fromkeys(r["case"] for r in records):
        runs = [r for r in records if r["case"] == case and r["ok"]]
        peaks = [r["peak_rss_mb"] for r in runs]
        walls = [r["wall_s"] for r in runs]
        rows.append(
            f"| {case} | {statistics.median(peaks):.0f} [{', '.join(f'{p:.0f}' for p in peaks)}] "
            f"| {statistics.median(walls):.1f} [{', '.join(f'{w:.1f}' for w in walls)}] |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", nargs=2, type=int, default=(1536, 2048), metavar=("H", "W"))
    p.add_argument("--rounds", type=int, default=3, help="alternating pairs of runs (default 3)")
    p.add_argument("--json", type=Path, default=OUT / "timelapse_memory.json")
    args = p.parse_args(argv)

    OUT.mkdir(exist_ok=True)
    movie = OUT / f"timelapse_{args.size[0]}x{args.size[1]}.tif"
    if not movie.exists():
        print(f"rendering {movie.name} ...", file=sys.stderr)
        render_movie(movie, *args.size)
    import tifffile

    with tifffile.TiffFile(movie) as tf:
        shape = list(tf.series[0].shape)
    records = []
    for k in range(args.rounds):
        for time in (None, 2):  # alternate, so load changes hit both alike
            rec = measure(movie, time)
            rec["round"] = k
            records.append(rec)
            print(json.dumps(rec), file=sys.stderr)
    args.json.write_text(json.dumps({"input_shape": shape, "file_mb": movie.stat().st_size / 2**20,
                                     "records": records}, indent=1))  # fmt: skip
    print(f"input {shape} uint8, {movie.stat().st_size / 2**20:.0f} MB on disk")
    print(table(records))
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
