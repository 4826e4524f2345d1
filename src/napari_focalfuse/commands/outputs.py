"""Checking every output before any work starts, so a long run never ends in a refusal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.errors import FocalFuseError
from ..io.output_group import check_writable

IMAGE_OUT = (".tif", ".tiff", ".png")
TIFF_OUT = (".tif", ".tiff")


def sibling_target(value: str | bool | None, output: str, kind: str, ext: str = ".tif") -> str | None:
    """Where an optional output goes: its PATH, ``<OUT>_<kind><ext>`` beside the fused image when
    the option is given bare, or None when it is not given."""
    if value is None:
        return None
    if value is True:
        out = Path(output)
        return str(out.with_name(f"{out.stem}_{kind}{ext}"))
    return str(value)


def check_outputs(
    outputs: Sequence[tuple[str | None, tuple[str, ...], str]],
    inputs: Iterable[str],
    overwrite: bool,
) -> list[Path | None]:
    """Each (path, allowed suffixes, what) must be writable, distinct, and not an input file."""
    sources = set()
    for item in inputs:
        p = Path(item)
        sources.add(p.resolve())
        if p.is_dir():
            sources.update(q.resolve() for q in p.iterdir())
    seen: dict[Path, str] = {}
    checked: list[Path | None] = []
    for path, suffixes, what in outputs:
        if path is None:
            checked.append(None)
            continue
        target = Path(path)
        if target.suffix.lower() not in suffixes:
            raise FocalFuseError(f"The {what} {target.name} must end in {' or '.join(suffixes)}.")
        key = target.resolve()
        if key in sources:
            raise FocalFuseError(f"The {what} {target} is one of the inputs; choose another name.")
        if key in seen:
            raise FocalFuseError(f"The {what} and the {seen[key]} are the same file {target}.")
        seen[key] = what
        checked.append(check_writable(target, overwrite))
    return checked
