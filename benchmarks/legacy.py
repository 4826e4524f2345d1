"""Fusing benchmark stacks with another checkout's package, e.g. from before alignment.

The other package runs in its own interpreter, its ``src/`` first on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_CACHED = (
    "import sys, numpy as np, napari_focalfuse as ff\n"
    "for name in sys.argv[3:]:\n"
    "    stack = np.load(f'{sys.argv[1]}/{name}.npz')['stack']\n"
    "    np.save(f'{sys.argv[2]}/{name}.npy', ff.fuse(stack).fused)\n"
)
_FILES = (
    "import sys, numpy as np, napari_focalfuse as ff\n"
    "stack, _ = ff.read_stack(sys.argv[2:])\n"
    "np.save(sys.argv[1], ff.fuse(stack).fused)\n"
)


def _run(legacy_src: str, code: str, *args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(legacy_src).resolve()))
    subprocess.run([sys.executable, "-c", code, *args], env=env, check=True)


def legacy_fused(legacy_src: str, cache: Path, names: list[str], target: Path) -> dict[str, np.ndarray]:
    """name -> the other package's ``fuse(stack).fused`` of ``cache``/name.npz (key ``stack``),
    also left in ``target``/name.npy."""
    target.mkdir(parents=True, exist_ok=True)
    _run(legacy_src, _CACHED, str(cache), str(target), *names)
    return {name: np.load(target / f"{name}.npy") for name in names}


def legacy_fused_files(legacy_src: str, files: list[Path], target: Path) -> np.ndarray:
    """The other package's ``fuse`` of the stack read from ``files``, also saved at ``target``."""
    _run(legacy_src, _FILES, str(target), *map(str, files))
    return np.load(target)
