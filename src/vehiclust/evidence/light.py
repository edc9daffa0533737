"""Light of whole images (HSV brightness and saturation on a small copy): the comparison's
light evidence where the image checks did not measure brightness."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vehiclust import progress as _progress
from vehiclust.evidence.base import CONTINUOUS, EvidenceSource
from vehiclust.io.images import ImageReadError, load_image

log = logging.getLogger(__name__)


class PixelLight(EvidenceSource):
    """Mean brightness and saturation (HSV, 0-1) of an image on a 48 px copy: the comparison's
    light evidence where the image checks did not measure brightness."""

    name = "pixel-light"
    columns = {"brightness": CONTINUOUS, "saturation": CONTINUOUS}
    groups = {"brightness": "brightness", "saturation": "saturation"}

    def __init__(self, progress: bool | None = None) -> None:
        self.progress = progress

    def measure(self, paths: Sequence[str]) -> pd.DataFrame:
        rows = []
        disable = None if self.progress is None else not self.progress
        for p in _progress.track(list(paths), "measuring pixels", disable=disable):
            try:
                hsv = np.asarray(load_image(p).resize((48, 48)).convert("HSV"), dtype=np.float32) / 255.0
            except ImageReadError as exc:
                log.debug("pixel statistics skipped for %s: %s", p, exc)
                rows.append({})
                continue
            rows.append({"brightness": float(hsv[..., 2].mean()), "saturation": float(hsv[..., 1].mean())})
        return pd.DataFrame(rows, columns=list(self.columns))
