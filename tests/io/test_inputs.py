"""Warnings about the files read as slices."""

from __future__ import annotations

import pytest

from napari_focalfuse.io.inputs import numbering_warnings


@pytest.mark.parametrize(
    ("names", "flagged"),
    [
        (["expected.jpg", "pcb_001.jpg", "pcb_002.jpg", "pcb_010.jpg"], ["expected.jpg"]),
        (["IMG_9.JPG", "img_10.jpg", "IMG_11 copy.JPG", "IMG_12.JPG"], ["IMG_11 copy.JPG"]),
        (["z1.tif", "z2.tif", "z3.png"], ["z3.png"]),
        (["top.png", "middle.png", "bottom.png"], []),  # named, not numbered: nothing to follow
        (["a1.png", "b.png", "c.png", "d2.png"], []),  # no pattern shared by most files
        (["expected.jpg", "pcb_001.jpg"], []),  # two files: either could be the odd one
    ],
)
def test_a_file_named_off_the_numbering_is_named_in_a_warning(names, flagged):
    warnings = numbering_warnings(names)
    assert [w.split(" (slice")[0] for w in warnings] == flagged
    for warning in warnings:
        slice_index = names.index(warning.split(" (slice")[0])
        assert f"(slice {slice_index}) is not numbered like the other slices" in warning
