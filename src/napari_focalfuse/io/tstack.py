"""T-stack TIFFs (T, Y, X[, C]) filled one frame at a time, so a time-lapse never sits in memory.

The file is laid out first, header and an empty uncompressed data block, then each frame is
written into its place as it is fused. Grey and 8-bit RGB frames make an ImageJ hyperstack
with a time axis (Fiji shows frames, napari a time slider); 16-bit/float colour and RGBA,
which ImageJ cannot hold, make a tifffile TIFF with axes "TYXS". Pixel size (µm) travels as
resolution tags, as in every file this package writes; the stack's z-step does not (height
maps are in µm already): written as a T-stack's spacing it would read back as if its time
points were slices that far apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .output_group import OutputGroup
from .write import TIFF_DTYPES, _tiff_options


def tstack_dtype(dtype: Any) -> np.dtype:
    """uint8/uint16/float32 are kept; anything else is stored as float32, decided from the type
    alone (a frame's values are not known when the file is laid out)."""
    dtype = np.dtype(dtype)
    return dtype if dtype in TIFF_DTYPES else np.dtype(np.float32)


def _layout(frame_shape: tuple[int, ...], dtype: np.dtype, pixel_size: Any) -> dict:
    """tifffile.imwrite options for a T-stack of frames of ``frame_shape``."""
    colour = frame_shape[-1] if len(frame_shape) == 3 else None
    axes = "TYXS" if colour else "TYX"
    if colour is None or (colour == 3 and dtype == np.uint8):
        meta: dict[str, Any] = {"axes": axes}
        options: dict[str, Any] = {"imagej": True, "metadata": meta}
        options["photometric"] = "rgb" if colour else "minisblack"
        if pixel_size is not None:  # a unit without it would read back as 1 µm pixels
            py, px = (float(v) for v in pixel_size)
            options["resolution"] = (1.0 / px, 1.0 / py)  # pixels per µm
            meta["unit"] = "um"  # of both: every size this package writes is in µm
        return options
    options = _tiff_options(colour, pixel_size=pixel_size)
    options["metadata"]["axes"] = axes
    return options


class TStackFile:
    """A (T, Y, X[, C]) TIFF at ``path``: :meth:`write` puts frame t in place; memory holds one
    frame. Use as a context manager (or :meth:`close`)."""

    def __init__(
        self,
        path: Path,
        n_frames: int,
        frame_shape: tuple[int, ...],
        dtype: Any,
        *,
        pixel_size: tuple[float, float] | None = None,
    ) -> None:
        import tifffile

        self.frame_shape = tuple(int(n) for n in frame_shape)
        self.dtype = tstack_dtype(dtype)
        options = _layout(self.frame_shape, self.dtype, pixel_size)
        tifffile.imwrite(path, shape=(n_frames, *self.frame_shape), dtype=self.dtype, **options)
        with tifffile.TiffFile(path) as tf:
            self._offset = tf.series[0].dataoffset
            self._stored = self.dtype.newbyteorder(tf.byteorder)
        self._fh = open(path, "r+b")  # noqa: SIM115 - closed by close()/__exit__
        self._frame_bytes = int(np.prod(self.frame_shape)) * self.dtype.itemsize
        self.n_frames = n_frames

    def write(self, t: int, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape or not 0 <= t < self.n_frames:
            raise ValueError(f"frame {t} of shape {frame.shape} does not fit {self.frame_shape}")
        self._fh.seek(self._offset + t * self._frame_bytes)
        self._fh.write(np.ascontiguousarray(frame, self._stored))

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> TStackFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _frame_image(frame: Any, kind: str, n_slices: int) -> np.ndarray:
    if kind == "mask":  # as decision_map_writer: uint8 up to 256 slices
        return frame.mask.astype(np.uint8 if n_slices <= 256 else np.uint16)
    return frame.fused if kind == "fused" else frame.height


def write_timelapse(
    frames: Iterable[Any],
    n_frames: int,
    n_slices: int,
    targets: dict[str, Path],
    *,
    overwrite: bool = False,
    pixel_size: tuple[float, float] | None = None,
) -> list[Path]:
    """Each frame's fused image, decision map and/or height map (``targets`` keys "fused",
    "mask", "height") into T-stack TIFFs, written as the frames come (``frames`` yields
    FusionResults, e.g. :func:`~napari_focalfuse.core.timelapse.fuse_timelapse`'s): memory
    holds one frame of each. The files appear together after the last frame, or (error,
    Ctrl-C) none of them, through :class:`OutputGroup`.
    """
    group = OutputGroup(overwrite)
    for path in targets.values():
        group.add(path)
    with group.stream() as temporaries, contextlib.ExitStack() as opened:
        files: dict[str, TStackFile] = {}
        t = 0  # not enumerate(): its cached (t, frame) pair would hold a frame too long
        for frame in frames:
            images = {kind: _frame_image(frame, kind, n_slices) for kind in targets}
            if not files:
                for (kind, image), tmp in zip(images.items(), temporaries):
                    files[kind] = opened.enter_context(TStackFile(
                        tmp, n_frames, image.shape, image.dtype, pixel_size=pixel_size
                    ))  # fmt: skip
            for kind, image in images.items():
                files[kind].write(t, image)
            del frame, images, image  # not held while the next frame is made
            t += 1
    return group.targets
