"""Fixtures for the extract tests: a few real demo images plus deliberately broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def demo_paths(demo_dir: Path) -> list[str]:
    """The demo's paths exactly as the case file gives them (backslashes)."""
    return pd.read_csv(demo_dir / "images_paths.csv")["paths"].tolist()


@pytest.fixture(scope="session")
def few_demo(demo_paths: list[str]) -> list[str]:
    """One image of each vehicle type (6), in file order."""
    seen: dict[str, str] = {}
    for p in demo_paths:
        seen.setdefault(p.split("\\")[1], p)
    return list(seen.values())


@pytest.fixture()
def broken_dir(tmp_path: Path, demo_dir: Path, few_demo: list[str]) -> Path:
    """A folder with 3 good JPEGs, a truncated JPEG, a text file named .jpg and an empty .png."""
    root = tmp_path / "imgs"
    root.mkdir()
    for i, p in enumerate(few_demo[:3]):
        shutil.copy(demo_dir / p.replace("\\", "/"), root / f"good{i}.jpg")
    data = (demo_dir / few_demo[3].replace("\\", "/")).read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "notanimage.jpg").write_text("<html>404 not found</html>")
    (root / "empty.png").write_bytes(b"")
    return root


@pytest.fixture()
def rgb_image() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8), "RGB")
