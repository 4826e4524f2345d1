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
# Weights shipped beside the default, by name: (file, SHA-256). "brightfield" is the default
# trained further to rank focus on thin specimens in brightfield (scripts/train_focus_weights.py).
BUILTIN_WEIGHTS = {
    "default": (DEFAULT_WEIGHTS, DEFAULT_WEIGHTS_SHA256),
    "brightfield": ("brightfield.pt", "0cbb2df5c7082157a726700d0173468dece35bdd37f7d1ff0c8a2e003502dc73"),
}

WeightsLike = Union[None, str, os.PathLike, nn.Module, "Any"]


def default_weights_path() -> Path:
    """Path of the weights shipped inside the package (made by scripts/train_default_weights.py)."""
    return builtin_weights_path("default")


def builtin_weights_path(name: str) -> Path:
    """Path of the shipped weights called ``name`` (a key of BUILTIN_WEIGHTS)."""
    return Path(str(resources.files("napari_focalfuse") / "weights" / BUILTIN_WEIGHTS[name][0]))


def file_sha256(path: str | os.PathLike) -> str:
    import hashlib

    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def load_default_weights() -> FocalAutoencoder:
    """The shipped default weights, checked like :func:`load_builtin_weights`."""
    return load_builtin_weights("default")


def load_builtin_weights(name: str) -> FocalAutoencoder:
    """Shipped weights, after checking that the file is exactly the one that was shipped."""
    path = builtin_weights_path(name)
    if not path.is_file():
        raise FocalFuseError(f"The shipped weights file is missing ({path}); reinstall napari-focalfuse.")
    if file_sha256(path) != BUILTIN_WEIGHTS[name][1]:
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

    ``None`` or ``"default"`` is the shipped model, ``"brightfield"`` the shipped model trained
    further to rank focus on thin specimens in brightfield, ``"random"`` an untrained one (for
    comparisons), a path is loaded from disk, and a model (or anything with a ``.model``
    attribute, such as the result of :func:`finetune`) is used as given.
    """
    if weights is None:
        return load_default_weights()
    if isinstance(weights, str) and weights in BUILTIN_WEIGHTS:
        return load_builtin_weights(weights)
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
        f"weights must be a file path, 'default', 'brightfield', 'random' or a model, not {type(weights).__name__}."
    )
