"""Sample data: the motorcycle scene (scikit-image, Middlebury 2014) as a rendered focal stack."""

from __future__ import annotations

from typing import Any

# The rendered stack has no physical units; a z-step lets the height map show µm.
SAMPLE_Z_STEP_UM = 10.0


def motorcycle_stack() -> list[tuple[Any, dict, str]]:
    """Six slices (Z, Y, X, RGB) uint8 plus the all-in-focus original, hidden, for comparison."""
    import numpy as np

    from ..core.synthetic import demo_stack

    rendered = demo_stack()
    to_u8 = lambda a: np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)  # noqa: E731
    return [
        (to_u8(rendered.truth), {"name": "motorcycle all-in-focus (truth)", "rgb": True,
                                 "visible": False}, "image"),
        (to_u8(rendered.stack), {"name": "motorcycle", "rgb": True,
                                 "scale": (SAMPLE_Z_STEP_UM, 1.0, 1.0),
                                 "metadata": {"focalfuse": {"z_step": SAMPLE_Z_STEP_UM}}}, "image"),
    ]
