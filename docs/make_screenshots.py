"""Screenshots for docs/napari.md, taken from a real napari window.

Run under a virtual display (about a minute on two CPU cores)::

    xvfb-run -a python docs/make_screenshots.py

It opens the motorcycle sample, fuses it, shows the decision map, fine-tunes briefly, fuses
again with the tuned model, and writes small palette PNGs to docs/images/.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "images"
MAX_WIDTH = 1100


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


if __name__ == "__main__":
    main()
