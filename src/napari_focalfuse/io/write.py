"""Writing results: TIFF keeps the pixel type, PNG is for viewing; every write is atomic.

The ``*_writer`` functions check an image and return what writes it, for an
:class:`~napari_focalfuse.io.output_group.OutputGroup` of several files written all or nothing;
the ``write_*`` functions write one file the same way (a hidden temporary file renamed onto the
target only when complete), so an interrupted run leaves the old file (or nothing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import FocalFuseError
from .output_group import OutputGroup, Writer, check_writable

TIFF_DTYPES = (np.uint8, np.uint16, np.float32)


def _tiff_ready(array: np.ndarray) -> np.ndarray:
    """uint8/uint16/float32 as they are; float64 to float32; integers that fit to uint8/16."""
    a = np.asarray(array)
    if a.dtype in TIFF_DTYPES:
        return a
    if a.dtype == np.float64 or a.dtype == np.float16:
        return a.astype(np.float32)
    if np.issubdtype(a.dtype, np.integer) and a.dtype != np.bool_:
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo >= 0 and hi <= 255:
            return a.astype(np.uint8)
        if lo >= 0 and hi <= 65535:
            return a.astype(np.uint16)
    raise FocalFuseError(
        f"Cannot write pixel type {a.dtype} to TIFF; use uint8, uint16 or float32."
    )


def _is_colour(a: np.ndarray) -> bool:
    return a.ndim == 3 and a.shape[-1] in (3, 4)


def _tiff_options(
    colour_samples: int | None,
    z_step: float | None = None,
    z_unit: str = "µm",
    pixel_size: tuple[float, float] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """tifffile.imwrite options: photometric, our z-step metadata, metric resolution tags."""
    meta: dict[str, Any] = {}
    if z_step is not None:
        meta.update(z_step=float(z_step), z_unit=z_unit)
    if description:
        meta["description"] = description
    kwargs: dict[str, Any] = {"metadata": meta}
    if colour_samples:
        kwargs["photometric"] = "rgb"
        if colour_samples == 4:
            kwargs["extrasamples"] = ("unassalpha",)
    else:
        kwargs["photometric"] = "minisblack"
    if pixel_size is not None:
        py, px = (float(v) for v in pixel_size)
        kwargs["resolution"] = (1e4 / px, 1e4 / py)  # pixels per centimetre
        kwargs["resolutionunit"] = "CENTIMETER"
    return kwargs


def tiff_writer(array: np.ndarray, **kwargs: Any) -> Writer:
    """A (Y, X) or (Y, X, 3|4) image as TIFF, keeping uint8/uint16/float32 (checked now).

    Colour images are written as RGB(A) so every viewer shows colours. ``z_step`` and
    ``pixel_size`` (µm) travel in the file (and come back through :func:`read_stack`); the
    pixel size also as metric resolution tags. Keywords: ``z_step``, ``z_unit``,
    ``pixel_size``, ``description``.
    """
    import tifffile

    a = np.ascontiguousarray(_tiff_ready(array))
    if a.ndim not in (2, 3) or (a.ndim == 3 and not _is_colour(a)):
        raise FocalFuseError(
            f"write_image takes a (Y, X) or (Y, X, 3|4) image, not shape {a.shape}."
        )
    options = _tiff_options(a.shape[-1] if _is_colour(a) else None, **kwargs)
    return lambda path: tifffile.imwrite(path, a, **options)


def stack_writer(stack: Any, **kwargs: Any) -> Writer:
    """A (Z, Y, X[, 3|4]) stack as one multi-page TIFF that :func:`read_stack` reads back.

    Written slice by slice (``stack[z]``), so memory holds one slice whatever the length of a
    lazy stack; uint8/uint16/float32 are kept, float64 becomes float32. Keywords as for
    :func:`tiff_writer` (the z-step and pixel size travel in the file).
    """
    import tifffile

    shape = tuple(int(k) for k in stack.shape)
    dtype = np.dtype(stack.dtype)
    dtype = np.dtype(np.float32) if dtype in (np.float64, np.float16) else dtype
    colour = shape[-1] if len(shape) == 4 and shape[-1] in (3, 4) else None
    if len(shape) != (4 if colour else 3) or dtype not in TIFF_DTYPES:
        raise FocalFuseError(
            f"A stack is written as (Z, Y, X[, 3|4]) uint8, uint16 or float32, not {shape} {dtype}."
        )
    options = _tiff_options(colour, **kwargs)

    def write(path: Path) -> None:
        pages = (np.ascontiguousarray(np.asarray(stack[z]), dtype) for z in range(shape[0]))
        tifffile.imwrite(path, pages, shape=shape, dtype=dtype, **options)

    return write


def channels_writer(
    array: np.ndarray, z_step: float | None = None, pixel_size: tuple[float, float] | None = None
) -> Writer:
    """A (Y, X, C) image of C separate channels (not colours) as an ImageJ hyperstack (CYX).

    Fiji opens it as a composite of C channels and tifffile reads it back as (C, Y, X), with
    the pixel size (µm) and z-step in ImageJ's own fields; uint8/uint16/float32 are kept.
    """
    import tifffile

    a = _tiff_ready(array)
    if a.ndim != 3:
        raise FocalFuseError(f"A multi-channel image is (Y, X, C), not shape {a.shape}.")
    if a.shape[2] == 1:
        return tiff_writer(a[..., 0], z_step=z_step, pixel_size=pixel_size)
    planes = np.ascontiguousarray(np.moveaxis(a, -1, 0))
    meta: dict[str, Any] = {"axes": "CYX", "mode": "composite"}
    if z_step is not None:
        meta["spacing"] = float(z_step)  # µm, as every size this package writes
    options: dict[str, Any] = {"imagej": True, "metadata": meta, "photometric": "minisblack"}
    if pixel_size is not None:  # a unit without it would read back as 1 µm pixels
        py, px = (float(v) for v in pixel_size)
        options["resolution"] = (1.0 / px, 1.0 / py)  # pixels per µm
        meta["unit"] = "um"
    return lambda path: tifffile.imwrite(path, planes, **options)


def decision_map_writer(mask: np.ndarray, n_slices: int, **kwargs: Any) -> Writer:
    """Decision map (slice index per pixel) as uint8 when < 256 slices, else uint16."""
    dtype = np.uint8 if n_slices <= 256 else np.uint16
    return tiff_writer(np.asarray(mask).astype(dtype), **kwargs)


def png_writer(array: np.ndarray) -> Writer:
    """A (Y, X) or (Y, X, 3|4) image as PNG; grey uint16 stays 16-bit, the rest is 8-bit."""
    from PIL import Image

    a = np.asarray(array)
    if a.ndim not in (2, 3) or (a.ndim == 3 and not _is_colour(a)):
        raise FocalFuseError(f"write_png takes a (Y, X) or (Y, X, 3|4) image, not shape {a.shape}.")
    if not (a.ndim == 2 and a.dtype == np.uint16):
        a = to_display(a)
    image = Image.fromarray(np.ascontiguousarray(a))
    return lambda path: image.save(path, format="PNG")


def image_writer(target: str | os.PathLike, array: np.ndarray, **kwargs: Any) -> Writer:
    """TIFF or PNG, chosen by the target's name (``.tif``/``.tiff``/``.png``)."""
    if os.fspath(target).lower().endswith(".png"):
        return png_writer(array)
    return tiff_writer(array, **kwargs)


def _write_one(path: str | os.PathLike, write: Writer, overwrite: bool) -> None:
    group = OutputGroup(overwrite)
    group.add(path, write)
    group.commit()


def write_image(
    path: str | os.PathLike, array: np.ndarray, *, overwrite: bool = False, **kwargs: Any
) -> None:
    """Write one TIFF atomically (see :func:`tiff_writer` for the options)."""
    check_writable(path, overwrite)
    _write_one(path, tiff_writer(array, **kwargs), overwrite)


def write_decision_map(
    path: str | os.PathLike, mask: np.ndarray, n_slices: int, *, overwrite: bool = False,
    **kwargs: Any,
) -> None:
    """Write one decision map TIFF atomically (uint8 up to 256 slices, else uint16)."""
    check_writable(path, overwrite)
    _write_one(path, decision_map_writer(mask, n_slices, **kwargs), overwrite)


def write_png(path: str | os.PathLike, array: np.ndarray, *, overwrite: bool = False) -> None:
    """Write one PNG atomically; grey uint16 stays 16-bit, the rest is 8-bit."""
    check_writable(path, overwrite)
    _write_one(path, png_writer(array), overwrite)


def write_any(
    path: str | os.PathLike, array: np.ndarray, *, overwrite: bool = False, **kwargs: Any
) -> None:
    """Pick TIFF or PNG from the file name (``.tif``/``.tiff``/``.png``)."""
    check_writable(path, overwrite)
    _write_one(path, image_writer(path, array, **kwargs), overwrite)


def to_display(array: np.ndarray) -> np.ndarray:
    """uint8 for viewing: integers by their full range, floats assumed in [0, 1]."""
    a = np.asarray(array)
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.integer):
        return (a.astype(np.float64) * (255.0 / np.iinfo(a.dtype).max)).round().astype(np.uint8)
    return (np.clip(np.nan_to_num(a.astype(np.float64)), 0.0, 1.0) * 255.0).round().astype(np.uint8)
