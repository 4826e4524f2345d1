"""One map, every channel: a structure channel decides, a sparse fluorescent channel follows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import napari_focalfuse as ff
from napari_focalfuse.core import metrics
from napari_focalfuse.core.errors import Cancelled, FocalFuseError
from napari_focalfuse.core.synthetic import render_focal_stack

from .conftest import _texture, blocks_disparity

SHAPE = (96, 128)
N = 5


def _spots(shape: tuple[int, int], count: int = 40, seed: int = 0) -> np.ndarray:
    """Sparse blurred bright spots on a dim background (a camera offset keeps noise unclipped)."""
    rng = np.random.default_rng(seed)
    spots = np.zeros(shape, np.float32)
    spots[rng.integers(4, shape[0] - 4, count), rng.integers(4, shape[1] - 4, count)] = 1.0
    return np.clip(ndimage.gaussian_filter(spots, 1.0) * 8, 0, 1) * 0.8 + 0.1


@pytest.fixture(scope="module")
def two_channel():
    """(Z, Y, X, 2) uint16: channel 0 a photograph sharp in one depth band per slice, channel 1
    spots sharp in the mirrored bands, so a map decided on the spots names other slices."""
    bands = blocks_disparity(SHAPE, N)
    structure = render_focal_stack(_texture(SHAPE).mean(-1), bands, N, max_blur=8.0, noise=0.005)
    spots = render_focal_stack(_spots(SHAPE), bands[:, ::-1], N, max_blur=8.0, noise=0.01, seed=1)
    stack = np.stack([structure.stack, spots.stack], axis=-1)
    return (stack * 60000).round().astype(np.uint16), structure.true_index, spots.true_index


def _picked(stack: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Every pixel from the slice ``mask`` names."""
    index = mask.astype(int)[None, ..., None] if stack.ndim == 4 else mask.astype(int)[None]
    return np.take_along_axis(stack, index, axis=0)[0]


def test_every_channel_is_fused_by_the_deciding_channels_map(two_channel):
    stack, structure_truth, spots_truth = two_channel
    res = ff.fuse(stack, decide_on=0, align=False)
    own_first = ff.fuse(stack[..., 0], align=False)
    own_second = ff.fuse(stack[..., 1], align=False)

    assert res.fused.dtype == np.uint16 and res.fused.shape == (*SHAPE, 2)
    np.testing.assert_array_equal(res.fused, _picked(stack, res.mask))  # exact, both channels
    # the map is channel 0's: the structure's depth bands, not the spots' mirrored ones
    np.testing.assert_array_equal(res.mask, own_first.mask)
    assert metrics.map_accuracy(res.mask, structure_truth, tolerance=1) > 0.9
    assert np.mean(own_second.mask != own_first.mask) > 0.5
    assert metrics.map_accuracy(res.mask, spots_truth) < 0.4
    assert res.surface.shape == SHAPE and res.n_slices == N


def test_deciding_on_the_other_channel_gives_its_map(two_channel):
    stack = two_channel[0]
    res = ff.fuse(stack, "laplacian", decide_on=-1, align=False)
    np.testing.assert_array_equal(res.mask, ff.fuse(stack[..., 1], "laplacian", align=False).mask)
    np.testing.assert_array_equal(res.fused, _picked(stack, res.mask))


def test_progress_runs_once_to_a_fixed_total(two_channel):
    calls = []
    ff.fuse(two_channel[0], "laplacian", decide_on=0, align=False, progress=lambda *a: calls.append(a))
    totals = {total for _, total in calls}
    done = [d for d, _ in calls]
    assert calls[0][0] == 0 and len(totals) == 1 and done == sorted(done)
    assert done[-1] == totals.pop()


def test_apply_map_with_a_bare_map_any_channel_count():
    rng = np.random.default_rng(3)
    stack = rng.random((4, 24, 32, 6), dtype=np.float32)
    mask = rng.integers(0, 4, (24, 32)).astype(np.int16)
    out = ff.apply_map(stack, mask)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, _picked(stack, mask))
    grey = (stack[..., 0] * 65535).astype(np.uint16)
    np.testing.assert_array_equal(ff.apply_map(grey, mask), _picked(grey, mask))


def test_only_the_slices_the_map_names_are_read_once_each():
    from napari_focalfuse.io.lazy import LazyStack

    class Counted(LazyStack):
        def __init__(self, data):
            self.data, self.shape, self.dtype, self.reads = data, data.shape, data.dtype, []

        def _read(self, z):
            self.reads.append(z)
            return self.data[z]

    data = np.arange(6 * 16 * 16, dtype=np.uint16).reshape(6, 16, 16)
    mask = np.where(np.arange(16)[None, :] < 8, 1, 4).repeat(16, 0)
    stack = Counted(data)
    np.testing.assert_array_equal(ff.apply_map(stack, mask), _picked(data, mask))
    assert sorted(stack.reads) == [1, 4]


def test_apply_map_follows_the_alignment_of_a_result(moving_u8):
    """A moving RGB stack: picking by the result lands exactly on its (cropped) fused image, and
    extra channels (more than OpenCV warps at once) get the same geometry."""
    res = ff.fuse(moving_u8, align=True, soften=False)
    assert res.alignment is not None and res.fused.shape[:2] != moving_u8.shape[1:3]
    np.testing.assert_array_equal(ff.apply_map(moving_u8, res), res.fused)
    six = np.concatenate([moving_u8, moving_u8[..., ::-1]], axis=-1)
    out = ff.apply_map(six, res)
    np.testing.assert_array_equal(out[..., :3], res.fused)
    np.testing.assert_array_equal(out[..., 3:], res.fused[..., ::-1])


def test_decide_on_aligns_on_the_deciding_channel(moving_u8):
    """The second channel is noise (nothing to align on): it follows the first one's transforms."""
    grey = moving_u8.mean(-1).round().astype(np.uint8)
    noise = np.random.default_rng(5).integers(0, 256, grey.shape, dtype=np.uint8)
    res = ff.fuse(np.stack([grey, noise], axis=-1), "laplacian", decide_on=0, align=True)
    alone = ff.fuse(grey, "laplacian", align=True)
    np.testing.assert_array_equal(res.alignment.matrices, alone.alignment.matrices)
    np.testing.assert_array_equal(res.mask, alone.mask)
    assert res.fused.shape == (*alone.fused.shape, 2)
    np.testing.assert_array_equal(res.fused[..., 0], alone.fused)
    np.testing.assert_array_equal(res.fused[..., 1], ff.apply_map(noise, alone))


def test_cancel_stops_before_the_next_slice():
    stack = np.zeros((4, 16, 16), np.uint8)
    with pytest.raises(Cancelled):
        ff.apply_map(stack, np.zeros((16, 16), int), should_stop=lambda: True)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.zeros((24, 30), int), r"map is 30x24 px but the stack's fused image would be 32x24"),
        (np.full((24, 32), 4), r"names slices 4–4 but the stack has 4 slices \(0–3\)"),
        (np.full((24, 32), -1), r"names slices -1–-1"),
        (np.zeros((24, 32), np.float32), r"2-D array of slice indices, not 2-D float32"),
        (np.zeros((2, 24, 32), int), r"not 3-D"),
    ],
)
def test_bad_maps_are_one_sentence(mask, message):
    with pytest.raises(FocalFuseError, match=message):
        ff.apply_map(np.zeros((4, 24, 32), np.uint16), mask)


def test_bad_stacks_and_channels_are_one_sentence(two_channel):
    stack = two_channel[0]
    with pytest.raises(FocalFuseError, match=r"shape \(24, 32\); a decision map applies"):
        ff.apply_map(np.zeros((24, 32)), np.zeros((24, 32), int))
    with pytest.raises(FocalFuseError, match=r"2 channels \(0-1\); decide_on=2 is out of range"):
        ff.fuse(stack, decide_on=2)
    with pytest.raises(FocalFuseError, match=r"decide_on=-3 is out of range"):
        ff.fuse(stack, decide_on=-3)
    with pytest.raises(FocalFuseError, match=r"channels last \(Z, Y, X, C\); this one has shape"):
        ff.fuse(stack[..., 0], decide_on=0)
    with pytest.raises(FocalFuseError, match=r"leave soften unset"):
        ff.fuse(stack, decide_on=0, soften=True)
    with pytest.raises(FocalFuseError, match=r"must be a channel index"):
        ff.fuse(stack, decide_on="0")


def test_a_result_of_another_stack_is_refused(two_channel, moving_u8):
    res = ff.fuse(moving_u8, "laplacian", align=True)
    with pytest.raises(FocalFuseError, match=r"alignment is for 5 slices of 128x96 px but the stack"):
        ff.apply_map(two_channel[0][:3], res)
    with pytest.raises(FocalFuseError, match=r"brings its own alignment"):
        ff.apply_map(moving_u8, res, alignment=res.alignment)
