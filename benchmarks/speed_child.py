"""Child process of the speed benchmark for the API case: import, warm up, then time one call.

Run in its own process so its peak memory is its own: after the warm-up the kernel's peak-RSS
counter (VmHWM) is reset through /proc/self/clear_refs, so the reported peak is that of the timed
call alone. Prints one JSON line.

    python speed_child.py '{"paths": [...], "method": "deep", "scale": 2, ...}'
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path


def _status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _Poller:
    """Fallback peak-RSS sampler (psutil, every 5 ms) where VmHWM cannot be reset."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _open(paths: list[str], slices: int | None):
    """read_stack as the CLI calls it; ``slices`` keeps the first n (a view, nothing read)."""
    import numpy as np

    from napari_focalfuse import read_stack

    stack, _ = read_stack(paths[0] if len(paths) == 1 else paths)
    if slices is None:
        return stack
    return stack[:slices] if isinstance(stack, np.ndarray) else _First(stack, slices)


class _First:
    """The first ``n`` slices of a lazy stack, still lazy."""

    def __init__(self, stack, n: int):
        self.stack, self.shape, self.dtype = stack, (n, *stack.shape[1:]), stack.dtype

    def __getitem__(self, z):
        if isinstance(z, int) and not 0 <= z < self.shape[0]:
            raise IndexError(z)
        return self.stack[z]


def main(spec: dict) -> dict:
    t0 = time.perf_counter()
    import torch

    from napari_focalfuse import fuse

    import_s = time.perf_counter() - t0
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    kwargs = {"method": spec["method"]}
    if spec["scale"] != "default":  # else fuse()'s own default
        kwargs["scale"] = spec["scale"]
    if spec["method"] == "deep":
        kwargs["weights"] = spec.get("weights")

    import numpy as np

    stack = _open(spec["paths"], spec.get("slices"))
    # warm-up: the first call's one-off costs (weights file, torch kernels) on a 256 px crop
    warm = np.stack([np.asarray(stack[z])[:256, :256] for z in (0, 1)])
    del stack
    t1 = time.perf_counter()
    fuse(warm, **kwargs)
    warmup_s = time.perf_counter() - t1
    del warm

    rss_before = _status_kb("VmRSS")
    poller = None if _reset_peak() else _Poller()
    t2, c2 = time.perf_counter(), time.process_time()
    stack = _open(spec["paths"], spec.get("slices"))  # reading headers is part of a call
    result = fuse(stack, **kwargs)
    wall, cpu = time.perf_counter() - t2, time.process_time() - c2
    peak_kb = _status_kb("VmHWM") if poller is None else poller.stop() // 1024
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "import_s": import_s,
        "warmup_s": warmup_s,
        "rss_before_mb": (rss_before or 0) / 1024,
        "call_peak_rss_mb": (peak_kb or 0) / 1024,
        "peak_method": "VmHWM reset" if poller is None else "psutil polling",
        "shape": list(stack.shape),
        "dtype": str(stack.dtype),
        "out_dtype": str(result.fused.dtype),
        "torch_threads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
