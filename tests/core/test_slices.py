"""Slices kept for the later passes are prepared (warped) ahead of use, each exactly once."""

from __future__ import annotations

import threading

import numpy as np

from napari_focalfuse.core.slices import SliceSource


def test_kept_slices_are_prepared_ahead_once_and_as_asked():
    stack = np.arange(5 * 4 * 6, dtype=np.uint8).reshape(5, 4, 6)
    calls: list[tuple[int, str]] = []

    def prepare(z: int, values: np.ndarray) -> np.ndarray:
        calls.append((z, threading.current_thread().name))
        return values.astype(np.int32) * 10

    with SliceSource(stack) as source:
        for z in range(5):  # first pass: kept as read
            source.get(z, ahead=z + 1)
        source.set_prepare(prepare)
        for _ in range(2):  # two passes after the alignment is known
            for z in range(5):
                np.testing.assert_array_equal(source.get(z, ahead=z + 1), stack[z].astype(np.int32) * 10)
    assert sorted(z for z, _ in calls) == [0, 1, 2, 3, 4]  # once each
    assert sum(name.startswith("focalfuse-read") for _, name in calls) >= 3  # ahead, off the caller


def test_a_new_prepare_discards_work_done_with_the_old_one():
    stack = np.ones((3, 2, 2), np.uint8)
    with SliceSource(stack) as source:
        for z in range(3):
            source.get(z)
        source.set_prepare(lambda z, v: v * 2)
        source.get(0, ahead=1)  # starts preparing slice 1 the old way
        source.set_prepare(lambda z, v: v * 3)
        assert int(source.get(1)[0, 0]) == 3
