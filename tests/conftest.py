"""Shared fixtures: the real data in ../shared (skipped when absent) and the embedded demo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO = REPO / "examples" / "demo"


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared: real images and models. Absent on a user's fresh clone → skip."""
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared is not present (real data used only where available)")
    return SHARED


@pytest.fixture(scope="session")
def models_dir(shared_dir: Path) -> Path:
    models = shared_dir / "models"
    if not models.is_dir():
        pytest.skip("../shared/models is not present")
    return models


@pytest.fixture()
def with_models(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point VEHICLUST_MODELS at ../shared/models for the test."""
    monkeypatch.setenv("VEHICLUST_MODELS", str(models_dir))
    return models_dir


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    if not (DEMO / "images_paths.csv").exists():
        pytest.skip("the embedded demo (examples/demo) is not built")
    return DEMO


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
