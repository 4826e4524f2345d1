"""Property tests (hypothesis) of fusion invariants and of the reader's error contract.

Stacks are drawn as a seed plus a shape and filled by numpy with continuous random values, each
slice given its own smooth sharpness pattern so that different slices win in different places.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from napari_focalfuse import fuse, read_stack
from napari_focalfuse.core.errors import FocalFuseError

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = (np.uint8, np.uint16, np.float32)


@st.composite
def stacks(draw, dtypes=DTYPES, max_slices: int = 5):
    """(Z, Y, X[, C]) stacks: per-slice blurred noise, so the sharpest slice varies per pixel."""
    seed = draw(st.integers(0, 2**32 - 1))
    z = draw(st.integers(2, max_slices))
    h, w = draw(st.integers(8, 24)), draw(st.integers(8, 24))
    colour = draw(st.sampled_from([None, 3]))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(seed)
    shape = (h, w) if colour is None else (h, w, colour)
    sigma = (1.5, 1.5, 0) if colour else 1.5
    slices = []
    for _ in range(z):
        noise = rng.random(shape)
        blur = ndimage.gaussian_filter(noise, sigma)
        sharp = ndimage.gaussian_filter(rng.random((h, w)), 3)  # where this slice is in focus
        sharp = (sharp - sharp.min()) / max(np.ptp(sharp), 1e-9)
        sharp = sharp[..., None] if colour else sharp
        slices.append(sharp * noise + (1 - sharp) * blur)
    data = np.stack(slices)
    if dtype == np.float32:
        return data.astype(np.float32)
    return np.round(data * np.iinfo(dtype).max).astype(dtype)


def picked(stack: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The pixel of the slice ``mask`` names, at every pixel."""
    index = mask[None, ..., None] if stack.ndim == 4 else mask[None]
    return np.take_along_axis(stack, index.astype(np.intp), 0)[0]


@SETTINGS
@given(stack=stacks(), consistency=st.booleans(), window=st.integers(0, 4))
def test_hard_pick_takes_every_pixel_from_the_named_slice(stack, consistency, window):
    """soften=False: fused == stack[mask] exactly, for any dtype, colour, window, cleaning."""
    result = fuse(stack, "laplacian", soften=False, consistency=consistency, window=window)
    assert result.mask.shape == stack.shape[1:3]
    assert 0 <= result.mask.min() and result.mask.max() < stack.shape[0]
    assert result.fused.dtype == stack.dtype
    np.testing.assert_array_equal(result.fused, picked(stack, result.mask))


@SETTINGS
@given(stack=stacks(), consistency=st.booleans())
def test_blended_output_keeps_dtype_and_stays_within_the_slices(stack, consistency):
    """soften=True: same dtype, and every value between that pixel's min and max over slices."""
    result = fuse(stack, "laplacian", soften=True, consistency=consistency)
    assert result.fused.dtype == stack.dtype and result.fused.shape == stack.shape[1:]
    lo, hi = stack.min(axis=0), stack.max(axis=0)
    if stack.dtype == np.float32:  # float32 sums may round one ulp past the extremes
        lo, hi = lo - np.spacing(np.abs(lo)) * 4, hi + np.spacing(np.abs(hi)) * 4
    assert (result.fused >= lo).all() and (result.fused <= hi).all()


@SETTINGS
@given(stack=stacks(dtypes=(np.uint16, np.float32), max_slices=6), data=st.data())
def test_permuting_slices_permutes_the_decision_map(stack, data):
    """consistency=False: if stack2 = stack[perm] then perm[mask2] == mask at every pixel.

    Holds exactly because the raw map is a per-pixel argmax of per-slice activities that do not
    depend on slice order (the intensity scale is fitted on all slices when Z <= 8); continuous
    random data makes ties (where argmax would take the first) vanishingly unlikely.
    """
    perm = np.array(data.draw(st.permutations(range(stack.shape[0]))))
    a = fuse(stack, "laplacian", consistency=False, soften=False)
    b = fuse(stack[perm], "laplacian", consistency=False, soften=False)
    np.testing.assert_array_equal(perm[b.mask], a.mask)
    np.testing.assert_array_equal(a.fused, b.fused)


@settings(max_examples=6, deadline=None)
@given(stack=stacks(dtypes=(np.float32,), max_slices=4), data=st.data())
def test_deep_random_weights_hard_pick_and_permutation(stack, data):
    """The same two invariants for the deep method (untrained network: order-free per slice)."""
    perm = np.array(data.draw(st.permutations(range(stack.shape[0]))))
    a = fuse(stack, "deep", "random", consistency=False, soften=False, device="cpu")
    b = fuse(stack[perm], "deep", "random", consistency=False, soften=False, device="cpu")
    np.testing.assert_array_equal(a.fused, picked(stack, a.mask))
    np.testing.assert_array_equal(perm[b.mask], a.mask)


# --- reader fuzzing: damaged files must end in FocalFuseError, never any other exception


def _read_everything(path: Path) -> np.ndarray:
    stack, meta = read_stack(path)
    assert stack.ndim in (3, 4) and meta["axes"] in ("ZYX", "ZYXC")
    return np.stack([np.asarray(stack[z]) for z in range(len(stack))])


def _valid_tiff(kind: str) -> tuple[bytes, np.ndarray]:
    """A small valid file of each layout, and the array it holds."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 65535, (4, 24, 32), dtype=np.uint16)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.tif"
        if kind == "plain":
            tifffile.imwrite(path, data, photometric="minisblack")
        elif kind == "zlib":
            tifffile.imwrite(path, data, photometric="minisblack", compression="zlib")
        elif kind == "rgb":
            data = rng.integers(0, 255, (4, 24, 32, 3), dtype=np.uint8)
            tifffile.imwrite(path, data, photometric="rgb")
        elif kind == "ome":
            tifffile.imwrite(
                path, data[None], ome=True, metadata={"axes": "CZYX", "PhysicalSizeZ": 1.0}
            )
        elif kind == "imagej":
            tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX", "spacing": 2.0})
        return path.read_bytes(), data


VALID = {kind: _valid_tiff(kind) for kind in ("plain", "zlib", "rgb", "ome", "imagej")}


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    blob=st.binary(min_size=0, max_size=600),
    suffix=st.sampled_from([".tif", ".png", ".jpg"]),
    tiff_header=st.booleans(),
)
def test_random_bytes_raise_focalfuse_error(fuzz_dir, blob, suffix, tiff_header):
    if tiff_header:  # get past the magic number so the parser itself is exercised
        blob = b"II*\x00" + blob
    path = fuzz_dir / f"random{suffix}"
    path.write_bytes(blob)
    with pytest.raises(FocalFuseError):
        _read_everything(path)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(sorted(VALID)), cut=st.floats(0.0, 0.999))
def test_truncated_tiffs_raise_focalfuse_error_or_read_intact(fuzz_dir, kind, cut):
    """A cut file raises FocalFuseError, unless only trailing bytes the reader does not need
    were lost (e.g. the IFDs ImageJ files keep after the pixels): then every pixel is right.
    Never a wrong image, never another exception."""
    full, data = VALID[kind]
    path = fuzz_dir / "cut.tif"
    path.write_bytes(full[: int(len(full) * cut)])
    try:
        back = _read_everything(path)
    except FocalFuseError:
        return
    np.testing.assert_array_equal(back, data)


def _pixel_bytes(blob: bytes) -> tuple[int, int] | None:
    """Where an uncompressed file keeps its pixels, as one contiguous byte range (else None)."""
    import io

    with tifffile.TiffFile(io.BytesIO(blob)) as tf:
        series = tf.series[0]
        offset = series.dataoffset
        return None if offset is None else (offset, offset + series.nbytes)


CONTIGUOUS = sorted(kind for kind in VALID if _pixel_bytes(VALID[kind][0]) is not None)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(sorted(VALID)), data=st.data())
def test_bit_flipped_tiffs_read_consistently_or_raise_focalfuse_error(fuzz_dir, kind, data):
    """Corrupted bytes anywhere: a FocalFuseError, or a stack whose every slice reads with the
    shape and pixel type it announced; never another exception."""
    blob = bytearray(VALID[kind][0])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    path = fuzz_dir / "flipped.tif"
    path.write_bytes(bytes(blob))
    try:
        stack, _ = read_stack(path)
        for z in range(len(stack)):
            plane = np.asarray(stack[z])
            assert plane.shape == tuple(stack.shape[1:]) and plane.dtype == stack.dtype
    except FocalFuseError:
        pass


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(CONTIGUOUS), data=st.data())
def test_flips_inside_the_pixels_change_only_those_pixels(fuzz_dir, kind, data):
    """Damage confined to the pixel data of an uncompressed file cannot be detected, but must
    not be made worse: the stack reads, and only the pixels holding a changed byte differ."""
    full, original = VALID[kind]
    start, stop = _pixel_bytes(full)
    blob = bytearray(full)
    flips = data.draw(st.lists(st.integers(start, stop - 1), min_size=1, max_size=8, unique=True))
    for at in flips:
        blob[at] ^= 0xFF
    path = fuzz_dir / "flipped_pixels.tif"
    path.write_bytes(bytes(blob))
    back = _read_everything(path)
    assert back.shape == original.shape and back.dtype == original.dtype
    changed = back != original
    assert 1 <= changed.sum() <= len(flips)
