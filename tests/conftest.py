"""Shared fixtures: small rendered focal stacks with a known truth, and the real data folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def ctrl_c_enabled():
    """Python's own Ctrl-C handler for the test. A process started in the background by a
    non-interactive shell inherits SIGINT ignored, and then Python raises no KeyboardInterrupt:
    tests of interrupt handling must not depend on how the test run was started."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data`` (real stacks); tests needing it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (the package ships none)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def rendered():
    """5 slices of a 96x128 motorcycle crop (held out) focused along a left-to-right depth ramp."""
    from napari_focalfuse.core.synthetic import render_focal_stack

    from .held_out import motorcycle

    image = motorcycle(64, 400, 96, 128)
    disparity = np.tile(np.linspace(0.0, 1.0, 128, dtype=np.float32), (96, 1))
    return render_focal_stack(image, disparity, n_slices=5, max_blur=4.0, noise=0.005)


@pytest.fixture(scope="session")
def rendered_u8(rendered) -> np.ndarray:
    return (rendered.stack * 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def rendered_u16(rendered) -> np.ndarray:
    return (rendered.stack * 65535).round().astype(np.uint16)


@pytest.fixture(scope="session")
def moving_u8(rendered) -> np.ndarray:
    """``rendered`` as a moving camera captures it: 2 % focus breathing and ~3 px of stage drift
    per slice (uint8, 5 x 96 x 128 x 3); aligned and cropped it is about 123 x 91 px."""
    from napari_focalfuse.core.synthetic import apply_motion, motion_matrices

    matrices = motion_matrices(5, (96, 128), breathing=0.02, drift=3.0, seed=1)
    return (apply_motion(rendered, matrices).stack * 255).round().astype(np.uint8)


@pytest.fixture
def file_state():
    """``file_state(path)``: bytes and mtime (None if absent), to prove a run changed nothing."""

    def state(path: Path) -> tuple[bytes, int] | None:
        return (path.read_bytes(), path.stat().st_mtime_ns) if path.exists() else None

    return state


# --- inputs every reader path must refuse with one clear sentence (API and CLI tests share them)


def _png(path: Path, array: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(array).save(path)
    return path


def _grey(seed: int = 0, shape=(24, 32)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)


def _make_bad(kind: str, tmp: Path) -> tuple[list[str], str]:
    """Build one bad input under ``tmp``: (CLI input arguments, regex the message must match)."""
    import tifffile

    if kind == "missing":
        return [str(tmp / "nope.tif")], r"No such file or folder: .*nope\.tif"
    if kind == "empty-folder":
        (tmp / "empty").mkdir()
        return [str(tmp / "empty")], r"empty holds no image files"
    if kind == "folder-without-images":
        d = tmp / "notes"
        d.mkdir()
        (d / "readme.txt").write_text("not an image")
        _png(d / ".hidden.png", _grey())  # hidden files do not count
        return [str(d)], r"notes holds no image files"
    if kind == "single-png":
        return [str(_png(tmp / "one.png", _grey()))], r"one\.png is a single image"
    if kind == "single-2d-tiff":
        tifffile.imwrite(tmp / "flat.tif", _grey())
        return [str(tmp / "flat.tif")], r"flat\.tif is a single image"
    if kind == "single-rgb-tiff":
        tifffile.imwrite(tmp / "rgb.tif", np.zeros((24, 32, 3), np.uint8), photometric="rgb")
        return [str(tmp / "rgb.tif")], r"rgb\.tif is a single RGB image"
    if kind == "truncated-tiff":
        tifffile.imwrite(
            tmp / "cut.tif", np.zeros((6, 64, 64), np.uint16), photometric="minisblack"
        )
        data = (tmp / "cut.tif").read_bytes()
        (tmp / "cut.tif").write_bytes(data[: len(data) // 2])
        return [str(tmp / "cut.tif")], r"cut\.tif .*(truncated|corrupt)"
    if kind == "truncated-compressed-tiff":
        noisy = np.random.default_rng(1).integers(0, 65535, (6, 64, 64), dtype=np.uint16)
        tifffile.imwrite(tmp / "cutz.tif", noisy, compression="zlib")
        data = (tmp / "cutz.tif").read_bytes()
        (tmp / "cutz.tif").write_bytes(data[: len(data) // 2])
        return [str(tmp / "cutz.tif")], r"cutz\.tif .*(truncated|corrupt)"
    if kind == "random-bytes-tiff":
        (tmp / "noise.tif").write_bytes(np.random.default_rng(2).bytes(4096))
        return [str(tmp / "noise.tif")], r"noise\.tif is not a readable TIFF"
    if kind == "random-bytes-jpeg-in-folder":
        d = tmp / "shots"
        d.mkdir()
        for i in range(3):
            _png(d / f"s_{i}.png", _grey(i))
        (d / "s_1.png").write_bytes(np.random.default_rng(3).bytes(2048))
        (d / "s_3.jpg").write_bytes(b"\xff\xd8\xff" + np.random.default_rng(4).bytes(500))
        return [str(d)], r"s_1\.png is not a readable image"
    if kind == "sizes-differ":
        files = [
            _png(tmp / "a_1.png", _grey()),
            _png(tmp / "a_2.png", _grey()),
            _png(tmp / "a_3.png", _grey(shape=(24, 30))),
        ]
        return [str(f) for f in files], r"a_3\.png is 30x24 px .*same size"
    if kind == "channels-differ":
        files = [
            _png(tmp / "b_1.png", _grey()),
            _png(tmp / "b_2.png", np.zeros((24, 32, 3), np.uint8)),
            _png(tmp / "b_3.png", _grey()),
        ]
        return [str(f) for f in files], r"b_2\.png has 3 channels \(RGB\) .*same channels"
    if kind == "tiff-pages-differ":
        with tifffile.TiffWriter(tmp / "mixed.tif") as tw:
            for shape in [(24, 32), (24, 32), (24, 30), (24, 32)]:
                tw.write(np.zeros(shape, np.uint8), photometric="minisblack", metadata=None)
        return [str(tmp / "mixed.tif")], r"Page 3 of mixed\.tif is 30x24 px but page 1 is 32x24 px"
    if kind == "channels-first":
        tifffile.imwrite(
            tmp / "cf.tif", np.zeros((5, 3, 24, 32), np.uint8), photometric="minisblack"
        )
        return [str(tmp / "cf.tif")], r"cf\.tif .*channels-first"
    if kind == "bool":
        tifffile.imwrite(tmp / "mask.tif", np.zeros((4, 24, 32), bool), photometric="minisblack")
        return [str(tmp / "mask.tif")], r"mask\.tif has pixel type bool"
    if kind == "complex":
        tifffile.imwrite(
            tmp / "fft.tif", np.zeros((4, 24, 32), np.complex64), photometric="minisblack"
        )
        return [str(tmp / "fft.tif")], r"fft\.tif has pixel type complex64"
    if kind == "tczyx-unselected":
        tifffile.imwrite(
            tmp / "hyper.ome.tif",
            np.zeros((2, 3, 4, 24, 32), np.uint16),
            ome=True,
            metadata={"axes": "TCZYX"},
        )
        return [  # the command line fuses every time point of a time-lapse: a channel is enough
            str(tmp / "hyper.ome.tif")
        ], r"hyper\.ome\.tif has axes TCZYX; choose (a time point .* and )?a channel"
    raise AssertionError(kind)


BAD_INPUTS = [
    "missing",
    "empty-folder",
    "folder-without-images",
    "single-png",
    "single-2d-tiff",
    "single-rgb-tiff",
    "truncated-tiff",
    "truncated-compressed-tiff",
    "random-bytes-tiff",
    "random-bytes-jpeg-in-folder",
    "sizes-differ",
    "channels-differ",
    "tiff-pages-differ",
    "channels-first",
    "bool",
    "complex",
    "tczyx-unselected",
]


@pytest.fixture(params=BAD_INPUTS)
def bad_input(request, tmp_path) -> tuple[list[str], str]:
    """(input arguments, regex of the expected message) for each input that must be refused."""
    return _make_bad(request.param, tmp_path)
