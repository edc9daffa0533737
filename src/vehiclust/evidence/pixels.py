"""Pixel evidence of single images: colour word, brightness, saturation, sharpness, aspect ratio.

Measured once per image (on a 64 x 64 copy: colour and brightness do not need more), so
thresholds and wording can change without re-reading images.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from vehiclust import progress as _progress
from vehiclust.evidence.colour import COLOURS, HUE_CENTRES, colour_shares, hue_shares, image_colour, srgb_to_lab
from vehiclust.evidence.base import CATEGORICAL, CONTINUOUS, EvidenceSource
from vehiclust.io.images import ImageReadError, load_image
from vehiclust.evidence.properties import laplacian_variance

log = logging.getLogger(__name__)

THUMB = 64
# Mean CIELAB lightness below which an image is dark enough to call night-like.
NIGHT_MAX_L = 25.0
# Share of the vehicle box trimmed from each side before its colour is read: the box's edges
# hold road, shadow and tyres.
BOX_TRIM = 0.12
# Below this detector confidence the box is not trusted and the centre of the crop is read.
MIN_BOX_CONFIDENCE = 0.3
PIXEL_COLUMNS = (["colour", "brightness", "vehicle_lightness", "saturation", "sharpness", "aspect", "width", "height",
                  "dark", "boxed"]
                 + [f"px_{c}" for c in COLOURS] + [f"hue_{c}" for c in HUE_CENTRES])


def vehicle_region(rgb: Image.Image, box: Sequence[float] | None) -> tuple[Image.Image, bool]:
    """The part of the image whose pixels name the vehicle's colour: the detector's box
    ``(confidence, x0, y0, x1, y1)`` (fractions), trimmed, when it is confident; else the image."""
    if box is None or not np.all(np.isfinite(box)) or box[0] < MIN_BOX_CONFIDENCE:
        return rgb, False
    width, height = rgb.size
    _, x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * BOX_TRIM, (y1 - y0) * BOX_TRIM
    left, top = int(round((x0 + dx) * width)), int(round((y0 + dy) * height))
    right, bottom = int(round((x1 - dx) * width)), int(round((y1 - dy) * height))
    if right - left < 4 or bottom - top < 4:
        return rgb, False
    return rgb.crop((left, top, right, bottom)), True


def measure_image(rgb: Image.Image, box: Sequence[float] | None = None) -> dict:
    """Pixel evidence of one RGB image; colour from inside the vehicle ``box`` when given
    (see :func:`vehicle_region`), light and size from the whole image."""
    width, height = rgb.size
    small = np.asarray(rgb.resize((THUMB, THUMB), Image.BILINEAR), dtype=np.uint8)
    lab = srgb_to_lab(small)
    region, boxed = vehicle_region(rgb, box)
    vehicle = np.asarray(region.resize((THUMB, THUMB), Image.BILINEAR), dtype=np.uint8)
    shares = colour_shares(vehicle)
    brightness = float(lab[..., 0].mean())
    row = {
        "colour": image_colour(shares),
        "brightness": brightness,
        "vehicle_lightness": float(srgb_to_lab(vehicle)[..., 0].mean()),
        "saturation": float(np.hypot(lab[..., 1], lab[..., 2]).mean()),
        "sharpness": laplacian_variance(rgb.convert("L")),
        "aspect": width / height,
        "width": width,
        "height": height,
        "dark": brightness < NIGHT_MAX_L,
        "boxed": boxed,
    }
    row.update({f"px_{c}": float(s) for c, s in zip(COLOURS, shares)})
    row.update({f"hue_{c}": s for c, s in hue_shares(vehicle).items()})
    return row


def pixel_evidence(paths: Sequence[str], progress: bool | None = None, boxes: np.ndarray | None = None) -> pd.DataFrame:
    """One row per path (same order) with :data:`PIXEL_COLUMNS`; unreadable images give NaN.

    ``boxes``: (n, 5) detector boxes (confidence, x0, y0, x1, y1) per path, NaN = none.
    """
    rows = []
    failed = 0
    disable = None if progress is None else not progress
    for i, p in enumerate(_progress.track(list(paths), "reading images for evidence", disable=disable)):
        if not p:
            rows.append({})
            continue
        try:
            rows.append(measure_image(load_image(p), None if boxes is None else boxes[i]))
        except ImageReadError as exc:
            failed += 1
            log.debug("evidence: %s", exc)
            rows.append({})
    if failed:
        log.warning("evidence: %d of %d sampled images could not be read and were skipped", failed, len(rows))
    frame = pd.DataFrame(rows, columns=PIXEL_COLUMNS)
    frame.insert(0, "path", list(paths))
    return frame


class PixelSource(EvidenceSource):
    """The pixel evidence as an evidence source (:data:`PIXEL_COLUMNS`), colour read inside the
    vehicle box that ``boxes(paths)`` returns ((n, 5) or None: whole images)."""

    name = "pixels"
    columns = {c: CATEGORICAL if c in ("colour", "dark", "boxed") else CONTINUOUS for c in PIXEL_COLUMNS}

    def __init__(self, boxes: Callable[[list[str]], np.ndarray | None] | None = None,
                 progress: bool | None = None) -> None:
        self.boxes = boxes
        self.progress = progress
        self.unboxed = False  # boxes asked for but none came (no detector): whole images were read

    def cache_name(self) -> str:
        return f"{self.name}-{self.version}-{'boxed' if self.boxes is not None else 'whole'}"

    def ran(self) -> bool:
        return not self.unboxed

    def measure(self, paths: Sequence[str]) -> pd.DataFrame:
        boxes = self.boxes(list(paths)) if self.boxes is not None else None
        self.unboxed = self.boxes is not None and boxes is None
        return pixel_evidence(paths, progress=self.progress, boxes=boxes).drop(columns="path")
