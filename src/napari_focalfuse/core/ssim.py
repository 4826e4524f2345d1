"""Structural similarity in torch, differentiable, for the training loss ``L_p + λ(1 − SSIM)``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

C1 = 0.01**2  # stabilising constants for data in [0, 1]
C2 = 0.03**2


def _gaussian_window(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(1, 1, size, size).contiguous()


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of two (B, 1, H, W) batches with values in [0, 1]."""
    w = _gaussian_window(window, sigma, a.device).to(a.dtype)
    mu_a = F.conv2d(a, w)
    mu_b = F.conv2d(b, w)
    var_a = F.conv2d(a * a, w) - mu_a**2
    var_b = F.conv2d(b * b, w) - mu_b**2
    cov = F.conv2d(a * b, w) - mu_a * mu_b
    num = (2 * mu_a * mu_b + C1) * (2 * cov + C2)
    den = (mu_a**2 + mu_b**2 + C1) * (var_a + var_b + C2)
    return (num / den).mean()


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, lam: float) -> torch.Tensor:
    """The method's loss: pixel MSE plus λ times the structural dissimilarity."""
    return F.mse_loss(recon, target) + lam * (1.0 - ssim(recon, target))
