"""Synthetic vehicle crops with a known body colour on a grey road, and their descriptors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BODY = {"red": (200, 30, 30), "blue": (30, 70, 180), "white": (240, 240, 238), "black": (22, 22, 25),
        "yellow": (240, 210, 40), "green": (40, 140, 50)}


def crop(colour: str, rng: np.random.Generator, size: int = 48, dark: bool = False) -> np.ndarray:
    """A road-grey crop with a centred car body of ``colour`` (plus noise and dark windows)."""
    img = np.full((size, size, 3), 120, dtype=np.float64) + rng.normal(0, 6, (size, size, 1))
    body = np.array(BODY[colour], dtype=np.float64)
    y0, y1, x0, x1 = size // 4, 3 * size // 4, size // 5, 4 * size // 5
    img[y0:y1, x0:x1] = body + rng.normal(0, 5, (y1 - y0, x1 - x0, 3))
    img[y0:y0 + 4, x0 + 4:x1 - 4] = 40  # windscreen
    if dark:
        img *= 0.15
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def make_crop():
    """The :func:`crop` factory, for tests that draw their own crops."""
    return crop


@pytest.fixture()
def crops(tmp_path: Path):
    """Three clusters of 12 crops: red, blue, white. Returns (paths, labels, X)."""
    rng = np.random.default_rng(0)
    paths, labels, feats = [], [], []
    for c, colour in enumerate(["red", "blue", "white"]):
        for i in range(12):
            arr = crop(colour, rng, size=48 + 8 * (i % 3))
            p = tmp_path / f"{colour} ({i}).png"  # spaces and parentheses, like real data
            Image.fromarray(arr).save(p)
            paths.append(str(p))
            labels.append(c)
            feats.append(np.r_[arr.reshape(-1, 3).mean(0) / 255, rng.normal(0, 0.01, 5)])
    return paths, np.array(labels), np.array(feats, dtype=np.float32)
