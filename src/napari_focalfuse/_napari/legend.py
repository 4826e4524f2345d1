"""The decision map's legend for the fuse widget: which colour is which slice, at what depth."""

from __future__ import annotations

MAX_ENTRIES = 12  # longer stacks show evenly spaced slices, the first and the last included


def legend_entries(n_slices: int, z_step: float | None) -> list[tuple[int, str, str]]:
    """(slice index, '#rrggbb' colour, label) for the slices the legend shows."""
    import numpy as np

    from ..io.preview import slice_colours

    colours = slice_colours(n_slices)
    if n_slices <= MAX_ENTRIES:
        shown = list(range(n_slices))
    else:
        shown = sorted({int(round(k)) for k in np.linspace(0, n_slices - 1, MAX_ENTRIES)})
    entries = []
    for z in shown:
        r, g, b = (int(round(c * 255)) for c in colours[z])
        label = f"{z}: {z * z_step:g} µm" if z_step else f"{z}"
        entries.append((z, f"#{r:02x}{g:02x}{b:02x}", label))
    return entries


def legend_html(n_slices: int, z_step: float | None) -> str:
    """Rich text for a Qt label: a coloured square per slice, its index and its height."""
    parts = [
        f'<span style="color:{colour}">&#9632;</span>&nbsp;{label}'
        for _z, colour, label in legend_entries(n_slices, z_step)
    ]
    unit = "slice: z" if z_step else "slice (z-step unknown)"
    return f"<b>Decision map</b> ({unit}):<br>" + " &nbsp; ".join(parts)
