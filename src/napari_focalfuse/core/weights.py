"""Saving, loading and resolving autoencoder weights.

Weights files are plain ``torch.save`` dictionaries of tensors, strings and numbers, always read
back with ``weights_only=True`` so a file can never run code.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Union

import torch
from torch import nn

from .errors import FocalFuseError
from .model import FocalAutoencoder, ModelConfig

FORMAT = "napari-focalfuse-weights"
FORMAT_VERSION = 1
DEFAULT_WEIGHTS = "default.pt"

WeightsLike = Union[None, str, os.PathLike, nn.Module, "Any"]


def default_weights_path() -> Path:
    """Path of the weights shipped inside the package (made by scripts/train_default_weights.py)."""
    return Path(str(resources.files("napari_focalfuse") / "weights" / DEFAULT_WEIGHTS))


def save_weights(model: FocalAutoencoder, path: str | os.PathLike, **info: Any) -> None:
    """Write ``model`` to ``path`` atomically (a temporary file renamed into place)."""
    from ..io.atomic import atomic_path

    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "info": {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool))},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_weights(path: str | os.PathLike) -> FocalAutoencoder:
    """Read a weights file into a new model; any problem becomes one clear FocalFuseError."""
    path = Path(path)
    if not path.is_file():
        raise FocalFuseError(f"Weights file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, refused globals...
        raise FocalFuseError(
            f"{path.name} is not a readable napari-focalfuse weights file "
            f"(corrupt, or it contains code, which is refused): {type(exc).__name__}."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FocalFuseError(f"{path.name} is not a napari-focalfuse weights file.")
    try:
        config = ModelConfig(**payload["config"])
        model = FocalAutoencoder(config)
        model.load_state_dict(payload["state_dict"])
    except Exception:
        raise FocalFuseError(
            f"{path.name} holds weights of an incompatible model shape."
        ) from None
    model.eval()
    return model


def resolve_model(weights: WeightsLike = None) -> FocalAutoencoder:
    """Turn the ``weights`` argument of the API into a model.

    ``None`` or ``"default"`` is the shipped model, ``"random"`` an untrained one (for
    comparisons), a path is loaded from disk, and a model (or anything with a ``.model``
    attribute, such as the result of :func:`finetune`) is used as given.
    """
    if weights is None or (isinstance(weights, str) and weights == "default"):
        return load_weights(default_weights_path())
    if isinstance(weights, str) and weights == "random":
        torch.manual_seed(0)
        return FocalAutoencoder().eval()
    if isinstance(weights, FocalAutoencoder):
        return weights
    inner = getattr(weights, "model", None)
    if isinstance(inner, FocalAutoencoder):
        return inner
    if isinstance(weights, (str, os.PathLike)):
        return load_weights(weights)
    raise FocalFuseError(
        f"weights must be a file path, 'default', 'random' or a model, not {type(weights).__name__}."
    )
