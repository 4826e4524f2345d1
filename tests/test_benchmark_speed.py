"""The speed benchmark measures each run's own peak memory, not the benchmark process's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from speed import run_child

ALLOCATE = "import numpy as np; a = np.ones({n}, np.uint8); print(int(a.sum()))"


def test_peak_rss_is_the_child_s_own_even_when_the_parent_is_large():
    ballast = np.ones(300 * 2**20, np.uint8)  # the parent holds 300 MB while it measures
    small = run_child([sys.executable, "-c", ALLOCATE.format(n=1)], timeout=60)
    big = run_child([sys.executable, "-c", ALLOCATE.format(n=200 * 2**20)], timeout=60)
    assert ballast[0] == 1
    assert small["rc"] == 0 and big["rc"] == 0
    assert small["peak_rss_mb"] < 100  # not the parent's 300 MB
    assert 200 <= big["peak_rss_mb"] < 300
    assert big["output"].strip() == str(200 * 2**20)


def test_a_run_past_its_time_limit_is_killed_and_reported():
    res = run_child([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert res["rc"] != 0 and res["wall_s"] is None and "killed" in res["output"]
