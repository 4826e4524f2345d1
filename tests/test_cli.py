"""The napari-focalfuse command line, run in-process (and once as a real process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_focalfuse.cli import main
from napari_focalfuse.core.metrics import map_accuracy


def cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clean_error(rc: int, err: str, pattern: str) -> None:
    """Exit status 2, one error line naming the problem, no traceback."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("napari-focalfuse: error: ")]
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]


def _subparser(command: str):
    import argparse

    from napari_focalfuse.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


@pytest.mark.parametrize("command", ["fuse", "align", "train", "demo"])
def test_help_explains_every_option(capsys, command):
    """Every option the parser knows (none skipped) is in --help with a real explanation."""
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    options = [a for a in _subparser(command)._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= {"fuse": 23, "align": 8, "train": 14, "demo": 6}[command]
    if command == "fuse":
        names = {s for a in options for s in a.option_strings}
        assert {"--align", "--align-model", "--keep-size", "--aligned-stack"} <= names
    for action in options:
        assert action.help and len(action.help.split()) >= 3, action.option_strings
        longest = max(action.option_strings, key=len)
        assert re.search(rf"^\s+(-\w+( \S+)?, )?{re.escape(longest)}\b", text, re.M), longest
        first_words = " ".join(action.help.split()[:3])
        assert first_words in " ".join(text.split()), (longest, first_words)


def test_main_help_and_usage_errors(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("napari-focalfuse ")
    assert main([]) == 2
    assert main(["fuse", "x.tif"]) == 2  # -o missing
    err = capsys.readouterr().err
    assert "the following arguments are required: -o/--output" in err and "Traceback" not in err


@pytest.mark.parametrize("method", ["laplacian", "deep"])
def test_fuse_end_to_end_uint8(tmp_path, capsys, rendered, rendered_u8, method):
    src = tmp_path / "stack.ome.tif"
    tifffile.imwrite(
        src,
        rendered_u8,
        ome=True,
        photometric="rgb",
        metadata={"axes": "ZYXS", "PhysicalSizeZ": 2.5},
    )
    out, mask, height = tmp_path / "fused.tif", tmp_path / "mask.tif", tmp_path / "height.tif"
    extra = ["--weights", "random"] if method == "deep" else []
    rc, _, err = cli(
        capsys,
        "fuse",
        src,
        "-o",
        out,
        "--mask",
        mask,
        "--height",
        height,
        "--method",
        method,
        *extra,
    )
    assert rc == 0, err
    assert "reading 5 slices of stack.ome.tif" in err
    # one step per slice and stage: align, measure, blend (or pick), soften (deep's default)
    steps = 20 if method == "deep" else 15
    totals = set(re.findall(rf"fusing stack \({method}\):.*?\| *\d+/(\d+) ", err))  # tqdm
    assert totals == {str(steps)}, err  # the bar's total, from its first frame to its last
    fused = tifffile.imread(out)
    assert fused.dtype == np.uint8 and fused.shape == rendered_u8.shape[1:]
    m = tifffile.imread(mask)
    assert m.dtype == np.uint8 and m.shape == (96, 128)
    assert 0 <= m.min() and m.max() < rendered_u8.shape[0]
    # measured: deep 0.84 exact and 1.0 within one slice, the pixel-wise Laplacian baseline
    # 0.43 / 0.83; a constant middle slice would score 0.2 / 0.59 and a random map 0.2 / 0.52
    exact, near = (0.65, 0.95) if method == "deep" else (0.3, 0.68)
    assert map_accuracy(m, rendered.true_index, 0) > exact
    assert map_accuracy(m, rendered.true_index, 1) > near
    h = tifffile.imread(height)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, m.astype(np.float32) * 2.5)  # z-step from the OME metadata
    # the fused image is close to the all-in-focus truth
    assert np.abs(fused / 255.0 - rendered.truth).mean() < 0.02


def test_fuse_uint16_file_list_keeps_16_bit_and_z_step_option(tmp_path, capsys, rendered_u16):
    grey = rendered_u16[..., 1]
    files = []
    for z, img in enumerate(grey):
        files.append(tmp_path / f"slice_{z + 1}.tif")
        tifffile.imwrite(files[-1], img)
    out, height = tmp_path / "out.tif", tmp_path / "h.tif"
    rc, _, err = cli(
        capsys,
        "fuse",
        *files,
        "-o",
        out,
        "--height",
        height,
        "--z-step",
        "0.5",
        "--method",
        "laplacian",
        "--no-soften",
        "-q",
    )
    assert rc == 0, err
    fused = tifffile.imread(out)
    assert fused.dtype == np.uint16
    h = tifffile.imread(height)
    assert set(np.unique(h)) <= {0.0, 0.5, 1.0, 1.5, 2.0}
    # --no-soften: every pixel is exactly that pixel of the slice the height map names
    idx = (h / 0.5).round().astype(int)
    np.testing.assert_array_equal(fused, np.take_along_axis(grey, idx[None], 0)[0])


def test_fuse_png_output_and_folder_input(tmp_path, capsys, rendered_u8):
    from PIL import Image

    folder = tmp_path / "shots"
    folder.mkdir()
    for z, img in enumerate(rendered_u8):
        Image.fromarray(img).save(folder / f"img_{z}.jpg", quality=95)
    rc, _, err = cli(capsys, "fuse", folder, "-o", tmp_path / "f.png", "--method", "laplacian")
    assert rc == 0, err
    back = np.asarray(Image.open(tmp_path / "f.png"))
    assert back.shape == (96, 128, 3) and back.dtype == np.uint8


def test_bad_inputs_exit_2_and_change_nothing(tmp_path, capsys, bad_input, file_state):
    inputs, pattern = bad_input
    out = tmp_path / "precious.tif"
    out.write_bytes(b"previous result")
    before = file_state(out)
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    rc, _, err = cli(capsys, "fuse", *inputs, "-o", out, "--method", "laplacian", "--overwrite")
    assert_clean_error(rc, err, pattern)
    assert file_state(out) == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == listing


def test_outputs_are_checked_before_any_work(
    tmp_path, capsys, monkeypatch, rendered_u8, file_state
):
    import napari_focalfuse.core.fusion as fusion

    def must_not_run(*args, **kwargs):
        raise AssertionError("fuse ran although an output was refused")

    monkeypatch.setattr(fusion, "fuse", must_not_run)
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    existing = tmp_path / "mask.tif"
    existing.write_bytes(b"old mask")
    before = file_state(existing)

    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "new.tif", "--mask", existing)
    assert_clean_error(rc, err, r"mask\.tif already exists; pass --overwrite")
    rc, _, err = cli(
        capsys, "fuse", src, "-o", tmp_path / "new.tif", "--height", tmp_path / "h.tif"
    )
    assert_clean_error(rc, err, r"s has no z-step in its metadata; pass --z-step")
    rc, _, err = cli(capsys, "fuse", src, "-o", src, "--overwrite")
    assert_clean_error(rc, err, r"output .*s\.tif is one of the inputs")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "a.tif", "--mask", tmp_path / "a.tif")
    assert_clean_error(rc, err, r"mask and the output are the same file")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "a.jpg")
    assert_clean_error(rc, err, r"a\.jpg must end in \.tif or \.tiff or \.png")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "nodir" / "a.tif")
    assert_clean_error(rc, err, r"Output folder does not exist")
    assert file_state(existing) == before
    assert not (tmp_path / "new.tif").exists() and not (tmp_path / "a.tif").exists()


def test_bad_weights_and_selection_errors(tmp_path, capsys, rendered_u8):
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    (tmp_path / "junk.pt").write_bytes(b"not torch at all")
    rc, _, err = cli(
        capsys, "fuse", src, "-o", tmp_path / "o.tif", "--weights", tmp_path / "junk.pt"
    )
    assert_clean_error(rc, err, r"junk\.pt is not a readable napari-focalfuse weights file")
    rc, _, err = cli(
        capsys, "fuse", src, "-o", tmp_path / "o.tif", "--weights", tmp_path / "none.pt"
    )
    assert_clean_error(rc, err, r"Weights file not found: .*none\.pt")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "o.tif", "--time", "1")
    assert_clean_error(rc, err, r"s\.tif has no time axis")
    assert not (tmp_path / "o.tif").exists()


def test_train_writes_loadable_weights(tmp_path, capsys, rendered_u8, file_state):
    from PIL import Image

    import napari_focalfuse as ff
    from napari_focalfuse import load_weights
    from napari_focalfuse.io.preview import colour_map

    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    out = tmp_path / "tuned.pt"
    args = [
        "train",
        src,
        "-o",
        out,
        "--epochs",
        "1",
        "--steps",
        "2",
        "--patch-size",
        "32",
        "--batch-size",
        "2",
        "--weights",
        "random",
        "--device",
        "cpu",
        "--focus-weight",
        "0.5",
    ]
    picture = tmp_path / "maps.png"
    rc, _, err = cli(capsys, *args, "--compare", picture)
    assert rc == 0, err
    assert "loss per epoch" in err
    share = re.search(r"decision map: (\d+\.\d)% of pixels now come from another slice than with the starting", err)
    assert share
    tuned = load_weights(out)
    # before | after | changed: the maps of the starting and the tuned weights, side by side
    before, after = (ff.fuse(rendered_u8, weights=w, align=False).mask for w in ("random", tuned))
    shown = np.asarray(Image.open(picture))
    w = rendered_u8.shape[2]
    assert shown.shape == (rendered_u8.shape[1], 3 * w + 16, 3)
    np.testing.assert_array_equal(shown[:, :w], colour_map(before, len(rendered_u8)))
    np.testing.assert_array_equal(shown[:, w + 8 : 2 * w + 8], colour_map(after, len(rendered_u8)))
    white = shown[:, 2 * w + 16 :, 0] == 255
    np.testing.assert_array_equal(white, before != after)
    assert float(share.group(1)) == pytest.approx(100 * white.mean(), abs=0.06)
    before = file_state(out)
    rc, _, err = cli(capsys, *args)
    assert_clean_error(rc, err, r"tuned\.pt already exists; pass --overwrite")
    assert file_state(out) == before
    rc, _, err = cli(capsys, *args[:3], "weights.txt")
    assert_clean_error(rc, err, r"weights\.txt must end in \.pt")


@pytest.mark.slow
def test_demo_writes_results_and_prints_the_ratio(tmp_path, capsys):
    from PIL import Image

    from napari_focalfuse.core.metrics import mae
    from napari_focalfuse.io.preview import slice_colours

    rc, out, err = cli(capsys, "demo", "-o", tmp_path / "demo", "-q")
    assert rc == 0, err
    demo = tmp_path / "demo"
    fused, truth = tifffile.imread(demo / "fused.tif"), tifffile.imread(demo / "truth.tif")
    decision = tifffile.imread(demo / "decision_map.tif")
    assert decision.max() <= 5 and len(np.unique(decision)) >= 4
    row = r"^(deep|laplacian|oracle pick)\s+(0\.\d+)\s+\d+\.\d+$"
    printed = {m.group(1): float(m.group(2)) for m in re.finditer(row, out, re.M)}
    assert set(printed) == {"deep", "laplacian", "oracle pick"}, out
    assert printed["deep"] == pytest.approx(mae(fused, truth), abs=6e-5)  # the file it wrote
    # measured 0.58 with the shipped weights (the paper: 0.46); the baseline is 1 by definition
    ratio = float(re.search(r"deep/laplacian MAE ratio: ([0-9.]+)", out).group(1))
    assert ratio == pytest.approx(printed["deep"] / printed["laplacian"], abs=0.01)
    assert ratio < 0.75, out
    assert printed["deep"] < printed["oracle pick"]  # blending beats any pure pick here
    # the figure: large enough to read, and the map drawn in napari's decision-map colours
    figure = np.asarray(Image.open(demo / "comparison.png").convert("RGB"))
    assert figure.shape[0] >= 800 and figure.shape[1] >= 1400
    colours = np.round(slice_colours(6) * 255).astype(int)
    pixels = figure.reshape(-1, 3).astype(int)
    for z in np.unique(decision):
        assert (np.abs(pixels - colours[z]).max(1) <= 2).sum() > 500, z
    rc, _, err = cli(capsys, "demo", "-o", demo, "-q")
    assert_clean_error(rc, err, r"fused\.tif already exists")


def test_real_process_error_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_focalfuse.cli",
            "fuse",
            str(tmp_path / "missing.tif"),
            "-o",
            str(tmp_path / "o.tif"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"napari-focalfuse: error: No such file or folder: {tmp_path / 'missing.tif'}"
    ]


def test_cli_imports_neither_qt_nor_napari_nor_torch():
    code = (
        "import sys, napari_focalfuse.cli as c; c.build_parser(); "
        "print(sorted(m for m in ('torch', 'napari', 'PyQt5', 'PyQt6', 'qtpy') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_quiet_runs_show_no_bar_but_keep_their_messages():
    code = (
        "import sys\n"
        "from napari_focalfuse.commands.progress import FuseBar, bar\n"
        "b = FuseBar('fusing', quiet=True); b(0, 10); b(4, 10); b.close()\n"
        "messages = bar(None, 'stacks', 'stack', quiet=True)\n"
        "messages.update(1); messages.write('a.tif: read', file=sys.stderr)\n"
        "print(b.bar.n, b.bar.total, 'tqdm' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["4", "10", "False"], proc.stderr
    assert proc.stderr == "a.tif: read\n"


@pytest.mark.parametrize(
    ("raised", "status", "pattern"),
    [
        (KeyboardInterrupt(), 130, r"interrupted; no partial output was written"),
        (
            OSError(28, "No space left on device", "/data/out.tif"),
            2,
            r"^napari-focalfuse: error: No space left on device: /data/out\.tif$",
        ),
        (RuntimeError("boom"), 1, r"^napari-focalfuse: error: unexpected RuntimeError: boom"),
    ],
)
def test_interrupts_and_failures_end_in_one_line(
    tmp_path, capsys, monkeypatch, rendered_u8, raised, status, pattern
):
    import napari_focalfuse.core.fusion as fusion

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(fusion, "fuse", fail)
    monkeypatch.delenv("NAPARI_FOCALFUSE_DEBUG", raising=False)
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "o.tif", "-q")
    assert rc == status
    assert "Traceback" not in err and re.search(pattern, err.strip(), re.M), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tif"]


def test_scheduler_without_batch_is_refused(tmp_path, capsys, rendered_u8):
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "f.tif", "--workers", "2")
    assert rc == 2 and "only apply with --batch" in err
    assert not (tmp_path / "f.tif").exists()


def test_lists_the_files_it_read_and_warns_about_duplicates(tmp_path, capsys, rendered_u8):
    from PIL import Image

    folder = tmp_path / "shots"
    folder.mkdir()
    for z, img in enumerate(rendered_u8):
        Image.fromarray(img).save(folder / f"shot_{z + 1}.png")
    Image.fromarray(rendered_u8[2]).save(folder / "expected.png")  # another tool's output
    rc, _, err = cli(capsys, "fuse", folder, "-o", tmp_path / "f.tif", "--method", "laplacian", "-q")
    assert rc == 0, err
    names = ", ".join(["expected.png"] + [f"shot_{k}.png" for k in range(1, 6)])
    assert f"reading 6 slices: {names}" in err  # in the order used: the stray file is visible
    assert "warning: shot_3.png (slice 3) has the same content as expected.png (slice 0)." in err
    assert "warning: expected.png (slice 0) is not numbered like the other slices (shot_1.png" in err

    files = [folder / "shot_1.png", folder / "shot_2.png", folder / "shot_1.png"]
    rc, _, err = cli(capsys, "fuse", *files, "-o", tmp_path / "g.tif", "--method", "laplacian", "-q")
    assert rc == 0, err
    assert "reading 3 slices: shot_1.png, shot_2.png, shot_1.png" in err
    assert "warning: shot_1.png is given twice (slices 0 and 2)" in err
    rc, _, err = cli(capsys, "fuse", *files[:2], "-o", tmp_path / "h.tif", "--method", "laplacian")
    assert "warning" not in err


def test_threads_limits_torch_and_the_tiff_decoders(tmp_path, capsys, monkeypatch, rendered_u8):
    import torch

    import napari_focalfuse.core.fusion as fusion

    seen = {}
    real_fuse, real_asarray = fusion.fuse, tifffile.TiffFile.asarray

    def spy_fuse(stack, *args, **kwargs):
        seen["torch"] = torch.get_num_threads()
        return real_fuse(stack, *args, **kwargs)

    def spy_asarray(self, *args, **kwargs):
        seen.setdefault("maxworkers", kwargs.get("maxworkers"))
        return real_asarray(self, *args, **kwargs)

    monkeypatch.setattr(fusion, "fuse", spy_fuse)
    monkeypatch.setattr(tifffile.TiffFile, "asarray", spy_asarray)
    src = tmp_path / "z.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb", compression="zlib")  # decoded by pages
    before = torch.get_num_threads()
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "o.tif", "--threads", "1", "-q",
                     "--weights", "random")  # fmt: skip
    assert rc == 0, err
    assert seen == {"torch": 1, "maxworkers": 1}
    assert torch.get_num_threads() == before  # restored for whoever runs next in this process


def test_every_output_or_none_when_interrupted_while_writing(tmp_path, capsys, monkeypatch, rendered_u8):
    """Ctrl-C while the mask is being written: the fused image (already complete) must not
    appear alone, and no temporary file may stay behind."""
    from napari_focalfuse.io import write

    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    real = write.decision_map_writer

    def interrupted_mask(mask, n, **kwargs):
        def write_then_interrupt(path):
            real(mask, n, **kwargs)(path)
            raise KeyboardInterrupt

        return write_then_interrupt

    monkeypatch.setattr(write, "decision_map_writer", interrupted_mask)
    args = ["fuse", src, "-o", tmp_path / "f.tif", "--mask", tmp_path / "m.tif",
            "--method", "laplacian", "-q"]  # fmt: skip
    rc, _, err = cli(capsys, *args)
    assert rc == 130 and "no partial output was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tif"]


def test_ctrl_c_during_the_renames_is_held_until_all_outputs_are_in_place(
    tmp_path, capsys, monkeypatch, rendered_u8, ctrl_c_enabled
):
    import os
    import signal

    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    real_replace = os.replace
    renamed = []

    def replace_and_interrupt(a, b):  # Ctrl-C arrives right after the first rename
        real_replace(a, b)
        renamed.append(os.path.basename(b))
        if len(renamed) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_and_interrupt)
    outputs = ["-o", tmp_path / "f.tif", "--mask", tmp_path / "m.tif", "--height", tmp_path / "h.tif"]
    rc, _, err = cli(capsys, "fuse", src, *outputs, "--z-step", "2", "--method", "laplacian", "-q")
    assert rc == 130, err  # the interrupt was not lost, only held back
    assert renamed == ["f.tif", "m.tif", "h.tif"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif", "h.tif", "m.tif", "s.tif"]
    assert tifffile.imread(tmp_path / "m.tif").shape == rendered_u8.shape[1:3]


def test_dir_lists_the_public_api():
    import napari_focalfuse as ff

    names = dir(ff)
    for name in ff.__all__:
        assert name in names
        assert getattr(ff, name) is not None
    assert {"fuse", "finetune", "read_stack", "load_weights", "FocalFuseError", "Cancelled"} <= set(names)


# ------------------------------------------------------------------ alignment (issue 8)


@pytest.fixture
def moving_tif(tmp_path, moving_u8):
    """The moving stack as an RGB multi-page TIFF in its own folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    tifffile.imwrite(folder / "moving.tif", moving_u8, photometric="rgb")
    return folder / "moving.tif"


def _fuse(capsys, src, out, *extra: str) -> tuple[int, str]:
    rc, _, err = cli(capsys, "fuse", src, "-o", out, "--method", "laplacian", "-q", *extra)
    return rc, err


def test_align_off_on_auto_and_keep_size(tmp_path, capsys, moving_u8, moving_tif):
    """Off keeps the frame, on crops to what every slice covers, --keep-size keeps the frame."""
    shapes, fused = {}, {}
    for name, extra in {
        "off": ["--align", "off"],
        "on": ["--align", "on"],
        "auto": [],  # the default: the slices clearly moved, so it aligns
        "kept": ["--align", "on", "--keep-size", "--align-model", "translation"],
    }.items():
        rc, err = _fuse(capsys, moving_tif, tmp_path / f"{name}.tif", *extra)
        assert rc == 0, err
        fused[name] = tifffile.imread(tmp_path / f"{name}.tif")
        shapes[name] = fused[name].shape
        if name == "off":
            assert "Alignment off: slices used as they are." in err
        else:
            assert re.search(r"^Aligned: largest shift [3-9]\.\d px, scale ", err, re.M), err
    assert shapes["off"] == shapes["kept"] == moving_u8.shape[1:]
    h, w = shapes["on"][:2]
    assert 80 < h < 96 and 110 < w < 128 and shapes["on"][2] == 3
    assert shapes["auto"] == shapes["on"]
    np.testing.assert_array_equal(fused["auto"], fused["on"])
    assert not np.array_equal(fused["kept"], fused["off"])  # same size, but aligned


def test_still_stack_is_reported_as_not_moving(tmp_path, capsys, rendered_u8):
    src = tmp_path / "still.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    rc, err = _fuse(capsys, src, tmp_path / "o.tif")
    assert rc == 0 and "Slices did not move: not aligned." in err
    assert tifffile.imread(tmp_path / "o.tif").shape == rendered_u8.shape[1:]


def test_aligned_stack_round_trips_and_is_never_overwritten(
    tmp_path, capsys, moving_u8, moving_tif, file_state
):
    import napari_focalfuse as ff

    out, mask, aligned = tmp_path / "f.tif", tmp_path / "m.tif", tmp_path / "aligned.tif"
    rc, err = _fuse(capsys, moving_tif, out, "--mask", mask, "--aligned-stack", aligned, "--align", "on")
    assert rc == 0, err
    assert str(aligned) in err.splitlines()[-1]  # written with the other outputs
    fused, written = tifffile.imread(out), tifffile.imread(aligned)
    assert written.dtype == np.uint8
    assert written.shape == (len(moving_u8), *fused.shape)  # (Z, Y, X, C): the fused geometry
    view = ff.AlignedStack(moving_u8, ff.align_stack(moving_u8))
    for z in range(len(moving_u8)):
        np.testing.assert_array_equal(written[z], view[z])

    before = {p: file_state(p) for p in (out, mask, aligned)}
    rc, err = _fuse(capsys, moving_tif, tmp_path / "new.tif", "--aligned-stack", aligned)
    assert_clean_error(rc, err, r"aligned\.tif already exists; pass --overwrite")
    assert not (tmp_path / "new.tif").exists()  # refused before any work
    assert {p: file_state(p) for p in (out, mask, aligned)} == before
    rc, err = _fuse(capsys, moving_tif, out, "--aligned-stack", aligned, "--overwrite", "--align", "off")
    assert rc == 0, err
    assert tifffile.imread(aligned).shape == moving_u8.shape  # not aligned: the input itself
    np.testing.assert_array_equal(tifffile.imread(aligned), moving_u8)


def test_bare_aligned_stack_is_named_after_the_output_and_checked(tmp_path, capsys, moving_tif):
    rc, err = _fuse(capsys, moving_tif, tmp_path / "result.png", "--aligned-stack")
    assert rc == 0, err
    assert tifffile.imread(tmp_path / "result_aligned.tif").ndim == 4
    rc, err = _fuse(capsys, moving_tif, tmp_path / "x.tif", "--aligned-stack", tmp_path / "a.png")
    assert_clean_error(rc, err, r"aligned stack a\.png must end in \.tif or \.tiff")
    rc, err = _fuse(capsys, moving_tif, tmp_path / "y.tif", "--aligned-stack", tmp_path / "y.tif")
    assert_clean_error(rc, err, r"aligned stack and the output are the same file")


def test_alignment_warnings_are_lines_not_python_warnings(tmp_path, capsys, recwarn, moving_u8):
    blank = moving_u8.copy()
    blank[4] = 0  # nothing to register
    src = tmp_path / "blank.tif"
    tifffile.imwrite(src, blank, photometric="rgb")
    rc, err = _fuse(capsys, src, tmp_path / "o.tif", "--align", "on")
    assert rc == 0, err
    line = "napari-focalfuse: warning: Slice 4 was not aligned: it has no texture to register"
    assert sum(line in x for x in err.splitlines()) == 1, err
    assert "AlignmentWarning" not in err and "Traceback" not in err
    assert not [w for w in recwarn if "not aligned" in str(w.message)]  # not also warned


def test_align_command_writes_the_aligned_stack_only(tmp_path, capsys, moving_u8, moving_tif, file_state):
    import napari_focalfuse as ff

    out = tmp_path / "aligned.tif"
    rc, _, err = cli(capsys, "align", moving_tif, "-o", out, "-q")
    assert rc == 0, err
    assert "Aligned: largest shift" in err and f"-> {out}" in err
    view = ff.AlignedStack(moving_u8, ff.align_stack(moving_u8))
    np.testing.assert_array_equal(tifffile.imread(out), np.asarray(view))
    before = file_state(out)
    rc, _, err = cli(capsys, "align", moving_tif, "-o", out, "--keep-size")
    assert_clean_error(rc, err, r"already exists")
    assert file_state(out) == before
    rc, _, err = cli(capsys, "align", moving_tif, "-o", out, "--keep-size", "--overwrite", "-q")
    assert rc == 0 and tifffile.imread(out).shape == moving_u8.shape


def test_batch_passes_the_align_options_to_every_stack(tmp_path, capsys, moving_u8, moving_tif):
    import shutil

    shutil.copy(moving_tif, moving_tif.parent / "again.tif")
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "fuse", "--batch", moving_tif.parent, "-o", out, "--method",
                     "laplacian", "--align", "on", "--aligned-stack", "-q")  # fmt: skip
    assert rc == 0, err
    assert err.count("Aligned: largest shift") == 2
    for name in ("moving", "again"):
        fused = tifffile.imread(out / f"{name}_fused.tif")
        assert fused.shape[:2] < moving_u8.shape[1:3]  # cropped
        assert tifffile.imread(out / f"{name}_aligned.tif").shape == (5, *fused.shape)
    rc, _, err = cli(capsys, "fuse", "--batch", moving_tif.parent, "-o", tmp_path / "kept",
                     "--method", "laplacian", "--align", "on", "--keep-size", "-q")  # fmt: skip
    assert rc == 0, err
    assert tifffile.imread(tmp_path / "kept" / "moving_fused.tif").shape == moving_u8.shape[1:]
    assert not (tmp_path / "kept" / "moving_aligned.tif").exists()
    rc, _, err = cli(capsys, "fuse", "--batch", moving_tif.parent, "-o", tmp_path / "o",
                     "--aligned-stack", tmp_path / "a.tif")  # fmt: skip
    assert_clean_error(rc, err, r"With --batch give --aligned-stack without a path")


# ------------------------------------------------------------------ surface mesh (issue 11)


@pytest.fixture
def metric_tif(tmp_path, rendered_u8):
    """The rendered ramp (5 x 96 x 128 RGB) as an OME-TIFF with a 2.5 µm z-step, 0.5 µm pixels."""
    path = tmp_path / "stacks" / "ramp.ome.tif"
    path.parent.mkdir()
    tifffile.imwrite(path, rendered_u8, ome=True, photometric="rgb", metadata={
        "axes": "ZYXS", "PhysicalSizeZ": 2.5, "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5})  # fmt: skip
    return path


def test_mesh_is_the_surface_in_micrometres(tmp_path, capsys, rendered_u8, metric_tif):
    import trimesh

    import napari_focalfuse as ff

    out, mesh = tmp_path / "f.tif", tmp_path / "surface.ply"
    rc, _, err = cli(capsys, "fuse", metric_tif, "-o", out, "--mesh", mesh, "--method",
                     "laplacian", "-q")  # fmt: skip
    assert rc == 0, err
    back = trimesh.load(mesh, process=False)
    # the API's mesh of the same fusion, and the truth: a ramp through all 5 slices along x
    expected = ff.result_mesh(ff.fuse(rendered_u8, "laplacian", z_step=2.5), (0.5, 0.5))
    assert len(back.vertices) == len(expected.vertices) > 0.9 * 96 * 128
    x, y, z = back.vertices.T
    assert np.ptp(x) == pytest.approx(127 * 0.5) and np.ptp(y) == pytest.approx(95 * 0.5)
    assert -1.25 <= z.min() and z.max() <= 4 * 2.5 + 1.25 and np.corrcoef(x, z)[0, 1] > 0.9
    np.testing.assert_array_equal(back.visual.vertex_colors[:, :3], expected.colours)

    rc, _, err = cli(capsys, "fuse", metric_tif, "-o", tmp_path / "g.tif", "--mesh", "--mesh-step",
                     "4", "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 0, err
    coarse = trimesh.load(tmp_path / "g_mesh.ply", process=False)  # bare --mesh: <OUT>_mesh.ply
    assert 0.9 * 24 * 32 < len(coarse.vertices) <= 24 * 32


def test_mesh_needs_a_z_step_and_a_mesh_suffix(tmp_path, capsys, rendered_u8):
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "f.tif", "--mesh", tmp_path / "m.ply")
    assert_clean_error(rc, err, r"s has no z-step in its metadata; pass --z-step to write a mesh")
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "f.tif", "--mesh", tmp_path / "m.stl")
    assert_clean_error(rc, err, r"mesh m\.stl must end in \.ply or \.obj")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tif"]
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "f.tif", "--mesh", tmp_path / "m.obj",
                     "--z-step", "2", "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 0, err
    assert "s has no pixel size; the mesh's x and y are in pixels, its heights in µm" in err
    assert (tmp_path / "m.obj").read_text().count("\nv ") > 0.9 * 96 * 128


def test_batch_writes_a_mesh_per_stack(tmp_path, capsys, rendered_u8, metric_tif):
    import trimesh

    tifffile.imwrite(metric_tif.parent / "flat.tif", rendered_u8, photometric="rgb")  # no z-step
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "fuse", "--batch", metric_tif.parent, "-o", out, "--mesh",
                     "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 2 and "flat has no z-step in its metadata; pass --z-step to write a mesh" in err
    written = sorted(p.name for p in out.iterdir())
    assert written == ["ramp_fused.tif", "ramp_mask.tif", "ramp_mesh.ply"]
    assert len(trimesh.load(out / "ramp_mesh.ply", process=False).vertices) > 0.9 * 96 * 128
    rc, _, err = cli(capsys, "fuse", "--batch", metric_tif.parent, "-o", out, "--mesh",
                     tmp_path / "m.ply")  # fmt: skip
    assert_clean_error(rc, err, r"With --batch give --mesh without a path")


# ------------------------------------------------------------------ one map, every channel (issue 11)


@pytest.fixture
def czyx_tif(tmp_path, rendered_u16):
    """A two-channel uint16 ImageJ hyperstack (ZCYX, 2 µm z-step): channel 0 the rendered ramp
    (grey), channel 1 per-slice noise, whose own decision would be random."""
    structure = rendered_u16.mean(-1).round().astype(np.uint16)
    noise = np.random.default_rng(7).integers(0, 65535, structure.shape, dtype=np.uint16)
    path = tmp_path / "stacks" / "cells.tif"
    path.parent.mkdir()
    tifffile.imwrite(path, np.stack([structure, noise], axis=1), imagej=True,
                     metadata={"axes": "ZCYX", "spacing": 2.0, "unit": "um"})  # fmt: skip
    return path


def test_decide_on_fuses_every_channel_by_one_channels_map(tmp_path, capsys, czyx_tif):
    import napari_focalfuse as ff

    out, mask_out, height_out = tmp_path / "f.tif", tmp_path / "m.tif", tmp_path / "h.tif"
    rc, _, err = cli(capsys, "fuse", czyx_tif, "-o", out, "--decide-on", "0", "--mask", mask_out,
                     "--height", height_out, "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 0, err
    stack = np.moveaxis(tifffile.imread(czyx_tif), 1, -1)  # (Z, Y, X, 2)
    with tifffile.TiffFile(out) as tf:  # channels-first ImageJ hyperstack: Fiji's channels
        assert tf.is_imagej and tf.series[0].axes == "CYX"
        fused = tf.asarray()
    mask = tifffile.imread(mask_out).astype(int)
    assert fused.dtype == np.uint16 and fused.shape == (2, *stack.shape[1:3])
    picked = np.take_along_axis(stack, mask[None, ..., None], axis=0)[0]
    np.testing.assert_array_equal(np.moveaxis(fused, 0, -1), picked)  # every pixel exact
    own = ff.fuse(stack[..., 0], "laplacian")
    np.testing.assert_array_equal(mask, own.mask)  # channel 0's map, not the noise's
    assert np.mean(mask != ff.fuse(stack[..., 1], "laplacian").mask) > 0.5
    np.testing.assert_allclose(tifffile.imread(height_out), mask * 2.0)


def test_decide_on_errors_are_one_line_and_write_nothing(tmp_path, capsys, czyx_tif, rendered_u8):
    out = tmp_path / "f.tif"
    cases = [
        (["--decide-on", "2"], r"cells\.tif has 2 channels \(0-1\); --decide-on 2 is out of range"),
        (["--decide-on", "1", "--channel", "0"], r"--decide-on .*; drop --channel"),
        (["--decide-on", "0", "--aligned-stack"], r"--aligned-stack cannot be written with --decide-on"),
    ]
    for extra, pattern in cases:
        rc, _, err = cli(capsys, "fuse", czyx_tif, "-o", out, *extra)
        assert_clean_error(rc, err, pattern)
    rc, _, err = cli(capsys, "fuse", czyx_tif, "-o", tmp_path / "f.png", "--decide-on", "0")
    assert_clean_error(rc, err, r"multi-channel TIFF; name the output \.tif")
    grey = tmp_path / "grey.tif"
    tifffile.imwrite(grey, rendered_u8[..., 0], photometric="minisblack")
    rc, _, err = cli(capsys, "fuse", grey, "-o", out, "--decide-on", "0")
    assert_clean_error(rc, err, r"grey\.tif has a single channel; --decide-on needs a multi-channel")
    rc, _, err = cli(capsys, "fuse", czyx_tif, "-o", out)  # without it, as before
    assert_clean_error(rc, err, r"cells\.tif has axes ZCYX; choose a channel")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grey.tif", "stacks"]


def test_batch_decides_on_one_channel_per_stack(tmp_path, capsys, czyx_tif):
    import shutil

    shutil.copy(czyx_tif, czyx_tif.parent / "more.tif")
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "fuse", "--batch", czyx_tif.parent, "-o", out, "--decide-on", "0",
                     "--method", "laplacian", "-q")  # fmt: skip
    assert rc == 0, err
    stack = np.moveaxis(tifffile.imread(czyx_tif), 1, -1)
    for name in ("cells", "more"):
        fused = tifffile.imread(out / f"{name}_fused.tif")
        mask = tifffile.imread(out / f"{name}_mask.tif").astype(int)
        picked = np.take_along_axis(stack, mask[None, ..., None], axis=0)[0]
        np.testing.assert_array_equal(np.moveaxis(fused, 0, -1), picked)
    rc, _, err = cli(capsys, "fuse", "--batch", czyx_tif.parent, "-o", out, "--decide-on", "5",
                     "--overwrite", "-q")  # fmt: skip
    assert rc == 2 and err.count("decide_on=5 is out of range") == 2


# ------------------------------------------------------------------ sub-slice height and confidence


def test_surface_and_confidence_maps(tmp_path, capsys, rendered, rendered_u8):
    """--surface: the sub-slice height in µm along the rendered depth ramp, NaN on a blank
    patch where no slice can be sharp; --confidence: how clearly, low on that patch."""
    stack = rendered_u8.copy()
    stack[:, :56, :64] = 128  # no texture: no slice is sharp here
    src = tmp_path / "ramp.tif"
    tifffile.imwrite(src, stack)
    surface, confidence = tmp_path / "s.tif", tmp_path / "c.tif"
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "f.tif", "--surface", surface,
                     "--confidence", confidence, "--z-step", "2", "-q")  # fmt: skip
    assert rc == 0, err
    height, sure = tifffile.imread(surface), tifffile.imread(confidence)
    assert height.dtype == sure.dtype == np.float32 and height.shape == sure.shape == (96, 128)
    assert 0 <= sure.min() and sure.max() <= 1
    core = (slice(4, 36), slice(4, 44))  # more than the measure's reach from any texture
    assert np.isnan(height[core]).all() and sure[core].max() < 0.25
    textured = (slice(72, 90), slice(12, -12))
    assert np.isfinite(height[textured]).all()
    # slice z is focused at depth (z + 0.5) / 5 of the ramp: heights follow it, in µm
    truth = (rendered.depth * 5 - 0.5) * 2.0
    assert np.abs(height[textured] - truth[textured]).mean() < 1.0  # half a slice

    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "g.tif", "--surface", tmp_path / "t.tif")
    assert_clean_error(rc, err, r"ramp has no z-step in its metadata; pass --z-step to write a surface")
    assert not (tmp_path / "g.tif").exists() and not (tmp_path / "t.tif").exists()


def test_options_given_as_zero_still_count_on_a_time_lapse(tmp_path, capsys):
    """--decide-on 0 is an option given, not left out: a time-lapse refuses it like 1."""
    movie = tmp_path / "movie.tif"
    rng = np.random.default_rng(0)
    tifffile.imwrite(movie, rng.integers(0, 255, (2, 3, 32, 40), np.uint8), imagej=True,
                     metadata={"axes": "TZYX"})  # fmt: skip
    rc, _, err = cli(capsys, "fuse", movie, "-o", tmp_path / "f.tif", "--decide-on", "0")
    assert_clean_error(rc, err, r"movie\.tif is a time-lapse and --decide-on reads every channel")
    assert not (tmp_path / "f.tif").exists()


def test_mesh_step_without_mesh_is_refused(tmp_path, capsys, rendered_u8):
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8)
    rc, _, err = cli(capsys, "fuse", src, "-o", tmp_path / "f.tif", "--mesh-step", "4")
    assert_clean_error(rc, err, r"--mesh-step sets the mesh's resolution; add --mesh")


def test_sigterm_while_writing_leaves_no_partial_output(tmp_path, rendered_u8):
    """kill, timeout and batch schedulers send SIGTERM: it ends the run like Ctrl-C, with no
    temporary or half-written file left (here it arrives once the first output is written)."""
    src = tmp_path / "s.tif"
    tifffile.imwrite(src, rendered_u8, photometric="rgb")
    code = (
        "import os, signal, sys, time, tifffile\n"
        "real = tifffile.imwrite\n"
        "def imwrite(*args, **kwargs):\n"
        "    real(*args, **kwargs)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(5)\n"
        "tifffile.imwrite = imwrite\n"
        "from napari_focalfuse.cli import entry\n"
        "sys.argv = ['napari-focalfuse', 'fuse', sys.argv[1], '-o', sys.argv[2], '--mask',\n"
        "            sys.argv[3], '--method', 'laplacian', '-q']\n"
        "entry()\n"
    )
    args = [str(src), str(tmp_path / "f.tif"), str(tmp_path / "m.tif")]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert "interrupted; no partial output was written" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tif"]


@pytest.mark.parametrize("command", ["fuse", "train"])
def test_idle_library_threads_sleep_unless_training_or_the_user_says_otherwise(command):
    """Busy-waiting pool threads of torch and OpenCV take the cores from the threads with work;
    the console script turns that off before either library loads (training keeps it), and
    leaves a user's own choice."""
    from napari_focalfuse.cli import PASSIVE_WAITS

    code = (
        "import os, sys\n"
        "os.environ['OMP_WAIT_POLICY'] = 'ACTIVE'\n"
        "import napari_focalfuse.commands.fuse as f, napari_focalfuse.commands.train as t\n"
        "def report(args):\n"
        "    print(os.environ['OMP_WAIT_POLICY'], os.environ.get('OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER'),\n"
        "          'cv2' in sys.modules)\n"
        "    return 0\n"
        "f.run_fuse = t.run_train = report\n"
        "from napari_focalfuse.cli import entry\n"
        f"sys.argv = ['napari-focalfuse', '{command}', 's.tif', '-o', 'out.tif']\n"
        "entry()\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in PASSIVE_WAITS}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    worker = "0" if command == "fuse" else "None"
    assert proc.returncode == 0 and proc.stdout.split() == ["ACTIVE", worker, "False"], proc.stderr
