"""``napari-focalfuse fuse`` on a time-lapse file: T-stack TIFFs out, all or nothing."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from .test_cli import assert_clean_error, cli
from .timelapse_data import rendered_timelapse


@pytest.fixture
def movie_tif(tmp_path):
    """The rendered time-lapse (3 time points x 4 slices, 64 px) as an ImageJ TZYX file."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "movie.tif"
    tifffile.imwrite(
        path, rendered_timelapse(), imagej=True, resolution=(2.0, 2.0),
        metadata={"axes": "TZYX", "spacing": 0.5, "unit": "um"},
    )  # fmt: skip
    return path


def _listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_every_time_point_becomes_a_frame_of_t_stacks(tmp_path, capsys, movie_tif):
    out, mask, height = (tmp_path / n for n in ("fused.tif", "mask.tif", "height.tif"))
    rc, _, err = cli(capsys, "fuse", movie_tif, "-o", out, "--mask", mask, "--height", height,
                     "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 0, err
    assert "reading 3 time points x 4 slices of movie" in err
    assert "Slices did not move at any of the 3 time points" in err
    for path, dtype in ((out, np.uint8), (mask, np.uint8), (height, np.float32)):
        with tifffile.TiffFile(path) as tf:  # what Fiji and napari see: frames in time
            assert tf.series[0].axes == "TYX" and tf.series[0].shape == (3, 64, 64)
            assert tf.series[0].dtype == dtype and tf.imagej_metadata["frames"] == 3
    fused, maps, heights = (tifffile.imread(p) for p in (out, mask, height))
    np.testing.assert_allclose(heights, maps * 0.5)  # the file's z-step, in µm
    for t in range(3):  # --time still fuses one time point, the same way
        one, one_mask = tmp_path / f"t{t}.tif", tmp_path / f"t{t}_mask.tif"
        rc, _, err = cli(capsys, "fuse", movie_tif, "--time", t, "-o", one, "--mask", one_mask,
                         "--method", "laplacian", "-q")  # fmt: skip
        assert rc == 0 and "reading 4 slices of movie.tif" in err, err
        np.testing.assert_array_equal(fused[t], tifffile.imread(one))
        np.testing.assert_array_equal(maps[t], tifffile.imread(one_mask))
    assert not np.array_equal(fused[0], fused[2])


def test_ctrl_c_or_an_error_midway_leaves_no_file(tmp_path, capsys, monkeypatch, movie_tif):
    import napari_focalfuse.core.fusion as fusion

    real, calls = fusion.fuse, []

    def interrupted_at_second_time_point(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(fusion, "fuse", interrupted_at_second_time_point)
    before = _listing(tmp_path)
    rc, _, err = cli(capsys, "fuse", movie_tif, "-o", tmp_path / "f.tif", "--mask",
                     tmp_path / "m.tif", "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 130 and "no partial output was written" in err
    assert _listing(tmp_path) == before  # the first frame was written, then all was removed
    monkeypatch.undo()

    broken = rendered_timelapse().astype(np.float32) / 255
    broken[2, 1, 10, 10] = np.nan
    src = tmp_path / "in" / "broken.tif"
    tifffile.imwrite(src, broken, imagej=True, metadata={"axes": "TZYX"})
    before = _listing(tmp_path)
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "f.tif", "--method", "laplacian", "-q")
    assert_clean_error(rc, err, r"Time point 2: Slice 1 contains NaN or infinite values")
    assert _listing(tmp_path) == before


def test_single_stack_outputs_and_missing_choices_are_refused(tmp_path, capsys, movie_tif):
    refusals = [
        (["-o", tmp_path / "f.png"], r"time-lapse output f\.png must end in \.tif or \.tiff"),
        (["-o", tmp_path / "f.tif", "--mask", tmp_path / "m.png"], r"time-lapse mask m\.png"),
        (["-o", tmp_path / "f.tif", "--aligned-stack"],
         r"movie\.tif is a time-lapse and --aligned-stack writes one focal stack's aligned "
         r"slices; choose a time point with --time"),
    ]  # fmt: skip
    for extra, pattern in refusals:
        rc, _, err = cli(capsys, "fuse", movie_tif, *extra, "--method", "laplacian", "-q")
        assert_clean_error(rc, err, pattern)
    hyper = tmp_path / "in" / "hyper.ome.tif"
    tifffile.imwrite(hyper, np.stack([rendered_timelapse()] * 2, axis=1), ome=True,
                     metadata={"axes": "TCZYX"})  # fmt: skip
    rc, _, err = cli(capsys, "fuse", hyper, "-o", tmp_path / "f.tif", "-q")
    assert_clean_error(rc, err, r"hyper\.ome\.tif has axes TCZYX; choose a channel")
    assert _listing(tmp_path) == ["in"]
    rc, _, err = cli(capsys, "fuse", hyper, "--channel", "1", "-o", tmp_path / "f.tif",
                     "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 0, err
    assert tifffile.imread(tmp_path / "f.tif").shape == (3, 64, 64)
