"""Per-pixel focus activity of one slice: how sharp the neighbourhood of each pixel is.

``deep`` is the method's feature gradient: the spatial frequency of the encoder's 64 feature
maps (squared differences with the left and upper neighbour, summed over channels), averaged
over a window. ``laplacian`` is the paper's baseline, the pixel-wise |Laplacian|.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .model import DenseEncoder

ENCODER_HALO = 8  # > receptive field of 5 convolutions (5 px) plus the neighbour difference
TILE = 512  # feature maps are computed tile by tile so their memory does not grow with the image


def spatial_frequency(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 1, H, W): channel-summed squared left and upper differences."""
    dx = F.pad((features[..., :, 1:] - features[..., :, :-1]).square().sum(1, keepdim=True), (1, 0))
    dy = F.pad((features[..., 1:, :] - features[..., :-1, :]).square().sum(1, keepdim=True), (0, 0, 1, 0))
    return dx + dy


def box_mean(image: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, shrinking at the borders; (B, 1, H, W) -> same shape."""
    if radius <= 0:
        return image
    k = 2 * radius + 1
    return F.avg_pool2d(image, k, stride=1, padding=radius, count_include_pad=False)


def feature_gradient(encoder: DenseEncoder, grey: torch.Tensor, tile: int = TILE) -> torch.Tensor:
    """Un-windowed feature gradient of a (1, 1, H, W) image, computed in overlapping tiles."""
    _, _, h, w = grey.shape
    out = torch.empty((1, 1, h, w), dtype=torch.float32, device=grey.device)
    halo = ENCODER_HALO
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa = max(0, y0 - halo), max(0, x0 - halo)
            yb, xb = min(h, y1 + halo), min(w, x1 + halo)
            sf = spatial_frequency(encoder(grey[..., ya:yb, xa:xb]))
            out[..., y0:y1, x0:x1] = sf[..., y0 - ya : y1 - ya, x0 - xa : x1 - xa].float()
    return out


def laplacian_magnitude(grey: torch.Tensor) -> torch.Tensor:
    """Pixel-wise |Laplacian| (4-neighbour), the classic focus measure."""
    kernel = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=grey.dtype, device=grey.device)
    padded = F.pad(grey, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, kernel.view(1, 1, 3, 3)).abs()


def slice_activity(
    grey: np.ndarray,
    method: str,
    encoder: DenseEncoder | None,
    radius: int,
    scale: int,
    device: torch.device,
) -> np.ndarray:
    """Activity map (H, W) float32 of one grey slice in [0, 1].

    ``scale`` > 1 computes the measure on a ``scale``-times down-sampled image (area average,
    which also averages sensor noise) and up-samples the result; ``radius`` is in full-resolution
    pixels.
    """
    h, w = grey.shape
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32))[None, None].to(device)
        if scale > 1:
            x = F.avg_pool2d(x, scale, ceil_mode=True)
        if method == "deep":
            act = feature_gradient(encoder, x)
            act = box_mean(act, max(1, round(radius / scale)))
        else:
            act = laplacian_magnitude(x)
            if radius > 0:
                act = box_mean(act, max(1, round(radius / scale)))
        if scale > 1:
            act = F.interpolate(act, size=(h, w), mode="bilinear", align_corners=False)
        return act[0, 0].cpu().numpy()
