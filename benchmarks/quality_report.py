"""Turn benchmarks/out/quality-*.json into docs/benchmarks.md tables and a figure."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
FIGURE = ROOT / "docs" / "images" / "quality_ratio.png"
ORDER = [
    "laplacian", "laplacian σ=1", "oracle pick", "laplacian + our pipeline", "deep, untrained",
    "deep, no blending", "deep", "deep, before alignment", "deep, fine-tuned",
]  # fmt: skip


def load(dof: str) -> list[dict]:
    path = OUT / f"quality-dof{dof}.json"
    return json.loads(path.read_text()) if path.exists() else []


def ratio_table(rows: list[dict]) -> str:
    """One line per case: MAE / Laplacian MAE for each method, and the mean line."""
    by_case: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        by_case[r["case"]][r["method"]] = r
    methods = [m for m in ORDER if any(m in v for v in by_case.values())]
    lines = ["| stack | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    sums: dict[str, list[float]] = defaultdict(list)
    for case, res in by_case.items():
        cells = []
        for m in methods:
            if m in res:
                cells.append(f"{res[m]['ratio']:.3f}")
                sums[m].append(res[m]["ratio"])
            else:
                cells.append("–")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    mean = [f"**{sum(sums[m]) / len(sums[m]):.3f}**" if sums[m] else "–" for m in methods]
    lines.append("| **mean** | " + " | ".join(mean) + " |")
    return "\n".join(lines)


def detail_table(rows: list[dict], method: str = "deep") -> str:
    lines = [
        "| stack | MAE | PSNR dB | SSIM | map exact | map ±1 | Laplacian MAE | Laplacian map exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lap = {r["case"]: r for r in rows if r["method"] == "laplacian"}
    for r in rows:
        if r["method"] != method:
            continue
        b = lap[r["case"]]
        lines.append(
            f"| {r['case']} | {r['mae']:.4f} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
            f"{r['map_exact']:.3f} | {r['map_within1']:.3f} | {b['mae']:.4f} | {b['map_exact']:.3f} |"
        )
    return "\n".join(lines)


def figure(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(r["case"] for r in rows))
    methods = [m for m in ORDER if m != "laplacian" and any(r["method"] == m for r in rows)]
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=90)
    width = 0.8 / len(methods)
    for k, m in enumerate(methods):
        vals = [next((r["ratio"] for r in rows if r["case"] == c and r["method"] == m), 0) for c in cases]
        ax.bar([i + k * width for i in range(len(cases))], vals, width, label=m)
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cases))])
    ax.set_xticklabels([c.replace("-dof1", "") for c in cases], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("MAE / Laplacian MAE")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE)


if __name__ == "__main__":
    rows = load("1")
    figure(rows)
    print(ratio_table(rows))
    print()
    print(detail_table(rows))
    hard = load("0")
    if hard:
        print()
        print(ratio_table(hard))
