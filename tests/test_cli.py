"""The napari-focalfuse command line, run in-process (and once as a real process)."""

from __future__ import annotations

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


@pytest.mark.parametrize("command", ["fuse", "train", "demo"])
def test_help_explains_every_option(capsys, command):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    parser_actions = {
        "fuse": [
            "-o",
            "--mask",
            "--height",
            "--method",
            "--weights",
            "--window",
            "--scale",
            "--no-consistency",
            "--no-soften",
            "--z-step",
            "--overwrite",
            "--channel",
            "--time",
        ],
        "train": ["-o", "--epochs", "--lr", "--steps", "--weights", "--overwrite"],
        "demo": ["-o", "--weights", "--overwrite"],
    }[command]
    for option in parser_actions:
        assert re.search(rf"^\s+{re.escape(option)}\b.*\n?\s*\S", text, re.M), option
    assert text.count("default") >= 1


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
    assert re.search(rf"fusing stack \({method}\): +0%\|.*\| 0/5 ", err)  # tqdm on stderr
    fused = tifffile.imread(out)
    assert fused.dtype == np.uint8 and fused.shape == rendered_u8.shape[1:]
    m = tifffile.imread(mask)
    assert m.dtype == np.uint8 and m.shape == (96, 128)
    assert 0 <= m.min() and m.max() < rendered_u8.shape[0]
    # measured: deep ~0.8 exact and > 0.98 within one slice, the pixel-wise Laplacian baseline
    # ~0.38 / 0.75; a constant middle slice would score 0.2 / 0.6 and a random map 0.2 / 0.52
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
    from napari_focalfuse import load_weights

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
    ]
    rc, _, err = cli(capsys, *args)
    assert rc == 0, err
    assert "loss per epoch" in err
    load_weights(out)
    before = file_state(out)
    rc, _, err = cli(capsys, *args)
    assert_clean_error(rc, err, r"tuned\.pt already exists; pass --overwrite")
    assert file_state(out) == before
    rc, _, err = cli(capsys, *args[:3], "weights.txt")
    assert_clean_error(rc, err, r"weights\.txt must end in \.pt")


@pytest.mark.slow
def test_demo_writes_results_and_prints_the_ratio(tmp_path, capsys):
    from napari_focalfuse.core.weights import default_weights_path

    weights = [] if default_weights_path().is_file() else ["--weights", "random"]
    rc, out, err = cli(capsys, "demo", "-o", tmp_path / "demo", "-q", *weights)
    assert rc == 0, err
    for name in ("fused.tif", "decision_map.tif", "truth.tif", "comparison.png"):
        assert (tmp_path / "demo" / name).stat().st_size > 1000
    assert tifffile.imread(tmp_path / "demo" / "decision_map.tif").max() <= 5
    ratio = re.search(r"deep/laplacian MAE ratio: ([0-9.]+)", out)
    assert ratio and 0.0 < float(ratio.group(1)) < 2.0, out
    for label in ("deep", "laplacian", "oracle pick"):
        assert re.search(rf"^{label}\s+0\.\d+\s+\d+\.\d+$", out, re.M), out
    rc, _, err = cli(capsys, "demo", "-o", tmp_path / "demo", "-q")
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
        "print(sorted(m for m in ('torch', 'napari', 'PyQt5', 'qtpy') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "[]", proc.stderr


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
