"""Real focal stacks (no ground truth): false-edge share, side by side with focus-stack, and crops.

For every stack in ../shared/data/stacks the default fusion (``fuse(stack)``, what
``napari-focalfuse fuse`` does) is scored by the false-edge share: the slices are aligned by
this package's own estimator (full frame, onto the middle slice), registered onto the fused
image (one affine transform, found by ECC against the slices' sharp composite), and the fused image's gradient energy beyond 1.1 x the
strongest slice gradient within 2 px is divided by its total (see
``napari_focalfuse.core.metrics.false_edge_share``). Any other fused image of the same frames is
scored the same way: focus-stack's (when ``--focus-stack`` gives its binary) and this package's
from before alignment existed (``--legacy-src`` gives that checkout's src/ folder).

    python benchmarks/real_stacks.py --focus-stack ~/focus-stack/build/focus-stack \\
        --legacy-src ../old/src

Writes benchmarks/out/real_stacks.json and docs/images/real_crops_<stack>.jpg.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from legacy import legacy_fused_files
from napari_focalfuse.io.formats import natural_key
from scenes import DATA

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DOCS = HERE.parent / "docs" / "images"
STACKS = ["pcb-switch", "keyboard-sweep", "pseudoscorpion-microscope", "algae-microscope", "ring-macro"]
# full-resolution crops shown in the docs (y, x in the reference slice), on defocused edges
CROPS = {
    "pcb-switch": [(40, 690), (560, 1180), (1080, 330)],
    "keyboard-sweep": [(40, 60), (150, 380)],
    "pseudoscorpion-microscope": [(1470, 270), (1270, 870), (1120, 1370)],
    "algae-microscope": [(1750, 3950), (560, 3400), (2230, 450)],
    "ring-macro": [(300, 420), (650, 900)],
}
CROP = 256


def slice_files(folder: Path) -> list[Path]:
    """Image files of a stack in natural order, without a tool's reference output."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".png", ".tif"} and p.stem != "expected"]
    return sorted(files, key=natural_key)


def grey(image: np.ndarray) -> np.ndarray:
    from napari_focalfuse.core.luminance import luminance
    from napari_focalfuse.core.metrics import to_unit

    return luminance(to_unit(image)).astype(np.float32)


def reference_slices(stack) -> tuple[list[np.ndarray], np.ndarray]:
    """Every slice grey, aligned onto the middle slice (full frame), and their sharp composite.

    The composite takes each pixel from the slice with the most gradient energy around it: it
    looks like any fused image, so a fused image registers onto it without the bias that
    registering onto one (partly defocused) slice has (2-5 px on pseudoscorpion).
    """
    import cv2

    import napari_focalfuse as ff
    from napari_focalfuse.core.metrics import gradient_magnitude

    alignment = ff.align_stack(stack, keep_size=True)
    view = ff.AlignedStack(stack, alignment)
    slices = [grey(view[z]) for z in range(len(view))]
    best = np.full(slices[0].shape, -1.0, np.float32)
    composite = np.zeros_like(slices[0])
    for s in slices:
        energy = cv2.GaussianBlur(gradient_magnitude(s), (0, 0), 4)
        better = energy > best
        best[better], composite[better] = energy[better], s[better]
    return slices, composite


def onto_fused(fused_grey: np.ndarray, composite: np.ndarray, slices: list[np.ndarray]) -> list[np.ndarray]:
    """Slices (in the composite's geometry) resampled onto the fused image's pixels.

    One affine transform, found by ECC on <= 1024 px and refined at full resolution.
    """
    import cv2

    m = np.eye(2, 3, dtype=np.float32)
    if fused_grey.shape != composite.shape:  # the fused image is a crop: start where it fits
        _, _, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(composite, fused_grey, cv2.TM_CCOEFF_NORMED))
        m[:, 2] = (x, y)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
    factor = max(1, max(composite.shape) // 1024)
    small = lambda a: cv2.resize(a, (a.shape[1] // factor, a.shape[0] // factor), interpolation=cv2.INTER_AREA)  # noqa: E731
    m[:, 2] /= factor
    _, m = cv2.findTransformECC(small(fused_grey), small(composite), m, cv2.MOTION_AFFINE, criteria, None, 5)
    m[:, 2] *= factor
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 1e-6)
    _, m = cv2.findTransformECC(fused_grey, composite, m, cv2.MOTION_AFFINE, criteria, None, 5)
    h, w = fused_grey.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return [cv2.warpAffine(s, m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE) for s in slices]


def false_edges(fused: np.ndarray, composite: np.ndarray, slices: list[np.ndarray]) -> float:
    from napari_focalfuse.core.metrics import false_edge_share

    g = grey(fused)
    return false_edge_share(g, onto_fused(g, composite, slices))


def run_focus_stack(binary: str, files: list[Path], target: Path) -> float:
    start = time.perf_counter()
    subprocess.run([binary, f"--output={target}", *map(str, files)], check=True, capture_output=True)
    return time.perf_counter() - start


def crops_figure(
    name: str,
    images: dict[str, np.ndarray],
    reference_geometry: dict[str, tuple[int, int]],
    filename: str | None = None,
    folder: Path = DOCS,
) -> None:
    """Rows of crops: one column per method, each crop located in that method's own image.

    Written to ``folder``/``filename`` (default docs/images/real_crops_<name>.jpg)."""
    from PIL import Image, ImageDraw

    import cv2

    rows = []
    labels = list(images)
    for y, x in CROPS.get(name, []):
        cells = []
        for label in labels:
            img = images[label]
            dy, dx = reference_geometry[label]
            yy, xx = max(0, y - dy), max(0, x - dx)
            cell = img[yy : yy + CROP, xx : xx + CROP, :3]
            if cell.shape[:2] != (CROP, CROP):
                cell = cv2.resize(np.ascontiguousarray(cell), (CROP, CROP))
            cells += [cell, np.full((CROP, 4, 3), 255, np.uint8)]
        rows += [np.concatenate(cells[:-1], 1), np.full((4, len(labels) * (CROP + 4) - 4, 3), 255, np.uint8)]
    if not rows:
        return
    title = np.full((22, rows[0].shape[1], 3), 255, np.uint8)
    sheet = Image.fromarray(np.concatenate([title, *rows[:-1]], 0))
    draw = ImageDraw.Draw(sheet)
    for i, label in enumerate(labels):
        draw.text((i * (CROP + 4) + 4, 5), label, fill=(0, 0, 0))
    folder.mkdir(parents=True, exist_ok=True)
    sheet.save(folder / (filename or f"real_crops_{name}.jpg"), quality=90)


def offset_in(image: np.ndarray, reference: np.ndarray) -> tuple[int, int]:
    """(dy, dx) of ``image`` (a crop of the reference's geometry) inside the reference."""
    import cv2

    if image.shape[:2] == reference.shape[:2]:
        return 0, 0
    _, _, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(reference, grey(image), cv2.TM_CCOEFF_NORMED))
    return y, x


def compare_weights(weights: dict[str, object], names: list[str], figure: str, folder: Path) -> dict:
    """Fuse each real stack with two weights: false-edge share of each, share of the map that
    changed, and crops side by side in ``folder``/``figure``_<stack>.jpg (first weights left).

    No truth on real stacks: this is what says whether a weights choice invents edges."""
    import napari_focalfuse as ff

    first, second = weights
    report = {}
    for name in names:
        stack, _ = ff.read_stack([str(f) for f in slice_files(DATA / "stacks" / name)])
        slices, composite = reference_slices(stack)
        fused, masks = {}, {}
        for label, w in weights.items():
            start = time.perf_counter()
            res = ff.fuse(stack, weights=w)
            fused[label], masks[label] = res.fused, res.mask
            share = false_edges(res.fused, composite, slices)
            report[f"{name} {label}"] = {"false_edge_share": share, "seconds": time.perf_counter() - start}
            print(f"{name:26s} {label:12s} false-edge share {share:.5f}", flush=True)
        changed = float(np.mean(masks[first] != masks[second]))
        report[f"{name} map changed"] = changed
        print(f"{name:26s} {changed:.1%} of the map differs", flush=True)
        crops_figure(name, fused, {k: (0, 0) for k in weights}, f"{figure}_{name}.jpg", folder)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--focus-stack", help="path of a focus-stack binary to compare with")
    parser.add_argument("--legacy-src", help="src/ folder of another checkout (e.g. before alignment)")
    parser.add_argument("--stacks", help="comma-separated subset")
    args = parser.parse_args()

    import napari_focalfuse as ff
    from napari_focalfuse.io.write import to_display

    rows = []
    names = args.stacks.split(",") if args.stacks else STACKS
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            folder = DATA / "stacks" / name
            if not folder.exists():
                continue
            files = slice_files(folder)
            stack, _ = ff.read_stack([str(p) for p in files])
            slices, composite = reference_slices(stack)
            start = time.perf_counter()
            result = ff.fuse(stack)
            seconds = time.perf_counter() - start
            images = {"napari-focalfuse": to_display(result.fused)}
            row = {"stack": name, "slices": len(files), "seconds": seconds,
                   "alignment": result.alignment.summary() if result.alignment else "not aligned",
                   "false_edge": {"napari-focalfuse": false_edges(result.fused, composite, slices)}}  # fmt: skip
            if args.legacy_src:
                legacy = legacy_fused_files(args.legacy_src, files, Path(tmp) / f"{name}.npy")
                images["before alignment"] = to_display(legacy)
                row["false_edge"]["before alignment"] = false_edges(legacy, composite, slices)
            if args.focus_stack:
                from PIL import Image

                target = Path(tmp) / f"{name}.png"
                row["focus_stack_seconds"] = run_focus_stack(args.focus_stack, files, target)
                theirs = np.asarray(Image.open(target).convert("RGB"))
                images["focus-stack"] = theirs
                row["false_edge"]["focus-stack"] = false_edges(theirs, composite, slices)
            geometry = {k: offset_in(v, composite) for k, v in images.items()}
            crops_figure(name, images, geometry)
            rows.append(row)
            print(json.dumps(row), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "real_stacks.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
