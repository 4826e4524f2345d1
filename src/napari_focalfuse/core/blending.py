"""Blending slices instead of picking one pixel: the only way to beat the oracle pick.

``agreement_blend`` averages, pixel by pixel, every slice that agrees with the sharpest slice's
content within the sensor noise: their windowed squared difference stays near the ``2 sigma^2``
that two noisy copies of the same content have. Blurred slices differ by more and drop out, so
the average removes noise without adding blur, and seams between regions soften. One slice is
in memory at a time; the weights are normalised with an online softmax.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .activity import box_mean

AGREEMENT_RADIUS = 2  # px window of the slice-to-reference difference
AGREEMENT_TOLERANCE = 2.0  # in units of sigma^2 beyond the pure-noise expectation


class SoftAccumulator:
    """Online normalised sum of slices weighted by ``exp(logw)``, stable for any count.

    The running-max rescaling of an online softmax: only the running max, the running sum of
    weights and the weighted sum of slices are kept.
    """

    def __init__(self) -> None:
        self.m = self.s = self.num = None

    def add(self, logw: torch.Tensor, values: torch.Tensor) -> None:
        if self.m is None:
            self.m, self.s, self.num = logw.clone(), torch.ones_like(logw), values.clone()
            return
        m_new = torch.maximum(self.m, logw)
        old = (self.m - m_new).exp_()
        new = (logw - m_new).exp_()
        self.s.mul_(old).add_(new)
        if values.ndim == 3:
            old, new = old[..., None], new[..., None]
        self.num.mul_(old).addcmul_(new, values)
        self.m = m_new

    def result(self) -> torch.Tensor:
        """The normalised sum; the accumulator is used up (its buffers are reused)."""
        s = self.s[..., None] if self.num.ndim == 3 else self.s
        return self.num.div_(s)


def noise_sigma(grey: torch.Tensor) -> float:
    """Robust sensor-noise estimate (std) of one grey slice (Immerkær 1996).

    The kernel [1,-2,1] x [1,-2,1] cancels smooth content, leaving mostly noise; it is applied
    as two second differences, only at every other pixel.
    """
    rows = grey[:, :-2] - 2 * grey[:, 1:-1] + grey[:, 2:]
    response = (rows[:-2:2] - 2 * rows[1:-1:2] + rows[2::2])[:, ::2].abs()
    # the response to noise has std 6 sigma; the median of a half-normal is 0.6745 of its std
    return float(response.flatten().median()) / (6 * 0.6745)


def agreement_blend(
    read: Callable[[int], torch.Tensor],
    n: int,
    reference: torch.Tensor,
    grey: Callable[[torch.Tensor], torch.Tensor],
    sigma: float,
    on_slice: Callable[[int], Any] | None = None,
) -> torch.Tensor:
    """Average, pixel by pixel, the slices that match ``reference`` within the noise.

    ``read(z)`` gives slice ``z`` as float values like ``reference``; ``grey`` turns values into
    the [0, 1] luminance that ``sigma`` was measured on.
    """
    var = max(sigma * sigma, 1e-10)
    ref = grey(reference)
    acc = SoftAccumulator()
    for z in range(n):
        values = read(z)
        diff = box_mean((grey(values) - ref).square_()[None, None], AGREEMENT_RADIUS)[0, 0]
        # log-weight 0 within the noise, falling off beyond it; normalised against the best
        # match, so where no slice agrees the closest ones still win
        acc.add((diff - 2 * var).clamp_(min=0).mul_(-1.0 / (AGREEMENT_TOLERANCE * var)), values)
        if on_slice is not None:
            on_slice(z)
    return acc.result()
