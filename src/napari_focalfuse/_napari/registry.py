"""Fine-tuned models of this session, shared by the fine-tune and the fusion widgets.

The fine-tune widget adds to it; the fusion widget lists it and listens to ``changed``. It is
module-level because the two widgets are created independently by napari.
"""

from __future__ import annotations

from typing import Any

from psygnal import Signal


class TunedModels:
    """An ordered name -> TunedModel mapping that tells listeners when it changes."""

    changed = Signal()

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}

    def add(self, base_name: str, tuned: Any) -> str:
        """Store ``tuned`` under a unique name built from ``base_name``; returns that name."""
        name, k = base_name, 2
        while name in self._models:
            name, k = f"{base_name} ({k})", k + 1
        self._models[name] = tuned
        self.changed.emit()
        return name

    def get(self, name: str) -> Any:
        return self._models[name]

    def names(self) -> list[str]:
        return list(self._models)

    def clear(self) -> None:
        self._models.clear()
        self.changed.emit()

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __len__(self) -> int:
        return len(self._models)


TUNED_MODELS = TunedModels()
