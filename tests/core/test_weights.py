"""Shipped weights load offline; weights files are data, never code."""

from __future__ import annotations

import pickle

import pytest
import torch

import napari_focalfuse as ff
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.model import FocalAutoencoder, count_parameters
from napari_focalfuse.core.weights import default_weights_path, resolve_model


def test_shipped_weights_load_and_are_trained():
    path = default_weights_path()
    assert path.is_file() and path.stat().st_size < 1_000_000
    model = ff.load_weights(path)
    assert 60_000 < count_parameters(model) < 90_000
    torch.manual_seed(0)
    untrained = FocalAutoencoder()
    x = torch.rand(1, 1, 48, 48)
    with torch.no_grad():
        err_trained = (model(x) - x).abs().mean()
        err_random = (untrained(x) - x).abs().mean()
    assert err_trained < 0.2 * err_random


def test_encoder_has_five_dense_convolutions_and_64_features():
    model = FocalAutoencoder()
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5
    assert [c.in_channels for c in convs] == [1, 16, 28, 40, 52]  # each sees all earlier maps
    assert model.encoder(torch.zeros(1, 1, 16, 16)).shape[1] == 64
    decoder = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(decoder) == 4


class _Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_weights_file_carrying_code_is_refused_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"format": "napari-focalfuse-weights", "payload": _Payload()}, path)
    with pytest.raises(FocalFuseError, match="contains code|not a readable"):
        ff.load_weights(path)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"not a torch file at all", pickle.dumps({"format": "napari-focalfuse-weights"})],
)
def test_corrupt_weights_are_one_clear_error(tmp_path, content):
    path = tmp_path / "w.pt"
    path.write_bytes(content)
    with pytest.raises(FocalFuseError, match="w.pt"):
        ff.load_weights(path)


def test_incompatible_weights_are_one_clear_error(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"format": "napari-focalfuse-weights", "config": {"stem": 16}, "state_dict": {"x": torch.zeros(2)}}, path)
    with pytest.raises(FocalFuseError, match="incompatible"):
        ff.load_weights(path)


def test_unknown_weights_argument():
    with pytest.raises(FocalFuseError, match="weights must be"):
        resolve_model(3.5)
