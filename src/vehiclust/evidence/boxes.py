"""The vehicle in each sampled image: the detector's box, and the colour model read inside it.

On a 100 px traffic crop the vehicle covers about half the pixels; road, verge and sky the
rest. Both colour sources read the box, not the crop: the pixels (``_pixels.vehicle_region``)
and the vehicle-attributes colour head, which on whole crops calls black and silver cars
"gray" from the road around them (on real car photos shrunk into road patches it is right for
62 % of the box crops against 47 % of the whole images; black cars 42 % against 3 %).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.evidence.pixels import MIN_BOX_CONFIDENCE
from vehiclust.evidence.base import CATEGORICAL, CONTINUOUS, EvidenceSource
from vehiclust.exceptions import MissingDependencyError, MissingWeightsError
from vehiclust.io.images import ImageReadError, load_image

log = logging.getLogger(__name__)

BOX_COLOUR_COLUMNS = ["box_colour", "box_colour_prob"]
# The colour head's words (its order), as descriptions say them.
_HEAD_WORDS = ("white", "grey", "yellow", "red", "green", "blue", "black")
# Context kept around the box for the colour head, as a share of the box's side (its training
# crops are loose vehicle crops).
_PAD = 0.05
_BATCH = 32


def vehicle_boxes(paths: Sequence[str], *, weights: str | Path | None = None, cache_dir: str | Path | None = None,
                  progress: bool | None = None) -> np.ndarray | None:
    """(n, 5) boxes (confidence, x0, y0, x1, y1 as fractions) per path; ``None`` when the
    detector cannot run (no weights or no OpenVINO): the describer then reads whole crops."""
    try:
        from vehiclust.evidence.vehicle import detect_vehicle_boxes

        return detect_vehicle_boxes(paths, weights, cache_dir=cache_dir, progress=progress).to_numpy(np.float64)
    except (MissingWeightsError, MissingDependencyError, ImportError) as exc:
        log.info("describe: no vehicle boxes (%s); colours are read from whole crops", exc)
        return None


def box_colours(paths: Sequence[str], boxes: np.ndarray, *, weights: str | Path | None = None,
                min_confidence: float = MIN_BOX_CONFIDENCE) -> pd.DataFrame | None:
    """The vehicle-attributes colour head on each image's vehicle box (the whole image where the
    box is missing or unsure): columns :data:`BOX_COLOUR_COLUMNS`; ``None`` without the model."""
    try:
        from vehiclust.extract import load_backend

        backend = load_backend("vehicle-attributes", weights=weights)
    except (MissingWeightsError, MissingDependencyError, ImportError) as exc:
        log.info("describe: no colour model on vehicle boxes (%s)", exc)
        return None
    words = np.full(len(paths), "", dtype=object)
    probs = np.full(len(paths), np.nan)
    batch, where = [], []

    def flush() -> None:
        if batch:
            _, heads = backend.infer(np.stack(batch))
            colour = heads[:, : len(_HEAD_WORDS)]
            best = colour.argmax(axis=1)
            for i, b, p in zip(where, best, colour.max(axis=1)):
                words[i], probs[i] = _HEAD_WORDS[int(b)], float(p)
            batch.clear()
            where.clear()

    for i, (p, box) in enumerate(zip(paths, boxes)):
        if not p:
            continue
        try:
            image = load_image(p)
        except ImageReadError:
            continue
        batch.append(backend.prepare(_padded_box(image, box, min_confidence)))
        where.append(i)
        if len(batch) >= _BATCH:
            flush()
    flush()
    return pd.DataFrame({"box_colour": words, "box_colour_prob": probs})


def _padded_box(image, box: Sequence[float], min_confidence: float):
    if box is None or not np.all(np.isfinite(box)) or box[0] < min_confidence:
        return image
    width, height = image.size
    _, x0, y0, x1, y1 = box
    px, py = (x1 - x0) * _PAD, (y1 - y0) * _PAD
    left, top = max(0, int((x0 - px) * width)), max(0, int((y0 - py) * height))
    right, bottom = min(width, int(np.ceil((x1 + px) * width))), min(height, int(np.ceil((y1 + py) * height)))
    if right - left < 4 or bottom - top < 4:
        return image
    return image.crop((left, top, right, bottom))


class BoxColourSource(EvidenceSource):
    """The colour model on each image's vehicle box as an evidence source
    (:data:`BOX_COLOUR_COLUMNS`); ``boxes(paths)`` gives the boxes ((n, 5) or None). Without the
    detector or the model its columns stay empty and its name joins ``failed`` (the run's
    models that could not run), so it is not tried again."""

    name = "box-colour"
    columns = {"box_colour": CATEGORICAL, "box_colour_prob": CONTINUOUS}

    def __init__(self, boxes: Callable[[list[str]], np.ndarray | None], *, weights: str | Path | None = None,
                 failed: set[str] | None = None) -> None:
        self.boxes = boxes
        self.weights = weights
        self.failed = failed if failed is not None else set()

    def measure(self, paths: Sequence[str]) -> pd.DataFrame:
        found = None
        if self.name not in self.failed:
            boxes = self.boxes(list(paths))
            found = None if boxes is None else box_colours(paths, boxes, weights=self.weights)
        if found is None:
            self.failed.add(self.name)
            return pd.DataFrame(index=range(len(paths)), columns=list(self.columns))
        return found

    def ran(self) -> bool:
        return self.name not in self.failed
