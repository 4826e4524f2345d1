"""The weights a user can pick: shipped, untrained, a file, or a model tuned in this session."""

from __future__ import annotations

from typing import Any

from .registry import TUNED_MODELS

DEFAULT = "default"
BRIGHTFIELD = "brightfield"
RANDOM = "random"
FILE = "file"
TUNED_PREFIX = "tuned:"


def weights_choices(with_file: bool = True) -> list[tuple[str, str]]:
    """(label, key) pairs for a ComboBox; tuned models come last, newest at the end."""
    choices = [
        ("Shipped (default)", DEFAULT),
        ("Shipped, brightfield thin specimens", BRIGHTFIELD),
        ("Untrained (random)", RANDOM),
    ]
    if with_file:
        choices.append(("From file…", FILE))
    choices += [(f"Tuned: {name}", TUNED_PREFIX + name) for name in TUNED_MODELS.names()]
    return choices


def resolve_choice(key: str, path: Any = None) -> Any:
    """What to pass as ``weights=`` to the core for a ComboBox key (and the file widget's path)."""
    from ..core.errors import FocalFuseError

    if key == FILE:
        if not path or str(path) in ("", "."):
            raise FocalFuseError("Choose a weights file (.pt) first.")
        return str(path)
    if key.startswith(TUNED_PREFIX):
        name = key[len(TUNED_PREFIX) :]
        if name not in TUNED_MODELS:
            raise FocalFuseError(f"The tuned model '{name}' is no longer available.")
        return TUNED_MODELS.get(name)
    return key
