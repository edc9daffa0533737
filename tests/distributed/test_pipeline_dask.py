"""`vehiclust run` with ``engine="dask"`` against ``engine="local"`` on a scaled-down case."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from vehiclust import pipeline
from vehiclust.config import RunConfig

from .conftest import make_case


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask-case")
    for name, (dim, seed) in {"reid": (96, 3)}.items():
        # case-shaped: overlapping clusters of very unequal sizes, planted outliers, NaN rows
        X, truth, _ = make_case(n=2000, d=dim, n_clusters=8, seed=seed, separation=3.5, balance=1.0)
        with open(d / f"{name}.pickle", "wb") as fh:
            pickle.dump(X, fh, protocol=5)
    paths = [f"veriwild\\{1 + i // 500}\\{i // 10 + 1:05d}\\{i + 1:06d}.jpg" for i in range(2000)]
    pd.DataFrame({"paths": paths}).to_csv(d / "images_paths.csv", index=False)
    np.save(d / "truth.npy", truth)
    return d


def _run(case_dir, out, engine):
    config = RunConfig(
        descriptors={"reid": case_dir / "reid.pickle"},
        paths=case_dir / "images_paths.csv",
        out=out,
        seed=5,  # the default families: kmeans, eac, gmm, ward, hdbscan, dbscan, leiden
        k_min=2,
        k_max=12,
        pca_components=16,
        progress=False,
        notebook=False,
        html=False,
        map_3d=False,
        map_method="pca",  # the maps are not what is compared; keep the test fast
        engine=engine,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.run(config)


@pytest.mark.slow
def test_dask_engine_agrees_with_local_engine(case_dir, tmp_path, dask_client):
    local = _run(case_dir, tmp_path / "local", "local")
    dist = _run(case_dir, tmp_path / "dask", "dask")
    truth = np.load(case_dir / "truth.npy")
    assert set(dist.descriptors) == set(local.descriptors) == {"reid"}
    for name in local.descriptors:
        a, b = local.descriptors[name], dist.descriptors[name]
        assert b.preparation.get("engine") == "dask"
        assert b.labels.shape == (2000,)
        # the same selection table (block sums: float64 totals equal to the last bits) and labels
        assert set(b.selection["family"]) == {"kmeans", "eac", "gmm", "ward", "hdbscan", "dbscan", "leiden"}
        numeric = [c for c in a.selection.columns if c != "fit_seconds" and pd.api.types.is_float_dtype(a.selection[c])]
        np.testing.assert_allclose(b.selection[numeric].to_numpy(float), a.selection[numeric].to_numpy(float),
                                   rtol=1e-6, atol=1e-7)
        other = [c for c in a.selection.columns if c not in numeric and c != "fit_seconds"]
        pd.testing.assert_frame_equal(a.selection[other], b.selection[other])
        np.testing.assert_array_equal(a.labels, b.labels)
        assert a.chosen["config_id"] == b.chosen["config_id"]
        inl = (truth >= 0) & (b.labels >= 0)
        # overlapping clusters: k-means only partly recovers them, and both engines alike
        ari_a, ari_b = (adjusted_rand_score(truth[inl], lab[inl]) for lab in (a.labels, b.labels))
        assert ari_b >= 0.6 and ari_a == ari_b
        fa = a.outliers["is_outlier"].to_numpy(bool)
        fb = b.outliers["is_outlier"].to_numpy(bool)
        np.testing.assert_array_equal(fa, fb)
        with open(case_dir / f"{name}.pickle", "rb") as fh:
            nan_rows = ~np.isfinite(pickle.load(fh)).all(axis=1)  # noqa: S301 - written above
        assert nan_rows.sum() == 2
        assert (b.labels[nan_rows] == -1).all() and fb[nan_rows].all()
    table = pd.read_csv(tmp_path / "dask" / "clusters.csv")
    assert len(table) == 2000 and table["cluster"].notna().all()
    # the Dask engine saves the same assignment model: the run's own rows come back
    from vehiclust.assign import RunAssigner

    with open(case_dir / "reid.pickle", "rb") as fh:
        own = RunAssigner(tmp_path / "dask").predict({"reid": pickle.load(fh)})  # noqa: S301 - written above
    run = dist.descriptors[dist.best]
    assert np.mean(own.labels == run.labels) >= 0.99
    assert np.mean(own.outliers["is_outlier"].to_numpy(bool) == run.outliers["is_outlier"].to_numpy(bool)) >= 0.99
