"""Does learning earn its keep? Thin specimens in brightfield, with a known focus (issue 9).

Renders thin specimens (synthetic blood smears, a textured "monolayer" picture, blobs) as
brightfield focal stacks (napari_focalfuse.core.thin_specimen: angular spectrum, partial
coherence, slightly tilted specimen, noise) and scores, per stack and method, the share of the
decision map within ±1 slice of the true focus (whole frame, and near the specimen only) and
the fused image's MAE against the noiseless in-focus image. Two ordinary rendered stacks
(thin-lens, held-out motorcycle crops) check that focus training does not hurt them.

    python benchmarks/thin_specimen.py                 # ~35 min on 1 core (--cases to split it)
    python benchmarks/thin_specimen.py --quick         # 2 stacks

Writes benchmarks/out/thin_specimen/<stack>.json and the tables of docs/benchmarks_learning.md
(from every stack measured so far).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DOC = HERE.parent / "docs" / "benchmarks_learning.md"
BEGIN, END = "<!-- thin-specimen table: begin -->", "<!-- thin-specimen table: end -->"


@dataclass(frozen=True)
class ThinCase:
    name: str
    focus: float
    tilt: tuple[float, float]
    absorption: float = 0.25
    phase: float = 1.5
    kind: str = "thin"  # "thin" or "thick" (ordinary thin-lens rendering)
    extra: dict = field(default_factory=dict, hash=False, compare=False)


CASES = [
    ThinCase("smear-dense", 5.0, (0.5, 1.5)),
    ThinCase("smear-sparse", 3.0, (1.0, 0.0), absorption=0.3, phase=1.0),
    ThinCase("monolayer-logo", 6.0, (0.0, 2.0)),
    ThinCase("blobs", 4.0, (1.0, 1.0), absorption=0.15, phase=2.0),
    ThinCase("thick-motorcycle-engine", 0, (0, 0), kind="thick", extra={"yx": (180, 250)}),
    ThinCase("thick-motorcycle-shelves", 0, (0, 0), kind="thick", extra={"yx": (20, 300)}),
]
QUICK = ["smear-dense", "thick-motorcycle-engine"]


def thin_object(name: str) -> np.ndarray:
    from scipy import ndimage
    from skimage import data

    from napari_focalfuse.core.thin_specimen import object_from_image, smear

    if name == "smear-dense":
        return smear((256, 256), cells=90, radius=8.0, seed=3)
    if name == "smear-sparse":
        return smear((256, 256), cells=45, radius=10.0, seed=4)
    if name == "monolayer-logo":
        return object_from_image(data.logo(), (256, 256), invert=True)
    blobs = data.binary_blobs(256, blob_size_fraction=0.06, volume_fraction=0.35, rng=2)
    return ndimage.gaussian_filter(blobs.astype(float), 1.0)


def render(case: ThinCase):
    """(stack, truth, true_index, content mask) of one case."""
    if case.kind == "thick":
        from skimage import data

        from napari_focalfuse.core.synthetic import render_focal_stack

        left, _, disparity = data.stereo_motorcycle()
        y, x = case.extra["yx"]
        crop = (slice(y, y + 256), slice(x, x + 256))
        grey = left[crop].astype(np.float32) @ np.array([0.2125, 0.7154, 0.0721], np.float32) / 255
        from napari_focalfuse.core.synthetic import fill_unknown

        r = render_focal_stack(grey, fill_unknown(disparity)[crop], n_slices=8, max_blur=8.0, noise=0.01, seed=1)
        return r.stack, r.truth, r.true_index, np.ones(grey.shape, bool)
    from napari_focalfuse.core.thin_specimen import render_thin_stack

    r = render_thin_stack(
        thin_object(case.name), n_slices=10, focus_index=case.focus, tilt=case.tilt,
        absorption=case.absorption, phase=case.phase, noise=0.01, seed=1,
    )  # fmt: skip
    return r.stack, r.truth, r.true_index, r.content


def methods(stack: np.ndarray, args) -> dict:
    """name -> (FusionResult, seconds per training epoch or None)."""
    import napari_focalfuse as ff

    out = {
        "laplacian": (ff.fuse(stack, "laplacian", window=0, consistency=False, soften=False, align=False), None),
        "untrained (seed 0)": (ff.fuse(stack, weights="random", align=False), None),
        "shipped": (ff.fuse(stack, align=False), None),
        # focus-trained on generic pictures (scripts/train_focus_weights.py), not on this stack
        "shipped brightfield": (ff.fuse(stack, weights="brightfield", align=False), None),
    }
    tunings = {
        "tuned, reconstruction": dict(focus_weight=0.0, lr=args.lr),
        f"tuned, + focus (w={args.focus_weight:g})": dict(focus_weight=args.focus_weight, lr=args.lr),
        "brightfield, tuned + focus": dict(
            weights="brightfield", focus_weight=args.focus_weight, lr=args.brightfield_lr
        ),
    }
    for name, extra in tunings.items():
        t0 = time.perf_counter()
        tuned = ff.finetune(stack, epochs=args.epochs, steps_per_epoch=args.steps, seed=0, **extra)
        per_epoch = (time.perf_counter() - t0) / args.epochs
        out[name] = (ff.fuse(stack, weights=tuned, align=False), per_epoch)
    return out


def evaluate(case: ThinCase, args) -> list[dict]:
    from napari_focalfuse.core import metrics

    stack, truth, true_index, content = render(case)
    rows = []
    for name, (res, per_epoch) in methods(stack, args).items():
        off = np.abs(res.mask.astype(int) - true_index)
        rows.append({
            "case": case.name, "kind": case.kind, "method": name,
            "within1": float((off <= 1).mean()), "within1_specimen": float((off[content] <= 1).mean()),
            "exact": float((off == 0).mean()), "mae": metrics.mae(res.fused, truth),
            "seconds_per_epoch": per_epoch,
        })  # fmt: skip
        print(f"{case.name:26s} {name:26s} ±1 {rows[-1]['within1']:.3f} "
              f"(specimen {rows[-1]['within1_specimen']:.3f}) MAE {rows[-1]['mae']:.4f}"
              + (f"  {per_epoch:.1f} s/epoch" if per_epoch else ""), flush=True)  # fmt: skip
    oracle = metrics.oracle_pick(stack, true_index)
    rows.append({"case": case.name, "kind": case.kind, "method": "oracle pick", "within1": 1.0,
                 "within1_specimen": 1.0, "exact": 1.0, "mae": metrics.mae(oracle, truth),
                 "seconds_per_epoch": None})  # fmt: skip
    return rows


def table(rows: list[dict], key: str, fmt: str) -> str:
    names = list(dict.fromkeys(r["method"] for r in rows if not (key != "mae" and r["method"] == "oracle pick")))
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = ["| stack | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for case in cases:
        vals = {r["method"]: r[key] for r in rows if r["case"] == case}
        lines.append(f"| {case} | " + " | ".join(format(vals[n], fmt) for n in names) + " |")
    return "\n".join(lines)


def write_doc(rows: list[dict], args) -> None:
    epochs = [r["seconds_per_epoch"] for r in rows if r["seconds_per_epoch"]]
    block = "\n\n".join([
        BEGIN,
        "Made by `python benchmarks/thin_specimen.py` (defaults: `--epochs 4 --steps 60 --focus-weight 5 "
        "--lr 3e-3 --brightfield-lr 3e-4`; `--cases` splits it over processes); fine-tuning "
        f"{args.epochs} epochs × "
        f"{args.steps} steps of 8 patches of 64 px, lr {args.lr:g} "
        f"({args.brightfield_lr:g} from the brightfield weights); "
        f"{min(epochs):.1f}–{max(epochs):.1f} s per epoch on one CPU thread.",
        "**Share of the decision map within ±1 slice of the true focus** (whole frame):",
        table(rows, "within1", ".3f"),
        "**The same, only near the specimen** (within 6 px of it; thick stacks: whole frame):",
        table(rows, "within1_specimen", ".3f"),
        "**MAE of the fused image against the in-focus truth** (lower is better):",
        table(rows, "mae", ".4f"),
        END,
    ])  # fmt: skip
    text = DOC.read_text() if DOC.exists() else f"# Learning benchmarks\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(head + block + rest.split(END, 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", help="comma-separated case names (default: all); run subsets in parallel")
    parser.add_argument("--focus-weight", type=float, default=5.0)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--brightfield-lr", type=float, default=3e-4, help="fine-tuning the brightfield weights")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks_learning.md")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    wanted = QUICK if args.quick else (args.cases.split(",") if args.cases else [c.name for c in CASES])
    folder = OUT / "thin_specimen"
    folder.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        if case.name in wanted:
            rows = evaluate(case, args)
            (folder / f"{case.name}.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    if not args.no_doc:  # every case measured so far, in the order of CASES
        found = {p.stem: json.loads(p.read_text())["rows"] for p in folder.glob("*.json")}
        write_doc([r for c in CASES for r in found.get(c.name, [])], args)


if __name__ == "__main__":
    main()
