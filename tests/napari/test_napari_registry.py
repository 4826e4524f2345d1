"""The tuned-model registry and the weights choices built from it (no window needed)."""

from __future__ import annotations

import pytest
import torch

from napari_focalfuse._napari.registry import TUNED_MODELS
from napari_focalfuse._napari.weights_choice import resolve_choice, weights_choices
from napari_focalfuse.core.errors import FocalFuseError


def test_names_are_unique_and_listeners_hear_changes():
    heard = []

    def listener() -> None:
        heard.append(True)

    TUNED_MODELS.changed.connect(listener)
    try:
        first, second = object(), object()
        assert TUNED_MODELS.add("grey, 3 epochs", first) == "grey, 3 epochs"
        assert TUNED_MODELS.add("grey, 3 epochs", second) == "grey, 3 epochs (2)"
        assert TUNED_MODELS.get("grey, 3 epochs (2)") is second
        assert len(heard) == 2
    finally:
        TUNED_MODELS.changed.disconnect(listener)


def test_choices_resolve_to_what_the_core_accepts(tmp_path):
    model = object()
    name = TUNED_MODELS.add("astro", model)
    keys = [key for _label, key in weights_choices()]
    assert keys == ["default", "brightfield", "random", "file", "tuned:" + name]
    assert "file" not in [key for _label, key in weights_choices(with_file=False)]
    assert resolve_choice("default") == "default"
    from napari_focalfuse.core.weights import builtin_weights_path, load_weights, resolve_model

    chosen = resolve_model(resolve_choice("brightfield")).state_dict()
    shipped = load_weights(builtin_weights_path("brightfield")).state_dict()
    assert all(torch.equal(chosen[k], shipped[k]) for k in shipped)
    assert resolve_choice("tuned:" + name) is model
    assert resolve_choice("file", tmp_path / "w.pt") == str(tmp_path / "w.pt")
    with pytest.raises(FocalFuseError, match="weights file"):
        resolve_choice("file", "")
    with pytest.raises(FocalFuseError, match="no longer available"):
        resolve_choice("tuned:gone")
