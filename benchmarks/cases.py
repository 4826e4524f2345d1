"""Rendered focal stacks for the quality benchmark, cached on disk between runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_focalfuse.core.synthetic import RenderedStack, render_focal_stack
from scenes import available

CACHE = Path(__file__).resolve().parent / "out" / "cache"


@dataclass(frozen=True)
class Case:
    scene: str
    n_slices: int
    noise: float
    depth_of_field: float = 1.0
    max_blur: float = 8.0

    @property
    def name(self) -> str:
        return f"{self.scene}-{self.n_slices}sl-n{self.noise:g}-dof{self.depth_of_field:g}"


def default_cases(dof: float = 1.0) -> list[Case]:
    """6 slices as in the paper, plus longer and noisier stacks, on every available scene."""
    return [
        Case(scene, n, noise, dof)
        for scene in available()
        for n, noise in ((6, 0.005), (6, 0.01), (12, 0.01))
    ]


def render(case: Case) -> RenderedStack:
    path = CACHE / f"{case.name}.npz"
    if path.exists():
        z = np.load(path)
        return RenderedStack(z["stack"], z["truth"], z["true_index"], z["focus"])
    image, disparity = available()[case.scene]()
    r = render_focal_stack(
        image, disparity, n_slices=case.n_slices, max_blur=case.max_blur, noise=case.noise,
        depth_of_field=case.depth_of_field, seed=1,
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, stack=r.stack, truth=r.truth, true_index=r.true_index, focus=r.focus)
    return r
