"""One 2-D image of several channels (ImageJ or OME "CYX"), as ``fuse --decide-on`` writes it.

Such a file is no focal stack (its only axis besides Y and X is C), so ``read_stack`` refuses
it; the napari reader opens it as one layer per channel instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import FocalFuseError


def is_channel_image(axes: str, shape: tuple[int, ...]) -> bool:
    """True when C (with several entries) is the only axis besides Y and X that is not 1 long."""
    longer = [a for a, n in zip(axes.upper(), shape) if n > 1 and a not in "YX"]
    return longer == ["C"]


def read_channel_image(path: Path) -> tuple[np.ndarray, dict]:
    """``(channels (C, Y, X), meta)``; meta has ``name`` and ``pixel_size`` ((y, x) µm or None)."""
    import tifffile

    from .tiff import physical_meta
    from .tifflog import tifffile_warnings

    try:
        with tifffile_warnings(), tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            axes, shape = series.axes, tuple(series.shape)
            data = series.asarray()
            meta = physical_meta(tf, series.keyframe)
    except Exception:
        raise FocalFuseError(f"{path.name} is not a readable TIFF file.") from None
    if not is_channel_image(axes, shape):
        raise FocalFuseError(f"{path.name} has axes {axes}; it is not one multi-channel image.")
    order = [a for a in axes.upper() if a in "CYX"]  # the other axes are 1 long
    data = np.transpose(np.reshape(data, [n for a, n in zip(axes.upper(), shape) if a in "CYX"]),
                        [order.index(a) for a in "CYX"])  # fmt: skip
    name = path.stem[:-4] if path.stem.lower().endswith(".ome") else path.stem
    return data, {"name": name, "pixel_size": meta.get("pixel_size")}
