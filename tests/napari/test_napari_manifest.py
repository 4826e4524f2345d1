"""The npe2 manifest, checked without a window or a viewer."""

from __future__ import annotations

import subprocess
import sys

import pytest

npe2 = pytest.importorskip("npe2")


@pytest.fixture(scope="module")
def manifest():
    return npe2.PluginManifest.from_distribution("napari-focalfuse")


def test_manifest_validates(manifest):
    manifest.validate_imports()  # every python_name resolves to a callable


def test_npe2_validate_cli():
    out = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", "napari-focalfuse"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_contributions(manifest):
    c = manifest.contributions
    assert [r.command for r in c.readers] == ["napari-focalfuse.get_reader"]
    assert c.readers[0].accepts_directories
    assert {"*.tif", "*.tiff"} <= set(c.readers[0].filename_patterns)
    assert sorted(w.layer_types[0] for w in c.writers) == ["image", "labels"]
    assert all(set(w.filename_extensions) == {".tif", ".tiff"} for w in c.writers)
    assert [(s.key, s.display_name) for s in c.sample_data] == [
        ("motorcycle", "Rendered focal stack (motorcycle)")
    ]
    assert [w.display_name for w in c.widgets] == ["Fuse focal stack", "Fine-tune autoencoder"]


def test_manifest_modules_import_light():
    """napari indexes plugins at start-up: the reader/writer modules must not pull in torch or napari."""
    code = (
        "import sys, napari_focalfuse._napari.reader, napari_focalfuse._napari.writer, "
        "napari_focalfuse._napari.sample_data\n"
        "heavy = [m for m in ('torch', 'napari', 'qtpy', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
