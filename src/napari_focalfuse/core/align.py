"""Aligning the slices of a focal stack: focus breathing (scale) and stage drift (shift).

Refocusing a macro lens changes its magnification and microscope stages drift, so the same
feature sits at different pixels in different slices; fusing them unaligned doubles edges.
Every slice gets a transform onto a reference slice (the middle one by default), estimated on
reduced grey slices with OpenCV's ECC (enhanced correlation coefficient, Evangelidis & Psarakis
2008): an area-based, sub-pixel method that is invariant to brightness and contrast changes and
copes with the different blur of neighbouring slices. OpenCV was chosen over scikit-image because
scikit-image registers translations only (phase correlation) and has no ECC or similar
gradient-based estimator of scale and rotation; ECC is what focus-stack uses too.

Slices are matched neighbour to neighbour (a far slice is never matched directly against a very
differently blurred one) from coarse to fine over an image pyramid, and the pairwise transforms
are chained to the reference. Only one reduced slice is kept while estimating, and each slice is
warped once at full resolution when fusion reads it, so memory does not grow with the number of
slices. A slice that cannot be registered keeps the identity and is named in a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

MODELS = ("similarity", "affine", "translation")
ALIGN_MAX_SIDE = 512  # long side (px) of the slices the transforms are estimated on
# "auto" aligns only when some slice's centre moved more than SHIFT_THRESHOLD px or a corner
# more than CORNER_THRESHOLD px. Below that, what looks like motion is mostly defocus: a blurred
# near object spreads over its background and looks slightly bigger, so slices of still
# rendered scenes read as moved by up to 1.3 px (centre) and 2.8 px (corners: a 0.5 % scale),
# and warping a still stack by such an estimate costs more than it mends. True drift below the
# thresholds is left to ``align=True``. See docs/alignment.md.
SHIFT_THRESHOLD = 1.5
CORNER_THRESHOLD = 3.0
MIN_SIDE = 32  # px: smaller slices hold too little to estimate a transform from
MIN_CORRELATION = 0.5  # ECC coefficient below which two slices are not one scene
DETAIL_CORRELATION = 0.6  # below it, too little detail is shared: match whole images instead
SCALE_RANGE = (0.8, 1.25)  # plausible magnification of a slice against the reference
MAX_SHIFT = 1 / 3  # of the frame's side: larger shifts are implausible for a focal stack
SMOOTHING = 5  # px, Gaussian kernel ECC smooths both slices with
DETAIL_SIGMA = 4.0  # px: content coarser than this is removed before matching (see _detail)


@dataclass
class Alignment:
    """Where each slice lies against the reference, and the region every slice covers.

    ``matrices[z]`` (2x3, float64) maps a pixel (x, y) of the reference slice to the same point
    in slice z, in full-resolution pixel coordinates; it is what resampling slice z needs.
    ``crop`` is (y0, x0, height, width) of the output in reference coordinates.
    """

    matrices: np.ndarray  # (Z, 2, 3)
    shape: tuple[int, int]  # (Y, X) of the input slices
    reference: int
    crop: tuple[int, int, int, int]
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def identity(cls, n: int, shape: tuple[int, int], reference: int | None = None) -> Alignment:
        eye = np.tile(np.eye(2, 3), (n, 1, 1))
        ref = n // 2 if reference is None else reference
        return cls(eye, tuple(shape), ref, (0, 0, *shape))

    @property
    def out_shape(self) -> tuple[int, int]:
        return self.crop[2], self.crop[3]

    def displacement(self) -> np.ndarray:
        """(Z,) largest distance (px) a frame corner or centre moves under each transform."""
        h, w = self.shape
        pts = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [(w - 1) / 2, (h - 1) / 2]])
        moved = np.einsum("zij,pj->zpi", self.matrices[:, :, :2], pts) + self.matrices[:, None, :, 2]
        return np.linalg.norm(moved - pts[None], axis=-1).max(axis=1)

    @property
    def moved(self) -> bool:
        """True when some slice moved clearly more than defocus alone can make it look."""
        shift = float(np.linalg.norm(self.shifts(), axis=1).max())
        return shift > SHIFT_THRESHOLD or float(self.displacement().max()) > CORNER_THRESHOLD

    def scales(self) -> np.ndarray:
        """(Z,) magnification of each slice against the reference (1 = same size)."""
        return np.sqrt(np.abs(np.linalg.det(self.matrices[:, :, :2])))

    def rotations(self) -> np.ndarray:
        """(Z,) rotation of each slice against the reference, in degrees."""
        m = self.matrices
        return np.degrees(np.arctan2(m[:, 1, 0] - m[:, 0, 1], m[:, 0, 0] + m[:, 1, 1]))

    def shifts(self) -> np.ndarray:
        """(Z, 2) (dx, dy) of the frame centre, in px."""
        h, w = self.shape
        c = np.array([(w - 1) / 2, (h - 1) / 2])
        return np.einsum("zij,j->zi", self.matrices[:, :, :2], c) + self.matrices[:, :, 2] - c

    def summary(self) -> str:
        """One line for people: the largest shift, the range of scales and rotations."""
        shift = float(np.linalg.norm(self.shifts(), axis=1).max())
        s = self.scales()
        r = np.abs(self.rotations()).max()
        return (
            f"largest shift {shift:.1f} px, scale {s.min():.4f}–{s.max():.4f}, "
            f"rotation up to {r:.2f}°"
        )

    def sampling_matrix(self, z: int) -> np.ndarray:
        """2x3 matrix from an output pixel (crop coordinates) to slice z's pixel."""
        y0, x0 = self.crop[:2]
        shift = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
        return self.matrices[z] @ shift

    def warp(self, values: np.ndarray, z: int) -> np.ndarray:
        """Slice z resampled into the output geometry (bicubic; borders replicated)."""
        import cv2

        h, w = self.out_shape
        m = self.sampling_matrix(z)
        if np.allclose(m, np.eye(2, 3)) and (h, w) == values.shape[:2]:
            return values
        src = values
        if src.dtype not in (np.uint8, np.uint16, np.int16, np.float32, np.float64) or not src.dtype.isnative:
            src = src.astype(np.float32)
        out = cv2.warpAffine(
            np.ascontiguousarray(src), m, (w, h),
            flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        if out.ndim < values.ndim:  # OpenCV drops a trailing axis of size 1
            out = out[..., None]
        return out.astype(values.dtype, copy=False)

    def coverage(self, z: int) -> np.ndarray:
        """(Y, X) bool in output coordinates: pixels that slice z really saw (not extrapolated)."""
        import cv2

        h, w = self.out_shape
        ones = np.ones(self.shape, np.uint8)
        inside = cv2.warpAffine(
            ones, self.sampling_matrix(z), (w, h),
            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
        )  # fmt: skip
        return inside.astype(bool)


# ------------------------------------------------------------------ estimating one pair


def _to_similarity(m: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The similarity (scale, rotation, shift) closest to affine ``m``, fixed at ``centre``."""
    a = m[:, :2]
    p, q = (a[0, 0] + a[1, 1]) / 2, (a[1, 0] - a[0, 1]) / 2
    s = np.array([[p, -q], [q, p]])
    mapped_centre = a @ centre + m[:, 2]
    return np.hstack([s, (mapped_centre - s @ centre)[:, None]])


def _pyramid(image: np.ndarray, min_side: int = 48) -> list[np.ndarray]:
    """Levels, finest first, halved while the short side stays >= ``min_side``."""
    import cv2

    levels = [image]
    while min(levels[-1].shape) // 2 >= min_side:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _detail(image: np.ndarray) -> np.ndarray:
    """The image minus its Gaussian blur (a difference of Gaussians).

    Defocus changes the large-scale look of a slice (a blurred near object spreads over its
    surroundings) more than where its detail sits; matching detail only halves the apparent
    motion that different blur alone produces between still slices. A slice far out of focus
    has too little detail left, and is matched whole.
    """
    import cv2

    return np.ascontiguousarray(image - cv2.GaussianBlur(image, (0, 0), DETAIL_SIGMA))


def _textured(image: np.ndarray) -> bool:
    """Enough contrast to register anything (a black or flat frame has none)."""
    return float(image.std()) > 1e-3


def match_pair(
    fixed: np.ndarray, moving: np.ndarray, model: str = "similarity"
) -> tuple[np.ndarray, float, bool] | None:
    """Transform (2x3) mapping ``fixed`` pixel coordinates onto ``moving``, its ECC score, and
    whether it was found on the slices' detail.

    Their detail is matched first (see :func:`_detail`); where the two share too little of it
    (one slice far out of focus) the whole images are, which is less exact. None when neither
    converges to a convincing match (no texture, another scene).
    """
    if not (_textured(fixed) and _textured(moving)):
        return None
    fixed_levels, moving_levels = _pyramid(fixed), _pyramid(moving)
    found = _ecc(
        [_detail(a) for a in fixed_levels], [_detail(b) for b in moving_levels], model
    )  # fmt: skip
    if found is not None and found[1] >= DETAIL_CORRELATION:
        return (*found, True)
    found = _ecc(fixed_levels, moving_levels, model)
    if found is None or found[1] < MIN_CORRELATION:
        return None
    return (*found, False)


def _ecc(fixed_levels: list[np.ndarray], moving_levels: list[np.ndarray], model: str):
    """Coarse-to-fine ECC over two pyramids; each level starts from the coarser estimate."""
    import cv2

    motion = {"translation": cv2.MOTION_TRANSLATION, "similarity": cv2.MOTION_AFFINE,
              "affine": cv2.MOTION_AFFINE}[model]  # fmt: skip
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
    m = np.eye(2, 3, dtype=np.float32)
    score = 0.0
    for level in range(len(fixed_levels) - 1, -1, -1):
        f, g = fixed_levels[level], moving_levels[level]
        try:
            score, m = cv2.findTransformECC(f, g, m, motion, criteria, None, SMOOTHING)
        except cv2.error:
            return None
        if model == "similarity":
            centre = np.array([(f.shape[1] - 1) / 2, (f.shape[0] - 1) / 2])
            m = _to_similarity(m.astype(np.float64), centre).astype(np.float32)
        if level > 0:
            m = m.copy()
            m[:, 2] *= 2
    if not math.isfinite(score):
        return None
    return m.astype(np.float64), float(score)


def _rescale(m: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """A transform estimated on images shrunk by (``fx``, ``fy``), in full-resolution pixels.

    A reduced pixel's centre x sits at (x + 0.5) * fx - 0.5 in full-resolution coordinates.
    """
    to_full = np.array([[fx, 0, (fx - 1) / 2], [0, fy, (fy - 1) / 2], [0, 0, 1]])
    return (to_full @ np.vstack([m, [0, 0, 1]]) @ np.linalg.inv(to_full))[:2]


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """x -> outer(inner(x)) for 2x3 affine matrices."""
    return (np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]]))[:2]


def _invert(m: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]


# ------------------------------------------------------------------ the whole stack


def alignment_size(shape: tuple[int, int], max_side: int = ALIGN_MAX_SIDE) -> tuple[int, int]:
    """(height, width) the transforms are estimated at: the long side at most ``max_side``."""
    h, w = shape
    factor = max(1.0, max(h, w) / max_side)
    return max(8, round(h / factor)), max(8, round(w / factor))


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` area-averaged to ``size`` (height, width), as float32."""
    import cv2

    image = np.ascontiguousarray(image)
    if image.dtype not in (np.uint8, np.uint16, np.float32) or not image.dtype.isnative:
        image = image.astype(np.float32)
    if image.shape[:2] != tuple(size):
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return image.astype(np.float32, copy=False)


def _plausible(m: np.ndarray, shape: tuple[int, int]) -> str | None:
    """Why transform ``m`` cannot be a focal-stack motion, or None when it can."""
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        return f"a scale of {scale:.3f}"
    h, w = shape
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    shift = m[:, :2] @ centre + m[:, 2] - centre
    if abs(shift[0]) > MAX_SHIFT * w or abs(shift[1]) > MAX_SHIFT * h:
        return f"a shift of ({shift[0]:.0f}, {shift[1]:.0f}) px"
    return None


def estimate_alignment(
    read_grey: Callable[[int], np.ndarray],
    n: int,
    shape: tuple[int, int],
    *,
    model: str = "similarity",
    reference: int | None = None,
    keep_size: bool = False,
    max_side: int = ALIGN_MAX_SIDE,
    on_slice: Callable[[int], object] | None = None,
) -> Alignment:
    """Estimate every slice's transform onto ``reference`` (default: the middle slice).

    ``read_grey(z)`` gives slice z as a float grey image in [0, 1] of
    ``alignment_size(shape, max_side)`` (it is shrunk to it otherwise); slices are read once, in
    order. Each slice is matched against the one before it (see :func:`_best_link` for when
    another is taken); the pairwise transforms are chained to the reference. Slices no chain reaches and
    implausible estimates keep the identity and are listed in ``Alignment.warnings``.
    """
    from .errors import FocalFuseError

    if model not in MODELS:
        raise FocalFuseError(f"Unknown alignment model '{model}'; use one of {', '.join(MODELS)}.")
    ref = n // 2 if reference is None else int(reference)
    if not 0 <= ref < n:
        raise FocalFuseError(f"The reference slice {ref} is outside the stack (0-{n - 1}).")
    links: list[tuple[int, int, np.ndarray]] = []  # (a, b, M): x_b = M(x_a), full resolution
    failed: dict[int, str] = {}
    blank: set[int] = set()
    previous = anchor = None  # (z, small): the slice before, and the last one that matched
    sharpest = None  # (z, small, detail): the most detailed slice that matched so far
    size = alignment_size(shape, max_side)
    fx, fy = shape[1] / size[1], shape[0] / size[0]
    for z in range(n):
        small = shrink(read_grey(z), size)
        if not _textured(small):
            failed[z] = "it has no texture to register (blank or flat)"
            blank.add(z)
        else:
            link = _best_link(small, previous, anchor, sharpest, model)
            if link is not None:
                links.append((link[0], z, _rescale(link[1], fx, fy)))
            elif previous is not None:
                partner = anchor if anchor is not None else previous
                failed[z] = f"it does not match slice {partner[0]} (no texture, or another scene)"
            if link is not None or anchor is None:
                anchor = (z, small)
                detail = float(np.std(_detail(small)))
                if sharpest is None or detail > sharpest[2]:
                    sharpest = (z, small, detail)
            previous = (z, small)
        if on_slice is not None:
            on_slice(z)

    if ref in blank and len(blank) < n:  # a blank reference: the nearest slice with texture
        ref = min((z for z in range(n) if z not in blank), key=lambda z: abs(z - ref))
    known = _chain(ref, links)
    matrices = np.tile(np.eye(2, 3), (n, 1, 1))
    warnings = []
    for z in range(n):
        if z not in known:
            why = failed.get(z, "no chain of matching slices joins it to the reference")
            warnings.append(f"Slice {z} was not aligned: {why}; it keeps its position.")
            continue
        implausible = _plausible(known[z], shape)
        if implausible is not None:
            warnings.append(
                f"Slice {z} was not aligned: the estimate ({implausible}) is implausible; it keeps its position."
            )
            continue
        matrices[z] = known[z]
    alignment = Alignment(matrices, tuple(shape), ref, (0, 0, *shape), warnings)
    if not keep_size:
        alignment.crop = common_region(matrices, shape)
    return alignment


def _best_link(small, previous, anchor, sharpest, model: str) -> tuple[int, np.ndarray] | None:
    """(earlier slice, transform onto ``small``): the link to chain a new slice by.

    The neighbour first. If the two share too little detail to be matched on it (the stack
    passes through a slice far out of focus), the most detailed slice so far is tried too: a
    chain of whole-image matches through blurred slices drifts (30 px on pseudoscorpion, whose
    focus goes down and comes back), a match on shared detail does not. If the neighbour does
    not match at all (it may be the odd one out), the last slice that matched is tried.
    """
    found = match_pair(previous[1], small, model) if previous is not None else None
    if found is not None and found[2]:
        return previous[0], found[0]
    if sharpest is not None and (previous is None or sharpest[0] != previous[0]):
        sharp = match_pair(sharpest[1], small, model)
        if sharp is not None and sharp[2]:
            return sharpest[0], sharp[0]
    if found is not None:
        return previous[0], found[0]
    if anchor is not None and previous is not None and anchor[0] != previous[0]:
        found = match_pair(anchor[1], small, model)
        if found is not None:
            return anchor[0], found[0]
    return None


def _chain(reference: int, links: list[tuple[int, int, np.ndarray]]) -> dict[int, np.ndarray]:
    """Each slice's transform onto ``reference``, composed along the links (breadth first)."""
    known = {reference: np.eye(2, 3)}
    grown = True
    while grown:
        grown = False
        for a, b, m in links:
            if a in known and b not in known:
                known[b] = _compose(m, known[a])
                grown = True
            elif b in known and a not in known:
                known[a] = _compose(_invert(m), known[b])
                grown = True
    return known


def common_region(matrices: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(y0, x0, height, width) of the largest centred box every slice covers, in reference px.

    Each slice's frame, mapped into the reference, is a near-rectangle; the box stays inside
    the innermost of its edges.
    """
    h, w = shape
    x0, y0, x1, y1 = 0.0, 0.0, w - 1.0, h - 1.0
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], float)
    for m in matrices:
        inv = _invert(m)
        p = corners @ inv[:, :2].T + inv[:, 2]  # slice corners in reference coordinates
        x0 = max(x0, p[0, 0], p[2, 0])
        x1 = min(x1, p[1, 0], p[3, 0])
        y0 = max(y0, p[0, 1], p[1, 1])
        y1 = min(y1, p[2, 1], p[3, 1])
    top, left = math.ceil(y0 - 1e-6), math.ceil(x0 - 1e-6)
    bottom, right = math.floor(y1 + 1e-6), math.floor(x1 + 1e-6)
    if bottom - top < 7 or right - left < 7:
        return (0, 0, h, w)  # nothing in common: keep the frame rather than fail
    return (top, left, bottom - top + 1, right - left + 1)


# ------------------------------------------------------------------ a stack, read slice by slice


def estimate_for_stack(
    read: Callable[[int], np.ndarray],
    n: int,
    slice_shape: tuple[int, ...],
    grey: Callable[[np.ndarray], np.ndarray],
    *,
    model: str = "similarity",
    keep_size: bool = False,
    on_slice: Callable[[int], object] | None = None,
) -> Alignment:
    """The alignment of ``n`` slices given by ``read(z)`` (raw values), ``grey`` making them
    grey in [0, 1] (a :class:`LuminanceScaler`); each slice is shrunk before it is made grey."""
    from .errors import FocalFuseError

    shape = tuple(slice_shape[:2])
    if min(shape) < MIN_SIDE:
        raise FocalFuseError(
            f"Slices of {shape[1]}x{shape[0]} px are too small to align (at least {MIN_SIDE} px "
            "a side); use align=False."
        )
    size = alignment_size(shape)
    return estimate_alignment(
        lambda z: grey(shrink(read(z), size)), n, shape, model=model, keep_size=keep_size,
        on_slice=on_slice,
    )  # fmt: skip


def align_stack(
    stack,
    model: str = "similarity",
    keep_size: bool = False,
    progress: Callable[[int, int], object] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Alignment:
    """Estimate how the slices of ``stack`` (Z, Y, X[, C]) lie against its middle slice.

    The same estimate :func:`napari_focalfuse.fuse` makes with ``align=True``; use
    :class:`AlignedStack` to read (or save) the aligned slices.
    """
    from .errors import Cancelled
    from .luminance import LuminanceScaler
    from .slices import SliceSource
    from .stack import as_stack

    stack = as_stack(stack)
    n = int(stack.shape[0])
    if progress is not None:
        progress(0, n)
    with SliceSource(stack, budget=0) as source:
        scaler = LuminanceScaler.fit(stack, read=source.get)

        def read(z: int) -> np.ndarray:
            if should_stop is not None and should_stop():
                raise Cancelled("alignment cancelled")
            return source.get(z, ahead=z + 1)

        done = (lambda z: progress(z + 1, n)) if progress is not None else None
        return estimate_for_stack(
            read, n, stack.shape[1:], scaler, model=model, keep_size=keep_size, on_slice=done
        )


class AlignedStack:
    """(Z, Y', X'[, C]) view of a stack through an :class:`Alignment`: ``[z]`` warps slice z.

    Nothing is computed until a slice is asked for, so it can be written or shown slice by
    slice like any stack this package reads.
    """

    def __init__(self, stack, alignment: Alignment) -> None:
        self.stack = stack
        self.alignment = alignment
        self.shape = (int(stack.shape[0]), *alignment.out_shape, *tuple(stack.shape[3:]))
        self.dtype = np.dtype(stack.dtype)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, z: int) -> np.ndarray:
        if not isinstance(z, (int, np.integer)):
            raise TypeError("an AlignedStack is read one slice at a time: stack[z]")
        return self.alignment.warp(np.asarray(self.stack[int(z)]), int(z))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.stack([self[z] for z in range(len(self))])
        return out if dtype is None else out.astype(dtype, copy=False)
