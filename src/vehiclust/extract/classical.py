"""Classical descriptors with no deep-learning dependency: colour histogram and HOG.

They are weak at vehicle type but cheap, explainable and always available, which makes them
the embedded demo's baseline and a colour signal to mix with deep descriptors.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from vehiclust.exceptions import InputError
from vehiclust.extract import _kernels
from vehiclust.extract._base import Backend


class ColorHistogramBackend(Backend):
    """Joint HSV histogram, L1-normalised then square-rooted (Hellinger), so that Euclidean
    and cosine distances between histograms behave like a proper histogram distance."""

    name = "color-hist"

    def __init__(self, bins: tuple[int, int, int] = (8, 4, 4), max_side: int = 128) -> None:
        if len(bins) != 3 or any(int(b) < 1 or int(b) > 256 for b in bins):
            raise InputError(f"The 'bins' parameter of color-hist must be three ints in [1, 256]. Got {bins!r}.")
        self.bins = tuple(int(b) for b in bins)
        self.max_side = max_side
        self.dim = int(np.prod(self.bins))

    def prepare(self, image: Image.Image) -> np.ndarray:
        if max(image.size) > self.max_side:
            image = image.copy()
            image.thumbnail((self.max_side, self.max_side), Image.Resampling.BILINEAR)
        hsv = np.asarray(image.convert("HSV"), dtype=np.uint8)
        counts = _kernels.joint_histogram(hsv, self.bins)  # type: ignore[arg-type]
        return np.sqrt(counts / max(counts.sum(), 1.0)).astype(np.float32)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        return batch.astype(np.float32, copy=False), None


class HOGBackend(Backend):
    """Histogram of oriented gradients on a fixed-size greyscale resize: shape and edges.

    Coarse 16-px cells by default: the crops are small and low quality, and 324 dimensions
    keep the embedded demo small without losing the silhouette."""

    name = "hog"

    def __init__(self, size: int = 64, cell: int = 16, block: int = 2, orientations: int = 9) -> None:
        if size < cell * block:
            raise InputError(f"The 'size' parameter of hog must be at least cell*block = {cell * block}. Got {size}.")
        self.size = size
        self.cell = cell
        self.block = block
        self.orientations = orientations
        n_blocks = size // cell - block + 1
        self.dim = n_blocks * n_blocks * block * block * orientations

    def prepare(self, image: Image.Image) -> np.ndarray:
        gray = image.convert("L").resize((self.size, self.size), Image.Resampling.BILINEAR)
        arr = np.asarray(gray, dtype=np.float32) * np.float32(1 / 255)
        return _kernels.hog(arr, self.orientations, self.cell, self.block)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        return batch.astype(np.float32, copy=False), None
