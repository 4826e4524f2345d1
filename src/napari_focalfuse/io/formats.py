"""Which files are images, and the order in which a folder's slices are read."""

from __future__ import annotations

import re
from pathlib import Path

TIFF_SUFFIXES = frozenset({".tif", ".tiff"})
IMAGE_SUFFIXES = TIFF_SUFFIXES | frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".jp2", ".j2k"}
)

_DIGITS = re.compile(r"(\d+)")


def natural_key(path: Path) -> tuple:
    """Sort ``img_2`` before ``img_10``: runs of digits compare as numbers, case ignored."""
    parts = _DIGITS.split(path.name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def is_tiff(path: Path) -> bool:
    return path.suffix.lower() in TIFF_SUFFIXES


def is_image(path: Path) -> bool:
    """A visible file with an image extension (hidden files such as ``.DS_Store`` are skipped)."""
    return (
        not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    )


def images_in(folder: Path) -> list[Path]:
    """The folder's image files in natural order (not recursive)."""
    return sorted((p for p in folder.iterdir() if is_image(p)), key=natural_key)


def unit_name(unit: str | None, default: str = "µm") -> str:
    """Normalise the ways files spell micrometres ("micron", "um", "\\u00B5m") to "µm"."""
    if not unit:
        return default
    text = str(unit).strip()
    low = text.lower().replace("\\u00b5", "µ").replace("μ", "µ")
    if low in {"micron", "microns", "um", "µm", "micrometer", "micrometre"}:
        return "µm"
    return text


_MICROMETRES_PER = {
    "pm": 1e-6, "Å": 1e-4, "nm": 1e-3, "µm": 1.0, "mm": 1e3, "cm": 1e4, "m": 1e6,
    "in": 25400.0, "inch": 25400.0,
}  # fmt: skip


def to_micrometres(value: float, unit: str | None) -> float | None:
    """A length in µm, or None when the unit is not a physical length we know (e.g. "pixel")."""
    factor = _MICROMETRES_PER.get(unit_name(unit))
    return None if factor is None else float(value) * factor
