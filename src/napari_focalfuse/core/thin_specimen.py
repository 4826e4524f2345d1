"""Brightfield focal stacks of thin specimens (smears, monolayers, diatoms) with a known truth.

A thin specimen is a transmittance: amplitude (absorption) and phase (optical thickness). Out of
focus it is not a blurred copy of itself: the field propagated by a defocus ``d`` (angular
spectrum: its 2-D FFT times ``exp(i k_z d)``) turns phase into bright and dark fringes, which
per-pixel contrast measures take for sharpness. The in-focus plane is the one where the phase
is invisible, so the true focus is known although it is the *least* contrasty slice for a
pure-phase object. Partial coherence (a condenser aperture) is approximated by averaging the
intensities of a few tilted plane waves; the objective's pupil (NA) low-passes every slice.

Pure numpy (no torch), so benchmarks and tests can render without the network stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Optics:
    """Brightfield microscope: lengths in µm."""

    wavelength: float = 0.55
    na: float = 0.5  # objective numerical aperture (pupil cut-off NA / λ)
    condenser_na: float = 0.2  # partial coherence: illumination tilts up to this NA
    pixel: float = 0.5  # sample-plane pixel size
    rings: int = 2  # illumination directions: the axis plus ``rings`` rings of 6


@dataclass
class ThinStack:
    stack: np.ndarray  # (Z, Y, X) float32 in [0, 1], noisy
    truth: np.ndarray  # (Y, X) noiseless in-focus image (defocus 0 everywhere), float32
    true_index: np.ndarray  # (Y, X) slice nearest to the specimen's plane at each pixel
    focus: np.ndarray  # (Y, X) specimen plane in slice units (fractional)
    content: np.ndarray  # (Y, X) bool: within a few px of the specimen (not empty background)


def illumination(optics: Optics) -> np.ndarray:
    """(K, 2) spatial frequencies (1/µm) of the tilted plane waves: axis plus rings of 6."""
    dirs = [(0.0, 0.0)]
    for r in range(1, optics.rings + 1):
        radius = optics.condenser_na / optics.wavelength * r / optics.rings
        for k in range(6):
            a = 2 * np.pi * k / 6 + (np.pi / 6) * (r % 2)
            dirs.append((radius * np.cos(a), radius * np.sin(a)))
    return np.array(dirs)


def transmittance(obj: np.ndarray, absorption: float = 0.25, phase: float = 1.5) -> np.ndarray:
    """Complex transmittance of a thin object map ``obj`` in [0, 1] (0 = empty background)."""
    obj = np.clip(np.asarray(obj, np.float64), 0.0, 1.0)
    return (1.0 - absorption * obj) * np.exp(1j * phase * obj)


def _frequencies(shape: tuple[int, int], pixel: float) -> tuple[np.ndarray, np.ndarray]:
    fy = np.fft.fftfreq(shape[0], pixel)[:, None]
    fx = np.fft.fftfreq(shape[1], pixel)[None, :]
    return fy, fx


def intensities(t: np.ndarray, defocus: np.ndarray, optics: Optics = Optics()) -> np.ndarray:
    """(D, Y, X) brightfield intensity of transmittance ``t`` at each defocus (µm).

    A tilted wave shifts the object's spectrum; equivalently the pupil and the propagator are
    evaluated at f + f_tilt, which needs no tilt on the pixel grid (the tilt's own phase ramp
    has unit modulus and drops out of the intensity).
    """
    spectrum = np.fft.fft2(t)
    fy, fx = _frequencies(t.shape, optics.pixel)
    out = np.zeros((len(defocus), *t.shape), np.float64)
    tilts = illumination(optics)
    for ty, tx in tilts:
        gy, gx = fy + ty, fx + tx
        f2 = gy**2 + gx**2
        pupil = f2 <= (optics.na / optics.wavelength) ** 2
        kz = 2 * np.pi * np.sqrt(np.maximum(1.0 / optics.wavelength**2 - f2, 0.0))
        # remove the tilt's own axial phase, a constant per wave that does not change intensity
        kz0 = 2 * np.pi * np.sqrt(1.0 / optics.wavelength**2 - (ty**2 + tx**2))
        for i, d in enumerate(defocus):
            field = np.fft.ifft2(spectrum * pupil * np.exp(1j * (kz - kz0) * d))
            out[i] += np.abs(field) ** 2
    return out / len(tilts)


def render_thin_stack(
    obj: np.ndarray,
    n_slices: int = 10,
    focus_index: float = 4.0,
    tilt: tuple[float, float] = (0.0, 0.0),
    z_step: float = 2.0,
    absorption: float = 0.25,
    phase: float = 1.5,
    noise: float = 0.01,
    brightness: float = 0.6,
    optics: Optics = Optics(),
    seed: int = 0,
    oversample: int = 4,
    pad: int = 32,
) -> ThinStack:
    """Render ``n_slices`` brightfield slices ``z_step`` µm apart of the thin object ``obj``.

    The specimen's plane lies at slice ``focus_index`` at the frame's centre and tilts by
    ``tilt`` = (slices across the frame's height, slices across its width), so the focus varies
    across the frame. Each pixel's slice is interpolated between intensities rendered
    ``oversample`` times per slice step (locally the specimen is flat). ``brightness`` scales
    the empty background's intensity (fringes reach above it), ``noise`` is Gaussian sensor
    noise in units of the full scale [0, 1]. The object is mirrored by ``pad`` px on every side
    while propagating, so the FFT's wrap-around does not bring fringes in from the other edge.
    """
    obj = np.asarray(obj, np.float64)
    h, w = obj.shape
    crop = (slice(pad, pad + h), slice(pad, pad + w))
    yy = (np.arange(h)[:, None] - (h - 1) / 2) / max(h - 1, 1)
    xx = (np.arange(w)[None, :] - (w - 1) / 2) / max(w - 1, 1)
    focus = focus_index + tilt[0] * yy + tilt[1] * xx  # slice units
    # defocus of slice s at each pixel, in slice units: s - focus
    lo = np.floor((0 - focus.max()) * oversample) / oversample
    hi = np.ceil((n_slices - 1 - focus.min()) * oversample) / oversample
    grid = np.arange(lo, hi + 0.5 / oversample, 1.0 / oversample)
    t = transmittance(np.pad(obj, pad, mode="reflect"), absorption, phase)
    planes = intensities(t, grid * z_step, optics)[(slice(None), *crop)] * brightness
    truth = (intensities(t, np.zeros(1), optics)[0][crop] * brightness).astype(np.float32)

    rng = np.random.default_rng(seed)
    slices = np.empty((n_slices, h, w), np.float32)
    rows, cols = np.indices((h, w))
    for s in range(n_slices):
        pos = (s - focus - grid[0]) * oversample
        i0 = np.clip(np.floor(pos).astype(int), 0, len(grid) - 2)
        frac = np.clip(pos - i0, 0.0, 1.0)
        img = planes[i0, rows, cols] * (1 - frac) + planes[i0 + 1, rows, cols] * frac
        img = img + rng.normal(0.0, noise, img.shape)
        slices[s] = np.clip(img, 0.0, 1.0)
    true_index = np.clip(np.rint(focus), 0, n_slices - 1).astype(int)
    from scipy import ndimage

    content = ndimage.binary_dilation(obj > 0.05, iterations=6)
    return ThinStack(slices, np.clip(truth, 0.0, 1.0), true_index, focus.astype(np.float32), content)


def smear(shape: tuple[int, int] = (256, 256), cells: int = 60, radius: float = 9.0, seed: int = 0) -> np.ndarray:
    """A synthetic blood smear: non-overlapping biconcave discs (thicker rim), in [0, 1]."""
    rng = np.random.default_rng(seed)
    h, w = shape
    out = np.zeros(shape)
    yy, xx = np.indices(shape)
    centres: list[tuple[float, float, float]] = []
    for _ in range(cells * 20):
        if len(centres) == cells:
            break
        r = radius * rng.uniform(0.8, 1.2)
        cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
        if all((cy - y) ** 2 + (cx - x) ** 2 > (r + q + 2) ** 2 for y, x, q in centres):
            centres.append((cy, cx, r))
            rho = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / r
            disc = np.where(rho < 1, 0.6 + 0.4 * np.sin(np.pi * np.clip(rho, 0, 1)) ** 2, 0.0)
            out = np.maximum(out, disc)
    from scipy import ndimage

    return ndimage.gaussian_filter(out, 0.7)


def object_from_image(image: np.ndarray, shape: tuple[int, int] = (256, 256), invert: bool = False) -> np.ndarray:
    """A grey picture as a thin object map in [0, 1]: centre crop, background (low values) 0."""
    img = np.asarray(image, np.float64)
    if img.ndim == 3:
        img = img[..., :3].mean(-1)
    h, w = img.shape
    y0, x0 = max(0, (h - shape[0]) // 2), max(0, (w - shape[1]) // 2)
    img = img[y0 : y0 + shape[0], x0 : x0 + shape[1]]
    if invert:
        img = img.max() - img
    lo, hi = np.percentile(img, [5, 99.5])
    return np.clip((img - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
