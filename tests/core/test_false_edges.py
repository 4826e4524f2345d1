"""The false-edge share: edges a fusion has that no slice has nearby."""

from __future__ import annotations

import numpy as np

from napari_focalfuse.core.false_edges import StrongestGradient
from napari_focalfuse.core.metrics import false_edge_share

from ..held_out import motorcycle


def test_patches_from_the_slices_invent_no_edge_and_a_brightness_seam_does():
    sharp = motorcycle(40, 300, 96, 128, grey=True)
    brighter = sharp + 0.15  # the same content, exposed differently
    left = np.arange(128) < 64
    same_content = np.where(left[None, :], sharp, sharp)
    seam = np.where(left[None, :], sharp, brighter)
    strongest = StrongestGradient()
    for grey in (sharp, brighter):
        strongest.add(grey)
    assert strongest.share(same_content) == 0.0
    assert strongest.share(seam) > 5e-4  # the step along the seam is in neither slice
    assert false_edge_share(seam, [sharp, brighter]) == strongest.share(seam)
