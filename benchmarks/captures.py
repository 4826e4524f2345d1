"""Rendered stacks that behave like real captures, with a known truth: halos and motion.

Each scene (see scenes.py) is rendered with realistic occlusion blur (a defocused near object
spreads over the far one behind it, and the far layer's colour continues behind the near one:
``render_focal_stack(fill_behind=True)``), then, for the moving cases, every slice is moved as a
macro lens and a microscope stage move it: 3.7 % focus breathing across the stack (as measured
on pcb-switch), a random-walk drift of 1.5 px per slice and up to 0.2 degrees of rotation.

A fused image is registered onto the truth (ECC, similarity) before scoring, so neither the
choice of reference slice nor the crop counts; MAE is measured over the central 90 % of what
the fused image covers. The false-edge share is measured against the slices moved back by
their true motion.

    python benchmarks/captures.py                       # new pipeline only
    python benchmarks/captures.py --legacy-src ../old/src   # also "today's" package, for comparison
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from legacy import legacy_fused

HERE = Path(__file__).resolve().parent
CACHE = HERE / "out" / "captures"
OUT = HERE / "out"


@dataclass(frozen=True)
class CaptureCase:
    scene: str
    moving: bool
    n_slices: int = 8
    noise: float = 0.005
    max_blur: float = 8.0

    @property
    def name(self) -> str:
        return f"{self.scene}-{'moving' if self.moving else 'still'}"


def cases() -> list[CaptureCase]:
    from scenes import available

    return [CaptureCase(scene, moving) for scene in available() for moving in (False, True)]


def render(case: CaptureCase) -> dict[str, np.ndarray]:
    """The case's stack, truth and true motion (cached in benchmarks/out/captures)."""
    path = CACHE / f"{case.name}.npz"
    if path.exists():
        return dict(np.load(path))
    from scenes import available

    from napari_focalfuse.core.synthetic import apply_motion, motion_matrices, render_focal_stack

    image, disparity = available()[case.scene]()
    r = render_focal_stack(
        image, disparity, n_slices=case.n_slices, max_blur=case.max_blur, noise=case.noise,
        seed=1, fill_behind=True,
    )  # fmt: skip
    if case.moving:
        m = motion_matrices(case.n_slices, image.shape[:2], breathing=0.037, drift=1.5, rotation=0.2, seed=2)
        r = apply_motion(r, m)
    else:
        m = np.tile(np.eye(2, 3), (case.n_slices, 1, 1))
    out = {"stack": r.stack, "truth": r.truth, "true_index": r.true_index, "transforms": m}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


# ---------------------------------------------------------------- scoring


def _grey(image: np.ndarray) -> np.ndarray:
    from napari_focalfuse.core.luminance import luminance
    from napari_focalfuse.core.metrics import to_unit

    return luminance(to_unit(image)).astype(np.float32)


def register_onto(fused: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``fused`` resampled into the truth's geometry (ECC similarity), and where it is valid."""
    import cv2

    f, t = _grey(fused), _grey(truth)
    m = np.eye(2, 3, dtype=np.float32)
    if f.shape != t.shape:  # a crop: start from where it fits best
        score = cv2.matchTemplate(t, f, cv2.TM_CCOEFF_NORMED)
        _, _, _, (x, y) = cv2.minMaxLoc(score)
        m[:, 2] = (-x, -y)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 200, 1e-7)
    _, m = cv2.findTransformECC(t, f, m, cv2.MOTION_AFFINE, criteria, None, 5)
    h, w = t.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    moved = cv2.warpAffine(fused.astype(np.float32), m, (w, h), flags=flags)
    valid = cv2.warpAffine(np.ones(f.shape, np.float32), m, (w, h), flags=flags, borderValue=0) > 0.999
    valid = cv2.erode(valid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ys, xs = np.nonzero(valid)  # central 90 % of the covered box
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    dy, dx = int(0.05 * (y1 - y0)), int(0.05 * (x1 - x0))
    inner = np.zeros_like(valid)
    inner[y0 + dy : y1 - dy, x0 + dx : x1 - dx] = True
    return moved, valid & inner


def score(fused: np.ndarray, data: dict[str, np.ndarray]) -> dict[str, float]:
    """MAE against the truth after registration, and the false-edge share (truth-aligned slices)."""
    import cv2

    from napari_focalfuse.core.metrics import false_edge_share, to_unit

    truth = data["truth"]
    moved, valid = register_onto(fused, truth)
    diff = np.abs(to_unit(moved) - to_unit(truth))
    mae = float(diff[valid].mean())
    h, w = truth.shape[:2]
    slices = [
        cv2.warpAffine(_grey(s), m.astype(np.float32), (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        for s, m in zip(data["stack"], data["transforms"])
    ]  # fmt: skip
    ys, xs = np.nonzero(valid)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    fe = false_edge_share(_grey(moved)[box], [s[box] for s in slices], margin=0.0)
    return {"mae": mae, "false_edge": fe}


# ---------------------------------------------------------------- methods


def fuse_methods(stack: np.ndarray) -> dict[str, np.ndarray]:
    import napari_focalfuse as ff

    return {
        "laplacian (paper baseline)": ff.fuse(stack, "laplacian", window=0, consistency=False, soften=False, align=False).fused,
        "deep, align off": ff.fuse(stack, align=False).fused,
        "deep (default)": ff.fuse(stack).fused,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy-src", help="src/ folder of another checkout to compare with")
    parser.add_argument("--scenes", help="comma-separated subset of scenes")
    args = parser.parse_args()
    todo = [c for c in cases() if not args.scenes or c.scene in args.scenes.split(",")]
    for case in todo:
        render(case)
    names = [c.name for c in todo]
    legacy = legacy_fused(args.legacy_src, CACHE, names, OUT / "captures-legacy") if args.legacy_src else {}
    rows = []
    for case in todo:
        data = render(case)
        t0 = time.time()
        results = fuse_methods(data["stack"])
        if case.name in legacy:
            results["today (no alignment)"] = legacy[case.name]
        for method, fused in results.items():
            rows.append({"case": case.name, "scene": case.scene, "moving": case.moving, "method": method, **score(fused, data)})
        line = ", ".join(f"{r['method']} {r['mae']:.4f}/{r['false_edge']:.4f}" for r in rows if r["case"] == case.name)
        print(f"{case.name} ({time.time() - t0:.0f} s): {line}", flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "captures.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
