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
# SHA-256 of the shipped default.pt: a changed or damaged file is refused, never used. Retraining
# (scripts/train_default_weights.py) prints the new value to paste here.
DEFAULT_WEIGHTS_SHA256 = "a216ff8be6cb0e05561565f3c1d83d7207c56cb2485447dd4562ca19fc42ae8e"

WeightsLike = Union[None, str, os.PathLike, nn.Module, "Any"]


def default_weights_path() -> Path:
    """Path of the weights shipped inside the package (made by scripts/train_default_weights.py)."""
    return Path(str(resources.files("napari_focalfuse") / "weights" / DEFAULT_WEIGHTS))


def file_sha256(path: str | os.PathLike) -> str:
    import hashlib

    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def load_default_weights() -> FocalAutoencoder:
    """The shipped weights, after checking that the file is exactly the one that was shipped."""
    path = default_weights_path()
    if not path.is_file():
        raise FocalFuseError(f"The shipped weights file is missing ({path}); reinstall napari-focalfuse.")
    if file_sha256(path) != DEFAULT_WEIGHTS_SHA256:
        raise FocalFuseError(
            f"The shipped weights file {path} has been changed or damaged (its SHA-256 does not "
            "match the one napari-focalfuse was released with); reinstall napari-focalfuse."
        )
    return load_weights(path)


def save_weights(
    model: FocalAutoencoder, path: str | os.PathLike, *, overwrite: bool = False, **info: Any
) -> None:
    """Write ``model`` to ``path`` atomically; an existing file is replaced only if ``overwrite``."""
    from ..io.output_group import OutputGroup

    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "info": {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool))},
    }
    group = OutputGroup(overwrite)
    group.add(path, lambda tmp: _torch_save(payload, tmp))
    group.commit()


def _torch_save(payload: dict, path: Path) -> None:
    with open(path, "wb") as fh:  # a file object: the archive is not named after the temp file
        torch.save(payload, fh)


def load_weights(path: str | os.PathLike) -> FocalAutoencoder:
    """Read a weights file into a new model; any problem becomes one clear FocalFuseError."""
    path = Path(path)
    if path.is_dir():
        raise FocalFuseError(f"{path} is a folder; give a weights file (.pt).")
    if not path.is_file():
        raise FocalFuseError(f"Weights file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, missing members, refused globals...
        if "weights only load failed" in str(exc).lower() and "unsupported global" in str(exc).lower():
            why = "it contains code, which is refused"
        else:
            why = "not a torch file, or truncated or corrupt"
        raise FocalFuseError(
            f"{path.name} is not a readable napari-focalfuse weights file ({why})."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FocalFuseError(
            f"{path.name} is not a napari-focalfuse weights file (a torch file, but not one "
            "saved by napari-focalfuse train, the fine-tune widget or TunedModel.save)."
        )
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
        return load_default_weights()
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
