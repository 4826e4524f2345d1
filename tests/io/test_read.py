"""read_stack: every supported layout gives the right (Z, Y, X[, C]) slices and metadata, lazily."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tifffile

from napari_focalfuse import read_stack
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.stack import as_stack


def _stack(shape, dtype, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    return rng.random(shape, dtype=dtype)


@pytest.mark.parametrize(
    ("shape", "dtype", "photometric", "compression"),
    [
        ((5, 24, 32), np.uint8, "minisblack", None),
        ((4, 24, 32, 3), np.uint8, "rgb", None),
        ((4, 24, 32), np.uint16, "minisblack", None),
        ((4, 24, 32), np.float32, "minisblack", None),
        ((4, 24, 32, 3), np.uint16, "rgb", "zlib"),
        ((5, 24, 32), np.float32, "minisblack", "zlib"),
    ],
)
def test_multipage_tiff_round_trips(tmp_path, shape, dtype, photometric, compression):
    data = _stack(shape, dtype)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, data, photometric=photometric, compression=compression)
    stack, meta = read_stack(path)
    assert stack.shape == data.shape and stack.dtype == data.dtype
    assert meta["axes"] == ("ZYXC" if len(shape) == 4 else "ZYX")
    assert meta["name"] == "stack" and meta["paths"] == [str(path)]
    assert meta["z_step"] is None and meta["pixel_size"] is None
    for z in range(shape[0]):
        np.testing.assert_array_equal(np.asarray(stack[z]), data[z])
    np.testing.assert_array_equal(np.asarray(stack), data)
    assert as_stack(stack) is stack  # fuse accepts it as it is


def test_uncompressed_tiff_is_memory_mapped_not_loaded(tmp_path):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, _stack((6, 40, 48), np.uint16), photometric="minisblack")
    stack, _ = read_stack(path)
    assert isinstance(stack, np.memmap) or isinstance(getattr(stack, "base", None), np.memmap)


def test_compressed_tiff_is_read_one_page_per_slice(tmp_path):
    data = _stack((6, 24, 32), np.uint8)
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, data, compression="zlib")
    stack, _ = read_stack(path)
    assert not isinstance(stack, np.ndarray)  # lazy: nothing decoded yet
    np.testing.assert_array_equal(stack[-1], data[-1])
    np.testing.assert_array_equal(stack[1:4], data[1:4])


def test_planar_rgb_tiff_gets_colour_last(tmp_path):
    data = _stack((3, 24, 32, 3), np.uint8)
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, np.moveaxis(data, -1, 1), photometric="rgb", planarconfig="separate")
    stack, meta = read_stack(path)
    assert meta["axes"] == "ZYXC"
    np.testing.assert_array_equal(np.asarray(stack), data)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_ome_tiff_z_step_and_pixel_size(tmp_path, compression):
    data = _stack((4, 24, 32), np.uint16)
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(
        path,
        data,
        ome=True,
        compression=compression,
        metadata={
            "axes": "ZYX",
            "PhysicalSizeZ": 0.75,
            "PhysicalSizeY": 0.2,
            "PhysicalSizeX": 0.25,
        },
    )
    stack, meta = read_stack(path)
    np.testing.assert_array_equal(np.asarray(stack), data)
    assert meta["name"] == "cells"
    assert meta["z_step"] == pytest.approx(0.75) and meta["z_unit"] == "µm"
    assert meta["pixel_size"] == pytest.approx((0.2, 0.25))


def test_ome_zcyx_channel_selection(tmp_path):
    zcyx = _stack((4, 2, 24, 32), np.uint8)
    path = tmp_path / "zc.ome.tif"
    tifffile.imwrite(path, zcyx, ome=True, metadata={"axes": "ZCYX"})
    stack, _ = read_stack(path, channel=1)
    np.testing.assert_array_equal(np.asarray(stack), zcyx[:, 1])


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_ome_tczyx_needs_and_honours_selection(tmp_path, compression):
    data = _stack((2, 3, 4, 24, 32), np.uint16)
    path = tmp_path / "hyper.ome.tif"
    tifffile.imwrite(
        path,
        data,
        ome=True,
        compression=compression,
        metadata={"axes": "TCZYX", "PhysicalSizeZ": 2.0},
    )
    with pytest.raises(
        FocalFuseError, match=r"axes TCZYX; choose a time point \(--time T, or time= in Python\) and a channel"
    ):
        read_stack(path)
    with pytest.raises(FocalFuseError, match=r"choose a time point"):
        read_stack(path, channel=0)
    with pytest.raises(FocalFuseError, match=r"3 channels \(0-2\); channel 3 is out of range"):
        read_stack(path, time=0, channel=3)
    stack, meta = read_stack(path, time=1, channel=2)
    assert stack.shape == (4, 24, 32) and meta["z_step"] == 2.0
    np.testing.assert_array_equal(np.asarray(stack), data[1, 2])


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_imagej_hyperstack_spacing_and_micron_resolution(tmp_path, compression):
    data = _stack((3, 5, 2, 24, 32), np.uint16)  # TZCYX, ImageJ's order
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        compression=compression,
        metadata={"axes": "TZCYX", "spacing": 1.25, "unit": "micron"},
    )
    stack, meta = read_stack(path, time=2, channel=1)
    np.testing.assert_array_equal(np.asarray(stack), data[2, :, 1])
    assert meta["z_step"] == pytest.approx(1.25) and meta["z_unit"] == "µm"
    assert meta["pixel_size"] == pytest.approx((0.5, 0.5))


def test_channel_picks_one_colour_of_an_rgb_stack(tmp_path):
    data = _stack((3, 24, 32, 3), np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", data, photometric="rgb")
    stack, meta = read_stack(tmp_path / "rgb.tif", channel=1)
    assert meta["axes"] == "ZYX"
    np.testing.assert_array_equal(np.asarray(stack), data[..., 1])


def _write_pngs(folder, data, names):
    from PIL import Image

    for name, img in zip(names, data, strict=True):
        Image.fromarray(img).save(folder / name)


def test_folder_natural_order_checked_by_content(tmp_path):
    data = np.stack([np.full((16, 20), 10 * i, np.uint8) for i in range(1, 11)])
    names = [f"img_{i}.png" for i in range(1, 11)]
    order = np.random.default_rng(0).permutation(10)  # create in a scrambled order
    _write_pngs(tmp_path, data[order], [names[i] for i in order])
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "notes.txt").write_text("ignored")
    stack, meta = read_stack(tmp_path)
    assert stack.shape == (10, 16, 20) and len(stack) == 10 and stack.ndim == 3
    assert [int(np.asarray(stack[z])[0, 0]) for z in range(10)] == [10 * i for i in range(1, 11)]
    assert [p.rsplit("/", 1)[-1] for p in meta["paths"]] == names
    assert meta["name"] == tmp_path.name and meta["axes"] == "ZYX"


def test_list_of_files_keeps_the_given_order_and_colour(tmp_path):
    data = _stack((3, 16, 20, 3), np.uint8)
    names = ["c.png", "a.png", "b.png"]
    _write_pngs(tmp_path, data, names)
    stack, meta = read_stack([tmp_path / n for n in names])
    assert stack.shape == (3, 16, 20, 3) and meta["axes"] == "ZYXC"
    np.testing.assert_array_equal(np.asarray(stack), data)


def test_list_of_tiffs_and_16_bit_pngs(tmp_path):
    data = _stack((3, 16, 20), np.uint16)
    for i, img in enumerate(data):
        tifffile.imwrite(tmp_path / f"t{i}.tif", img)
    _write_pngs(tmp_path, data, [f"p{i}.png" for i in range(3)])
    for prefix in "tp":
        files = sorted(tmp_path.glob(f"{prefix}*"))
        stack, _ = read_stack([str(f) for f in files])
        assert stack.dtype == np.uint16
        np.testing.assert_array_equal(np.asarray(stack), data)


def test_folder_holding_one_multipage_tiff(tmp_path):
    data = _stack((4, 16, 20), np.uint8)
    tifffile.imwrite(tmp_path / "only.tif", data, photometric="minisblack")
    stack, _ = read_stack(tmp_path)
    np.testing.assert_array_equal(np.asarray(stack), data)


def test_real_keyboard_sweep(shared_data):
    folder = shared_data / "stacks" / "keyboard-sweep"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    stack, meta = read_stack(folder)
    assert stack.shape == (32, 360, 640, 3) and stack.dtype == np.uint8
    assert [p.rsplit("/", 1)[-1] for p in meta["paths"]][:3] == ["a00.jpg", "a01.jpg", "a02.jpg"]
    first, last = np.asarray(stack[0]), np.asarray(stack[31])
    assert first.shape == (360, 640, 3) and not np.array_equal(first, last)


def test_bad_inputs_raise_one_clear_sentence(bad_input):
    inputs, pattern = bad_input
    with pytest.raises(FocalFuseError) as info:
        stack, _ = read_stack(inputs[0] if len(inputs) == 1 else inputs)
        for z in range(len(stack)):  # damage inside the pixel data shows when a slice is read
            np.asarray(stack[z])
    message = str(info.value)
    assert re.search(pattern, message), message
    assert "\n" not in message and message.endswith(".") or message.startswith("No such")


def test_too_large_for_memory_is_refused_before_reading(tmp_path, monkeypatch):
    from napari_focalfuse.io import limits

    tifffile.imwrite(tmp_path / "s.tif", _stack((3, 64, 64), np.uint8), photometric="minisblack")
    monkeypatch.setattr(limits, "available_memory", lambda: 10_000)
    with pytest.raises(
        FocalFuseError, match=r"s\.tif: slices of 64x64 px need about .* GiB .* available"
    ):
        read_stack(tmp_path / "s.tif")


def test_memory_map_is_copy_on_write_so_the_file_never_changes(tmp_path, file_state):
    path = tmp_path / "m.tif"
    tifffile.imwrite(path, _stack((3, 16, 20), np.uint8), photometric="minisblack")
    before = file_state(path)
    stack, _ = read_stack(path)
    stack[0][...] = 0  # a careless caller writing into the slices
    del stack
    assert file_state(path) == before


def test_slices_come_back_writable(tmp_path):
    """Read-only slices make torch warn on every fusion; every reader path hands out writable ones."""
    from PIL import Image

    data = _stack((3, 16, 20), np.uint8)
    tifffile.imwrite(tmp_path / "m.tif", data, photometric="minisblack")
    tifffile.imwrite(tmp_path / "z.tif", data, photometric="minisblack", compression="zlib")
    (tmp_path / "pngs").mkdir()
    for i, img in enumerate(data):
        Image.fromarray(img).save(tmp_path / "pngs" / f"{i}.png")
    for source in ("m.tif", "z.tif", "pngs"):
        stack, _ = read_stack(tmp_path / source)
        assert np.asarray(stack[1]).flags.writeable, source


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_jpeg_slices_are_pillows_pixels_and_ignore_exif_orientation(tmp_path, mode):
    """JPEGs are decoded by OpenCV (faster); the pixels must be exactly Pillow's, in the
    sensor's geometry even where EXIF says the camera was turned."""
    from PIL import Image

    rng = np.random.default_rng(3)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees to display"
    for i in range(3):
        noisy = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
        Image.fromarray(noisy).convert(mode).save(tmp_path / f"{i}.jpg", quality=85, exif=exif)
    stack, _ = read_stack(tmp_path)
    for i in range(3):
        with Image.open(tmp_path / f"{i}.jpg") as im:
            expected = np.array(im)
        got = np.asarray(stack[i])
        assert got.shape == expected.shape == ((24, 40, 3) if mode == "RGB" else (24, 40))
        assert np.array_equal(got, expected) and got.flags.writeable


@pytest.mark.parametrize("cut", [2, 200])
def test_truncated_jpeg_slice_is_named_not_filled_in(tmp_path, cut):
    from PIL import Image

    rng = np.random.default_rng(4)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(tmp_path / f"{i}.jpg")
    data = (tmp_path / "1.jpg").read_bytes()
    (tmp_path / "1.jpg").write_bytes(data[:-cut])
    stack, _ = read_stack(tmp_path)
    assert np.asarray(stack[0]).shape == (64, 80, 3)
    with pytest.raises(FocalFuseError, match=r"1\.jpg could not be decoded \(the file is truncated"):
        stack[1]


def test_missing_codec_is_named_not_called_corruption(tmp_path, monkeypatch):
    import tifffile as tf_module

    tifffile.imwrite(
        tmp_path / "lzw.tif",
        _stack((3, 16, 20), np.uint8),
        photometric="minisblack",
        compression="zlib",
    )
    stack, _ = read_stack(tmp_path / "lzw.tif")

    def no_codec(self, *args, **kwargs):
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(tf_module.TiffFile, "asarray", no_codec)
    with pytest.raises(
        FocalFuseError, match=r"lzw\.tif is compressed .* needs the imagecodecs package"
    ):
        stack[0]


def test_focus_sweep_saved_as_time_frames_is_a_stack(tmp_path):
    data = _stack((4, 16, 20), np.uint8)
    tifffile.imwrite(tmp_path / "sweep.tif", data, imagej=True, metadata={"axes": "TYX"})
    stack, meta = read_stack(tmp_path / "sweep.tif")
    assert meta["axes"] == "ZYX" and meta["z_step"] is None
    np.testing.assert_array_equal(np.asarray(stack), data)
    # but a time-lapse of z-stacks still needs a time point
    tifffile.imwrite(
        tmp_path / "tz.tif",
        _stack((2, 3, 16, 20), np.uint8),
        imagej=True,
        metadata={"axes": "TZYX"},
    )
    with pytest.raises(
        FocalFuseError, match=r"tz\.tif has axes TZYX; choose a time point \(--time T, or time= in Python\) to"
    ):
        read_stack(tmp_path / "tz.tif")


def test_memory_does_not_grow_with_the_number_of_slices(tmp_path):
    """Fusing a folder of 24 slices peaks at the memory of 8: slices are read one by one.

    (Blending keeps decoded slices for its second pass, up to a fixed budget; picking does not.)
    """
    import tracemalloc

    from PIL import Image

    from napari_focalfuse import fuse

    rng = np.random.default_rng(0)
    for n in (8, 24):
        (tmp_path / str(n)).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (192, 240, 3), dtype=np.uint8)).save(
                tmp_path / str(n) / f"{i}.png"
            )
    peaks = {}
    for n in (8, 24):
        stack, _ = read_stack(tmp_path / str(n))
        fuse(stack, "laplacian")  # warm-up: imports and caches out of the measurement
        tracemalloc.start()
        fuse(stack, "laplacian")
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    one_slice = 192 * 240 * 3  # large enough that other threads' allocations are noise
    # one slice read ahead in the background may or may not be in flight at the peak
    assert peaks[24] < peaks[8] + 4 * one_slice, peaks  # 16 more slices held would add 16


def test_folder_stack_decodes_only_the_slice_asked_for(tmp_path, monkeypatch):
    from PIL import Image

    from napari_focalfuse.io import files

    for i in range(6):
        Image.fromarray(np.full((16, 20), i, np.uint8)).save(tmp_path / f"{i}.png")
    decoded = []
    real = files.decode
    monkeypatch.setattr(files, "decode", lambda path: decoded.append(path.name) or real(path))
    stack, _ = read_stack(tmp_path)
    assert decoded == []  # only headers were read
    assert int(stack[4][0, 0]) == 4 and decoded == ["4.png"]


def test_lazy_stacks_pickle_for_worker_processes(tmp_path):
    """dask/distributed workers receive stacks by pickle; the copy must read the same slices."""
    import pickle

    from PIL import Image

    data = _stack((3, 16, 20), np.uint8)
    tifffile.imwrite(tmp_path / "z.tif", data, photometric="minisblack", compression="zlib")
    (tmp_path / "pngs").mkdir()
    for i, img in enumerate(data):
        Image.fromarray(img).save(tmp_path / "pngs" / f"{i}.png")
    for source in ("z.tif", "pngs"):
        stack, _ = read_stack(tmp_path / source)
        stack[0]  # an open file handle must not travel
        copy = pickle.loads(pickle.dumps(stack))
        np.testing.assert_array_equal(copy[2], data[2])
        getattr(stack, "close", lambda: None)()


def test_tifffile_warnings_of_another_thread_are_not_collected():
    """Batch fusion reads files in threads: one broken file must not taint another's read."""
    import logging
    import threading

    from napari_focalfuse.io.tifflog import looks_damaged, tifffile_warnings

    with tifffile_warnings() as mine:
        other = threading.Thread(target=logging.getLogger("tifffile").warning, args=("invalid offset",))
        other.start()
        other.join()
        logging.getLogger("tifffile").warning("truncated file")
    assert mine == ["truncated file"] and looks_damaged(mine)


@pytest.mark.parametrize(
    ("z", "z_unit", "xy", "xy_unit", "z_um", "xy_um"),
    [
        (500.0, "nm", 200.0, "nm", 0.5, 0.2),
        (0.002, "mm", 0.5, "µm", 2.0, 0.5),
        (1.0, "µm", 0.1, "µm", 1.0, 0.1),
        (1.0, None, 0.1, None, 1.0, 0.1),  # OME's default unit is the micrometre
    ],
)
def test_ome_sizes_are_converted_to_micrometres(tmp_path, z, z_unit, xy, xy_unit, z_um, xy_um):
    meta = {"axes": "ZYX", "PhysicalSizeZ": z, "PhysicalSizeY": xy, "PhysicalSizeX": xy}
    if z_unit:
        meta["PhysicalSizeZUnit"] = z_unit
    if xy_unit:
        meta["PhysicalSizeYUnit"] = meta["PhysicalSizeXUnit"] = xy_unit
    path = tmp_path / "u.ome.tif"
    tifffile.imwrite(path, _stack((3, 16, 20), np.uint8), ome=True, metadata=meta)
    _, found = read_stack(path)
    assert found["z_step"] == pytest.approx(z_um) and found["z_unit"] == "µm"
    assert found["pixel_size"] == pytest.approx((xy_um, xy_um))


@pytest.mark.parametrize(
    ("unit", "spacing", "z_um", "pixel_um"),
    [("nm", 750.0, 0.75, 0.25), ("micron", 1.5, 1.5, 250.0), ("mm", 0.01, 10.0, 250000.0),
     ("pixel", 2.0, None, None)],  # fmt: skip
)
def test_imagej_sizes_are_converted_to_micrometres(tmp_path, unit, spacing, z_um, pixel_um):
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path, _stack((3, 16, 20), np.uint8), imagej=True, resolution=(1 / 250, 1 / 250),
        metadata={"axes": "ZYX", "spacing": spacing, "unit": unit},
    )  # fmt: skip
    _, found = read_stack(path)
    assert found["z_step"] == (pytest.approx(z_um) if z_um else None)
    assert found["pixel_size"] == (pytest.approx((pixel_um, pixel_um)) if pixel_um else None)


def test_our_own_z_step_in_another_unit_is_converted(tmp_path):
    path = tmp_path / "s.tif"
    tifffile.imwrite(path, _stack((3, 16, 20), np.uint8), photometric="minisblack",
                     metadata={"z_step": 250.0, "z_unit": "nm"})  # fmt: skip
    assert read_stack(path)[1]["z_step"] == pytest.approx(0.25)
