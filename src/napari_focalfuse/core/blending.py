"""Averaging slices that agree within the sensor noise: the only way to beat the oracle pick.

``agreement_blend`` averages, pixel by pixel, every slice whose content matches a reference
within the noise: their windowed squared difference stays near the ``2 sigma^2`` that two noisy
copies of the same content have. Blurred slices differ by more and drop out, so the average
removes noise without adding blur. The reference is the seamless multi-band blend, which takes
part with a small fixed weight, so where no slice matches it (along the soft seams it drew) it
stays as it is and no new seam appears; or, on stacks where it invents no edge, the per-pixel
pick (fusion.py), which takes no weight: each pixel's weights are then relative to its best
match (an online softmax), so where the window straddles a seam the closest slices still win.
One slice is read at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .parallel import row_bands, worker_threads

AGREEMENT_RADIUS = 2  # px window of the slice-to-reference difference
AGREEMENT_TOLERANCE = 2.0  # in units of sigma^2 beyond the pure-noise expectation
REFERENCE_WEIGHT = 0.5  # weight of the blend itself, in slices


def noise_sigma(grey) -> float:
    """Robust sensor-noise estimate (std) of one grey slice (Immerkær 1996), torch or numpy.

    The kernel [1,-2,1] x [1,-2,1] cancels smooth content, leaving mostly noise; it is applied
    as two second differences, only at every other pixel.
    """
    rows = grey[:, :-2] - 2 * grey[:, 1:-1] + grey[:, 2:]
    response = abs(rows[:-2:2] - 2 * rows[1:-1:2] + rows[2::2])[:, ::2]
    # the response to noise has std 6 sigma; the median of a half-normal is 0.6745 of its std
    median = response.flatten().median() if hasattr(response, "median") else np.median(response)
    return float(median) / (6 * 0.6745)


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    k = 2 * radius + 1
    return cv2.boxFilter(image, -1, (k, k), borderType=cv2.BORDER_REPLICATE)


class _Band:
    """The agreement average of one band of rows, with buffers kept from slice to slice.

    The window reaches ``AGREEMENT_RADIUS`` rows beyond the band, so the band reads that many
    more rows of each slice (and of the reference) where the image has them: its rows come out
    exactly as if the whole frame were computed at once.
    """

    def __init__(self, rows: tuple[int, int], reference: np.ndarray, grey: Callable, var: float) -> None:
        self.y0, self.y1 = rows
        height = reference.shape[0]
        self.h0, self.h1 = max(0, self.y0 - AGREEMENT_RADIUS), min(height, self.y1 + AGREEMENT_RADIUS)
        self.inner = slice(self.y0 - self.h0, self.y1 - self.h0)
        self.grey, self.var = grey, var
        self.ref = grey(reference[self.h0 : self.h1])
        own = reference[self.y0 : self.y1]
        self.total = np.full(own.shape[:2], REFERENCE_WEIGHT, np.float32)
        self.acc = own * np.float32(REFERENCE_WEIGHT)
        self.values = np.empty((self.h1 - self.h0, *reference.shape[1:]), np.float32)
        self.weighted = np.empty_like(self.acc)

    def _log_weight(self, slice_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band's rows of ``slice_`` (float32) and their log-weight: 0 within the noise of
        the reference, falling off beyond it."""
        values = self.values
        np.copyto(values, slice_[self.h0 : self.h1], casting="unsafe")
        diff = self.grey(values)
        np.subtract(diff, self.ref, out=diff)
        np.square(diff, out=diff)
        diff = _box(diff, AGREEMENT_RADIUS)[self.inner]
        np.subtract(diff, 2 * self.var, out=diff)
        np.maximum(diff, 0, out=diff)
        return values[self.inner], diff * np.float32(-1.0 / (AGREEMENT_TOLERANCE * self.var))

    def _accumulate(self, inner: np.ndarray, weight: np.ndarray) -> None:
        self.acc += np.multiply(inner, weight[..., None] if inner.ndim == 3 else weight, out=self.weighted)

    def add(self, slice_: np.ndarray) -> None:
        inner, log_weight = self._log_weight(slice_)
        weight = np.exp(log_weight)
        self.total += weight
        self._accumulate(inner, weight)

    def result(self, out: np.ndarray) -> None:
        np.divide(self.acc, self.total[..., None] if self.acc.ndim == 3 else self.total, out=out[self.y0 : self.y1])


class _RelativeBand(_Band):
    """Like ``_Band``, but each pixel's weights are relative to its best-matching slice (an
    online softmax of the log-weights): where no slice matches within the noise, the closest
    ones still win. Used with a per-pixel pick as the reference, which takes no weight itself."""

    def __init__(self, rows: tuple[int, int], reference: np.ndarray, grey: Callable, var: float) -> None:
        super().__init__(rows, reference, grey, var)
        self.best: np.ndarray | None = None  # per pixel, the largest log-weight so far

    def add(self, slice_: np.ndarray) -> None:
        inner, log_weight = self._log_weight(slice_)
        if self.best is None:
            self.best = log_weight
            self.total[:] = 1
            np.copyto(self.acc, inner)
            return
        best = np.maximum(self.best, log_weight)
        rescale = np.exp(self.best - best)  # the sums so far, against the new best match
        weight = np.exp(log_weight - best)
        self.best = best
        self.total *= rescale
        self.total += weight
        self.acc *= rescale[..., None] if self.acc.ndim == 3 else rescale
        self._accumulate(inner, weight)


def agreement_blend(
    read: Callable[[int], np.ndarray],
    n: int,
    reference: np.ndarray,
    grey: Callable[[np.ndarray], np.ndarray],
    sigma: float,
    on_slice: Callable[[int], Any] | None = None,
    relative: bool = False,
) -> np.ndarray:
    """Average ``reference`` (float32) with the slices that match it within the noise.

    ``relative`` (for a per-pixel pick as the reference, which matches one slice exactly): the
    reference takes no weight itself and each pixel's weights are relative to its best match.

    ``read(z)`` gives slice ``z`` (any pixel type, its values on ``reference``'s scale);
    ``grey`` turns values into the [0, 1] luminance that ``sigma`` was measured on. The frame
    is cut into bands of rows worked on in parallel threads (numpy and OpenCV release the GIL).
    """
    var = max(sigma * sigma, 1e-10)
    band = _RelativeBand if relative else _Band
    bands = [band(rows, reference, grey, var) for rows in row_bands(reference.shape[0], worker_threads())]
    with ThreadPoolExecutor(len(bands), "focalfuse-agree") as pool:
        for z in range(n):
            slice_ = read(z)
            for job in [pool.submit(band.add, slice_) for band in bands]:
                job.result()
            if on_slice is not None:
                on_slice(z)
        out = np.empty(reference.shape, np.float32)
        for job in [pool.submit(band.result, out) for band in bands]:
            job.result()
    return out
