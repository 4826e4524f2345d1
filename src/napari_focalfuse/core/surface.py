"""Sub-slice height and its confidence: where along z each pixel's focus measure peaks.

The decision map says which slice is sharpest, so a height from it moves in whole slice steps.
The focus measure itself rises and falls smoothly through focus; a parabola through the
activity of the best slice and its two neighbours puts the peak between slices, after a
transform that makes the stack's focus curve a parabola (the log for a flat-topped curve, a
negative power for a thin lens's cusp; ``focus_curve_exponent`` picks it per stack). A pixel
whose best slice is the first or the last has one neighbour only: there the parabola goes through
the end slice and the next two, and its vertex is kept between the end slice and half-way to the
next (never beyond the stack: with nothing focused past the end, nothing tells how far). Where
slices are closer than the depth of field the curve is a Gaussian, flat-topped, and three slices
leave its vertex to the noise: such stacks (``focus_curve_is_wide``) fit the log measure of five
slices around the best instead. Where a pixel's own best slice is more than one slice from the
decision (blur rings and specks the decision cleaned away), its fit is not trusted: the decided
slice stands in, with a tenth of the weight.
On rendered scenes that alone removes a fifth to a third of the error on cluttered scenes.
Single pixels are noisy, so the positions are averaged over a neighbourhood weighted by their
activity (textured pixels know their depth, flat ones do not). The confidence says how peaked
the measure is along z, against the frame's noise floor: near 0 where every slice looks alike
or only noise differs (flat background, no texture), so such pixels can be marked unknown
instead of given a random height.

The fusion's activity windows (the encoder sees ~5 px around a pixel, the decision averages
over 11 px and falls back to 33 px windows next to blur rings) let a sharp occluding edge win
the pixels around it: fine for fusion (either slice shows the edge sharply), but for depth the
background beside a nearer object takes the object's height. Where the slice has detail of its
own, the height therefore comes from a measure with a small footprint instead: the squared
Laplacian of the slice, averaged over 5 x 5 px, its own peak along z and the same parabola.
Where that peak does not stand out of the noise floor (flat regions), the estimate above stays.

Beside a depth step no focus measure knows the far side's height: the nearer object's defocused
rim veils it in its own focal slice, and that rim's blur ring outshines its texture in others, so
the height there runs as a ramp from one side to the other. Like a depth camera's "flying
pixels" these heights are made up, and a 3-D surface draws them as a curtain between the two
planes. The confidence is therefore 0 within ``EDGE_REACH`` of a height step: unknown, so the
mesh and the napari surface leave a gap there. A step rises by more than ``EDGE_JUMP`` slices
and stands out of the surface's own roughness (stacks with slices much closer than the depth of
field, such as a focus sweep of 32 frames, have heights that vary by slices from pixel to pixel).
Streaming: a few maps at the activity resolution, whatever the number of slices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SMOOTHING = 3.0  # px at the activity resolution: how far the activity-weighted average reaches
FLOOR_PERCENTILE = 1  # the frame's noise floor: activity of its flattest hundredth
FLOOR_WEIGHT = 3.0  # how much of the floor a pixel's peak must rise above to count
DISTRUST = 0.1  # weight, relative to its activity, of a pixel whose own peak the decision overruled
DETAIL_RADIUS = 2  # px at the activity resolution: the small window of the detail measure
DETAIL_SURE = 0.4  # smoothed peakedness of the detail measure above which its own peak is used
EDGE_REACH = 8  # px at the activity resolution: how far from a depth step heights are unknown
EDGE_JUMP = 1.5  # slices of height range within that reach that make a depth step ...
ROUGHNESS_STEPS = 8  # ... and at least this many times the surface's typical 5 x 5 px range
EXPONENTS = (-2.0, -4 / 3, -1.0, -2 / 3, -0.5, -1 / 3, -0.25, 0.0)  # focus-curve models; 0: log
MIN_SPREAD = 0.6  # share of a uniform spread the offsets must reach for a model to be chosen
CALIBRATION_PEAKED = 0.5  # peakedness of the pixels that choose the model
CALIBRATION_PIXELS = 65536  # at most this many of them (evenly strided)
WIDE_SHAPE = 0.6  # a Gaussian focus curve's shape ratio is 1/3, a thin lens's cusp's 1 and more


def detail_energy(grey: Any) -> Any:
    """Squared Laplacian of a grey slice (torch (h, w)), averaged over a small window.

    Its footprint is 3 px plus the window, so a sharp edge lends its activity to few
    neighbours; the window (5 x 5 px) averages sensor noise enough for a peak along z.
    """
    from .activity import laplacian_magnitude
    from .windows import box_mean

    energy = laplacian_magnitude(grey.float()[None, None]).square()
    return box_mean(energy, DETAIL_RADIUS)[0, 0]


class _Peak:
    """Streaming peak of one measure along z: the best value, its slice, the slices one and two
    either side of it, the sum, and the third slice from either end (for peaks on an end slice)."""

    def __init__(self) -> None:
        self.best = self.index = self.before = self.after = self.total = None
        self.below = self.above = None  # the measure two slices before and after the best
        self.third = None  # slice 2's measure
        self.recent: list[Any] = []  # the last three slices' measures, oldest first
        self.n = 0

    def add(self, z: int, measure: Any) -> None:
        """``measure`` (torch (h, w)) of slice ``z``; slices come in order."""
        import torch

        a = measure.float()
        if self.best is None:
            self.best, self.total = a.clone(), a.clone()
            self.index = torch.zeros(a.shape, dtype=torch.int32, device=a.device)
            self.before = torch.zeros_like(a)
            self.after = torch.full_like(a, float("nan"))
            self.below, self.above = self.after.clone(), self.after.clone()
        else:
            better = a > self.best
            unknown = torch.full_like(a, float("nan"))
            follows = (self.index == z - 1) & ~better
            self.after = torch.where(better, unknown, torch.where(follows, a, self.after))
            follows = (self.index == z - 2) & ~better
            self.above = torch.where(better, unknown, torch.where(follows, a, self.above))
            self.before = torch.where(better, self.recent[-1], self.before)
            below = self.recent[-2] if z >= 2 else unknown
            self.below = torch.where(better, below, self.below)
            self.best = torch.where(better, a, self.best)
            self.index.masked_fill_(better, z)
            self.total += a
        if z == 2:
            self.third = a
        self.recent = [*self.recent[-2:], a]
        self.n = z + 1

    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(best, own slice, before, after) as numpy arrays: the peak, its slice and the measure
        of the slices either side of it (``after`` is NaN at the stack's last slice)."""
        best, own = self.best.cpu().numpy(), self.index.cpu().numpy()
        return best, own, self.before.cpu().numpy(), self.after.cpu().numpy()

    def two_away(self) -> tuple[np.ndarray, np.ndarray]:
        """The measure two slices before and after the peak (NaN beyond the stack)."""
        return self.below.cpu().numpy(), self.above.cpu().numpy()

    def mean(self) -> np.ndarray:
        return self.total.cpu().numpy() / max(self.n, 1)

    def outer(self, own: np.ndarray) -> np.ndarray:
        """The measure two slices inwards from the end, where the peak (``own``, from ``maps``)
        is on an end slice (the first's slice 2, the last's slice n - 3); NaN elsewhere and in
        stacks under 3 slices."""
        outer = np.full(own.shape, np.nan, np.float32)
        if self.n >= 3:
            first, last = own == 0, own == self.n - 1
            outer[first] = self.third.cpu().numpy()[first]
            outer[last] = self.recent[0].cpu().numpy()[last]
        return outer


class ZPeak:
    """Folds in one activity map (and one detail map) per slice; ``result`` gives the height."""

    def __init__(self) -> None:
        self.activity = _Peak()
        self.detail = _Peak()

    @property
    def n(self) -> int:
        return self.activity.n

    def add(self, z: int, activity: Any, detail: Any = None) -> None:
        """``activity`` (torch (h, w), windowed) of slice ``z`` and, for the height beside
        occluding edges, its ``detail_energy``; slices come in order."""
        self.activity.add(z, activity)
        if detail is not None:
            self.detail.add(z, detail)

    def result(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position, confidence), (h, w) float32: the peak in slice units (0 = first slice)
        and how peaked the measure is (0: all slices alike, towards 1: one slice stands out).
        ``index`` is the decision at the same resolution."""
        import cv2

        best, own, before, after = self.activity.maps()
        peaked = _peakedness(best, self.activity.mean())
        two_away = self.activity.two_away()
        wide = focus_curve_is_wide(best, before, after, *two_away, peaked >= CALIBRATION_PEAKED)
        outer = self.activity.outer(own)
        offset = vertex_offset(best, own, before, after, peaked, outer, two_away if wide else None)
        tiny = np.float32(1e-12)
        agrees = np.abs(own - index) <= 1
        position = np.where(agrees, own + offset, index).astype(np.float32)
        weight = np.where(agrees, best, DISTRUST * best).astype(np.float32)
        total = cv2.GaussianBlur(weight, (0, 0), SMOOTHING)
        position = cv2.GaussianBlur(position * weight, (0, 0), SMOOTHING) / np.maximum(total, tiny)
        if self.detail.n == self.activity.n > 0:
            position = _detail_height(self.detail, position, wide)
        position = position.astype(np.float32)
        return position, _confidence(peaked, ~depth_steps(position))


def _detail_height(detail: _Peak, fallback: np.ndarray, wide: bool) -> np.ndarray:
    """The detail measure's own peak where it stands out of the noise floor, else ``fallback``;
    through five slices if the activity's focus curve is ``wide`` (the optics are the same).

    Its own peak, not the decision's: the decision lets sharp edges win their surroundings.
    The peakedness is smoothed before the threshold so single noisy pixels in flat regions do
    not switch, and the heights are averaged weighted by peakedness squared (pixels with a
    clear peak dominate their neighbourhood).
    """
    import cv2

    best, own, before, after = detail.maps()
    peaked = _peakedness(best, detail.mean())
    two_away = detail.two_away() if wide else None
    offset = vertex_offset(best, own, before, after, peaked, detail.outer(own), two_away)
    sure = cv2.GaussianBlur(peaked, (0, 0), 1.5) >= DETAIL_SURE
    weight = np.where(sure, peaked * peaked, 0).astype(np.float32)
    total = cv2.GaussianBlur(weight, (0, 0), SMOOTHING)
    height = cv2.GaussianBlur((own + offset).astype(np.float32) * weight, (0, 0), SMOOTHING)
    use = sure & (total > 1e-6)
    return np.where(use, height / np.maximum(total, np.float32(1e-12)), fallback)


def vertex_offset(
    best: np.ndarray,
    own: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    peaked: np.ndarray,
    outer: np.ndarray | None = None,
    two_away: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Sub-slice offset of the peak, in [-0.5, 0.5]: the vertex of the parabola through the
    best slice's measure and its neighbours', each transformed by the stack's focus-curve model
    (``focus_curve_exponent``, chosen on the pixels whose ``peaked``-ness is at least
    ``CALIBRATION_PEAKED``). On an end slice, with the measure two slices inwards (``outer``,
    NaN elsewhere), through the end and the next two slices, kept inside the stack; without
    ``outer`` 0 there. 0 where the three do not bend downwards. Given the measures two slices
    either side (``two_away``: for stacks whose ``focus_curve_is_wide``), five slices are
    fitted instead where the stack has them (``_wide_vertex``)."""
    exponent = focus_curve_exponent(best, own, before, after, where=peaked >= CALIBRATION_PEAKED)
    offset = _vertex(best, own, before, after, exponent)
    if outer is not None:
        inward = np.where(own == 0, after, before)  # the end slice's one neighbour
        end = np.isfinite(outer)
        depth = _end_vertex(best[end], inward[end], outer[end], exponent)
        offset[end] = np.where(own[end] == 0, depth, -depth)
    if two_away is not None:
        five = _wide_vertex(best, before, after, *two_away)
        offset = np.where(np.isfinite(five), five, offset).astype(best.dtype)
    return offset


def focus_curve_is_wide(
    best: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    below: np.ndarray,
    above: np.ndarray,
    where: np.ndarray,
) -> bool:
    """Whether the stack's focus curve is a Gaussian's over five slices (slices closer than the
    depth of field), judged on the pixels ``where`` (clearly peaked) with all five slices.

    The log of a Gaussian is a parabola, so its fall from the best slice to the mean of its two
    neighbours is a third of the fall from them to the two beyond; a thin lens's cusp falls
    steeper near focus (a ratio of 1 and more). The stack's median ratio under ``WIDE_SHAPE``
    says Gaussian. Pixels whose measure rises again two slices away count as steep.
    """
    tiny = np.float32(1e-12)
    usable = np.isfinite(below) & np.isfinite(above) & where
    samples = _calibration_sample(usable, below, before, best, after, above)
    if samples is None:
        return False
    logs = [np.log(m + tiny) for m in samples]
    near, far = (logs[1] + logs[3]) / 2, (logs[0] + logs[4]) / 2
    return bool(np.median((logs[2] - near) / np.maximum(near - far, tiny)) <= WIDE_SHAPE)


def _wide_vertex(
    best: np.ndarray, before: np.ndarray, after: np.ndarray, below: np.ndarray, above: np.ndarray
) -> np.ndarray:
    """The vertex of the least-squares parabola through the log measure of the five slices
    around the best, in [-0.5, 0.5]; NaN where one is beyond the stack or they do not bend.

    Where slices are closer than the depth of field, the best slice's neighbours are almost as
    sharp as itself and three points leave the vertex to the noise; five put it where the whole
    curve bends (the log of a Gaussian, ``focus_curve_is_wide``, is a parabola).
    """
    tiny = np.float32(1e-12)
    logs = [np.log(m + tiny) for m in (below, before, best, after, above)]
    slope = (2 * (logs[4] - logs[0]) + logs[3] - logs[1]) / 10
    curvature = (2 * (logs[0] + logs[4]) - logs[1] - 2 * logs[2] - logs[3]) / 14
    bends = np.isfinite(curvature) & (curvature < 0)
    vertex = np.clip(-slope / (2 * np.where(bends, curvature, -1)), -0.5, 0.5)
    return np.where(bends, vertex, np.nan).astype(best.dtype)


def focus_curve_exponent(
    best: np.ndarray,
    own: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    where: np.ndarray | None = None,
) -> float:
    """The model (one of ``EXPONENTS``) whose vertices spread evenly over a slice, judged on the
    pixels ``where`` (default: all) whose best slice has both neighbours.

    How a focus measure falls off around focus belongs to the stack (optics and slice step), not
    to the pixel. Under a thin lens it falls like a power of the defocus, a cusp: the parabola
    through the log measure pulls the vertex towards the sampled slice, while through
    ``measure ** -1/p`` it is exact for a measure falling as ``(s^2 + dz^2) ** -p``. A stack whose
    step matches its depth of field has a flat top instead, which the log fits. A specimen
    crosses the focal planes at every phase, so the right model spreads the offsets evenly over
    the slice (standard deviation 1 / sqrt(12)); a wrong one piles them up at 0 or at the
    edges. Where no model spreads them over ``MIN_SPREAD`` of that (a specimen parallel to the
    focal planes, or too few pixels with a clear peak), the log stays.
    """
    usable = (own > 0) & np.isfinite(after)
    if where is not None:
        usable &= where
    samples = _calibration_sample(usable, best, own, before, after)
    if samples is None:
        return 0.0
    spreads = np.array([_vertex(*samples, exponent).std() * np.sqrt(12) for exponent in EXPONENTS])
    if spreads.max() < MIN_SPREAD:
        return 0.0
    return EXPONENTS[int(np.argmin(np.abs(spreads - 1.0)))]


def _calibration_sample(usable: np.ndarray, *maps: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """The ``maps`` at the ``usable`` pixels, evenly strided to at most ``CALIBRATION_PIXELS``
    (a stack-wide choice needs no more); None where under 100 pixels are usable."""
    inside = np.flatnonzero(usable)
    if inside.size < 100:
        return None
    take = inside[:: max(1, inside.size // CALIBRATION_PIXELS)]
    return tuple(np.ravel(m)[take] for m in maps)


def _transform(measure: np.ndarray, exponent: float) -> np.ndarray:
    """The Box-Cox transform (``m ** e / e``, the log at 0): the focus curve as a parabola."""
    tiny = np.float32(1e-12)
    return np.log(measure + tiny) if exponent == 0 else (measure + tiny) ** exponent / exponent


def _vertex(
    best: np.ndarray, own: np.ndarray, before: np.ndarray, after: np.ndarray, exponent: float
) -> np.ndarray:
    """The vertex of the parabola through the transformed measure of the best slice and its
    neighbours."""
    offset, bends = _parabola_vertex(*(_transform(m, exponent) for m in (before, best, after)))
    inside = (own > 0) & np.isfinite(after) & bends
    return np.where(inside, np.clip(offset, -0.5, 0.5), 0).astype(best.dtype)


def _end_vertex(
    end: np.ndarray, inner: np.ndarray, outer: np.ndarray, exponent: float
) -> np.ndarray:
    """Distance of the vertex inwards from an end slice, in [0, 0.5], of the parabola through the
    transformed measure of the end slice and the next two (0 where they do not bend downwards)."""
    offset, bends = _parabola_vertex(*(_transform(m, exponent) for m in (end, inner, outer)))
    return np.where(bends, np.clip(1 + offset, 0.0, 0.5), 0.0).astype(np.float32)


def _parabola_vertex(
    lower: np.ndarray, middle: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(vertex's offset from the middle point, whether the three bend downwards) of the parabola
    through three values one slice apart; the offset is meaningless where they do not bend."""
    curvature = lower - 2 * middle + upper
    bends = curvature < 0
    return 0.5 * (lower - upper) / np.where(bends, curvature, -1), bends


def _peakedness(best: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """How far the best slice stands out of the mean, against the stack's noise floor, in [0, 1].

    In flat background the measure is noise, and with a few slices its largest draw stands
    out of the mean by chance; measured against the floor too (the measure of the least
    active hundredth of the frame, its flattest part) such pixels stay low, and textured ones,
    far above the floor, keep their peakedness.
    """
    active = mean[mean > 0]  # regions outside an aligned slice measure nothing
    floor = float(np.percentile(active, FLOOR_PERCENTILE)) if active.size else 0.0
    peaked = (best - mean) / np.maximum(best + FLOOR_WEIGHT * floor, np.float32(1e-12))
    return np.clip(peaked, 0.0, 1.0).astype(np.float32)


def depth_steps(position: np.ndarray, reach: int = EDGE_REACH) -> np.ndarray:
    """Pixels within ``reach`` px of a height step: the height's range (max - min) over a
    (2 reach + 1)-px square exceeds ``EDGE_JUMP`` slices and ``ROUGHNESS_STEPS`` times the
    median range over 5 x 5 px (the surface's roughness, which steps, being thin lines, do not
    move). A smooth slope passes unless it climbs that much within ``2 reach`` px."""
    return _height_range(position, reach) > max(EDGE_JUMP, ROUGHNESS_STEPS * roughness(position))


def roughness(position: np.ndarray) -> float:
    """Median range of the height over 5 x 5 px: how much it varies from pixel to pixel."""
    return float(np.median(_height_range(position, 2)))


def _height_range(position: np.ndarray, reach: int) -> np.ndarray:
    import cv2

    window = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return cv2.dilate(position, window) - cv2.erode(position, window)


def _confidence(peaked: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The activity's peakedness (``_peakedness``), 0 where the height is not ``known`` (beside
    depth steps), smoothed like the position, so single noisy pixels do not poke through."""
    import cv2

    return cv2.GaussianBlur(peaked * known, (0, 0), SMOOTHING)
