"""Stage 5: the agreement average around the per-pixel pick on clean stacks, around the
multi-band blend where the pick would show seams."""

from __future__ import annotations

import numpy as np

import napari_focalfuse as ff
from napari_focalfuse.core import fusion
from napari_focalfuse.core.blending import agreement_blend
from napari_focalfuse.core.metrics import false_edge_share, mae
from napari_focalfuse.core.synthetic import render_focal_stack

from ..held_out import motorcycle
from .conftest import two_focus_pair


def test_clean_rendered_stack_is_softened_around_the_pick(monkeypatch):
    """A nearer block over a textured plane, slices that differ only in focus: the pick invents
    no edge and keeps the block's edge from its sharp slice alone, closer to the truth than the
    blend, which mixes the neighbouring slices' blurred rim in there."""
    image = motorcycle(200, 350, 96, 160)
    depth = np.full((96, 160), 0.15, np.float32)
    depth[24:72, 40:120] = 0.85
    r = render_focal_stack(image, depth, n_slices=8, max_blur=8, noise=0.005, seed=1, fill_behind=True)
    res = ff.fuse(r.stack, align=False)
    assert res.reference == "pick"
    monkeypatch.setattr(fusion, "PICK_MAX_FALSE_EDGES", -1.0)  # the blend, always
    blended = ff.fuse(r.stack, align=False)
    assert blended.reference == "multi-band"
    assert mae(res.fused, r.truth) < 0.985 * mae(blended.fused, r.truth)
    np.testing.assert_array_equal(res.mask, blended.mask)  # the map is the cleaned decision


def test_slices_exposed_differently_are_softened_around_the_blend():
    """The second slice is brighter (exposure flicker, like the defocused colour shifts of
    real captures): a pick draws that step along its seam, the blend does not."""
    (a, b), _ = two_focus_pair()
    stack = np.stack([a, b + 0.12]).astype(np.float32)
    res = ff.fuse(stack, align=False)
    assert res.reference == "multi-band"
    pick = ff.fuse(stack, align=False, soften=False)
    assert pick.reference is None
    seams_pick = false_edge_share(pick.fused, list(stack))
    assert seams_pick > 1e-3
    assert false_edge_share(res.fused, list(stack)) < 0.1 * seams_pick


def test_relative_agreement_keeps_the_closest_slice_where_none_matches():
    """Around a pick no weight goes to the reference, so where no slice matches it within the
    noise (a window across a seam) the closest slice still wins: no zeros, no NaN."""
    h, w = 32, 48
    slices = [np.full((h, w), v, np.float32) for v in (0.2, 0.9)]
    reference = slices[1].copy()
    reference[:, 24:] = 0.45  # matches neither; closer to 0.2
    out = agreement_blend(lambda z: slices[z], 2, reference, lambda v: v * 1.0, 0.01, relative=True)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, :20], 0.9, atol=1e-6)
    np.testing.assert_allclose(out[:, 28:], 0.2, atol=1e-6)
