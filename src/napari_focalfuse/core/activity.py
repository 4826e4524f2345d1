"""Per-pixel focus activity of one slice: how sharp the neighbourhood of each pixel is.

``deep`` is the method's feature gradient: the spatial frequency of the encoder's 64 feature
maps (squared differences with the left and upper neighbour, summed over channels); the
decision averages it over windows. ``laplacian`` is the paper's baseline, the pixel-wise
|Laplacian|.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .model import DenseEncoder

ENCODER_HALO = 8  # > receptive field of 5 convolutions (5 px) plus the neighbour difference
TILE = 512  # features are computed tile by tile: ~80 MB of feature maps whatever the image size


def spatial_frequency(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 1, H, W) float32: channel-summed squared left and upper differences.

    The method's feature gradient written plainly; fusion uses :class:`FeatureExtractor`, which
    computes the same blockwise without materialising the features (tests compare the two).
    """
    dx = (features[..., :, 1:] - features[..., :, :-1]).square().sum(1, keepdim=True, dtype=torch.float32)
    dy = (features[..., 1:, :] - features[..., :-1, :]).square().sum(1, keepdim=True, dtype=torch.float32)
    return F.pad(dx, (1, 0)) + F.pad(dy, (0, 0, 1, 0))


def fast_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 where the hardware runs it natively (AVX512-BF16/AMX CPUs, recent GPUs)."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device.type == "cpu":
        try:
            return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else torch.float32
        except (AttributeError, RuntimeError):
            return torch.float32
    return torch.float32


def memory_format(dtype: torch.dtype, device: torch.device) -> torch.memory_format:
    """Channels-last except for bfloat16 on a CPU, whose oneDNN kernels run these thin
    convolutions (12 to 48 output channels) fastest on plain NCHW tensors.

    One slice's feature gradient (512 x 384 px and its half), AMD EPYC with AVX512-BF16, two
    threads: bfloat16 52 ms NCHW against 76 ms channels-last; float32 128 ms NCHW against
    101 ms channels-last.
    """
    plain = device.type == "cpu" and dtype == torch.bfloat16
    return torch.contiguous_format if plain else torch.channels_last


class FeatureExtractor:
    """Inference-only encoder that returns the spatial frequency of its features, fast on CPUs.

    A dense layer's input is the concatenation of all earlier blocks, so its convolution is the
    sum of one convolution per block: each block's contribution to every later layer is computed
    at once (one wide convolution), added to the later layers' pre-activations, and the block's
    spatial frequency is accumulated — the 64-channel feature stack is never built. Weights are
    cast once (bfloat16 where the hardware runs it natively) into the memory format that runs
    that type fastest (:func:`memory_format`). Convolutions zero-pad, which only touches the halo
    that tiling throws away (the image itself is reflect-padded once).
    """

    def __init__(
        self,
        encoder: DenseEncoder,
        dtype: torch.dtype = torch.float32,
        device: torch.device = torch.device("cpu"),
    ):
        self.memory_format = memory_format(dtype, device)

        def cast(t: torch.Tensor) -> torch.Tensor:
            t = t.detach().to(device, dtype)
            return t.contiguous(memory_format=self.memory_format) if t.ndim == 4 else t

        dense = list(encoder.dense)
        sizes = [encoder.stem.out_channels] + [c.out_channels for c in dense]
        starts = [sum(sizes[:k]) for k in range(len(sizes))]
        self.dtype = dtype
        self.stem = (cast(encoder.stem.weight), cast(encoder.stem.bias))
        self.growth = sizes[1:]
        self.bias = [cast(c.bias)[None, :, None, None] for c in dense]
        # block k (stem = 0) feeds layers k..end: their weight columns for that block, stacked
        self.fan_out = [
            cast(torch.cat([dense[j].weight[:, starts[k] : starts[k] + sizes[k]] for j in range(k, len(dense))]))
            for k in range(len(dense))
        ]

    @staticmethod
    def _add_frequency(features: torch.Tensor, acc: torch.Tensor) -> None:
        acc[..., :, 1:] += (features[..., :, 1:] - features[..., :, :-1]).square_().sum(1, dtype=torch.float32)
        acc[..., 1:, :] += (features[..., 1:, :] - features[..., :-1, :]).square_().sum(1, dtype=torch.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(1, 1, H, W) grey -> (1, 1, H, W) float32 spatial frequency of the 64 features."""
        acc = torch.zeros((1, *x.shape[-2:]), dtype=torch.float32, device=x.device)
        x = x.to(self.dtype).contiguous(memory_format=self.memory_format)
        block = F.conv2d(x, *self.stem, padding=1).relu_()
        self._add_frequency(block, acc)
        pending = None  # pre-activations of the layers not computed yet
        for k, weight in enumerate(self.fan_out):
            out = F.conv2d(block, weight, padding=1)
            pending = out if pending is None else pending[:, self.growth[k - 1] :].add_(out)
            block = (pending[:, : self.growth[k]] + self.bias[k]).relu_()
            self._add_frequency(block, acc)
        return acc[:, None]


def feature_gradient(extractor: FeatureExtractor, grey: torch.Tensor, tile: int = TILE) -> torch.Tensor:
    """Un-windowed feature gradient of a (1, 1, H, W) image, computed in overlapping tiles."""
    _, _, h, w = grey.shape
    halo = ENCODER_HALO
    mode = "reflect" if min(h, w) > halo else "replicate"
    padded = F.pad(grey, (halo, halo, halo, halo), mode=mode)
    out = torch.empty((1, 1, h, w), dtype=torch.float32, device=grey.device)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            sf = extractor(padded[..., y0 : y1 + 2 * halo, x0 : x1 + 2 * halo])
            out[..., y0:y1, x0:x1] = sf[..., halo:-halo, halo:-halo]
    return out


def laplacian_magnitude(grey: torch.Tensor) -> torch.Tensor:
    """Pixel-wise |Laplacian| (4-neighbour), the classic focus measure."""
    kernel = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=grey.dtype, device=grey.device)
    padded = F.pad(grey, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, kernel.view(1, 1, 3, 3)).abs()


def activity_map(
    grey: torch.Tensor,
    method: str,
    extractor: FeatureExtractor | None,
    scale: int,
    with_half: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Un-windowed activity (h, w) float32 of one grey slice (Y, X) in [0, 1], at 1/``scale``.

    ``scale`` > 1 measures on the area-averaged (down-sampled) slice, which also averages
    sensor noise; the decision works at that resolution, and only blending returns to full
    resolution. ``with_half`` also returns the activity of the slice at half that resolution
    (how the decision tells smooth blur rings from fine detail), else None.
    """
    with torch.inference_mode():
        x = grey.to(dtype=torch.float32)[None, None]
        if scale > 1:
            x = F.avg_pool2d(x, scale, ceil_mode=True)
        measure = (lambda t: feature_gradient(extractor, t)) if method == "deep" else laplacian_magnitude
        half = measure(F.avg_pool2d(x, 2, ceil_mode=True))[0, 0] if with_half else None
        return measure(x)[0, 0], half
