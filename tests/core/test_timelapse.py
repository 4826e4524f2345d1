"""fuse_timelapse: every time point fused as fuse() alone would, one after the other."""

from __future__ import annotations

import numpy as np
import pytest

from napari_focalfuse.core.errors import Cancelled, FocalFuseError
from napari_focalfuse.core.fusion import fuse
from napari_focalfuse.core.timelapse import TimelapseResult, fuse_timelapse

from ..timelapse_data import rendered_timelapse


def test_every_frame_is_that_time_point_fused_alone():
    movie = rendered_timelapse()  # (3, 4, 64, 64)
    frames = list(fuse_timelapse(movie, z_step=0.5))  # deep, shipped weights, align auto
    assert len(frames) == 3
    for t, frame in enumerate(frames):
        alone = fuse(movie[t], z_step=0.5, keep_size=True)
        np.testing.assert_array_equal(frame.fused, alone.fused)
        np.testing.assert_array_equal(frame.mask, alone.mask)
        np.testing.assert_array_equal(frame.height, alone.height)
    assert not np.array_equal(frames[0].fused, frames[2].fused)  # the scene moved


def test_progress_counts_over_all_time_points_with_a_fixed_total():
    movie = rendered_timelapse()
    calls = []
    frames = fuse_timelapse(movie, "laplacian", progress=lambda d, t: calls.append((d, t)))
    assert calls == []  # nothing runs before the first frame is asked for
    one = []
    fuse(movie[0], "laplacian", progress=lambda d, t: one.append((d, t)))
    per_time = one[0][1]
    for t, _ in enumerate(frames):
        assert calls[-1] == ((t + 1) * per_time, 3 * per_time)  # each frame ends its share
    assert calls[0] == (0, 3 * per_time)  # the total comes first, before any slice is read
    assert {total for _, total in calls} == {3 * per_time}
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done) == 3 * per_time + 1


@pytest.mark.parametrize("stop_after", [1, 12, 20])  # 12 steps per time point here
def test_should_stop_cancels_within_and_between_time_points(stop_after):
    movie = rendered_timelapse()
    seen = []
    frames = fuse_timelapse(
        movie, "laplacian", progress=lambda d, t: seen.append(d),
        should_stop=lambda: bool(seen) and seen[-1] >= stop_after,
    )  # fmt: skip
    with pytest.raises(Cancelled):
        list(frames)
    assert seen[-1] == stop_after  # not one step further


def test_frames_share_the_input_size_when_one_time_point_moved(rendered_u8, moving_u8):
    """A moving time point aligned alone is cropped; in a time-lapse every frame keeps the size."""
    frames = list(fuse_timelapse([rendered_u8, moving_u8], "laplacian", align="auto"))
    assert [f.fused.shape for f in frames] == [(96, 128, 3)] * 2
    assert frames[0].alignment is None and frames[1].alignment is not None  # only t=1 moved
    np.testing.assert_array_equal(
        frames[1].fused, fuse(moving_u8, "laplacian", keep_size=True).fused
    )
    assert fuse(moving_u8, "laplacian").fused.shape != (96, 128, 3)  # cropped when alone


def test_collect_stacks_the_frames():
    movie = rendered_timelapse()
    result = TimelapseResult.collect(fuse_timelapse(movie, "laplacian", z_step=2.0), 3)
    assert result.fused.shape == (3, 64, 64) and result.fused.dtype == np.uint8
    assert result.mask.shape == (3, 64, 64) and result.height.shape == (3, 64, 64)
    np.testing.assert_array_equal(result.fused[1], fuse(movie[1], "laplacian").fused)
    np.testing.assert_allclose(result.height, result.mask * 2.0)
    assert result.method == "laplacian" and result.aligned == 0


def test_bad_input_is_a_sentence_naming_the_time_point():
    movie = rendered_timelapse().astype(np.float32) / 255
    movie[2, 1, 5, 5] = np.nan
    with pytest.raises(FocalFuseError, match=r"^Time point 2: Slice 1 contains NaN"):
        list(fuse_timelapse(movie, "laplacian"))
    cases = [
        (np.zeros((4, 64, 64, 3), np.uint8), r"is one \(Z, Y, X, C\) focal stack"),
        (movie[0], r"\(T, Z, Y, X\) or \(T, Z, Y, X, C\), not shape \(4, 64, 64\)"),
        (iter([movie[0]]), r"not list_iterator"),
        ([], r"no time points"),
    ]
    for stacks, pattern in cases:
        with pytest.raises(FocalFuseError, match=pattern):
            fuse_timelapse(stacks, "laplacian")  # refused at the call, before any frame
    with pytest.raises(FocalFuseError, match=r"keeps every frame at the input's size"):
        fuse_timelapse(movie, "laplacian", keep_size=False)
    with pytest.raises(FocalFuseError, match=r"^Unknown method 'sharpest'"):
        fuse_timelapse(movie, "sharpest")
    with pytest.raises(FocalFuseError, match=r"Weights file not found"):
        fuse_timelapse(movie, weights="missing.pt")


def test_time_points_of_different_sizes_are_one_sentence():
    rng = np.random.default_rng(0)
    stacks = [rng.random((3, 32, 32), np.float32), rng.random((3, 32, 40), np.float32)]
    pattern = r"Time point 1 has slices of shape \(32, 40\), time point 0 of \(32, 32\)"
    with pytest.raises(FocalFuseError, match=pattern):
        list(fuse_timelapse(stacks, "laplacian"))
