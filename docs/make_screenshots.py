"""Screenshots for docs/napari.md, taken from a real napari window.

Run under a virtual display (about a minute on two CPU cores)::

    xvfb-run -a python docs/make_screenshots.py

It opens the motorcycle sample, fuses it, shows the decision map, fine-tunes briefly, fuses
again with the tuned model, shows the surface in 3-D, and writes small palette PNGs to
docs/images/. ``python docs/make_screenshots.py surface`` takes only the surface shot.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "images"
MAX_WIDTH = 1100
SURFACE_ANGLES = (0.0, -25.0, -40.0)  # napari camera angles, degrees: a slanted view from the front
SURFACE_EXAGGERATION = 3.0  # the sample's 50 µm of relief across 741 px would look flat


def save_png(image: np.ndarray, name: str, max_width: int = MAX_WIDTH) -> Path:
    """Down-scale to ``max_width`` and quantise to 256 colours: each PNG stays well under 300 KB."""
    from PIL import Image

    img = Image.fromarray(np.asarray(image)[..., :3])
    if img.width > max_width:
        img = img.resize((max_width, round(img.height * max_width / img.width)), Image.LANCZOS)
    path = OUT / name
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path.name}: {img.width}x{img.height}, {path.stat().st_size // 1024} KB")
    return path


def grab(widget, name: str) -> Path:
    """A dock widget alone, as the user sees it."""
    from qtpy.QtWidgets import QApplication

    from PIL import Image

    QApplication.processEvents()
    raw = OUT / f".{name}.raw.png"
    widget.native.grab().save(str(raw))
    arr = np.asarray(Image.open(raw).convert("RGB"))
    raw.unlink()
    # a dock is taller than its content: drop the empty rows below the last widget
    busy = np.flatnonzero((arr != arr[-1:, :, :]).any(axis=(1, 2)))
    if busy.size:
        arr = arr[: min(arr.shape[0], busy[-1] + 10)]
    return save_png(arr, name, max_width=600)


def wait(worker_owner, timeout: float = 600.0) -> None:
    """Keep the event loop turning until the widget's worker has finished."""
    from qtpy.QtWidgets import QApplication

    start = time.time()
    while worker_owner.running:
        QApplication.processEvents()
        time.sleep(0.05)
        if time.time() - start > timeout:
            sys.exit("timed out waiting for the worker")
    for _ in range(20):  # let the last redraws land
        QApplication.processEvents()
        time.sleep(0.02)


def settle(viewer=None) -> None:
    """Let Qt lay out docks (and fit the image to the canvas they leave) before a screenshot."""
    from qtpy.QtWidgets import QApplication

    for _ in range(10):
        QApplication.processEvents()
        time.sleep(0.02)
    if viewer is not None:
        viewer.reset_view()
        camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
        camera.zoom *= 1.05  # reset_view leaves a wide margin
        QApplication.processEvents()


def shot(viewer, name: str) -> Path:
    settle(viewer)
    return save_png(viewer.screenshot(canvas_only=False, flash=False), name)


def main() -> None:
    import napari

    from napari_focalfuse.core.weights import default_weights_path

    OUT.mkdir(exist_ok=True)
    weights = "default" if default_weights_path().is_file() else "random"
    viewer = napari.Viewer(title="napari-focalfuse")
    viewer.window.resize(1500, 900)
    viewer.open_sample("napari-focalfuse", "motorcycle")
    stack = viewer.layers["motorcycle"]
    viewer.dims.set_point(0, 2 * stack.scale[0])  # a slice with visible blur

    _, fuse = viewer.window.add_plugin_dock_widget("napari-focalfuse", "Fuse focal stack")
    fuse.stack.value = stack
    fuse.weights.value = weights
    shot(viewer, "01_stack_and_fuse_widget.png")
    grab(fuse, "02_fuse_widget.png")

    fuse.start()
    wait(fuse)
    shot(viewer, "03_fused.png")  # as the widget leaves it: the fused image on top, selected
    viewer.layers["motorcycle fused"].visible = False  # reveals the decision map under it
    viewer.layers.selection.active = viewer.layers["motorcycle decision map"]
    shot(viewer, "04_decision_map.png")
    viewer.layers["motorcycle fused"].visible = True

    _, tune = viewer.window.add_plugin_dock_widget("napari-focalfuse", "Fine-tune autoencoder")
    tune.stack.value = stack
    tune.start_from.value = weights
    tune.epochs.value = 4
    tune.steps_per_epoch.value = 15
    tune.lr.value = 1e-3 if weights == "random" else 1e-4
    tune.start()
    wait(tune)
    grab(tune, "05_finetune_widget.png")

    fuse.weights.value = "tuned:" + tune.tuned_name
    fuse.start()
    wait(fuse)
    grab(fuse, "06_fuse_with_tuned_model.png")
    viewer.close()
    surface()


def surface() -> None:
    """The sample's relief as a Surface layer in 3-D, coloured by the fused image, seen at a slant."""
    import napari

    from napari_focalfuse.core.weights import default_weights_path

    viewer = napari.Viewer(title="napari-focalfuse")
    viewer.window.resize(1500, 900)
    viewer.open_sample("napari-focalfuse", "motorcycle")
    dock, fuse = viewer.window.add_plugin_dock_widget("napari-focalfuse", "Fuse focal stack")
    fuse.stack.value = viewer.layers["motorcycle"]
    fuse.weights.value = "default" if default_weights_path().is_file() else "random"
    fuse.show_surface.value = True
    fuse.start()
    wait(fuse)
    for layer in viewer.layers:  # the surface alone: the stack's volume would hide it
        layer.visible = layer.name == "motorcycle surface"
    surface = viewer.layers["motorcycle surface"]
    surface.scale = (SURFACE_EXAGGERATION * surface.scale[0], *surface.scale[1:])
    dock.setVisible(False)  # a wide canvas
    settle(viewer)
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    camera.angles = SURFACE_ANGLES
    camera.zoom *= 0.8  # the slanted relief is wider than the image seen from above
    save_png(viewer.screenshot(canvas_only=True, flash=False), "07_surface_3d.png")
    viewer.close()


if __name__ == "__main__":
    surface() if sys.argv[1:] == ["surface"] else main()
