"""OutputGroup: a command's files appear together or not at all, whatever interrupts it."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import tifffile

from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.io.output_group import OutputGroup
from napari_focalfuse.io.write import tiff_writer


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_all_files_appear_together(tmp_path):
    group = OutputGroup()
    seen_during = []

    def spy(path):
        seen_during.append(_names(tmp_path))  # nothing visible while the others are written
        tifffile.imwrite(path, np.ones((4, 4), np.uint8))

    for name in ("a.tif", "b.tif", "c.tif"):
        group.add(tmp_path / name, spy)
    assert group.commit() == [tmp_path / n for n in ("a.tif", "b.tif", "c.tif")]
    assert all(not any(n in names for n in ("a.tif", "b.tif", "c.tif")) for names in seen_during)
    assert _names(tmp_path) == ["a.tif", "b.tif", "c.tif"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError, FocalFuseError])
def test_a_failure_in_any_output_leaves_every_target_as_it_was(tmp_path, failure, file_state):
    (tmp_path / "b.tif").write_bytes(b"old b")
    before = file_state(tmp_path / "b.tif")

    def broken(path):
        open(path, "wb").write(b"half")
        raise failure("disk full")

    group = OutputGroup(overwrite=True)
    group.add(tmp_path / "a.tif", tiff_writer(np.zeros((4, 4), np.uint8)))
    group.add(tmp_path / "b.tif", tiff_writer(np.zeros((4, 4), np.uint8)))
    group.add(tmp_path / "c.tif", broken)
    with pytest.raises(failure):
        group.commit()
    assert _names(tmp_path) == ["b.tif"] and file_state(tmp_path / "b.tif") == before


def test_existing_targets_are_refused_when_added_and_again_before_renaming(tmp_path):
    (tmp_path / "a.tif").write_bytes(b"mine")
    with pytest.raises(FocalFuseError, match=r"a\.tif already exists"):
        OutputGroup().add(tmp_path / "a.tif", tiff_writer(np.zeros((4, 4), np.uint8)))

    def someone_else_creates_b(path):  # another program writes b.tif meanwhile
        (tmp_path / "b.tif").write_bytes(b"theirs")
        tifffile.imwrite(path, np.zeros((4, 4), np.uint8))

    group = OutputGroup()
    group.add(tmp_path / "n.tif", someone_else_creates_b)
    group.add(tmp_path / "b.tif", tiff_writer(np.zeros((4, 4), np.uint8)))
    with pytest.raises(FocalFuseError, match=r"b\.tif already exists"):
        group.commit()
    assert (tmp_path / "b.tif").read_bytes() == b"theirs"
    assert _names(tmp_path) == ["a.tif", "b.tif"]  # n.tif was not renamed into place either
    with pytest.raises(FocalFuseError, match="two different outputs"):
        group = OutputGroup()
        group.add(tmp_path / "x.tif", tiff_writer(np.zeros((4, 4), np.uint8)))
        group.add(tmp_path / "." / "x.tif", tiff_writer(np.zeros((4, 4), np.uint8)))


def test_a_failed_rename_says_exactly_what_was_written(tmp_path, monkeypatch):
    real = os.replace

    def fail_second(a, b):
        if str(b).endswith("b.tif"):
            raise OSError(13, "Permission denied")
        real(a, b)

    monkeypatch.setattr(os, "replace", fail_second)
    group = OutputGroup()
    for name in ("a.tif", "b.tif", "c.tif"):
        group.add(tmp_path / name, tiff_writer(np.zeros((4, 4), np.uint8)))
    with pytest.raises(FocalFuseError) as info:
        group.commit()
    message = str(info.value)
    assert "Permission denied" in message
    a, b, c = (tmp_path / n for n in ("a.tif", "b.tif", "c.tif"))
    assert message.endswith(f"written: {a}; not written: {b}, {c}.")
    assert _names(tmp_path) == ["a.tif"]  # no temporary left either


def test_sigint_during_renames_is_delivered_after_the_last(tmp_path, monkeypatch, ctrl_c_enabled):
    real = os.replace

    def replace_then_interrupt(a, b):
        real(a, b)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    group = OutputGroup()
    for name in ("a.tif", "b.tif"):
        group.add(tmp_path / name, tiff_writer(np.zeros((4, 4), np.uint8)))
    with pytest.raises(KeyboardInterrupt):
        group.commit()
    assert _names(tmp_path) == ["a.tif", "b.tif"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
