"""The small interface every descriptor backend implements.

A backend turns one decoded RGB image into a model input (``prepare``, run in worker threads)
and a stacked batch of inputs into descriptors and, optionally, head outputs (``infer``, run
in the main thread). The runner in :mod:`vehiclust.extract._runner` owns batching, threads,
errors, checkpoints and progress, so a new backend is two methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class Backend(ABC):
    """One descriptor model loaded and ready to run."""

    #: registry name, e.g. ``"osnet"``
    name: str = ""
    #: descriptor length
    dim: int = 0
    #: names of the numeric head outputs (empty when the model has none)
    head_columns: tuple[str, ...] = ()

    @abstractmethod
    def prepare(self, image: Image.Image) -> np.ndarray:
        """One RGB image → one model input (thread-safe; no model state touched)."""

    @abstractmethod
    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Stacked inputs → (n × dim float32 descriptors, n × len(head_columns) heads or None)."""

    def heads_frame(self, heads: np.ndarray) -> pd.DataFrame:
        """Numeric head array → the user-facing table (subclasses may add label columns)."""
        return pd.DataFrame(heads, columns=list(self.head_columns))

    def describe(self) -> dict[str, Any]:
        """What was run, for logs and metadata."""
        return {"model": self.name, "dim": self.dim}


def resize_rgb(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Resize to (height, width) with bilinear filtering → H×W×3 uint8."""
    height, width = size
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def normalize_chw(rgb: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """H×W×3 uint8 → 3×H×W float32, ``(x / 255 - mean) / std``."""
    x = rgb.astype(np.float32) * np.float32(1 / 255)
    x -= np.asarray(mean, dtype=np.float32)
    x /= np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
