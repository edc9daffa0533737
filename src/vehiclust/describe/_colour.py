"""Colour words for pixels and images, decided in CIELAB so "similar" means similar to a person.

Every pixel is first split by chroma: low-chroma pixels are black, grey or white by lightness;
the rest take the name of the nearest palette reference in Lab. An image's colour is the
vehicle's, not the road's: pixels are weighted towards the centre of the crop (vehicle crops
are centred), and a chromatic colour that covers a fair part of that centre wins over the
achromatic greys that roads, sky and tarmac contribute to almost every crop.
"""

from __future__ import annotations

import numpy as np

ACHROMATIC = ("black", "grey", "white")
# Several sRGB references per word cover the light and dark shades of car paint.
_PALETTE_SRGB: dict[str, list[tuple[int, int, int]]] = {
    "red": [(200, 30, 30), (140, 20, 25), (230, 60, 50), (170, 40, 50)],
    "orange": [(240, 130, 30), (210, 100, 20), (250, 160, 60)],
    "yellow": [(240, 210, 40), (250, 240, 90), (200, 170, 20), (180, 150, 40), (230, 180, 30)],
    "green": [(40, 140, 50), (20, 80, 30), (120, 190, 80), (60, 110, 90), (30, 110, 100)],
    "blue": [(30, 70, 180), (20, 40, 100), (90, 140, 210), (40, 110, 160), (15, 30, 70)],
    "purple": [(110, 50, 140), (70, 30, 90), (150, 90, 180)],
    "pink": [(240, 120, 170), (220, 80, 140), (250, 170, 200)],
    "brown": [(120, 75, 40), (90, 55, 35), (160, 110, 70), (70, 45, 30)],
}
CHROMATIC = tuple(_PALETTE_SRGB)
COLOURS = ACHROMATIC + CHROMATIC

# Pixels with chroma below this are achromatic (roads, tarmac, shadows, white/grey/black paint).
CHROMA_MIN = 14.0
# Lightness limits of black and white among achromatic pixels.
BLACK_MAX_L = 30.0
WHITE_MIN_L = 72.0
# A chromatic colour covering at least this share of the centre-weighted pixels names the image.
CHROMATIC_MIN_SHARE = 0.18
# Roads and backgrounds are grey: grey must beat black/white by this factor to name an image.
GREY_HANDICAP = 0.7


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) uint8 or 0-255 floats → CIELAB (D65), float32 (..., 3)."""
    c = np.asarray(rgb, dtype=np.float32) / 255.0
    lin = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32)
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    lab = np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1)
    return lab.astype(np.float32)


_REF_NAMES = np.array([name for name, refs in _PALETTE_SRGB.items() for _ in refs])
_REF_LAB = srgb_to_lab(np.array([ref for refs in _PALETTE_SRGB.values() for ref in refs], dtype=np.float32))
_INDEX = {name: i for i, name in enumerate(COLOURS)}


def pixel_colour_index(lab: np.ndarray) -> np.ndarray:
    """Index into :data:`COLOURS` of each Lab pixel (..., 3) → (...,) int."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    out = np.where(L < BLACK_MAX_L, _INDEX["black"], np.where(L > WHITE_MIN_L, _INDEX["white"], _INDEX["grey"]))
    chromatic = chroma >= CHROMA_MIN
    if chromatic.any():
        px = lab[chromatic]
        # Nearest reference in Lab, hue and chroma counting twice as much as lightness.
        scale = np.array([0.5, 1.0, 1.0], dtype=np.float32)
        d = (((px[:, None, :] - _REF_LAB[None, :, :]) * scale) ** 2).sum(-1)
        names = _REF_NAMES[np.argmin(d, axis=1)]
        out = out.copy()
        out[chromatic] = np.array([_INDEX[n] for n in names])
    return out


def centre_weights(h: int, w: int) -> np.ndarray:
    """Gaussian weights peaking at the crop's centre, (h, w) summing to 1."""
    y = (np.arange(h) + 0.5) / h - 0.5
    x = (np.arange(w) + 0.5) / w - 0.5
    g = np.exp(-(y[:, None] ** 2) / (2 * 0.22**2) - (x[None, :] ** 2) / (2 * 0.25**2))
    return (g / g.sum()).astype(np.float32)


def colour_shares(rgb: np.ndarray) -> np.ndarray:
    """Centre-weighted share of each of :data:`COLOURS` in an (h, w, 3) image."""
    lab = srgb_to_lab(rgb)
    idx = pixel_colour_index(lab)
    w = centre_weights(*idx.shape)
    return np.bincount(idx.ravel(), weights=w.ravel(), minlength=len(COLOURS)).astype(np.float32)


def image_colour(shares: np.ndarray) -> str:
    """The colour word of one image from its :func:`colour_shares`."""
    chroma_shares = shares[len(ACHROMATIC):]
    top = int(np.argmax(chroma_shares))
    if chroma_shares[top] >= CHROMATIC_MIN_SHARE:
        return CHROMATIC[top]
    achro = shares[: len(ACHROMATIC)] * np.array([1.0, GREY_HANDICAP, 1.0], dtype=np.float32)
    return ACHROMATIC[int(np.argmax(achro))]
