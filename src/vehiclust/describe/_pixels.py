"""Pixel evidence of single images: colour word, brightness, saturation, aspect ratio.

Measured once per image (on a 64 x 64 copy: colour and brightness do not need more), so
thresholds and wording can change without re-reading images.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from PIL import Image

from vehiclust import _progress
from vehiclust.describe._colour import COLOURS, colour_shares, image_colour, srgb_to_lab
from vehiclust.io.images import ImageReadError, load_image

log = logging.getLogger(__name__)

THUMB = 64
# Mean CIELAB lightness below which an image is dark enough to call night-like.
NIGHT_MAX_L = 25.0
PIXEL_COLUMNS = ["colour", "brightness", "saturation", "aspect", "width", "height", "dark"] + [f"px_{c}" for c in COLOURS]


def measure_image(rgb: Image.Image) -> dict:
    """Pixel evidence of one RGB image."""
    width, height = rgb.size
    small = np.asarray(rgb.resize((THUMB, THUMB), Image.BILINEAR), dtype=np.uint8)
    lab = srgb_to_lab(small)
    shares = colour_shares(small)
    brightness = float(lab[..., 0].mean())
    row = {
        "colour": image_colour(shares),
        "brightness": brightness,
        "saturation": float(np.hypot(lab[..., 1], lab[..., 2]).mean()),
        "aspect": width / height,
        "width": width,
        "height": height,
        "dark": brightness < NIGHT_MAX_L,
    }
    row.update({f"px_{c}": float(s) for c, s in zip(COLOURS, shares)})
    return row


def pixel_evidence(paths: Sequence[str], progress: bool | None = None) -> pd.DataFrame:
    """One row per path (same order) with :data:`PIXEL_COLUMNS`; unreadable images give NaN."""
    rows = []
    failed = 0
    disable = None if progress is None else not progress
    for p in _progress.track(list(paths), "reading images for evidence", disable=disable):
        if not p:
            rows.append({})
            continue
        try:
            rows.append(measure_image(load_image(p)))
        except ImageReadError as exc:
            failed += 1
            log.debug("evidence: %s", exc)
            rows.append({})
    if failed:
        log.warning("evidence: %d of %d sampled images could not be read and were skipped", failed, len(rows))
    frame = pd.DataFrame(rows, columns=PIXEL_COLUMNS)
    frame.insert(0, "path", list(paths))
    return frame
