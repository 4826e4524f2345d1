"""Cheap checks of whether a path is a focal stack, done before anything is read.

npe2 offers this reader TIFFs and folders only (see napari.yaml); of those, a plain 2-D or RGB
picture is declined so napari's own reader takes it, and only multi-slice TIFFs, folders of two
or more images (or of one multi-slice TIFF) and lists of two or more images are accepted. A TIFF
is judged from its header (series shape), never its pixels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..io.formats import images_in, is_image, is_tiff, natural_key

PathOrPaths = str | os.PathLike | Sequence[str | os.PathLike]


def _header(path: Path) -> tuple[str, tuple[int, ...]] | None:
    """(axes, shape) of the TIFF's first series, or None when it cannot even be parsed."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return series.axes, tuple(series.shape)
    except Exception:  # not a TIFF we can parse: leave it to other readers
        return None


def tiff_has_slices(path: Path) -> bool:
    """True when the TIFF's first series has an axis besides Y, X and colour with several
    entries, other than the channels of one multi-channel image (see tiff_channel_image)."""
    from ..io.channel_image import is_channel_image

    header = _header(path)
    if header is None or is_channel_image(*header):
        return False
    axes, shape = header
    return any(n > 1 for n, a in zip(shape, axes) if a not in "YXS")


def tiff_channel_image(path: PathOrPaths) -> Path | None:
    """The path when it is one TIFF holding a single multi-channel image (CYX), else None."""
    from ..io.channel_image import is_channel_image

    if not isinstance(path, (str, os.PathLike)):
        return None
    single = Path(path)
    if not (single.is_file() and is_tiff(single)):
        return None
    header = _header(single)
    return single if header is not None and is_channel_image(*header) else None


def stack_paths(path: PathOrPaths) -> list[Path] | None:
    """The path(s) to hand to ``read_stack`` if this looks like a focal stack, else None."""
    if isinstance(path, (str, os.PathLike)):
        paths = [Path(path)]
    else:
        paths = [Path(p) for p in path]
    if not paths:
        return None
    if len(paths) > 1:
        if all(is_image(p) for p in paths):
            return sorted(paths, key=natural_key)
        return None
    single = paths[0]
    if single.is_dir():
        files = images_in(single)
        if len(files) >= 2 or (len(files) == 1 and is_tiff(files[0]) and tiff_has_slices(files[0])):
            return [single]
        return None
    if single.is_file() and is_tiff(single) and tiff_has_slices(single):
        return [single]
    return None
