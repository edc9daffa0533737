"""Colour words for pixels and images, decided in CIELAB so "similar" means similar to a person.

Every pixel is first split by chroma: low-chroma pixels are black, grey or white by lightness;
the rest take the name of the nearest palette reference in Lab. An image's colour is the
vehicle's, not the road's: the describer reads the pixels inside the vehicle detector's box
(see ``_pixels.vehicle_region``), weighted towards its centre, and the palette shares are read
out by plain rules that weigh them with the colour model's word on the same box
(:func:`vehicle_colour`): no parameter is fitted to labelled photos.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

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


# Hue families of the colour model's chromatic words: centre of each on the CIELAB hue circle
# (degrees) and the half-width of its window. A pixel counts towards a family with chroma down
# to HUE_CHROMA_MIN: on a small, hazy traffic crop red paint is dull, too grey for the palette.
HUE_CENTRES = {"red": 30.0, "yellow": 90.0, "green": 150.0, "blue": 270.0}
HUE_HALF_WIDTH = 40.0
HUE_CHROMA_MIN = 5.0


def hue_shares(rgb: np.ndarray) -> dict[str, float]:
    """Centre-weighted share of the (h, w, 3) image's pixels in each hue family of
    :data:`HUE_CENTRES`, counting weakly coloured pixels too."""
    lab = srgb_to_lab(rgb)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0
    w = centre_weights(*chroma.shape)
    out = {}
    for word, centre in HUE_CENTRES.items():
        near = np.abs((hue - centre + 180.0) % 360.0 - 180.0) <= HUE_HALF_WIDTH
        out[word] = float((w * ((chroma >= HUE_CHROMA_MIN) & near)).sum())
    return out


def colour_shares(rgb: np.ndarray) -> np.ndarray:
    """Centre-weighted share of each of :data:`COLOURS` in an (h, w, 3) image."""
    lab = srgb_to_lab(rgb)
    idx = pixel_colour_index(lab)
    w = centre_weights(*idx.shape)
    return np.bincount(idx.ravel(), weights=w.ravel(), minlength=len(COLOURS)).astype(np.float32)


# ---- one image's colour word ------------------------------------------------------------
# Rules in plain colour terms, not a model fitted to labelled photos. The colour model (on the
# vehicle box) knows hue families well and black fairly well, but calls silver, grey and many
# dark cars "white" or "blue", and has no brown or pink; the pixels inside the box know
# lightness and the colours the model lacks, but read shaded red and yellow paint as brown.
# So the model's hue is said where the pixels show some of it; black where the model says it;
# otherwise the pixels decide.
SUPPORT = 0.1  # share of the vehicle's pixels that must show a colour-model hue for it to be said
# Pixel-only colours, and the near colours whose pixels back a colour-model word.
_NEAR = {"red": ("red", "pink", "orange", "purple"), "yellow": ("yellow", "orange"), "green": ("green",),
         "blue": ("blue", "purple")}
PIXEL_ONLY = ("brown", "pink", "orange", "purple")
# Model hues that weakly coloured pixels may back. Not blue: shade and reflected sky tint dark,
# grey and white paint blue, so a blue word needs clearly blue pixels.
DULL_HUES = ("red", "yellow", "green")
# Without the model, a chromatic word needs this share of the vehicle's pixels (windows, tyres
# and shadow are achromatic on a car of any colour).
CHROMATIC_MIN = 0.25


def vehicle_colour(shares: np.ndarray, model_word: str = "", hues: dict[str, float] | None = None) -> str:
    """The colour word of one vehicle from its :func:`colour_shares` and :func:`hue_shares`
    (inside its box) and the colour model's word on the same box (``""`` when the model did not
    run).

    - A colour-model hue (red, yellow, green, blue) is said when at least :data:`SUPPORT` of
      the pixels show it: in its hue family (``hues``, dull pixels too, except for blue: see
      :data:`DULL_HUES`), or by the palette (the
      word or a near colour: pink and orange for red); red paint whose pixels are more pink
      than red is pink; red or yellow with no such pixels but brown ones is brown.
    - The model's black is said (it is rarely wrong about black, often about grey and white).
    - Otherwise the pixels decide: a pixel-only colour (brown, pink, orange, purple) covering
      :data:`CHROMATIC_MIN` of the vehicle; else black, grey or white, whichever covers most,
      white also where the model says white and white pixels are at least half the grey ones
      (the lit side of white paint is shaded grey on a small crop).
    """
    px = dict(zip(COLOURS, np.asarray(shares, dtype=np.float64)))
    if model_word in _NEAR:
        if model_word == "red" and px["pink"] > px["red"] and px["pink"] >= SUPPORT:
            return "pink"
        dull = (hues or {}).get(model_word, 0.0) if model_word in DULL_HUES else 0.0
        if max(sum(px[c] for c in _NEAR[model_word]), dull) >= SUPPORT:
            return model_word
        if model_word in ("red", "yellow") and px["brown"] >= SUPPORT:
            return "brown"
    if model_word == "black":
        return "black"
    chromatic = PIXEL_ONLY if model_word else CHROMATIC
    best = max(chromatic, key=px.get)
    if px[best] >= CHROMATIC_MIN:
        return best
    if px["black"] >= max(px["grey"], px["white"]):
        return "black"
    if px["white"] >= px["grey"] or (model_word == "white" and px["white"] >= 0.5 * px["grey"]):
        return "white"
    return "grey"


def image_colour(shares: np.ndarray) -> str:
    """The colour word of one image from its pixels alone (:func:`vehicle_colour` without the model)."""
    return vehicle_colour(shares, "")


# ---- how many images a cluster's colour needs -------------------------------------------
# Two leading colours closer than this many standard errors of their difference are a tie
# that a larger sample may break.
TIE_Z = 2.0


def colour_tied(words: Sequence[str]) -> bool:
    """Are the two most common colour words of a cluster's sampled images (``""`` = unknown)
    within :data:`TIE_Z` standard errors of each other? (multinomial counts a, b of n: the
    difference has variance a + b - (a - b)² / n)"""
    known = [w for w in words if isinstance(w, str) and w]
    if len(known) < 2:
        return False
    counts = sorted(Counter(known).values(), reverse=True) + [0]
    a, b, n = counts[0], counts[1], len(known)
    var = a + b - (a - b) ** 2 / n
    return var > 0 and (a - b) < TIE_Z * var**0.5


def extra_colour_rows(labels: np.ndarray, usable: np.ndarray, sampled: np.ndarray, colours: Sequence[str],
                      n_more: int, rng: np.random.Generator) -> np.ndarray:
    """More rows to sample (up to ``n_more`` per cluster, sorted) for the clusters whose sampled
    rows ``sampled`` (with their colour words ``colours``) leave the leading colour tied
    (:func:`colour_tied`): a cluster named by its most common colour needs that colour to lead."""
    labels, sampled = np.asarray(labels), np.asarray(sampled)
    words = np.asarray(list(colours), dtype=object)
    if len(words) != len(sampled):  # no colour words (no images): nothing to decide
        return np.empty(0, dtype=np.int64)
    taken = np.zeros(len(labels), dtype=bool)
    taken[sampled] = True
    picks = []
    for c in np.unique(labels[sampled]):
        if c < 0 or not colour_tied(list(words[labels[sampled] == c])):
            continue
        left = np.flatnonzero((labels == c) & usable & ~taken)
        if left.size > n_more:
            left = np.sort(rng.choice(left, size=n_more, replace=False))
        picks.append(left)
    return np.sort(np.concatenate(picks)) if picks else np.empty(0, dtype=np.int64)
