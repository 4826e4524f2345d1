"""Choosing the torch device: a GPU when torch sees one, the CPU otherwise."""

from __future__ import annotations

import torch

from .errors import FocalFuseError


def available_devices() -> list[str]:
    """Devices this torch build can use, best first after 'auto'."""
    names = ["auto"]
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    names.append("cpu")
    return names


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = available_devices()[1]
    if name not in available_devices():
        raise FocalFuseError(f"Device '{name}' is not available here; use one of {available_devices()}.")
    return torch.device(name)
