"""T-stack TIFFs: frames written one at a time come back as (T, Y, X[, C]) with a time axis."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.io.tstack import TStackFile, write_timelapse


@pytest.mark.parametrize(
    ("shape", "dtype", "imagej", "stored"),
    [
        ((24, 32), np.uint8, True, np.uint8),
        ((24, 32), np.uint16, True, np.uint16),
        ((24, 32), np.float64, True, np.float32),
        ((24, 32, 3), np.uint8, True, np.uint8),
        ((24, 32, 3), np.uint16, False, np.uint16),  # ImageJ holds 8-bit RGB only
        ((24, 32, 4), np.uint8, False, np.uint8),
    ],
)
def test_frames_written_out_of_order_read_back_with_a_time_axis(tmp_path, shape, dtype, imagej, stored):
    rng = np.random.default_rng(0)
    frames = [(rng.random(shape) * 250).astype(dtype) for _ in range(4)]
    path = tmp_path / "t.tif"
    with TStackFile(path, 4, shape, dtype, pixel_size=(0.5, 0.25)) as tstack:
        for t in (2, 0, 3, 1):
            tstack.write(t, frames[t])
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        assert tf.is_imagej == imagej
        assert series.axes == ("TYXS" if len(shape) == 3 else "TYX")
        assert series.dtype == stored
        np.testing.assert_array_equal(series.asarray(), np.stack(frames).astype(stored))
        x_res = tf.pages[0].tags["XResolution"].value
        per_um = x_res[0] / x_res[1] / (1.0 if imagej else 1e4)  # ImageJ: per µm; else per cm
        assert per_um == pytest.approx(4.0)
        if imagej:
            assert tf.imagej_metadata["frames"] == 4 and tf.imagej_metadata["unit"] == "um"


def _frames(n: int, fail_at: int | None = None):
    for t in range(n):
        if t == fail_at:
            raise FocalFuseError("Time point 2: Slice 1 contains NaN or infinite values.")
        mask = np.full((16, 20), t % 3, np.int16)
        yield SimpleNamespace(
            fused=np.full((16, 20), t, np.uint16), mask=mask, height=mask * np.float32(0.5)
        )


def test_all_outputs_appear_together_or_none(tmp_path, file_state):
    targets = {k: tmp_path / f"{k}.tif" for k in ("fused", "mask", "height")}
    (tmp_path / "mask.tif").write_bytes(b"previous")
    before = file_state(tmp_path / "mask.tif")
    with pytest.raises(FocalFuseError, match="Time point 2"):
        write_timelapse(_frames(4, fail_at=2), 4, 3, targets, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.tif"]  # no temporaries either
    assert file_state(tmp_path / "mask.tif") == before

    written = write_timelapse(_frames(4), 4, 3, targets, overwrite=True)
    assert written == list(targets.values())
    fused, mask, height = (tifffile.imread(targets[k]) for k in ("fused", "mask", "height"))
    assert fused.shape == (4, 16, 20) and fused.dtype == np.uint16
    np.testing.assert_array_equal(fused[:, 0, 0], [0, 1, 2, 3])
    assert mask.dtype == np.uint8 and height.dtype == np.float32  # as single-image outputs
    np.testing.assert_allclose(height, mask * 0.5)
