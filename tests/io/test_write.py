"""write_image / write_png: pixel types kept, colour stays colour, nothing replaced by surprise."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_focalfuse import read_stack
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.io.write import write_decision_map, write_image, write_png


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_tiff_keeps_type_and_colour(tmp_path, dtype, channels):
    shape = (20, 30) if channels is None else (20, 30, channels)
    rng = np.random.default_rng(0)
    data = (
        rng.random(shape) * (255 if dtype == np.uint8 else 60000 if dtype == np.uint16 else 1)
    ).astype(dtype)
    path = tmp_path / "out.tif"
    write_image(path, data)
    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        assert page.photometric == (2 if channels else 1)  # RGB / MINISBLACK
        back = tf.asarray()
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, data)


def test_float64_is_written_as_float32_and_bool_is_refused(tmp_path):
    write_image(tmp_path / "f.tif", np.linspace(0, 1, 64).reshape(8, 8))
    assert tifffile.imread(tmp_path / "f.tif").dtype == np.float32
    with pytest.raises(FocalFuseError, match="Cannot write pixel type bool"):
        write_image(tmp_path / "b.tif", np.zeros((8, 8), bool))
    assert not (tmp_path / "b.tif").exists()


def test_z_step_and_pixel_size_travel_with_the_file(tmp_path):
    path = tmp_path / "h.tif"
    write_image(path, np.zeros((2, 16, 16), np.uint8)[0], z_step=0.5, pixel_size=(0.2, 0.4))
    stack_path = tmp_path / "stack.tif"
    # the same metadata on a stack is what read_stack picks up
    tifffile.imwrite(
        stack_path,
        np.zeros((2, 16, 16), np.uint8),
        photometric="minisblack",
        metadata={"z_step": 0.5, "z_unit": "µm"},
        resolution=(1e4 / 0.4, 1e4 / 0.2),
        resolutionunit="CENTIMETER",
    )
    _, meta = read_stack(stack_path)
    assert meta["z_step"] == 0.5 and meta["pixel_size"] == pytest.approx((0.2, 0.4))
    with tifffile.TiffFile(path) as tf:
        assert tf.shaped_metadata[0]["z_step"] == 0.5
        xres = tf.pages[0].tags["XResolution"].value
        assert 1e4 / (xres[0] / xres[1]) == pytest.approx(0.4)


def test_decision_map_is_uint8_or_uint16(tmp_path):
    mask = np.arange(300, dtype=np.int16).reshape(15, 20) % 7
    write_decision_map(tmp_path / "m8.tif", mask, 7)
    write_decision_map(tmp_path / "m16.tif", mask * 100, 700)
    assert tifffile.imread(tmp_path / "m8.tif").dtype == np.uint8
    back = tifffile.imread(tmp_path / "m16.tif")
    assert back.dtype == np.uint16 and np.array_equal(back, mask * 100)


def test_existing_file_is_refused_without_overwrite(tmp_path, file_state):
    path = tmp_path / "keep.tif"
    write_image(path, np.zeros((8, 8), np.uint8))
    before = file_state(path)
    with pytest.raises(FocalFuseError, match=r"keep\.tif already exists; pass --overwrite"):
        write_image(path, np.ones((8, 8), np.uint8))
    with pytest.raises(FocalFuseError, match="already exists"):
        write_png(path, np.ones((8, 8), np.uint8))
    assert file_state(path) == before
    write_image(path, np.ones((8, 8), np.uint8), overwrite=True)
    assert tifffile.imread(path).max() == 1


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch, file_state):
    path = tmp_path / "old.tif"
    write_image(path, np.zeros((8, 8), np.uint8))
    before = file_state(path)

    def explode(*args, **kwargs):
        with open(args[0], "wb") as fh:
            fh.write(b"half a tiff")
        raise OSError("disk full")

    monkeypatch.setattr(tifffile, "imwrite", explode)
    with pytest.raises(OSError, match="disk full"):
        write_image(path, np.ones((8, 8), np.uint8), overwrite=True)
    assert file_state(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.tif"]


def test_new_files_follow_the_umask_not_mkstemp(tmp_path):
    old = os.umask(0o022)
    try:
        write_image(tmp_path / "perm.tif", np.zeros((8, 8), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "perm.tif").stat().st_mode) == 0o644


def test_png_grey16_and_float_preview(tmp_path):
    grey16 = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    write_png(tmp_path / "g.png", grey16)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "g.png")), grey16)
    rgbf = np.zeros((8, 8, 3), np.float32)
    rgbf[..., 0] = 1.0
    write_png(tmp_path / "c.png", rgbf)
    back = np.asarray(Image.open(tmp_path / "c.png"))
    assert back.dtype == np.uint8 and back.shape == (8, 8, 3) and back[..., 0].min() == 255


def test_write_rejects_stacks_and_missing_folders(tmp_path):
    with pytest.raises(FocalFuseError, match=r"\(Y, X\) or \(Y, X, 3\|4\) image"):
        write_image(tmp_path / "s.tif", np.zeros((5, 8, 8), np.uint8))
    with pytest.raises(FocalFuseError, match="Output folder does not exist"):
        write_image(tmp_path / "no" / "x.tif", np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize(("shape", "dtype"), [((5, 20, 30), np.uint16), ((4, 20, 30, 3), np.uint8),
                                              ((3, 20, 30), np.float64)])  # fmt: skip
def test_stack_writer_round_trips_through_read_stack_one_slice_at_a_time(tmp_path, shape, dtype):
    """The aligned-stack output: a multi-page TIFF read back with its z-step, written from a
    lazy stack without asking it for more than one slice at a time."""
    from napari_focalfuse.io.lazy import LazyStack
    from napari_focalfuse.io.output_group import OutputGroup
    from napari_focalfuse.io.write import stack_writer

    data = (np.random.default_rng(0).random(shape) * 200).astype(dtype)
    asked = []

    class OneAtATime(LazyStack):
        def __init__(self):
            self.shape, self.dtype = data.shape, data.dtype

        def _read(self, z):
            asked.append(z)
            return data[z]

    group = OutputGroup()
    group.add(tmp_path / "aligned.tif", stack_writer(OneAtATime(), z_step=0.5, pixel_size=(0.2, 0.2)))
    group.commit()
    assert asked == list(range(shape[0]))
    back, meta = read_stack(tmp_path / "aligned.tif")
    expected = data.astype(np.float32) if dtype == np.float64 else data
    assert back.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(back), expected)
    assert meta["z_step"] == 0.5 and meta["pixel_size"] == pytest.approx((0.2, 0.2))
    with pytest.raises(FocalFuseError, match="A stack is written as"):
        stack_writer(np.zeros((2, 8, 8, 2), np.uint8))
