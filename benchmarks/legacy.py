"""Fusing cached benchmark stacks with another checkout's package, e.g. from before alignment.

The other package runs in its own interpreter (its ``src/`` first on the path), reads each
``<name>.npz`` (key ``stack``) from ``cache`` and leaves its default fusion in ``target``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_CODE = (
    "import sys, numpy as np, napari_focalfuse as ff\n"
    "for name in sys.argv[3:]:\n"
    "    stack = np.load(f'{sys.argv[1]}/{name}.npz')['stack']\n"
    "    np.save(f'{sys.argv[2]}/{name}.npy', ff.fuse(stack).fused)\n"
)


def legacy_fused(legacy_src: str, cache: Path, names: list[str], target: Path) -> dict[str, np.ndarray]:
    """name -> the other package's ``fuse(stack).fused`` of ``cache``/name.npz."""
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(Path(legacy_src).resolve()))
    subprocess.run([sys.executable, "-c", _CODE, str(cache), str(target), *names], env=env, check=True)
    return {name: np.load(target / f"{name}.npy") for name in names}
