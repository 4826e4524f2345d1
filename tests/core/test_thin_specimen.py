"""The thin-specimen renderer: focus where it is asked, fringes away from it, numpy only."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from napari_focalfuse.core.thin_specimen import render_thin_stack, smear


def _obj() -> np.ndarray:
    return smear((96, 96), cells=14, radius=8.0, seed=0)


def test_in_focus_slice_is_the_requested_one():
    """The slice closest to the noiseless in-focus truth, and the one most like the object's
    absorption, is ``focus_index`` — whatever index is asked for."""
    obj = _obj()
    for focus in (2, 5):
        r = render_thin_stack(obj, n_slices=8, focus_index=focus, noise=0.005)
        errors = [np.abs(s - r.truth).mean() for s in r.stack]
        assert int(np.argmin(errors)) == focus, errors
        assert (r.true_index == focus).all()
        assert r.truth.std() > 0.01  # absorption shows in focus


def test_phase_object_shows_fringes_out_of_focus_only():
    """A pure-phase specimen is almost invisible in focus and shows strong bright/dark fringes
    out of focus: what fools contrast measures."""
    r = render_thin_stack(_obj(), n_slices=9, focus_index=4, absorption=0.0, noise=0.0)
    std = r.stack.std(axis=(1, 2))
    assert std[4] < 0.25 * std[1] and std[4] < 0.25 * std[7], std
    assert int(np.argmin(std)) == 4
    assert r.stack[1].max() > r.stack[4].max() + 0.05  # bright rims above the background


def test_tilted_specimen_moves_focus_across_the_frame():
    r = render_thin_stack(_obj(), n_slices=8, focus_index=3.5, tilt=(0.0, 3.0), noise=0.0)
    assert r.true_index[:, 0].mean() < 3 and r.true_index[:, -1].mean() > 4
    left, right = r.true_index[0, 0], r.true_index[0, -1]
    # the left edge is sharpest in its own slice, the right edge in its own
    err = lambda z, cols: np.abs(r.stack[z][:, cols] - r.truth[:, cols]).mean()  # noqa: E731
    assert err(left, slice(0, 12)) < err(right, slice(0, 12))
    assert err(right, slice(-12, None)) < err(left, slice(-12, None))


def test_renderer_does_not_import_torch():
    code = "import sys, napari_focalfuse.core.thin_specimen as t; t.smear((32, 32)); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
