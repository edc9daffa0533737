"""A small real run to report on: 96 demo images, one of them renamed to an XSS probe."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vehiclust.results import DescriptorRun, RunResults

XSS_NAME = "<img src=x onerror=alert(1)>.jpg"
PER_TYPE = 16
# Deep and classical sets when the demo has them; whatever it has otherwise.
PREFERRED = ("efficientnet-lite0", "color-hist")


def build_case(demo: Path, root: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Copy PER_TYPE demo images per type into `root`, plus the probe, with matching rows.

    The probe is the first picked image under a hostile name (with that image's descriptor
    row), so it is a normal-looking member of the data set with a point of its own on the map.
    The demo's model head tables, when present, are cut to the same rows, so the describe
    stage reads them instead of running the models. Returns (descriptor files, head files).
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
    heads = {}
    for table in sorted((demo / "heads").glob("*.csv")) if (demo / "heads").is_dir() else []:
        frame = pd.read_csv(table, dtype={"path": str})
        by_path = frame.set_index(frame["path"].str.replace("\\", "/"))
        rows = by_path.reindex([paths[r].replace("\\", "/") for r in picked])
        rows["path"] = case_paths  # the probe keeps the head outputs of the image it copies
        heads[table.stem] = root / "heads" / table.name
        heads[table.stem].parent.mkdir(parents=True, exist_ok=True)
        rows.dropna(subset=[c for c in rows.columns if c != "path"], how="all").to_csv(heads[table.stem], index=False)
    return files, heads


def make_config(root: Path, out: Path, files: dict[str, Path], heads: dict[str, Path] | None = None, **overrides):
    from vehiclust.config import RunConfig

    settings = dict(
        descriptors=files,
        heads=heads or {},
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
def report_case(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> tuple[Path, dict[str, Path], dict[str, Path]]:
    root = tmp_path_factory.mktemp("report-case")
    files, heads = build_case(demo_dir, root)
    return root, files, heads


@pytest.fixture(scope="session")
def report_run(tmp_path_factory: pytest.TempPathFactory, report_case) -> Path:
    """The pipeline's run directory for the small case, with report.html and analysis.ipynb."""
    from vehiclust.pipeline import run

    root, files, heads = report_case
    out = tmp_path_factory.mktemp("report-run") / "run"
    run(make_config(root, out, files, heads))
    return out


def synthetic_results(n: int, n_clusters: int, *, coords: bool = True, outliers: bool = True,
                      clusters_table: bool = True, names: list[str] | None = None, seed: int = 0) -> RunResults:
    """A results object shaped like a real run, for the writer's edge cases (no images)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_clusters, size=n).astype(np.int64)
    labels[: max(n // 100, 1)] = -1
    centres = rng.normal(scale=8, size=(n_clusters, 3))
    xyz = (centres[np.maximum(labels, 0)] + rng.normal(size=(n, 3))).astype(np.float32)
    run = DescriptorRun(
        name="osnet",
        labels=labels,
        selection=pd.DataFrame({"family": ["kmeans"] * 3, "k": [2, n_clusters, 9], "silhouette": [0.1, 0.3, 0.2]}),
        chosen={"family": "kmeans", "k": n_clusters, "silhouette": 0.3},
        preparation={"dims_in": 512, "dims_out": 64},
    )
    if coords:
        run.coords_2d, run.coords_3d = xyz[:, :2].copy(), xyz
    if outliers:
        flagged = labels < 0
        flagged[rng.choice(n, size=max(n // 50, 1), replace=False)] = True
        run.outliers = pd.DataFrame({
            "is_outlier": flagged,
            "outlier_score": np.where(flagged, rng.uniform(0.5, 1, n), rng.uniform(0, 0.5, n)),
            "outlier_reasons": np.where(flagged, np.where(labels < 0, "invalid_descriptor", "far_from_data;low_density"), ""),
        })
    if clusters_table:
        ids = np.arange(n_clusters)
        names = names or [f"group {c}" for c in ids]
        run.clusters = pd.DataFrame({
            "cluster": ids, "size": [int((labels == c).sum()) for c in ids],
            "share": [float((labels == c).mean()) for c in ids], "cluster_name": names,
            "description": [f"Description of {nm}" for nm in names], "strength": 0.5,
        })
    paths = [f"images\\cls{c}\\img{i}.jpg" for i, c in enumerate(labels)]
    return RunResults(
        samples=pd.DataFrame({"path": [p.replace("\\", "/") for p in paths]}),
        validation=pd.DataFrame(columns=["descriptor", "check", "severity", "count", "detail"]),
        descriptors={"osnet": run}, best="osnet", best_reason="the only set",
        metadata={"seed": 0, "config": {"images": None}},
    )


@pytest.fixture(scope="session")
def synthetic():
    """:func:`synthetic_results`: a results object shaped like a real run, built without the pipeline."""
    return synthetic_results
