"""One small pipeline run on a seeded 80 % of the embedded demo, shared by the assign tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SETS = ("osnet", "vehicle-attributes")


def split_demo(demo: Path, out: Path, seed: int = 0, share: float = 0.8) -> dict[str, np.ndarray]:
    """Write train/test paths CSVs and descriptor pickles of a seeded split; return the masks."""
    out.mkdir(parents=True, exist_ok=True)
    paths = pd.read_csv(demo / "images_paths.csv")
    train = np.random.default_rng(seed).random(len(paths)) < share
    for part, mask in (("train", train), ("test", ~train)):
        paths[mask].to_csv(out / f"{part}_paths.csv", index=False)
        for name in SETS:
            with open(demo / "descriptors" / f"{name}.pkl", "rb") as fh:
                arr = pickle.load(fh)
            with open(out / f"{part}-{name}.pkl", "wb") as fh:
                pickle.dump(np.asarray(arr)[mask], fh)
    return {"train": train, "test": ~train}


def _demo_pipeline(demo_dir: Path, root: Path, seed: int, families: tuple[str, ...], share: float = 0.8) -> dict:
    """The pipeline on a seeded 80 % (``share``) of the demo: two sets, their mix and the consensus
    (no images)."""
    from vehiclust.config import RunConfig
    from vehiclust.pipeline import run

    masks = split_demo(demo_dir, root / "split", seed=seed, share=share)
    cfg = RunConfig(
        descriptors={n: root / "split" / f"train-{n}.pkl" for n in SETS},
        paths=root / "split" / "train_paths.csv",
        out=root / "run",
        mixes=["all"],
        families=families,
        k_max=15,
        map_method="pca",
        map_3d=False,
        notebook=False,
        html=False,
        progress=False,
        n_jobs=1,
    )
    run(cfg)
    types = pd.read_csv(demo_dir / "labels.csv")["type"].to_numpy()  # row-aligned with images_paths.csv
    return {"root": root, "run_dir": root / "run", "split": root / "split", "masks": masks, "demo": demo_dir,
            "types": types, "seed": seed}


@pytest.fixture(scope="session")
def demo_run(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Split seed 0, k-means: every set placed by its nearest centre."""
    return _demo_pipeline(demo_dir, tmp_path_factory.mktemp("assign-demo"), 0, ("kmeans",))


@pytest.fixture(scope="session")
def demo_whole_run(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The oracle of ``demo_run``: the same config and seed on the whole demo."""
    return _demo_pipeline(demo_dir, tmp_path_factory.mktemp("assign-demo-whole"), 0, ("kmeans",), share=1.0)


@pytest.fixture(scope="session")
def demo_run_graph(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Split seed 1, the families the demo picks besides k-means (Leiden, EAC, Ward): rows placed
    by neighbour majority, nearest centre or nearest micro-cluster."""
    return _demo_pipeline(demo_dir, tmp_path_factory.mktemp("assign-demo-graph"), 1, ("leiden", "eac", "ward"))


@pytest.fixture(params=["demo_run", "demo_run_graph"])
def any_demo_run(request: pytest.FixtureRequest) -> dict:
    return request.getfixturevalue(request.param)


def load_part(split: Path, part: str) -> dict[str, np.ndarray]:
    out = {}
    for name in SETS:
        with open(split / f"{part}-{name}.pkl", "rb") as fh:
            out[name] = pickle.load(fh)
    return out
