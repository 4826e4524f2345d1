"""Shipped weights load offline; weights files are data, never code."""

from __future__ import annotations

import pickle

import pytest
import torch

import napari_focalfuse as ff
from napari_focalfuse.core.errors import FocalFuseError
from napari_focalfuse.core.model import FocalAutoencoder, count_parameters
from napari_focalfuse.core.weights import builtin_weights_path, default_weights_path, resolve_model


@pytest.mark.parametrize("name", ["default", "brightfield"])
def test_shipped_weights_load_and_are_trained(name):
    path = builtin_weights_path(name)
    assert path.is_file() and path.stat().st_size < 1_000_000
    model = resolve_model(name)
    assert 60_000 < count_parameters(model) < 90_000
    torch.manual_seed(0)
    untrained = FocalAutoencoder()
    x = torch.rand(1, 1, 48, 48)
    with torch.no_grad():
        err_trained = (model(x) - x).abs().mean()
        err_random = (untrained(x) - x).abs().mean()
    assert err_trained < (0.2 if name == "default" else 0.3) * err_random  # focus training costs some


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


def test_shipped_weights_match_their_pin():
    """If this fails after retraining: paste the hash scripts/train_default_weights.py (or
    train_focus_weights.py) printed into src/napari_focalfuse/core/weights.py."""
    from napari_focalfuse.core.weights import BUILTIN_WEIGHTS, DEFAULT_WEIGHTS_SHA256, file_sha256

    assert file_sha256(default_weights_path()) == DEFAULT_WEIGHTS_SHA256
    for name, (_, pin) in BUILTIN_WEIGHTS.items():
        assert file_sha256(builtin_weights_path(name)) == pin, name


@pytest.mark.parametrize("name", ["default", "brightfield"])
@pytest.mark.parametrize("damage", ["one-byte", "other-weights", "missing"])
def test_a_tampered_shipped_weights_file_is_refused(tmp_path, monkeypatch, damage, name):
    """A changed shipped file that still loads (other weights, a flipped byte) is refused with a
    sentence, by fuse and finetune alike, instead of silently giving other results."""
    import numpy as np

    from napari_focalfuse.core import weights
    from napari_focalfuse.core.weights import builtin_weights_path, save_weights

    fake = tmp_path / f"{name}.pt"
    if damage == "one-byte":
        data = bytearray(builtin_weights_path(name).read_bytes())
        data[len(data) // 2] ^= 0x01
        fake.write_bytes(bytes(data))
    elif damage == "other-weights":
        torch.manual_seed(1)
        save_weights(FocalAutoencoder(), fake)
        ff.load_weights(fake)  # a perfectly loadable file
    monkeypatch.setattr(weights, "builtin_weights_path", lambda n: fake if n == name else builtin_weights_path(n))
    stack = np.random.default_rng(0).random((3, 32, 32), dtype=np.float32)
    pattern = "missing" if damage == "missing" else r"shipped weights file .* changed or damaged"
    chosen = None if name == "default" else name
    with pytest.raises(FocalFuseError, match=pattern):
        ff.fuse(stack, weights=chosen)
    with pytest.raises(FocalFuseError, match=pattern):
        ff.finetune(stack, epochs=1, weights=chosen, patch_size=16, steps_per_epoch=1)
    ff.fuse(stack, weights="random")  # other weights are not concerned


def test_brightfield_weights_find_the_focus_of_a_thin_specimen():
    """On a rendered blood smear in brightfield (its fringes fool contrast measures), the shipped
    brightfield weights put far more of the map within one slice of the true focus than the
    default weights or an untrained encoder: what their focus training bought."""
    import numpy as np

    from napari_focalfuse.core.thin_specimen import render_thin_stack, smear

    r = render_thin_stack(
        smear((128, 128), cells=25, radius=8.0, seed=5), n_slices=10, focus_index=5.0,
        tilt=(0.5, 1.5), absorption=0.25, phase=1.5, noise=0.01, seed=1,
    )  # fmt: skip
    within = {
        w: float(np.mean(np.abs(ff.fuse(r.stack, weights=w, align=False).mask.astype(int) - r.true_index) <= 1))
        for w in ("default", "brightfield", "random")
    }
    assert within["brightfield"] > 0.85, within
    assert within["brightfield"] > within["default"] + 0.2 and within["brightfield"] > within["random"] + 0.15


def test_save_weights_refuses_to_replace_unless_told(tmp_path):
    from napari_focalfuse.core.weights import save_weights

    path = tmp_path / "w.pt"
    save_weights(FocalAutoencoder(), path)
    before = path.read_bytes()
    with pytest.raises(FocalFuseError, match=r"w\.pt already exists"):
        save_weights(FocalAutoencoder(), path)
    assert path.read_bytes() == before
    torch.manual_seed(5)
    save_weights(FocalAutoencoder(), path, overwrite=True)
    assert path.read_bytes() != before


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("image", "not a torch file"),
        ("text", "not a torch file"),
        ("zip", "not a torch file"),
        ("truncated", "truncated or corrupt"),
        ("state_dict", "not one saved by napari-focalfuse"),
        ("tensor", "not one saved by napari-focalfuse"),
        ("folder", "is a folder"),
    ],
)
def test_a_file_that_is_not_weights_gets_one_sentence(tmp_path, kind, reason):
    import zipfile

    import numpy as np
    import tifffile

    path = tmp_path / "w.pt"
    if kind == "image":
        tifffile.imwrite(path, np.zeros((8, 8), np.uint8))
    elif kind == "text":
        path.write_text("weights: none\n")
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data.pkl", b"not a pickle")
    elif kind == "truncated":
        path.write_bytes(default_weights_path().read_bytes()[:5000])
    elif kind == "state_dict":
        torch.save(FocalAutoencoder().state_dict(), path)
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    else:
        path.mkdir()
    with pytest.raises(FocalFuseError) as info:
        ff.load_weights(path)
    message = str(info.value)
    assert reason in message and "w.pt" in message, message
    assert message.endswith(".") and "\n" not in message and "Error" not in message, message
