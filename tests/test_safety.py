"""Data safety: no surprise overwrites, no half-written files, no code from weights files."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from napari_focalfuse import fuse, load_weights
from napari_focalfuse.cli import main
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.model import FocalAutoencoder
from napari_focalfuse.core.weights import FORMAT, save_weights


def visible_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


# --- interrupted writes ------------------------------------------------------------------------

_HALF_WRITER = textwrap.dedent(
    """
    import sys, time, numpy as np, tifffile
    from napari_focalfuse.io import write
    real = tifffile.imwrite

    def half_then_hang(path, data, **kw):  # a slow disk: the data is half on disk when killed
        real(path, data, **kw)
        size = open(path, "rb").seek(0, 2)
        with open(path, "r+b") as fh:
            fh.truncate(size // 2)
        print("half-written", flush=True)
        time.sleep(120)

    tifffile.imwrite = half_then_hang
    write.write_image(sys.argv[1], np.full((512, 512), 7, np.uint16), overwrite=True)
    """
)


def test_killed_mid_write_leaves_the_old_file(tmp_path, file_state):
    target = tmp_path / "result.tif"
    tifffile.imwrite(target, np.zeros((64, 64), np.uint16))
    before = file_state(target)
    proc = subprocess.Popen(
        [sys.executable, "-c", _HALF_WRITER, str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "half-written", proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    assert file_state(target) == before
    assert visible_files(tmp_path) == ["result.tif"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "result.tif"]
    assert all(n.startswith(".result.tif.") and n.endswith(".part") for n in leftovers), leftovers


_LOOP_WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from napari_focalfuse.io.write import write_image
    big = np.full((1024, 1024, 3), 7, np.uint16)
    while True:
        write_image(sys.argv[1], big, overwrite=True)
        print("wrote", flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.13])
def test_killed_at_a_random_moment_leaves_a_complete_file(tmp_path, delay):
    target = tmp_path / "big.tif"
    tifffile.imwrite(target, np.zeros((8, 8), np.uint16))
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOOP_WRITER, str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "wrote", proc.stderr.read()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    back = tifffile.imread(target)  # always a whole file: the old one or a complete new one
    assert (back.shape, int(back.max())) in {((8, 8), 0), ((1024, 1024, 3), 7)}
    if back.ndim == 3:
        assert (back == 7).all()
    assert visible_files(tmp_path) == ["big.tif"]


_TRAIN_THEN_CTRL_C = textwrap.dedent(
    """
    import os, signal, sys
    from napari_focalfuse.commands import progress
    from napari_focalfuse.cli import main

    step = progress.TrainBar.__call__
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored

    def ctrl_c_at_step_3(self, epoch, i, steps, loss):  # a real SIGINT, at a known moment
        step(self, epoch, i, steps, loss)
        if epoch == 1 and i == 2:
            os.kill(os.getpid(), signal.SIGINT)

    progress.TrainBar.__call__ = ctrl_c_at_step_3
    sys.exit(main(sys.argv[1:]))
    """
)


def test_ctrl_c_during_training_keeps_previous_weights(tmp_path, rendered_u8, file_state):
    """Deterministic: the child interrupts itself in epoch 2 (one epoch could be saved), so no
    timing race decides the outcome, however loaded the machine is."""
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    weights = tmp_path / "w.pt"
    save_weights(FocalAutoencoder(), weights)
    before = file_state(weights)
    args = ["train", str(src), "-o", str(weights), "--overwrite", "--epochs", "5", "--steps", "4",
            "--patch-size", "32", "--batch-size", "2", "--weights", "random", "--device", "cpu"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", _TRAIN_THEN_CTRL_C, *args], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr and "interrupted" in proc.stderr
    assert file_state(weights) == before
    assert visible_files(tmp_path) == ["s.tif", "w.pt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cancelled_finetune_returns_starting_weights_and_never_writes(
    tmp_path, rendered_u8, file_state
):
    from napari_focalfuse import finetune

    weights = tmp_path / "w.pt"
    start = FocalAutoencoder()
    save_weights(start, weights)
    before = file_state(weights)
    calls = []
    tuned = finetune(
        rendered_u8,
        epochs=2,
        weights=start,
        patch_size=32,
        batch_size=2,
        steps_per_epoch=5,
        device="cpu",
        should_stop=lambda: calls.append(1) or len(calls) > 3,
    )
    assert tuned.stopped_early and tuned.losses == []
    for name, value in start.state_dict().items():  # no finished epoch: the starting weights
        assert torch.equal(value, tuned.model.state_dict()[name])
    assert file_state(weights) == before


def test_interrupted_weights_save_keeps_old_file(tmp_path, monkeypatch, file_state):
    weights = tmp_path / "w.pt"
    save_weights(FocalAutoencoder(), weights)
    before = file_state(weights)
    real_save = torch.save

    def interrupted(obj, fh, *a, **k):  # a part of the file is on disk when Ctrl-C comes
        real_save(obj, fh, *a, **k)
        fh.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_weights(FocalAutoencoder(), weights, overwrite=True)
    assert file_state(weights) == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]


# --- weights files -----------------------------------------------------------------------------


class _Payload:
    """Pickles to a call of exec: loading it with plain pickle would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def test_weights_carrying_code_are_refused_and_not_run(tmp_path, capsys, rendered_u8):
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "config": {}, "state_dict": _Payload(marker)}, evil)
    with pytest.raises(
        FocalFuseError, match=r"evil\.pt is not a readable .* contains code, which is refused"
    ):
        load_weights(evil)
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    rc = main(["fuse", str(src), "-o", str(tmp_path / "o.tif"), "--weights", str(evil)])
    err = capsys.readouterr().err
    assert rc == 2 and "evil.pt is not a readable napari-focalfuse weights file" in err
    assert "Traceback" not in err
    assert not marker.exists()
    assert not (tmp_path / "o.tif").exists()


def test_corrupt_and_foreign_weights(tmp_path):
    good = tmp_path / "good.pt"
    save_weights(FocalAutoencoder(), good)
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:2000])
    (tmp_path / "noise.pt").write_bytes(np.random.default_rng(0).bytes(3000))
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    payload = torch.load(good, weights_only=True)
    payload["state_dict"] = {k: v[..., :1] for k, v in payload["state_dict"].items()}
    torch.save(payload, tmp_path / "shape.pt")
    for name, pattern in [
        ("cut.pt", "not a readable"),
        ("noise.pt", "not a readable"),
        ("foreign.pt", "is not a napari-focalfuse weights file"),
        ("shape.pt", "incompatible model shape"),
    ]:
        with pytest.raises(FocalFuseError, match=pattern):
            load_weights(tmp_path / name)
    load_weights(good)


# --- numerically hostile stacks ----------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_stacks_are_refused_by_api_and_cli(tmp_path, capsys, bad):
    stack = np.random.default_rng(0).random((4, 32, 40), dtype=np.float32)
    stack[2, 5, 7] = bad
    for method, weights in (("laplacian", None), ("deep", "random")):
        with pytest.raises(FocalFuseError, match="NaN or infinite"):
            fuse(stack, method, weights)
    src = tmp_path / "nan.tif"
    tifffile.imwrite(src, stack, photometric="minisblack")
    rc = main(["fuse", str(src), "-o", str(tmp_path / "o.tif"), "--method", "laplacian", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "NaN or infinite" in err and "Traceback" not in err
    assert visible_files(tmp_path) == ["nan.tif"]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize(
    ("method", "soften"), [("laplacian", True), ("laplacian", False), ("deep", True)]
)
def test_flat_stack_fuses_to_the_constant(dtype, method, soften):
    value = {np.uint8: 77, np.uint16: 4321, np.float32: 0.3}[dtype]
    stack = np.full((4, 32, 40, 3), value, dtype)
    result = fuse(stack, method, "random" if method == "deep" else None, soften=soften)
    assert result.fused.dtype == dtype
    np.testing.assert_array_equal(result.fused, np.full((32, 40, 3), value, dtype))
    assert result.mask.shape == (32, 40) and 0 <= result.mask.min() and result.mask.max() < 4


def test_stack_too_large_for_memory_is_refused_by_cli(tmp_path, capsys, monkeypatch, rendered_u8):
    from napari_focalfuse.io import limits

    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    monkeypatch.setattr(limits, "available_memory", lambda: 50_000)
    rc = main(["fuse", str(src), "-o", str(tmp_path / "o.tif"), "--method", "laplacian"])
    err = capsys.readouterr().err
    assert rc == 2 and "need about" in err and "memory is available" in err
    assert visible_files(tmp_path) == ["s.tif"]


def test_memory_check_knows_the_method_and_scale(tmp_path, capsys, monkeypatch, rendered_u8):
    """96x128 RGB: ~1.9 MB for the Laplacian, ~6.2 MB deep, ~3.0 MB deep at --scale 2."""
    from napari_focalfuse.io import limits

    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    monkeypatch.setattr(limits, "available_memory", lambda: 3_200_000)
    common = ["fuse", str(src), "--weights", "random", "-q"]
    assert main([*common, "-o", str(tmp_path / "lap.tif"), "--method", "laplacian"]) == 0
    assert main([*common, "-o", str(tmp_path / "deep.tif")]) == 2
    err = capsys.readouterr().err
    assert "to fuse (deep)" in err and "use --scale 2" in err
    assert not (tmp_path / "deep.tif").exists()
    assert main([*common, "-o", str(tmp_path / "deep2.tif"), "--scale", "2"]) == 0
