"""napari-focalfuse: deep focal stacking (all-in-focus image + decision map) for napari.

The public API is imported lazily so that napari (which imports this package to read its
manifest) starts without loading torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "AlignedStack",
    "Alignment",
    "AlignmentWarning",
    "Cancelled",
    "FocalFuseError",
    "FusionResult",
    "TunedModel",
    "align_stack",
    "apply_map",
    "finetune",
    "fuse",
    "fuse_timelapse",
    "load_weights",
    "read_stack",
    "read_timelapse",
    "render_focal_stack",
    "result_mesh",
    "surface_mesh",
    "write_mesh",
]

_LAZY = {
    "align_stack": "napari_focalfuse.core.align",
    "apply_map": "napari_focalfuse.core.apply_map",
    "Alignment": "napari_focalfuse.core.align",
    "AlignedStack": "napari_focalfuse.core.align",
    "AlignmentWarning": "napari_focalfuse.core.fusion",
    "fuse": "napari_focalfuse.core.fusion",
    "FusionResult": "napari_focalfuse.core.fusion",
    "finetune": "napari_focalfuse.core.training",
    "TunedModel": "napari_focalfuse.core.training",
    "load_weights": "napari_focalfuse.core.weights",
    "render_focal_stack": "napari_focalfuse.core.synthetic",
    "FocalFuseError": "napari_focalfuse.core.errors",
    "Cancelled": "napari_focalfuse.core.errors",
    "read_stack": "napari_focalfuse.io.read",
    "fuse_timelapse": "napari_focalfuse.core.timelapse",
    "read_timelapse": "napari_focalfuse.io.timelapse",
    "result_mesh": "napari_focalfuse.core.mesh",
    "surface_mesh": "napari_focalfuse.core.mesh",
    "write_mesh": "napari_focalfuse.io.mesh",
}

if TYPE_CHECKING:
    from .core.align import AlignedStack, Alignment, align_stack
    from .core.apply_map import apply_map
    from .core.errors import Cancelled, FocalFuseError
    from .core.fusion import AlignmentWarning, FusionResult, fuse
    from .core.mesh import result_mesh, surface_mesh
    from .core.synthetic import render_focal_stack
    from .core.training import TunedModel, finetune
    from .core.weights import load_weights
    from .io.mesh import write_mesh
    from .io.read import read_stack
    from .core.timelapse import fuse_timelapse
    from .io.timelapse import read_timelapse


def __dir__() -> list[str]:
    """The public API (loaded lazily, so not yet in the module's namespace) and the rest."""
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'napari_focalfuse' has no attribute {name!r}")
