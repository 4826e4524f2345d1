"""The benchmark renderer: depth edges as a lens renders them, with nothing painted twice."""

import numpy as np
import pytest

from napari_focalfuse.core.synthetic import render_focal_stack


def _detail(image: np.ndarray) -> np.ndarray:
    import cv2

    return image - cv2.GaussianBlur(image, (0, 0), 2.0)


@pytest.fixture(scope="module")
def step_scene() -> tuple[np.ndarray, np.ndarray]:
    """Textured background with a textured square far nearer than it (one depth step)."""
    import cv2

    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.random((160, 160)).astype(np.float32), (0, 0), 1.0)
    image = (image - image.min()) / (image.max() - image.min())
    depth = np.zeros((160, 160), np.float32)
    depth[50:110, 50:110] = 1.0
    return image, depth


def _rim_detail(stack: np.ndarray, image: np.ndarray) -> float:
    """How much of the background's own detail slice 0 shows within 8 px outside the square."""
    rim = np.zeros(image.shape, bool)
    rim[42:118, 42:118] = True
    rim[50:110, 50:110] = False
    return float(np.corrcoef(_detail(stack[0])[rim], _detail(image)[rim])[0, 1])


def test_background_beside_a_near_object_keeps_its_detail(step_scene):
    """The far-focused slice shows the background's detail right beside a blurred near object.

    With 96 depth layers a near object's rim used to be painted once per layer between it and
    the background (``coverage="nested"``), which erased that detail in every slice.
    """
    image, depth = step_scene
    kw = dict(n_slices=8, max_blur=6.0, noise=0.0, levels=96, depth_of_field=0.0)
    own = render_focal_stack(image, depth, **kw)
    nested = render_focal_stack(image, depth, coverage="nested", **kw)
    assert _rim_detail(own.stack, image) > 0.95
    assert _rim_detail(nested.stack, image) < 0.6


@pytest.mark.parametrize("coverage", ["own", "nested"])
def test_a_near_object_is_sharp_in_its_slice_and_a_halo_in_the_far_one(step_scene, coverage):
    """Outside a bright square the far-focused slice carries its blur; the near-focused one not.

    The nested coverage grew the square by its blur in every slice (empty layers between it
    and the background painted its colour, each blurred), so it must fail here.
    """
    image, depth = step_scene
    flat = np.full_like(image, 0.2)
    flat[50:110, 50:110] = 0.9  # a bright square over a dark flat background
    kw = dict(n_slices=8, max_blur=6.0, noise=0.0, levels=96, depth_of_field=0.0, fill_behind=True)
    r = render_focal_stack(flat, depth, coverage=coverage, **kw)
    far_halo = r.stack[0][80, 46]  # 4 px outside the square's edge
    near_sharp = r.stack[-1][80, 46]
    ok = far_halo > 0.3 and near_sharp == pytest.approx(0.2, abs=1e-3)
    assert ok == (coverage == "own"), (far_halo, near_sharp)


def test_a_continuous_slope_renders_without_cracks():
    """A flat grey ramp through every depth layer stays flat grey in every slice."""
    image = np.full((64, 96), 0.5, np.float32)
    ramp = np.tile(np.linspace(0, 1, 96, dtype=np.float32), (64, 1))
    r = render_focal_stack(image, ramp, n_slices=6, max_blur=6.0, noise=0.0, levels=24)
    np.testing.assert_allclose(r.stack, 0.5, atol=1e-4)


def test_a_bracketing_stack_is_sharp_at_the_scene_ends():
    """With ``bracket`` the first and last slices are focused on the nearest and farthest
    depths (a step scene's two planes come out sharp there); by default they are focused half
    a bin inside, and both planes are blurred in every slice."""
    import cv2

    image = np.random.default_rng(1).random((64, 96)).astype(np.float32)
    depth = np.where(np.arange(96) < 48, 0.0, 1.0)[None, :].repeat(64, 0)
    kw = dict(n_slices=4, max_blur=6.0, noise=0.0, levels=24, depth_of_field=0.0)

    def sharpness(a: np.ndarray) -> float:
        return float(cv2.Laplacian(a, cv2.CV_32F)[8:-8, 4:24].var())  # beyond the near plane's blur

    bracketing = render_focal_stack(image, depth, bracket=True, **kw)
    assert list(bracketing.focus) == [0.0, 1 / 3, 2 / 3, 1.0]
    assert sharpness(bracketing.stack[0]) == pytest.approx(sharpness(image), rel=1e-3)
    centred = render_focal_stack(image, depth, **kw)
    assert sharpness(centred.stack[0]) < 0.5 * sharpness(image)


def test_unknown_coverage_is_refused():
    with pytest.raises(ValueError, match="coverage"):
        render_focal_stack(np.zeros((8, 8)), np.zeros((8, 8)), coverage="twice")
