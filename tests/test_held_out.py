"""Tests measure on images the shipped weights never saw (CONTEXT: tune on some, report on others)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _training_images() -> list[str]:
    tree = ast.parse((ROOT / "scripts" / "train_default_weights.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "IMAGES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("IMAGES not found in scripts/train_default_weights.py")


def test_no_test_renders_from_a_training_image():
    from .held_out import HELD_OUT

    names = _training_images()
    assert names and not set(names) & set(HELD_OUT)
    pattern = re.compile(r"data\.(" + "|".join(map(re.escape, names)) + r")\b")
    used = [
        f"{path.relative_to(ROOT)}: data.{m.group(1)}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for m in pattern.finditer(path.read_text())
    ]
    assert used == []
