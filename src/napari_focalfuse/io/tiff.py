"""Multi-page TIFF, ImageJ hyperstack and OME-TIFF focal stacks, memory-mapped when possible."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import FocalFuseError
from ..core.stack import check_dtype
from .axes import AxisPlan, plan_axes
from .formats import to_micrometres, unit_name
from .lazy import LazyStack
from .limits import check_memory
from .threads import decode_threads
from .tifflog import codec_missing, looks_damaged, tifffile_warnings


def _unreadable(name: str) -> FocalFuseError:
    return FocalFuseError(f"{name} is not a readable TIFF file (it is corrupt or truncated).")


class TiffPageStack(LazyStack):
    """Compressed or scattered TIFF pages: each slice is decoded from its own page on demand."""

    def __init__(self, path: Path, plan: AxisPlan, lead: int, dtype: np.dtype):
        self.path = path
        self.name = path.name
        self.plan = plan
        self.lead = lead  # number of page-index axes in front of the per-page axes
        self.shape = plan.out_shape
        self.dtype = np.dtype(dtype)
        self._file = None
        self._lock = threading.Lock()

    def _page_number(self, z: int, channel: int = 0) -> int:
        index = [self.plan.select.get(i, 0) for i in range(self.lead)]
        index[self.plan.z] = z
        if self.plan.colour is not None and self.plan.colour < self.lead:
            index[self.plan.colour] = channel  # one page per channel (all channels kept)
        return int(np.ravel_multi_index(index, self.plan.shape[: self.lead])) if self.lead else 0

    def _page_numbers(self, z: int) -> list[int]:
        colour = self.plan.colour
        if colour is None or colour >= self.lead:
            return [self._page_number(z)]
        return [self._page_number(z, c) for c in range(self.plan.shape[colour])]

    def _read(self, z: int) -> np.ndarray:
        import tifffile

        with self._lock:
            try:
                with tifffile_warnings() as warnings:
                    if self._file is None:
                        self._file = tifffile.TiffFile(self.path)
                    pages = [
                        np.reshape(
                            self._file.asarray(key=key, series=0, maxworkers=decode_threads()),
                            self.plan.shape[self.lead :],
                        )
                        for key in self._page_numbers(z)
                    ]
                if looks_damaged(warnings):
                    raise ValueError("damaged")
            except Exception as exc:
                raise codec_missing(exc, self.name) or FocalFuseError(
                    f"Slice {z} of {self.name} could not be read (the file is corrupt or truncated)."
                ) from None
        planes = [self.plan.apply(page, first=self.lead) for page in pages]
        return np.ascontiguousarray(planes[0] if len(planes) == 1 else np.stack(planes, axis=-1))

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_file"], state["_lock"] = None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _ome_meta(xml: str) -> dict:
    """z-step and pixel size of the first image of an OME-XML header."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return {}
    out: dict = {}
    a = pixels.attrib
    if "PhysicalSizeZ" in a:  # OME's default unit is the micrometre
        out["z_step"] = to_micrometres(float(a["PhysicalSizeZ"]), a.get("PhysicalSizeZUnit", "µm"))
    if "PhysicalSizeY" in a and "PhysicalSizeX" in a:
        py = to_micrometres(float(a["PhysicalSizeY"]), a.get("PhysicalSizeYUnit", "µm"))
        px = to_micrometres(float(a["PhysicalSizeX"]), a.get("PhysicalSizeXUnit", "µm"))
        if py is not None and px is not None:
            out["pixel_size"] = (py, px)
    return out


def _resolution(page) -> tuple[float, float] | None:
    """Pixels per unit along (y, x) from the TIFF tags, or None."""
    try:
        xr, yr = page.tags["XResolution"].value, page.tags["YResolution"].value
        x, y = xr[0] / xr[1], yr[0] / yr[1]
    except (KeyError, ZeroDivisionError, TypeError, IndexError):
        return None
    return (y, x) if x > 0 and y > 0 else None


def _imagej_meta(ij: dict, page) -> dict:
    out: dict = {}
    unit = unit_name(ij.get("unit"), default="")
    if "spacing" in ij:  # in the file's one unit; files without one are taken as µm
        out["z_step"] = to_micrometres(float(ij["spacing"]), unit or "µm")
    res = _resolution(page)
    if res and unit:
        size = [to_micrometres(1.0 / r, unit) for r in res]
        if None not in size:
            out["pixel_size"] = tuple(size)
    return out


def _plain_meta(tf, page) -> dict:
    """Our own shaped-metadata keys (written by write_image) and metric resolution tags."""
    out: dict = {}
    shaped = tf.shaped_metadata[0] if tf.is_shaped and tf.shaped_metadata else {}
    if isinstance(shaped.get("z_step"), (int, float)):
        out["z_step"] = to_micrometres(float(shaped["z_step"]), shaped.get("z_unit") or "µm")
    unit_tag = page.tags.get("ResolutionUnit")
    unit = {2: None, 3: "cm", 4: "mm", 5: "µm"}.get(int(unit_tag.value) if unit_tag else 1)
    res = _resolution(page)
    if res and unit:  # inches (camera dpi) are not a microscope pixel size
        out["pixel_size"] = tuple(to_micrometres(1.0 / r, unit) for r in res)
    return out


def physical_meta(tf, page) -> dict:
    """z-step and pixel size (µm) of an open TIFF: from OME, ImageJ or our own metadata."""
    if tf.is_ome and tf.ome_metadata:
        return _ome_meta(tf.ome_metadata)
    if tf.is_imagej and tf.imagej_metadata:
        return _imagej_meta(tf.imagej_metadata, page)
    return _plain_meta(tf, page)


def _describe(shape: tuple[int, ...]) -> str:
    size = (
        f"{shape[-2]}x{shape[-3]} px"
        if len(shape) == 3 and shape[-1] in (3, 4)
        else f"{shape[-1]}x{shape[-2]} px"
    )
    colour = {3: ", RGB", 4: ", RGBA"}.get(shape[-1], "") if len(shape) == 3 else ""
    return size + colour


def _mixed_pages(tf, name: str) -> FocalFuseError | None:
    """A plain multi-page TIFF whose pages differ: tifffile would silently split it in series."""
    if len(tf.series) < 2 or tf.is_ome or tf.is_imagej:
        return None
    pages = [p for p in tf.pages if not getattr(p, "is_reduced", False)]
    first = pages[0]
    for number, page in enumerate(pages[1:], start=2):
        if page.shape != first.shape or page.dtype != first.dtype:
            what = (
                f"{page.dtype} pixels but page 1 has {first.dtype}"
                if page.shape == first.shape
                else f"{_describe(page.shape)} but page 1 is {_describe(first.shape)}"
            )
            return FocalFuseError(
                f"Page {number} of {name} is {what}; all slices must have the same size, channels and type."
            )
    return FocalFuseError(
        f"{name} holds {len(tf.series)} separate images; save one focal stack per file."
    )


def read_tiff(
    path: Path, *, channel: int | None = None, time: int | None = None, all_channels: bool = False
) -> tuple[Any, dict]:
    """A (Z, Y, X[, C]) stack from one TIFF file and its z-step / pixel size; ``all_channels``
    keeps every channel last (see :func:`~napari_focalfuse.io.axes.plan_axes`)."""
    import tifffile

    name = path.name
    try:
        with tifffile_warnings() as warnings, tifffile.TiffFile(path) as tf:
            if not tf.series:
                raise _unreadable(name)
            mixed = _mixed_pages(tf, name)
            if mixed is not None:
                raise mixed
            series = tf.series[0]
            axes, shape, dtype = series.axes, tuple(series.shape), series.dtype
            key = series.keyframe
            rgb_planar = key.photometric == 2 and key.planarconfig == 2
            offset = series.dataoffset
            lead = len(shape) - len(key.shape)
            meta = physical_meta(tf, key)
    except FocalFuseError:
        raise
    except Exception:
        raise _unreadable(name) from None
    if looks_damaged(warnings):
        raise _unreadable(name)
    check_dtype(dtype, name)
    plan = plan_axes(
        axes, shape, name, channel=channel, time=time, rgb_planar=rgb_planar,
        all_channels=all_channels,
    )  # fmt: skip
    check_memory(plan.out_shape, dtype, name)
    meta["axes"] = "ZYXC" if plan.colour is not None else "ZYX"
    # separate channels (not colours): a C axis, or samples that are not RGB(A)
    meta["channels"] = plan.colour is not None and (
        axes[plan.colour].upper() == "C" or shape[plan.colour] not in (3, 4)
    )

    if offset is not None:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if offset + nbytes > path.stat().st_size:
            raise FocalFuseError(f"{name} is truncated: the file ends before its pixel data does.")
        try:
            with tifffile_warnings():
                mm = tifffile.memmap(
                    path, series=0, mode="c"
                )  # copy-on-write: the file is never changed
        except Exception:
            raise _unreadable(name) from None
        return plan.apply(np.reshape(mm, shape)), meta
    if lead < 1 or shape[lead:] != tuple(key.shape) or plan.z >= lead:
        raise FocalFuseError(
            f"{name} stores its slices in a layout that cannot be read slice by slice."
        )
    return TiffPageStack(path, plan, lead, dtype), meta
