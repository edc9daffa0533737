"""A LocalCluster with two worker processes shared by the Dask engine tests, and a small
case-shaped dataset with planted clusters, outliers and NaN rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pytest.importorskip("faiss")


@pytest.fixture(scope="session")
def dask_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           memory_limit="2GiB")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def make_case(n: int = 3000, d: int = 96, n_clusters: int = 6, seed: int = 7, separation: float = 6.0,
              balance: float = 5.0):
    """(X float32 with 2 NaN rows, true cluster (-1 = planted outlier), outlier mask).

    Cluster sizes are Dirichlet(``balance``) shares (small = very unequal); centres are
    orthogonal at ``separation`` noise SDs from the origin (6: well apart, 2: overlapping).
    """
    rng = np.random.default_rng(seed)
    rank = 12
    truth = rng.choice(n_clusters, size=n, p=rng.dirichlet(np.full(n_clusters, balance)))
    # Orthogonal centres: every pair equally far apart.
    centres = np.linalg.qr(rng.standard_normal((rank, rank)))[0][:n_clusters] * separation
    z = centres[truth] + rng.standard_normal((n, rank))
    outlier = np.zeros(n, dtype=bool)
    outlier[rng.choice(n, size=n // 100, replace=False)] = True
    z[outlier] = rng.standard_normal((int(outlier.sum()), rank)) * 7.5
    X = z @ (rng.standard_normal((rank, d)) / np.sqrt(rank)) + 0.3 * rng.standard_normal((n, d)) + 1.0
    X = X.astype(np.float32)
    X[rng.choice(np.flatnonzero(~outlier), size=2, replace=False)] = np.nan
    truth = np.where(outlier, -1, truth)
    return X, truth, outlier


def _saved(tmp_path_factory, name: str, **kw) -> dict:
    X, truth, outlier = make_case(**kw)
    path = Path(tmp_path_factory.mktemp(name)) / "descriptors.npy"
    np.save(path, X)
    return {"X": np.load(path, mmap_mode="r"), "truth": truth, "outlier": outlier,
            "valid": np.isfinite(X).all(axis=1), "path": path}


@pytest.fixture(scope="session")
def case(tmp_path_factory) -> dict:
    """Six well-separated clusters of moderately unequal sizes, 1% planted outliers."""
    return _saved(tmp_path_factory, "case")


@pytest.fixture(scope="session")
def hard_case(tmp_path_factory) -> dict:
    """Case-shaped: ten overlapping clusters of very unequal sizes (where k-means and the
    selection rule are sensitive to every detail), 1% planted outliers."""
    return _saved(tmp_path_factory, "hard-case", n=4000, n_clusters=10, seed=3, separation=2.2, balance=1.0)
