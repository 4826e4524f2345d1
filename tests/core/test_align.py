"""Slice alignment: known motions are recovered, still stacks are left alone, bad slices fall back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage

import napari_focalfuse as ff
from napari_focalfuse.core import metrics
from napari_focalfuse.core.synthetic import RenderedStack, apply_motion, motion_matrices, render_focal_stack

from ..held_out import motorcycle


def _cell() -> np.ndarray:
    """A real brightfield micrograph (scikit-image's ``cell``, held out from training), [0, 1]."""
    from skimage import data

    return data.cell()[:480, :512].astype(np.float32) / 255.0


def _moved(image: np.ndarray, blurs, matrices, noise: float = 0.005, seed: int = 0) -> np.ndarray:
    """Slices of ``image`` each blurred by its own sigma, then moved by its matrix, plus noise."""
    stack = np.stack([ndimage.gaussian_filter(image, s) for s in blurs]).astype(np.float32)
    n = len(blurs)
    moved = apply_motion(RenderedStack(stack, image, np.zeros(image.shape, int), np.zeros(n)), matrices)
    rng = np.random.default_rng(seed)
    return moved.stack + rng.normal(0, noise, moved.stack.shape).astype(np.float32)


def _centre_shifts(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    c = np.array([(shape[1] - 1) / 2, (shape[0] - 1) / 2])
    return np.einsum("zij,j->zi", m[:, :, :2], c) + m[:, :, 2] - c


def test_recovers_shift_scale_and_rotation_to_a_tenth_of_a_pixel():
    """Breathing 3 %, a drift of 3 px per slice and 0.3 degrees, slices blurred differently."""
    image = _cell()
    truth = motion_matrices(5, image.shape, breathing=0.03, drift=3.0, rotation=0.3, seed=3)
    stack = _moved(image, (2.0, 1.0, 0.5, 1.0, 2.0), truth)
    found = ff.align_stack(stack)
    assert found.reference == 2 and not found.warnings
    shift_error = np.abs(found.shifts() - _centre_shifts(truth, image.shape)).max()
    scale_error = np.abs(found.scales() - np.sqrt(np.linalg.det(truth[:, :, :2]))).max()
    true_rotation = np.degrees(np.arctan2(truth[:, 1, 0], truth[:, 0, 0]))
    rotation_error = np.abs(found.rotations() - true_rotation).max()
    assert np.abs(_centre_shifts(truth, image.shape)).max() > 3  # the motion is real
    assert shift_error < 0.1, shift_error
    assert scale_error < 0.0005, scale_error  # 0.05 %
    assert rotation_error < 0.05, rotation_error
    corner_error = np.abs(found.matrices - truth)[:, :, 2].max()  # anywhere in the frame
    assert corner_error < 0.2, corner_error


def test_affine_model_recovers_a_shear_that_similarity_cannot():
    image = _cell()
    truth = np.tile(np.eye(2, 3), (3, 1, 1))
    truth[0, 0, 1] = 0.01  # 1 % shear: 5 px across the frame
    truth[2, 1, 0] = -0.01
    stack = _moved(image, (1.0, 1.0, 1.0), truth)
    affine = ff.align_stack(stack, model="affine")
    similarity = ff.align_stack(stack)
    assert np.abs(affine.matrices[:, :, :2] - truth[:, :, :2]).max() < 0.002
    assert np.abs(affine.matrices[:, :, 2] - truth[:, :, 2]).max() < 0.15  # px
    assert np.abs(similarity.matrices[:, :, :2] - truth[:, :, :2]).max() > 0.004


def test_auto_leaves_a_still_stack_untouched():
    """A still stack (realistic occlusion blur, 6 slices) fuses bit-identically to align=False."""
    image = motorcycle(150, 200, 256, 384)
    depth = np.tile(np.linspace(0, 1, 384, dtype=np.float32), (256, 1))
    depth[96:160, 128:256] = 1.2  # a near object with defocus halos
    stack = render_focal_stack(image, depth, n_slices=6, max_blur=4.0, fill_behind=True).stack
    auto, off = ff.fuse(stack), ff.fuse(stack, align=False)
    assert auto.alignment is None and off.alignment is None
    np.testing.assert_array_equal(auto.fused, off.fused)
    np.testing.assert_array_equal(auto.mask, off.mask)
    forced = ff.fuse(stack, align=True)  # the estimate exists, it just is not worth applying
    assert forced.alignment is not None and not forced.alignment.moved


def test_unaligned_result_has_one_transform_per_slice_even_if_the_map_skips_some():
    image = motorcycle(150, 200, 128, 192)
    depth = np.tile(np.linspace(0, 1, 192, dtype=np.float32), (128, 1))
    stack = render_focal_stack(image, depth, n_slices=4, max_blur=4.0).stack
    stack = np.concatenate([stack, np.full_like(stack[:1], 0.5)])  # a flat slice: never sharpest
    res = ff.fuse(stack, align=False, method="laplacian")
    assert res.mask.max() < 4
    assert res.transforms.shape == (5, 2, 3)


def test_auto_aligns_a_moving_stack_and_beats_fusing_it_unaligned():
    image = motorcycle(150, 200, 256, 384)
    depth = np.tile(np.linspace(0, 1, 384, dtype=np.float32), (256, 1))
    rendered = render_focal_stack(image, depth, n_slices=6, max_blur=4.0, fill_behind=True, seed=2)
    truth = motion_matrices(6, image.shape[:2], breathing=0.03, drift=2.0, seed=1)
    stack = apply_motion(rendered, truth).stack
    aligned, unaligned = ff.fuse(stack), ff.fuse(stack, align=False)
    assert aligned.alignment is not None and aligned.alignment.moved
    y0, x0, h, w = aligned.crop
    assert aligned.fused.shape[:2] == aligned.mask.shape == aligned.height.shape == (h, w)
    assert (h, w) < image.shape[:2]  # cropped to what every slice covers
    # the reference (middle) slice did not move: the crop of the truth is the target
    target = image[y0 : y0 + h, x0 : x0 + w]
    inner = (slice(8, -8), slice(8, -8))
    err_aligned = metrics.mae(aligned.fused[inner], target[inner])
    err_unaligned = metrics.mae(unaligned.fused[y0 : y0 + h, x0 : x0 + w][inner], target[inner])
    assert err_aligned < 0.6 * err_unaligned, (err_aligned, err_unaligned)
    assert np.abs(aligned.transforms - truth).max() < 1.0


def test_keep_size_keeps_the_frame_and_one_geometry():
    image = _cell()
    truth = motion_matrices(4, image.shape, breathing=0.02, drift=2.0, seed=4)
    stack = _moved(image, (1.0, 0.5, 1.0, 2.0), truth)
    kept = ff.fuse(stack, keep_size=True)
    assert kept.alignment is not None
    assert kept.fused.shape == kept.mask.shape == kept.height.shape == image.shape
    cropped = ff.fuse(stack)
    assert cropped.fused.shape[0] < image.shape[0] and cropped.fused.shape[1] < image.shape[1]


def test_a_blank_slice_keeps_its_place_with_a_warning_and_the_rest_align():
    image = _cell()
    truth = motion_matrices(5, image.shape, drift=3.0, seed=5)
    stack = _moved(image, (1.0, 0.5, 1.0, 1.5, 2.0), truth)
    stack[3] = 0.0  # a black frame
    with pytest.warns(ff.AlignmentWarning, match="Slice 3 was not aligned: it has no texture"):
        result = ff.fuse(stack, align=True)
    assert result.warnings == [w for w in result.warnings if "Slice 3" in w]
    np.testing.assert_array_equal(result.transforms[3], np.eye(2, 3))
    # slice 4 is chained past the blank one, onto slice 2
    assert np.abs(result.transforms[4] - truth[4]).max() < 0.3


def test_another_scene_or_an_implausible_estimate_is_refused_by_name():
    image = _cell()
    stack = _moved(image, (1.0, 0.5, 1.0, 1.5), np.tile(np.eye(2, 3), (4, 1, 1)))
    rng = np.random.default_rng(0)
    stack[1] = ndimage.gaussian_filter(rng.random(image.shape), 2).astype(np.float32)  # not this scene
    zoom = np.array([[1.5, 0, -120.0], [0, 1.5, -120.0]])  # 50 % bigger: no focal stack does that
    stack[3] = _moved(image, (1.0,), zoom[None])[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = ff.align_stack(stack)
    assert any("Slice 1 was not aligned" in w for w in found.warnings), found.warnings
    assert any("Slice 3 was not aligned" in w for w in found.warnings), found.warnings
    for z in (1, 3):
        np.testing.assert_array_equal(found.matrices[z], np.eye(2, 3))
    assert not caught  # align_stack reports through the result; fuse also warns


def test_aligned_stack_view_reads_warped_slices():
    image = _cell()
    truth = motion_matrices(3, image.shape, drift=2.5, seed=6)
    stack = _moved(image, (1.0, 1.0, 1.0), truth, noise=0.0)
    alignment = ff.align_stack(stack)
    view = ff.AlignedStack(stack, alignment)
    assert view.shape == (3, *alignment.out_shape) and view.dtype == stack.dtype
    y0, x0, h, w = alignment.crop
    inner = (slice(10, -10), slice(10, -10))
    for z in range(3):  # every aligned slice shows the reference's (the truth's) content
        assert np.abs(view[z][inner] - image[y0 : y0 + h, x0 : x0 + w][inner]).mean() < 0.01
    np.testing.assert_array_equal(np.asarray(view)[1], view[1])


def test_tiny_slices_cannot_be_aligned_on_request_but_auto_skips_them():
    stack = np.random.default_rng(0).random((3, 20, 20)).astype(np.float32)
    assert ff.fuse(stack).alignment is None
    with pytest.raises(ff.FocalFuseError, match="too small to align"):
        ff.fuse(stack, align=True)
