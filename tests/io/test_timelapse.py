"""Time-lapse files: recognised from the header, read one time point at a time, lazily."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_focalfuse import read_stack
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.io.timelapse import channel_count, read_timelapse, time_points


def _movie(shape=(5, 8, 24, 32), dtype=np.uint16, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)


def _imagej(path, data, axes="TZYX"):
    tifffile.imwrite(
        path, data, imagej=True, resolution=(2.0, 2.0),
        metadata={"axes": axes, "spacing": 0.75, "unit": "um"},
    )  # fmt: skip
    return path


def _page_reads(monkeypatch) -> list:
    """Every page tifffile decodes (compressed files are read page by page)."""
    reads = []
    real = tifffile.TiffFile.asarray

    def spy(self, *args, **kwargs):
        reads.append(kwargs.get("key"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(tifffile.TiffFile, "asarray", spy)
    return reads


def test_tzyx_file_gives_each_time_point_as_a_lazy_stack(tmp_path):
    data = _movie()
    timelapse, meta = read_timelapse(_imagej(tmp_path / "movie.tif", data))
    assert timelapse.shape == (5, 8, 24, 32) and timelapse.dtype == np.uint16 and len(timelapse) == 5
    assert meta["name"] == "movie" and meta["axes"] == "TZYX" and meta["time_points"] == 5
    assert meta["z_step"] == pytest.approx(0.75) and meta["pixel_size"] == pytest.approx((0.5, 0.5))
    for t in range(5):
        stack = timelapse[t]
        assert isinstance(stack, np.memmap)  # a view of the file: nothing read yet
        np.testing.assert_array_equal(np.asarray(stack), data[t])
    np.testing.assert_array_equal(np.asarray(timelapse[-1]), data[4])
    with pytest.raises(IndexError):
        timelapse[5]


def test_compressed_time_point_reads_only_the_slices_asked_for(tmp_path, monkeypatch):
    data = _movie()
    path = tmp_path / "movie.ome.tif"
    tifffile.imwrite(path, data, ome=True, compression="zlib", metadata={"axes": "TZYX"})
    reads = _page_reads(monkeypatch)
    timelapse, _ = read_timelapse(path)
    stack = timelapse[3]
    assert reads == []  # headers only
    np.testing.assert_array_equal(stack[2], data[3, 2])
    assert reads == [3 * 8 + 2]  # exactly that slice's page
    np.testing.assert_array_equal(np.asarray(timelapse.to_dask()[4, 7]), data[4, 7])
    assert len(reads) == 2


def test_tczyx_needs_a_channel_and_honours_it(tmp_path):
    data = _movie((3, 2, 4, 24, 32))
    path = tmp_path / "hyper.ome.tif"
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "TCZYX"})
    assert time_points(path) == 3 and channel_count(path) == 2
    with pytest.raises(FocalFuseError, match=r"hyper\.ome\.tif has axes TCZYX; choose a channel"):
        read_timelapse(path)
    timelapse, _ = read_timelapse(path, channel=1)
    assert timelapse.shape == (3, 4, 24, 32)
    for t in range(3):
        np.testing.assert_array_equal(np.asarray(timelapse[t]), data[t, 1])


def test_only_time_and_z_together_make_a_time_lapse(tmp_path):
    sweep = _imagej(tmp_path / "sweep.tif", _movie((6, 24, 32)), axes="TYX")
    zstack = _imagej(tmp_path / "z.tif", _movie((6, 24, 32)), axes="ZYX")
    single_z = _imagej(tmp_path / "t1.tif", _movie((4, 1, 24, 32)), axes="TZYX")
    movie = _imagej(tmp_path / "movie.tif", _movie((2, 3, 24, 32)), axes="TZYX")
    assert [time_points(p) for p in (sweep, zstack, single_z, movie)] == [0, 0, 0, 2]
    assert time_points([movie]) == 2 and time_points([movie, movie]) == 0
    assert time_points(tmp_path / "missing.tif") == 0 and time_points(tmp_path) == 0
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    assert time_points(tmp_path / "junk.tif") == 0
    # a focus sweep saved as frames stays one focal stack, its time being z
    assert read_stack(sweep)[0].shape == (6, 24, 32)
    with pytest.raises(FocalFuseError, match=r"sweep\.tif is not a time-lapse"):
        read_timelapse(sweep)


def test_dask_view_is_the_whole_movie(tmp_path):
    data = _movie((3, 4, 16, 20), np.uint8)
    timelapse, _ = read_timelapse(_imagej(tmp_path / "m.tif", data))
    lazy = timelapse.to_dask()
    assert lazy.shape == data.shape and lazy.dtype == np.uint8
    np.testing.assert_array_equal(lazy.compute(), data)
