"""A focal stack made of one image file per slice (a folder of JPEG/PNG/TIFF, or a file list).

Only the headers are read up front (to check that all slices agree); pixels are decoded one
file at a time when a slice is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import FocalFuseError
from .formats import is_tiff
from .lazy import LazyStack
from ..core.stack import check_dtype
from .threads import decode_threads
from .tifflog import codec_missing, looks_damaged, tifffile_warnings

# PIL modes we read as they are: (dtype, channels)
_PIL_MODES = {
    "L": (np.uint8, 1),
    "RGB": (np.uint8, 3),
    "RGBA": (np.uint8, 4),
    "I;16": (np.uint16, 1),
    "I;16B": (np.uint16, 1),
    "I;16L": (np.uint16, 1),
    "I": (np.int32, 1),
    "F": (np.float32, 1),
}
# PIL modes converted on reading (palette, grey+alpha, CMYK, ...)
_PIL_CONVERT = {
    "P": "RGBA",
    "PA": "RGBA",
    "LA": "RGBA",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}


@dataclass(frozen=True)
class SliceInfo:
    shape: tuple[int, ...]  # (Y, X) or (Y, X, C)
    dtype: np.dtype


def _not_image(path: Path) -> FocalFuseError:
    return FocalFuseError(f"{path.name} is not a readable image file (corrupt or not an image).")


def _probe_tiff(path: Path) -> tuple[SliceInfo, str]:
    import tifffile

    try:
        with tifffile_warnings() as warnings, tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            axes, shape, dtype = series.axes, tuple(series.shape), series.dtype
    except Exception:
        raise _not_image(path) from None
    if looks_damaged(warnings):
        raise _not_image(path)
    if axes in ("YX", "YXS"):
        return SliceInfo(shape, np.dtype(dtype)), axes
    if axes in ("SYX", "CYX") and shape[0] in (3, 4):
        return SliceInfo((shape[1], shape[2], shape[0]), np.dtype(dtype)), axes
    raise FocalFuseError(
        f"{path.name} holds several images (axes {axes}); give a multi-page TIFF on its own, "
        "not in a list or folder of slices."
    )


def _probe_pil(path: Path) -> SliceInfo:
    from PIL import Image

    try:
        with Image.open(path) as im:
            mode, (w, h) = im.mode, im.size
    except Exception:
        raise _not_image(path) from None
    if mode == "1":
        raise FocalFuseError(f"{path.name} is a 1-bit (bool) image, which is not supported.")
    dtype, channels = _PIL_MODES.get(_PIL_CONVERT.get(mode, mode), (None, 0))
    if dtype is None:
        raise FocalFuseError(f"{path.name} has image mode {mode}, which is not supported.")
    shape = (h, w) if channels == 1 else (h, w, channels)
    return SliceInfo(shape, np.dtype(dtype))


def probe(path: Path) -> SliceInfo:
    """Shape and dtype of one slice file from its header, without decoding the pixels."""
    return _probe_tiff(path)[0] if is_tiff(path) else _probe_pil(path)


def decode(path: Path) -> np.ndarray:
    """All pixels of one slice file as (Y, X) or (Y, X, C)."""
    try:
        if is_tiff(path):
            import tifffile

            _, axes = _probe_tiff(path)
            with tifffile_warnings() as warnings:
                img = tifffile.imread(path, maxworkers=decode_threads())
            if looks_damaged(warnings):
                raise ValueError("damaged")
            return np.moveaxis(img, 0, -1) if axes in ("SYX", "CYX") else img
        from PIL import Image

        with Image.open(path) as im:
            fast = _decode_jpeg(path, im.mode == "RGB") if im.format == "JPEG" and im.mode in ("L", "RGB") else None
            if fast is not None:
                return fast
            mode = _PIL_CONVERT.get(im.mode)
            img = np.array(im.convert(mode) if mode else im)  # a writable copy
        return img.astype(np.uint16) if img.dtype.kind == "u" and img.dtype.itemsize == 2 else img
    except FocalFuseError:
        raise
    except Exception as exc:
        raise codec_missing(exc, path.name) or FocalFuseError(
            f"{path.name} could not be decoded (the file is truncated or corrupt)."
        ) from None


def _decode_jpeg(path: Path, colour: bool) -> np.ndarray | None:
    """A grey or RGB JPEG decoded by OpenCV, or None to leave it to Pillow.

    The same pixels as Pillow's (both use libjpeg-turbo's default decoder), decoded straight
    into the array: 8 against 14 ms a 3 MP slice. EXIF orientation is ignored, as Pillow does:
    every slice keeps the sensor's geometry. Only a file that ends with its end-of-image marker
    is taken (some OpenCV versions fill a truncated file's missing rows instead of failing);
    any other, and an OpenCV without RGB decoding, goes to Pillow, which reports truncation.
    """
    import cv2

    order = getattr(cv2, "IMREAD_COLOR_RGB", None)
    data = np.fromfile(path, np.uint8)
    if (colour and order is None) or data[-2:].tobytes() != b"\xff\xd9":
        return None
    flags = (order if colour else cv2.IMREAD_GRAYSCALE) | cv2.IMREAD_IGNORE_ORIENTATION
    return cv2.imdecode(data, flags)


class FileStack(LazyStack):
    """One file per slice; all files checked for equal size, channels and pixel type up front."""

    def __init__(self, paths: list[Path], name: str, channel: int | None = None):
        if len(paths) < 2:
            raise FocalFuseError(
                f"{paths[0].name if paths else name} is a single image; a focal stack needs "
                "several slices."
            )
        self.paths = list(paths)
        self.name = name
        first = probe(self.paths[0])
        check_dtype(first.dtype, self.paths[0].name)
        for path in self.paths[1:]:
            info = probe(path)
            if info.shape[:2] != first.shape[:2]:
                raise FocalFuseError(
                    f"{path.name} is {info.shape[1]}x{info.shape[0]} px but {self.paths[0].name} "
                    f"is {first.shape[1]}x{first.shape[0]} px; all slices must be the same size."
                )
            if info.shape[2:] != first.shape[2:]:
                raise FocalFuseError(
                    f"{path.name} has {_channels(info)} but {self.paths[0].name} has "
                    f"{_channels(first)}; all slices must have the same channels."
                )
            if info.dtype != first.dtype:
                raise FocalFuseError(
                    f"{path.name} has pixel type {info.dtype} but {self.paths[0].name} has "
                    f"{first.dtype}; all slices must have the same type."
                )
        self.shape = (len(self.paths), *first.shape)
        self.dtype = first.dtype
        self.channel = None
        if channel is not None:
            n = self.shape[3] if self.ndim == 4 else 1
            if n == 1:
                raise FocalFuseError(f"{name} is grey (one channel); leave channel unset.")
            if not -n <= channel < n:
                raise FocalFuseError(
                    f"{name} has {n} channels (0-{n - 1}); channel {channel} is out of range."
                )
            self.channel = channel % n
            self.shape = self.shape[:3]

    def _read(self, z: int) -> np.ndarray:
        img = decode(self.paths[z])
        if self.channel is not None and img.ndim == 3:
            img = img[..., self.channel]
        if img.shape != self.shape[1:]:
            raise FocalFuseError(
                f"{self.paths[z].name} decoded to shape {img.shape}, expected {self.shape[1:]}."
            )
        return np.ascontiguousarray(img, dtype=self.dtype)


def _channels(info: SliceInfo) -> str:
    n = info.shape[2] if len(info.shape) > 2 else 1
    return {1: "1 channel (grey)", 3: "3 channels (RGB)", 4: "4 channels (RGBA)"}.get(
        n, f"{n} channels"
    )
