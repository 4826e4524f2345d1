"""The self-supervised DenseNet autoencoder of the method (Du, Fu & Huang 2022).

The encoder has five convolutions with dense connectivity: a stem (1 -> 16 channels) and four
layers that each see every earlier feature map and add ``growth`` channels, giving 64 feature
channels. Those features are what fusion measures. The four-layer decoder (64 -> 64 -> 32 -> 16
-> 1) exists only so the encoder can be trained without labels, by reconstructing its input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the autoencoder; saved with the weights so a file describes its own model."""

    stem: int = 16
    growth: int = 12
    dense_layers: int = 4

    @property
    def feature_channels(self) -> int:
        return self.stem + self.growth * self.dense_layers

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    # Reflect padding keeps borders from looking artificially sharp to the feature gradient.
    return nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect")


class DenseEncoder(nn.Module):
    """Five densely connected 3x3 convolutions: grey image (B,1,H,W) -> features (B,64,H,W)."""

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.stem = _conv(1, config.stem)
        self.dense = nn.ModuleList(
            _conv(config.stem + k * config.growth, config.growth)
            for k in range(config.dense_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.stem(x))
        for conv in self.dense:
            features = torch.cat([features, torch.relu(conv(features))], dim=1)
        return features


class Decoder(nn.Module):
    """Four convolutions that rebuild the grey image from the encoder's features."""

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        widths = [config.feature_channels, 64, 32, 16]
        self.hidden = nn.ModuleList(_conv(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out = _conv(widths[-1], 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features
        for conv in self.hidden:
            x = torch.relu(conv(x))
        return self.out(x)


class FocalAutoencoder(nn.Module):
    """Encoder + decoder; ``forward`` reconstructs, ``encoder`` alone is used for fusion."""

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        self.encoder = DenseEncoder(config)
        self.decoder = Decoder(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
