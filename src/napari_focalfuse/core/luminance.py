"""Grey-level input for the network: luminance of each slice scaled to [0, 1] for the stack.

The scale comes from the whole stack (sampled sparsely), never per slice, so slices stay
comparable, and 12-bit data in uint16 or arbitrary float ranges feed the network like 8-bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import FocalFuseError

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def luminance(slice_: np.ndarray) -> np.ndarray:
    """(Y, X) or (Y, X, C) -> (Y, X) float32; alpha is ignored."""
    img = np.asarray(slice_)
    if img.ndim == 3:
        return img[..., :3].astype(np.float32, copy=False) @ LUMA
    return img.astype(np.float32, copy=False)


@dataclass(frozen=True)
class LuminanceScaler:
    lo: float
    hi: float

    @classmethod
    def fit(
        cls,
        stack: Any,
        max_slices: int = 8,
        max_pixels: int = 250_000,
        read: Callable[[int], np.ndarray] | None = None,
    ) -> LuminanceScaler:
        """Robust range (0.05 / 99.95 percentiles) from a few slices, each sub-sampled.

        ``read(z)`` replaces ``stack[z]`` (e.g. a cache that keeps what it decoded).
        """
        picks = cls.sample_slices(stack.shape[0], max_slices)
        step = max(1, int(np.sqrt(stack.shape[1] * stack.shape[2] / max_pixels)))
        samples = []
        for z in picks:
            whole = read(int(z)) if read is not None else np.asarray(stack[z])
            lum = luminance(whole[::step, ::step])
            samples.append(lum[np.isfinite(lum)].ravel())
        values = np.concatenate(samples)
        if values.size == 0:
            raise FocalFuseError("The stack holds no finite pixel values (all NaN or inf).")
        lo, hi = np.percentile(values, [0.05, 99.95])
        if not hi > lo:
            lo, hi = float(values.min()), float(values.max())
        if not hi > lo:
            hi = lo + 1.0  # flat stack: nothing is sharper than anything else
        return cls(float(lo), float(hi))

    @staticmethod
    def sample_slices(n: int, max_slices: int = 8) -> list[int]:
        """Every slice of a short stack (so the result never depends on slice order), else
        ``max_slices`` spread along z: a focal stack's range barely changes along z."""
        return [int(z) for z in np.unique(np.linspace(0, n - 1, min(n, max_slices)).round())]

    def __call__(self, slice_: np.ndarray) -> np.ndarray:
        lum = luminance(slice_)
        out = (lum - self.lo) * (1.0 / (self.hi - self.lo))
        return np.clip(out, 0.0, 1.0, out=out)

    def torch(self, slice_: "torch.Tensor") -> "torch.Tensor":
        """Same as calling the scaler, for a (Y, X[, C]) tensor already in float32."""
        import torch

        if slice_.ndim == 3:
            slice_ = slice_[..., :3] @ torch.as_tensor(LUMA, device=slice_.device)
        return ((slice_ - self.lo) * (1.0 / (self.hi - self.lo))).clamp_(0.0, 1.0)
