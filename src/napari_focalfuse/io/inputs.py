"""Telling the user what was read: the files in the order used, and inputs given twice.

A stray file in a folder (another tool's output, a copy of a frame) is fused as a slice like
any other; naming every file, and warning when two slices are the same file or the same bytes,
or when one file's name breaks the numbering the others share, makes that visible before anyone
trusts the result.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

_DIGITS = re.compile(r"\d+")


def input_warnings(paths: list[str | os.PathLike]) -> list[str]:
    """Every warning about the slices read: repeats (``duplicate_warnings``) and names off the
    numbering (``numbering_warnings``)."""
    return duplicate_warnings(paths) + numbering_warnings(paths)


def numbering_warnings(paths: list[str | os.PathLike]) -> list[str]:
    """One sentence per file whose name does not follow the pattern most slices share.

    A focus stack's files are numbered alike (``pcb_001.jpg``, ``pcb_002.jpg``, …); a file
    named otherwise (``expected.jpg``, ``IMG_12 copy.jpg``) is usually not a slice. The pattern
    is the name with each run of digits as one placeholder; it must be shared by more than half
    of the files, and by two at least.
    """
    names = [Path(p).name for p in paths]
    patterns = [_DIGITS.sub("#", name.lower()) for name in names]
    if len(names) < 3:
        return []
    pattern, count = Counter(patterns).most_common(1)[0]
    if count < 2 or 2 * count <= len(names) or "#" not in pattern:
        return []
    example = next(n for n, p in zip(names, patterns) if p == pattern)
    return [
        f"{name} (slice {z}) is not numbered like the other slices ({example}, …) but is fused "
        "as a slice all the same; move it out of the folder or list the slices to read."
        for z, (name, own) in enumerate(zip(names, patterns))
        if own != pattern
    ]


def describe_inputs(meta: dict, n_slices: int) -> str:
    """'7 slices: 1.jpg, 2.jpg, …' for a list of files, '5 slices of stack.tif' for one file."""
    paths = [Path(p) for p in meta.get("paths") or ()]
    if len(paths) == 1:
        return f"{n_slices} slices of {paths[0].name}"
    return f"{n_slices} slices: " + ", ".join(p.name for p in paths)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def duplicate_warnings(paths: list[str | os.PathLike]) -> list[str]:
    """One sentence per slice that repeats an earlier one: the same file, or the same bytes.

    Only files of equal size are hashed, so a folder of distinct frames costs no reading.
    """
    files = [Path(p) for p in paths]
    if len(files) < 2:
        return []
    warnings: list[str] = []
    first: dict[Path, int] = {}
    by_size: dict[int, list[int]] = defaultdict(list)
    for z, path in enumerate(files):
        key = path.resolve()
        if key in first:
            warnings.append(
                f"{path.name} is given twice (slices {first[key]} and {z}); it is fused twice."
            )
            continue
        first[key] = z
        try:
            by_size[path.stat().st_size].append(z)
        except OSError:  # the reader reports missing files
            continue
    for group in by_size.values():
        seen: dict[str, int] = {}
        for z in group if len(group) > 1 else ():
            digest = _digest(files[z])
            if digest in seen:
                k = seen[digest]
                warnings.append(
                    f"{files[z].name} (slice {z}) has the same content as {files[k].name} "
                    f"(slice {k})."
                )
            else:
                seen[digest] = z
    return warnings
