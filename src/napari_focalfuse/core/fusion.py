"""Whole-stack focal fusion in named stages, streaming over the slices.

1. **align** – estimate each slice's transform onto the middle slice (focus breathing, drift)
   on reduced grey slices; from then on every slice is warped once as it is read.
2. **measure** – each slice's activity (the deep feature gradient, or the Laplacian baseline)
   at the feature resolution, folded into running decision statistics. The torch-free inputs
   (reduced grey slice, coverage, noise) of the first slices are made while torch still loads.
3. **decide** – the slice in focus at every pixel, robust to blur rings (decision.py), cleaned
   of specks.
4. **blend** – multi-band blending of the slices with the decision as weights (pyramid.py), so
   seams between slices never show; from the same reads, the per-pixel pick of the sharpest
   slice and the share of edges it invents (false_edges.py). ``soften=False`` picks every pixel
   from exactly one slice of the cleaned decision instead.
5. **soften** – slices that agree with a reference within the sensor noise are averaged, removing
   noise without adding blur (blending.py). The reference is the pick where it invents no edge
   (sharper beside depth edges), else the blend (real captures, whose slices differ in more
   than focus).

Each stage reads the slices once, one at a time; memory is a handful of slice-sized maps
whatever the number of slices.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .align import Alignment
from .errors import Cancelled, FocalFuseError
from .luminance import LuminanceScaler
from .slices import DEFAULT_BUDGET, SliceSource
from .stack import as_stack

METHODS = ("deep", "laplacian")
# Largest false-edge share (core/false_edges.py, on the slices at half resolution) of the
# per-pixel pick for the soften stage to average around it instead of the multi-band blend.
# Measured: the 40 rendered stacks of the benchmarks, still or moving, 0 to 1.1e-5; the five
# real captures 8.6e-5 (keyboard-sweep) to 0.1 (pseudoscorpion), where the pick shows seams
# and rings. The threshold sits about 3 x from either.
PICK_MAX_FALSE_EDGES = 3e-5
# Slices whose measure inputs (a few maps at the feature resolution each) may be made ahead
# while torch is still being imported.
AHEAD_LIMIT = 16

# progress(done, total): (0, total) first, then after every step (one slice read by one stage);
# total never changes
FuseProgress = Callable[[int, int], None]


class AlignmentWarning(UserWarning):
    """A slice could not be aligned and keeps its position."""


@dataclass
class FusionResult:
    """Fused image, decision map and what is needed to turn the map into heights.

    With alignment, all three share the output geometry: the region every aligned slice
    covers (``crop``, in input pixels of the reference slice), or the whole frame with
    ``keep_size``.
    """

    fused: np.ndarray  # (Y, X[, C]) in the stack's dtype
    mask: np.ndarray  # (Y, X) integer slice index
    method: str
    z_step: float | None = None
    z_unit: str = "slice"
    alignment: Alignment | None = None  # None: the slices were used as they are
    warnings: list[str] = field(default_factory=list)
    # where along z the focus measure peaks, in slices (between them too), and how clearly
    surface: np.ndarray | None = None  # (Y, X) float32
    confidence: np.ndarray | None = None  # (Y, X) float32 in [0, 1]: ~0 where no slice is sharp,
    # 0 beside depth steps (the far side's height hidden by the nearer object's blur)
    n_slices: int | None = None  # of the stack (the map need not name every slice)
    # what the soften stage averaged the agreeing slices around: "pick" (the per-pixel pick,
    # where it invents no edge) or "multi-band" (the seamless blend); None without soften
    reference: str | None = None

    @property
    def height(self) -> np.ndarray:
        """Height map: slice index times the z-step (in slices when the z-step is unknown)."""
        return self.mask.astype(np.float32) * np.float32(self.z_step or 1.0)

    def surface_height(self, min_confidence: float = 0.0) -> np.ndarray | None:
        """Sub-slice height (``surface`` times the z-step), NaN where ``confidence`` is below
        ``min_confidence`` (flat background, depth steps: unknown, not a made-up height)."""
        if self.surface is None:
            return None
        height = self.surface * np.float32(self.z_step or 1.0)
        if min_confidence > 0:
            height = np.where(self.confidence >= min_confidence, height, np.float32(np.nan))
        return height

    @property
    def transforms(self) -> np.ndarray:
        """(Z, 2, 3): maps a reference-slice pixel (x, y) to slice z (identity if not aligned)."""
        if self.alignment is None:
            n = self.n_slices if self.n_slices is not None else int(self.mask.max()) + 1
            return np.tile(np.eye(2, 3), (n, 1, 1))
        return self.alignment.matrices

    @property
    def crop(self) -> tuple[int, int, int, int]:
        """(y0, x0, height, width) of the output in the reference slice's pixels."""
        if self.alignment is None:
            return (0, 0, *self.mask.shape)
        return self.alignment.crop


def _check_options(method: str, window: int, scale: int, align: Any) -> None:
    if method not in METHODS:
        raise FocalFuseError(f"Unknown method '{method}'; use one of {', '.join(METHODS)}.")
    if window < 0 or scale < 1:
        raise FocalFuseError("window must be >= 0 and scale >= 1.")
    if not (align is True or align is False or align == "auto"):
        raise FocalFuseError(f"align must be 'auto', True or False, not {align!r}.")


def auto_scale(height: int, width: int, target_pixels: int = 150_000) -> int:
    """Down-sampling (a power of two) that leaves the features ~``target_pixels`` or more."""
    scale = 1
    while height * width / (2 * scale) ** 2 >= target_pixels:
        scale *= 2
    return scale


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float image back to the input's dtype, rounded and clipped in place."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        np.rint(values, out=values)
        np.clip(values, info.min, info.max, out=values)
    return values.astype(dtype, copy=False)


def _check_slice(values: np.ndarray, z: int, shape: tuple[int, ...]) -> None:
    if values.shape != shape:
        raise FocalFuseError(f"Slice {z} has shape {values.shape}, expected {shape}.")
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        raise FocalFuseError(f"Slice {z} contains NaN or infinite values; replace them before fusing.")


class _Steps:
    """Counts steps for ``progress`` and polls ``should_stop`` before each one."""

    def __init__(self, total: int, progress: FuseProgress | None, should_stop: Callable[[], bool] | None):
        self.done, self.total = 0, total
        self.progress, self.should_stop = progress, should_stop

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled("fusion cancelled")

    def step(self, *_: Any) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def fuse(
    stack: Any,
    method: str = "deep",
    weights: Any = None,
    *,
    window: int | None = None,
    scale: int | str = "auto",
    consistency: bool | None = None,
    soften: bool | None = None,
    align: bool | str = "auto",
    align_model: str = "similarity",
    keep_size: bool = False,
    z_step: float | None = None,
    z_unit: str = "µm",
    device: str = "auto",
    precision: str = "auto",
    progress: FuseProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    decide_on: int | None = None,
) -> FusionResult:
    """Fuse a focal stack (Z, Y, X) or (Z, Y, X, C) into one all-in-focus image.

    ``window``, ``consistency`` and ``soften`` left at None take the method's own defaults:
    the deep method windows (radius 5 px), regularises the decision against blur rings,
    verifies it, and blends seamlessly; "laplacian" is the paper's baseline as published
    (pixel-wise |Laplacian| argmax, none of them).
    ``weights`` (deep method only) is ``None`` for the shipped model, a weights file, a model,
    or a :class:`~napari_focalfuse.core.training.TunedModel`. ``scale`` down-samples slices
    before measuring activity ("auto" keeps ~0.15 MP per slice, so big frames stay fast).
    ``align``: "auto" estimates each slice's shift, scale and rotation against the middle slice
    and aligns only where some slice clearly moved (its centre by more than 1.5 px or a corner
    by more than 3 px: less is what defocus alone mimics), so a still stack is fused exactly as
    with ``align=False``; True always aligns; ``align_model`` "similarity" (default), "affine"
    or "translation". Aligned output is cropped to the region every slice covers, unless
    ``keep_size``. ``FusionResult.alignment`` holds the transforms, ``warnings`` the slices
    that could not be aligned (also issued as :class:`AlignmentWarning`).
    With ``soften=False`` every fused pixel is exactly that pixel of the slice the map names.
    ``precision`` "auto" runs the network in bfloat16 where the hardware supports it natively,
    "float32" always in full precision.
    ``decide_on=c`` (a (Z, Y, X, C) stack, any number of channels): the map and alignment are
    made on channel c alone and every channel is taken from exactly the slice the map names
    (see core/channels.py), e.g. fluorescence channels by the map of a brightfield channel.
    """
    if decide_on is not None:  # every other argument, passed on as it is
        options = {k: v for k, v in locals().items() if k not in ("stack", "decide_on")}
        from .channels import fuse_on_channel

        return fuse_on_channel(stack, decide_on, **options)
    from .preload import preload

    preload("torch")  # needed from the measure stage on: load it meanwhile
    stack = as_stack(stack)
    n, h, w = stack.shape[:3]
    deep = method == "deep"
    window = (5 if deep else 0) if window is None else window
    consistency = deep if consistency is None else consistency
    soften = deep if soften is None else soften
    scale = auto_scale(h, w) if scale == "auto" else int(scale)
    _check_options(method, window, scale, align)
    if precision not in ("auto", "float32", "bfloat16"):
        raise FocalFuseError(f"Unknown precision '{precision}'; use auto, float32 or bfloat16.")

    estimating = align is not False
    steps = _Steps(n * (2 + int(soften) + int(estimating)), progress, should_stop)
    if progress is not None:
        progress(0, steps.total)  # before any slice is read: progress bars never re-scale
    source = SliceSource(stack, budget=DEFAULT_BUDGET)
    picks = LuminanceScaler.sample_slices(n)
    following = dict(zip(picks, picks[1:] + [0]))  # read the next one while this one is used
    scaler = LuminanceScaler.fit(stack, read=lambda z: source.get(z, ahead=following[z]))

    def read(z: int) -> np.ndarray:
        steps.check()
        return source.get(z, ahead=z + 1)

    with source:
        alignment, notes = None, []
        if estimating:
            alignment = _align(read, n, stack.shape[1:], scaler, align, align_model, keep_size, steps)
            if alignment is not None:
                notes = alignment.warnings
                source.set_prepare(lambda z, values: alignment.warp(values, z))
        inputs = _measure_inputs(
            read, n, stack.shape[1:], scaler, scale, alignment if keep_size else None, check=not estimating
        )  # made ahead while torch still loads
        extractor, dev = _extractor(method, weights, device, precision)
        measured = _measure(inputs, method, extractor, scale, window, consistency, dev, steps.step)
        index = measured.decision.decide()
        if consistency:
            from .decision import verify_consistency

            index = verify_consistency(index, median=5 if scale == 1 else 3)
        out_shape = alignment.out_shape if alignment is not None else (h, w)
        if soften:
            raw = measured.decision.fine_index.cpu().numpy()
            blended, mask, (lo, hi), pick = _blend(read, n, index, raw, out_shape, scale, scaler, steps.step)
            image, reference = _reference(blended, pick)
            del blended, pick  # only the reference is kept from here on
            from .blending import agreement_blend

            fused = agreement_blend(read, n, image, scaler, measured.sigma, steps.step, relative=reference == "pick")
            del image
            np.clip(fused, lo, hi, out=fused)  # float sums may round past the slices' range
            fused = _to_dtype(fused, np.dtype(stack.dtype))
        else:
            fused, mask = _pick(read, n, index, out_shape, steps.step)
            reference = None
    from .decision import upsample_weight

    # after the source has let its kept slices go: the height's maps need not sit on top of them
    surface, confidence = (upsample_weight(m, out_shape) for m in measured.peak.result(index))
    for note in notes:
        warnings.warn(note, AlignmentWarning, stacklevel=2)
    return FusionResult(
        fused=fused, mask=mask, method=method, z_step=z_step, z_unit=z_unit if z_step else "slice",
        alignment=alignment, warnings=list(notes), surface=surface, confidence=confidence,
        n_slices=n, reference=reference,
    )  # fmt: skip


# ------------------------------------------------------------------ stage 1: align


def _align(
    read: Callable[[int], np.ndarray],
    n: int,
    slice_shape: tuple[int, ...],
    scaler: LuminanceScaler,
    mode: bool | str,
    model: str,
    keep_size: bool,
    steps: _Steps,
) -> Alignment | None:
    """The stack's alignment, or None where it is not wanted ("auto" and nothing moved)."""
    from .align import MIN_SIDE, estimate_for_stack

    if mode == "auto" and min(slice_shape[:2]) < MIN_SIDE:
        return None

    def checked(z: int) -> np.ndarray:
        values = read(z)
        _check_slice(values, z, slice_shape)
        return values

    alignment = estimate_for_stack(
        checked, n, slice_shape, scaler, model=model, keep_size=keep_size, on_slice=steps.step
    )
    if mode == "auto" and not alignment.moved:
        return None
    return alignment


# ------------------------------------------------------------------ stage 2: measure


def _extractor(method: str, weights: Any, device: str, precision: str) -> tuple[Any, Any]:
    """The deep method's feature extractor (None for the Laplacian) and the device it runs on.

    Weights are copied (cast): the caller's model is left untouched.
    """
    import torch

    from .activity import FeatureExtractor, fast_dtype
    from .device import pick_device

    if method != "deep":
        return None, pick_device("cpu" if device == "auto" else device)
    from .weights import resolve_model

    dev = pick_device(device)
    encoder = resolve_model(weights).encoder
    dtype = {"auto": fast_dtype(dev), "float32": torch.float32, "bfloat16": torch.bfloat16}[precision]
    return FeatureExtractor(encoder, dtype, dev), dev


@dataclass
class _Measured:
    decision: Any  # FocusDecision
    peak: Any  # surface.ZPeak: where along z the measure peaks
    sigma: float  # sensor noise, from the least noisy (least textured) slice


@dataclass
class _SliceInput:
    """What the measure stage needs of one slice, made without torch."""

    grey: np.ndarray  # (h, w) float32 in [0, 1] at the feature resolution
    inside: np.ndarray | None  # (h, w) float32: 1 where the aligned slice saw the scene
    sigma: float  # its sensor noise


def _measure_inputs(
    read: Callable[[int], np.ndarray],
    n: int,
    slice_shape: tuple[int, ...],
    scaler: LuminanceScaler,
    scale: int,
    coverage: Alignment | None,
    check: bool,
) -> Iterator[_SliceInput]:
    """Every slice's measure input, in order; made ahead (a bounded number) while torch loads."""
    from .align import shrink
    from .blending import noise_sigma
    from .preload import ahead_while_loading

    def make(z: int) -> _SliceInput:
        values = read(z)
        if check:
            _check_slice(values, z, slice_shape)
        h, w = values.shape[:2]
        grey = scaler(shrink(values, (-(-h // scale), -(-w // scale))))  # area average, like avg_pool
        inside = _reduced_coverage(coverage, z, grey.shape) if coverage is not None else None
        return _SliceInput(grey, inside, noise_sigma(scaler(_central(values))))

    return ahead_while_loading(map(make, range(n)), limit=AHEAD_LIMIT)


def _measure(
    inputs: Iterable[_SliceInput],
    method: str,
    extractor: Any,
    scale: int,
    window: int,
    regularise: bool,
    dev: Any,
    on_slice: Callable[[int], Any],
) -> _Measured:
    import torch

    from .activity import activity_map
    from .decision import FocusDecision
    from .surface import ZPeak, detail_energy

    decision = FocusDecision(scale, fine_radius=window, regularise=regularise)
    peak = ZPeak()
    sigma = np.inf
    for z, item in enumerate(inputs):
        with torch.inference_mode():
            grey = torch.from_numpy(item.grey).to(dev)
            activity, half = activity_map(grey, method, extractor, 1, with_half=regularise)
            detail = detail_energy(grey)
            if item.inside is not None:  # extrapolated borders of a slice must not win
                inside = torch.from_numpy(item.inside).to(dev)
                activity, detail = activity * inside, detail * inside
            decision.add(z, activity, half)
            peak.add(z, decision.last_fine, detail)
        sigma = min(sigma, item.sigma)
        on_slice(z)
    return _Measured(decision, peak, sigma)


def _central(values: np.ndarray, pixels: int = 1 << 20) -> np.ndarray:
    """The central ~``pixels`` of a slice: plenty to estimate its noise from."""
    h, w = values.shape[:2]
    side = int(pixels**0.5)
    y0, x0 = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return values[y0 : y0 + side, x0 : x0 + side]


def _reduced_coverage(alignment: Alignment, z: int, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    inside = alignment.coverage(z).astype(np.float32)
    small = cv2.resize(inside, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return (small > 0.999).astype(np.float32)


# ------------------------------------------------------------------ stage 4: blend (or pick)


@dataclass
class _Pick:
    image: np.ndarray  # every pixel from the slice the per-pixel argmax names
    false_edges: float  # its false-edge share against the slices (core/false_edges.py)


def _blend(
    read: Callable[[int], np.ndarray],
    n: int,
    index: np.ndarray,
    raw: np.ndarray,
    shape: tuple[int, int],
    scale: int,
    grey: Callable[[np.ndarray], np.ndarray],
    on_slice: Callable[[int], Any],
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray], _Pick]:
    """Seamless multi-band blend of the slices named by ``index``, clipped to the slices' range,
    the full-resolution map (the slice of largest weight at every pixel), that range, and, from
    the same reads, the per-pixel pick by ``raw`` (the argmax before any clean-up) with the
    share of edges it invents."""
    import cv2

    from .decision import upsample_weight
    from .false_edges import StrongestGradient
    from .pyramid import PyramidBlender

    blender = None
    picker = _MapUpsampler(shape, n)
    raw = raw.astype(np.int16 if n < 32768 else np.int32)
    raw_full = raw if raw.shape == tuple(shape) else cv2.resize(raw, shape[::-1], interpolation=cv2.INTER_NEAREST)
    strongest = StrongestGradient()  # at half resolution: 1/4 of the cost, verdicts further apart
    lo = hi = pick = None
    for z in range(n):
        values = read(z)
        weight = (index == z).astype(np.float32)
        if weight.any():
            if blender is None:
                blender = PyramidBlender(values.shape, scale)
            blender.add(values, weight)  # in threads, while the rest is done here
            picker.add(z, upsample_weight(weight, shape))
        lo = values.copy() if lo is None else np.minimum(lo, values, out=lo)
        hi = values.copy() if hi is None else np.maximum(hi, values, out=hi)
        pick = values.copy() if pick is None else pick
        _copy_where(pick, values, raw_full == z)
        strongest.add(_half_grey(values, grey))
        on_slice(z)
    blended = blender.result()
    np.clip(blended, lo, hi, out=blended)
    return blended, picker.mask, (lo, hi), _Pick(pick, strongest.share(_half_grey(pick, grey)))


def _opencv_takes(values: np.ndarray) -> bool:
    """Whether OpenCV's image functions take ``values`` as they are (pixel type, channels)."""
    return values.dtype in (np.uint8, np.uint16, np.float32) and (values.ndim == 2 or values.shape[2] <= 4)


def _half_grey(values: np.ndarray, grey: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Grey at half resolution, for the pick's check: halved first where OpenCV takes the pixel
    type, so the luminance works on a quarter of the pixels."""
    import cv2

    return grey(cv2.pyrDown(values)) if _opencv_takes(values) else cv2.pyrDown(grey(values))


def _copy_where(target: np.ndarray, values: np.ndarray, where: np.ndarray) -> None:
    """``target[where] = values[where]`` for a 2-D ``where``; OpenCV's masked copy where it
    takes the pixel type (25 x faster than numpy's broadcast ``copyto``)."""
    import cv2

    if _opencv_takes(values):
        cv2.copyTo(values, where.view(np.uint8), target)
    else:
        target[where] = values[where]


def _pick(
    read: Callable[[int], np.ndarray],
    n: int,
    index: np.ndarray,
    shape: tuple[int, int],
    on_slice: Callable[[int], Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel from exactly the slice the full-resolution map names."""
    from .decision import upsample_weight

    picker = _MapUpsampler(shape, n)
    fused = None
    for z in range(n):
        values = read(z)
        if fused is None:
            fused = np.empty_like(values)
        weight = (index == z).astype(np.float32)
        if weight.any():
            better = picker.add(z, upsample_weight(weight, shape))
            fused[better] = values[better]
        on_slice(z)
    return fused, picker.mask


class _MapUpsampler:
    """The decision map at full resolution: per pixel, the slice of largest up-sampled weight."""

    def __init__(self, shape: tuple[int, int], n: int) -> None:
        self.best = np.full(shape, -1.0, np.float32)
        self.mask = np.zeros(shape, np.int16 if n < 32768 else np.int32)

    def add(self, z: int, weight: np.ndarray) -> np.ndarray:
        better = weight > self.best
        np.maximum(self.best, weight, out=self.best)  # 3 x faster than indexing with ``better``
        np.putmask(self.mask, better, z)
        return better


# ------------------------------------------------------------------ stage 5: soften


def _reference(blended: np.ndarray, pick: _Pick) -> tuple[np.ndarray, str]:
    """What the agreement average (blending.py) is taken around: the per-pixel pick where it
    invents no edge, else the multi-band blend; and its name.

    The pick keeps every pixel from the slice that is sharpest there, also right beside a depth
    edge, where the multi-band blend mixes in a neighbouring slice's blurred rim (2-5 % of the
    error on rendered stacks). On real captures slices differ in more than focus (colour and
    brightness of defocused regions, blur rings), and there the pick's seams and rings show:
    only the blend hides them.
    """
    if pick.false_edges <= PICK_MAX_FALSE_EDGES:
        return pick.image.astype(np.float32), "pick"
    return blended, "multi-band"
