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
    # only names that can hold a stack: single photos (PNG, JPEG...) stay napari's alone
    assert set(c.readers[0].filename_patterns) == {"*.tif", "*.tiff"}
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


def test_readme_menu_path_is_what_napari_shows(make_napari_viewer):
    """README and docs/napari.md say Plugins › FocalFuse › <widget>: read it off the menu bar."""
    from pathlib import Path

    viewer = make_napari_viewer()
    bar = viewer.window._qt_window.menuBar()

    def paths(menu, prefix=()):
        for action in menu.actions():
            text = action.text().replace("&", "")
            if action.menu() is not None:
                yield from paths(action.menu(), (*prefix, text))
            elif text:
                yield (*prefix, text)

    shown = set(paths(bar))
    assert ("Plugins", "FocalFuse", "Fuse focal stack") in shown
    assert ("Plugins", "FocalFuse", "Fine-tune autoencoder") in shown
    sample = ("File", "Open Sample", "Rendered focal stack (motorcycle) (FocalFuse)")
    assert sample in shown
    root = Path(__file__).resolve().parents[2]
    for doc in ("README.md", "docs/napari.md"):
        text = (root / doc).read_text()
        assert "Plugins › FocalFuse › Fuse focal stack" in text, doc
        assert "Plugins › napari-focalfuse" not in text, doc
    assert " › ".join(sample) in (root / "docs/napari.md").read_text()


def test_widgets_run_on_qt6():
    """napari deprecates PyQt5 (its warning covers the canvas); the testing extra installs
    napari[pyqt6], so these tests run on the Qt napari users get."""
    import qtpy

    assert qtpy.QT6, qtpy.API_NAME
