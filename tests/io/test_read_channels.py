"""Reading every channel of a multi-channel file lazily, and writing fused channels back."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.io.axes import plan_axes
from napari_focalfuse.io.read import read_stack

CZYX = np.random.default_rng(0).integers(0, 65535, (3, 5, 40, 48), dtype=np.uint16)
WANT = np.moveaxis(CZYX, 0, -1)  # (Z, Y, X, C)


def _write(path, kind: str) -> None:
    compressed = {"compression": "zlib"} if kind.endswith("-zlib") else {}
    if kind.startswith("imagej"):
        tifffile.imwrite(path, np.moveaxis(CZYX, 0, 1), imagej=True, metadata={"axes": "ZCYX"},
                         **compressed)  # fmt: skip
    elif kind.startswith("ome-t"):  # two time points; the second is CZYX
        tczyx = np.stack([CZYX // 2, CZYX])
        tifffile.imwrite(path, tczyx, ome=True, metadata={"axes": "TCZYX"}, **compressed)
    else:
        tifffile.imwrite(path, CZYX, ome=True, metadata={"axes": "CZYX", "PhysicalSizeZ": 2.0},
                         **compressed)  # fmt: skip


@pytest.mark.parametrize("kind", ["imagej", "imagej-zlib", "ome", "ome-zlib", "ome-t", "ome-t-zlib"])
def test_all_channels_come_last_exact_and_lazy(tmp_path, kind):
    path = tmp_path / "cells.ome.tif"
    _write(path, kind)
    time = {"time": 1} if kind.startswith("ome-t") else {}
    stack, meta = read_stack(path, all_channels=True, **time)
    assert stack.shape == WANT.shape and stack.dtype == np.uint16
    assert meta["axes"] == "ZYXC" and meta["channels"] is True
    assert type(stack).__name__ in ("memmap", "TiffPageStack")  # read a slice at a time
    np.testing.assert_array_equal(np.asarray(stack[3]), WANT[3])
    np.testing.assert_array_equal(np.asarray(stack), WANT)
    with pytest.raises(FocalFuseError, match=r"choose a channel \(--channel C, or channel= in Python\)"):
        read_stack(path, **time)  # as before without the keyword
    with pytest.raises(FocalFuseError, match="choose one channel or all channels, not both"):
        read_stack(path, all_channels=True, channel=0, **time)


def test_colour_and_single_channel_stacks_are_unchanged(tmp_path):
    rgb = np.zeros((4, 32, 32, 3), np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    stack, meta = read_stack(tmp_path / "rgb.tif", all_channels=True)
    assert stack.shape == rgb.shape and meta["channels"] is False
    tifffile.imwrite(tmp_path / "grey.tif", rgb[..., 0], photometric="minisblack")
    stack, meta = read_stack(tmp_path / "grey.tif", all_channels=True)
    assert stack.shape == (4, 32, 32) and meta["channels"] is False


def test_channels_and_colour_samples_together_are_refused():
    with pytest.raises(FocalFuseError, match="both channels and colour samples"):
        plan_axes("CZYXS", (2, 5, 32, 32, 3), "both.tif", all_channels=True)


def test_fused_channels_are_written_as_an_imagej_hyperstack(tmp_path):
    from napari_focalfuse.io.channel_image import read_channel_image
    from napari_focalfuse.io.write import channels_writer

    fused = WANT[0]
    channels_writer(fused, z_step=2.0, pixel_size=(0.5, 0.25))(tmp_path / "out.tif")
    with tifffile.TiffFile(tmp_path / "out.tif") as tf:
        assert tf.is_imagej and tf.series[0].axes == "CYX"
        assert tf.imagej_metadata["channels"] == 3 and tf.imagej_metadata["mode"] == "composite"
        np.testing.assert_array_equal(tf.asarray(), np.moveaxis(fused, -1, 0))
    data, meta = read_channel_image(tmp_path / "out.tif")
    np.testing.assert_array_equal(data, np.moveaxis(fused, -1, 0))
    assert meta["name"] == "out" and meta["pixel_size"] == pytest.approx((0.5, 0.25))
    with pytest.raises(FocalFuseError, match="single 3-channel image .* not a focal stack"):
        read_stack(tmp_path / "out.tif")
