"""A small real run to report on: 96 demo images, one of them renamed to an XSS probe."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

XSS_NAME = "<img src=x onerror=alert(1)>.jpg"
PER_TYPE = 16
# Deep and classical sets when the demo has them; whatever it has otherwise.
PREFERRED = ("efficientnet-lite0", "color-hist")


def build_case(demo: Path, root: Path) -> dict[str, Path]:
    """Copy PER_TYPE demo images per type into `root`, plus the probe, with matching rows.

    The probe is the first picked image under a hostile name (with that image's descriptor
    row), so it is a normal-looking member of the data set with a point of its own on the map.
    """
    paths = pd.read_csv(demo / "images_paths.csv", dtype=str)["paths"]
    labels = pd.read_csv(demo / "labels.csv", dtype=str)
    types = labels["type"].to_numpy()
    picked = np.concatenate([np.flatnonzero(types == t)[:PER_TYPE] for t in sorted(set(types))])
    available = sorted(p.stem for p in (demo / "descriptors").glob("*.pkl"))
    names = [n for n in PREFERRED if n in available] or available[:2]
    if not names:
        pytest.skip("the embedded demo has no descriptor files yet")
    case_paths = []
    for i, row in enumerate(picked):
        rel = paths[row].replace("\\", "/")
        if i == 0:
            rel = (Path(rel).parent / XSS_NAME).as_posix()
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo / paths[row].replace("\\", "/"), root / rel)
        case_paths.append(rel.replace("/", "\\"))
    pd.DataFrame({"paths": case_paths}).to_csv(root / "images_paths.csv", index=False)
    pd.DataFrame({"path": case_paths, "type": types[picked]}).to_csv(root / "labels.csv", index=False)
    files = {}
    for name in names:
        with open(demo / "descriptors" / f"{name}.pkl", "rb") as fh:
            X = np.asarray(pickle.load(fh), dtype=np.float32)
        sub = X[picked]
        files[name] = root / "descriptors" / f"{name}.pkl"
        files[name].parent.mkdir(parents=True, exist_ok=True)
        with open(files[name], "wb") as fh:
            pickle.dump(sub, fh, protocol=4)
    return files


def make_config(root: Path, out: Path, files: dict[str, Path], **overrides):
    from vehiclust.config import RunConfig

    settings = dict(
        descriptors=files,
        paths=root / "images_paths.csv",
        images=root,
        labels=root / "labels.csv",
        out=out,
        seed=0,
        progress=False,
        families=("kmeans",),
        k_min=2,
        k_max=8,
        pca_components=16,
        map_method="pca",
    )
    settings.update(overrides)
    return RunConfig(**settings)


@pytest.fixture(scope="session")
def report_case(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("report-case")
    return root, build_case(demo_dir, root)


@pytest.fixture(scope="session")
def report_run(tmp_path_factory: pytest.TempPathFactory, report_case) -> Path:
    """The pipeline's run directory for the small case, with report.html and analysis.ipynb."""
    from vehiclust.pipeline import run

    root, files = report_case
    out = tmp_path_factory.mktemp("report-run") / "run"
    run(make_config(root, out, files))
    return out
