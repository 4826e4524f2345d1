"""``read_stack``: a focal stack from a multi-page TIFF, a folder of images or a list of files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import FocalFuseError
from .files import FileStack
from .formats import images_in, is_tiff
from .limits import check_memory
from .tiff import read_tiff

PathLike = str | os.PathLike


def _meta(name: str, paths: Sequence[Path], stack: Any, found: dict) -> dict:
    return {
        "name": name,
        "paths": [str(p) for p in paths],
        "axes": "ZYXC" if len(stack.shape) == 4 else "ZYX",
        "z_step": found.get("z_step"),  # always in µm, whatever unit the file used
        "z_unit": "µm",
        "pixel_size": found.get("pixel_size"),
        "channels": bool(found.get("channels")),  # last axis: separate channels, not colour
    }


def _stem(path: Path) -> str:
    """File name without its extension(s): ``cells.ome.tif`` -> ``cells``."""
    name = path.stem
    return name[:-4] if name.lower().endswith(".ome") else name


def _existing(path: Path) -> Path:
    if not path.exists():
        raise FocalFuseError(f"No such file or folder: {path}")
    return path


def _from_files(
    paths: list[Path], name: str, channel: int | None, time: int | None, all_channels: bool = False
) -> tuple[Any, dict]:
    for path in paths:
        if path.is_dir():
            raise FocalFuseError(
                f"{path} is a folder; give either one folder or a list of image files."
            )
        _existing(path)
    if len(paths) == 1 and is_tiff(paths[0]):
        stack, found = read_tiff(paths[0], channel=channel, time=time, all_channels=all_channels)
        return stack, _meta(_stem(paths[0]), paths, stack, found)
    if time is not None:
        raise FocalFuseError(
            f"{name} is a list of single images with no time axis; leave time unset."
        )
    stack = FileStack(paths, name, channel=channel)
    check_memory(stack.shape, stack.dtype, name)
    return stack, _meta(name, paths, stack, {})


def read_stack(
    path_or_paths: PathLike | Sequence[PathLike],
    *,
    channel: int | None = None,
    time: int | None = None,
    all_channels: bool = False,
) -> tuple[Any, dict]:
    """Read a focal stack lazily; returns ``(stack, meta)``.

    ``stack`` is (Z, Y, X) or (Z, Y, X, C) — a read-only memory map for uncompressed TIFFs,
    otherwise an array-like that decodes one slice per ``stack[z]`` — so memory does not grow
    with the number of slices. ``meta`` has ``name``, ``paths``, ``axes`` ("ZYX"/"ZYXC"),
    ``z_step`` (float in µm, or None), ``z_unit`` (always "µm": every physical size is converted
    on reading), ``pixel_size`` ((y, x) in µm, or None) and ``channels`` (True when the last
    axis holds a file's separate channels, kept by ``all_channels``, rather than colour).
    ``time`` and ``channel`` pick one time point / channel of a TCZYX file (or one colour of an
    RGB stack). ``all_channels`` keeps every channel of a multi-channel file (CZYX, ZCYX, TCZYX
    with ``time``) as the last axis, (Z, Y, X, C) in any number, for ``fuse(decide_on=...)``.
    Every problem is a :class:`FocalFuseError` naming the file.
    """
    if isinstance(path_or_paths, (str, os.PathLike)):
        path = _existing(Path(path_or_paths))
        if path.is_dir():
            files = images_in(path)
            if not files:
                raise FocalFuseError(f"Folder {path} holds no image files (TIFF, PNG, JPEG, ...).")
            if len(files) == 1 and not is_tiff(files[0]):
                raise FocalFuseError(
                    f"Folder {path} holds a single image ({files[0].name}); a focal stack needs "
                    "several slices."
                )
            stack, meta = _from_files(files, path.resolve().name, channel, time, all_channels)
            meta["name"] = path.resolve().name
            return stack, meta
        if not is_tiff(path):
            raise FocalFuseError(
                f"{path.name} is a single image; a focal stack needs a multi-page TIFF, a folder "
                "or several image files."
            )
        return _from_files([path], _stem(path), channel, time, all_channels)
    paths = [Path(p) for p in path_or_paths]
    if not paths:
        raise FocalFuseError("No input files were given.")
    parents = {p.resolve().parent for p in paths}
    name = parents.pop().name if len(parents) == 1 and len(paths) > 1 else _stem(paths[0])
    return _from_files(paths, name, channel, time, all_channels)
