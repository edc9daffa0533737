"""The embedded demo is consistent: images, paths, labels, descriptors and heads line up."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vehiclust.extract import extract_descriptors

DIMS = {"color-hist": 128, "hog": 324, "efficientnet-lite0": 1280, "osnet": 512, "vehicle-attributes": 128,
        "mobilenet": 1024}
# The two widest sets ship as float16 to keep the demo under 20 MB (see make_descriptors.sh).
HALF = {"efficientnet-lite0", "mobilenet"}


def test_paths_and_labels(demo_dir: Path, demo_paths: list[str]) -> None:
    assert len(demo_paths) == 1200 and len(set(demo_paths)) == 1200
    assert all(p.startswith("images\\") and "/" not in p for p in demo_paths)
    labels = pd.read_csv(demo_dir / "labels.csv")
    assert list(labels.columns) == ["path", "type"] and labels.path.tolist() == demo_paths
    assert labels.type.value_counts().to_dict() == {t: 200 for t in ("bike", "car", "juggernaut", "minibus", "pickup", "truck")}
    assert all(p.split("\\")[1] == t for p, t in zip(labels.path, labels.type))
    assert all((demo_dir / p.replace("\\", "/")).is_file() for p in demo_paths)
    total = sum(f.stat().st_size for f in (demo_dir / "images").rglob("*.jpg"))
    assert total < 10_000_000


@pytest.mark.parametrize("model", list(DIMS))
def test_descriptor_files(demo_dir: Path, model: str) -> None:
    with open(demo_dir / "descriptors" / f"{model}.pkl", "rb") as fh:
        X = pickle.load(fh)
    expected = np.float16 if model in HALF else np.float32
    assert type(X) is np.ndarray and X.dtype == expected and X.shape == (1200, DIMS[model])
    assert np.isfinite(X).all()


@pytest.mark.parametrize("model", ["color-hist", "hog"])
def test_classical_files_are_reproducible(demo_dir: Path, demo_paths: list[str], model: str) -> None:
    with open(demo_dir / "descriptors" / f"{model}.pkl", "rb") as fh:
        X = pickle.load(fh)
    rows = [0, 333, 667, 1199]
    fresh = extract_descriptors([demo_paths[i] for i in rows], model, root=demo_dir, progress=False)
    # float32 features: equal to a few ulps (BLAS/SIMD summation order may differ between machines)
    np.testing.assert_allclose(fresh.features, X[rows], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,columns", [
    ("vehicle-attributes", ["path", "color_white", "color_gray", "color_yellow", "color_red", "color_green", "color_blue",
                            "color_black", "type_car", "type_bus", "type_truck", "type_van"]),
    ("imagenet", ["path", "imagenet_top1", "imagenet_top1_prob", "imagenet_vehicle_prob"]),
])
def test_head_tables(demo_dir: Path, demo_paths: list[str], name: str, columns: list[str]) -> None:
    heads = pd.read_csv(demo_dir / "heads" / f"{name}.csv")
    assert list(heads.columns) == columns and heads.path.tolist() == demo_paths
    probs = heads.select_dtypes("number").to_numpy()
    assert np.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1 + 1e-5).all()


@pytest.mark.parametrize("model", ["osnet", "vehicle-attributes", "mobilenet",
                                   pytest.param("efficientnet-lite0", marks=pytest.mark.slow)])
def test_deep_files_match_a_fresh_extraction(demo_dir: Path, demo_paths: list[str], models_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    pytest.importorskip({"osnet": "onnxruntime", "vehicle-attributes": "openvino", "mobilenet": "ai_edge_litert",
                         "efficientnet-lite0": "torch"}[model])
    monkeypatch.setenv("VEHICLUST_MODELS", str(models_dir))
    with open(demo_dir / "descriptors" / f"{model}.pkl", "rb") as fh:
        X = pickle.load(fh)
    rows = [0, 599, 1199]
    fresh = extract_descriptors([demo_paths[i] for i in rows], model, root=demo_dir, progress=False)
    tol = 2e-3 if model in HALF else 1e-4
    np.testing.assert_allclose(fresh.features, X[rows].astype(np.float32), rtol=tol, atol=tol)


def test_demo_folder_stays_small(demo_dir: Path) -> None:
    total = sum(f.stat().st_size for f in demo_dir.rglob("*") if f.is_file())
    assert total < 20_000_000, f"examples/demo is {total / 1e6:.1f} MB"
