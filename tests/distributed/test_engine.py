"""The Dask engine against the local one, on a LocalCluster with two worker processes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster import ClusterSelector, calinski_harabasz, davies_bouldin
from vehiclust.distributed import DaskClusterSelector, DaskPreparer, dask_outlier_scores, get_client, row_chunked
from vehiclust.exceptions import InputError
from vehiclust.prepare import DescriptorPreparer


@pytest.fixture(scope="module")
def prepared(case, dask_client):
    local = DescriptorPreparer(n_components=16, random_state=0, sample_size=10**6)
    dist = DaskPreparer(n_components=16, random_state=0, scheduler=dask_client)
    return {
        "local": local.fit_transform(case["X"], rows=case["valid"]),
        "dask": dist.fit_transform(case["X"], rows=case["valid"]),
        "local_est": local,
        "dask_est": dist,
    }


@pytest.mark.parametrize("use_rows", [False, True])
@pytest.mark.parametrize("use_columns", [False, True])
def test_row_chunked_reads_the_same_rows(case, dask_client, use_rows, use_columns):
    X = case["X"]
    rows = np.flatnonzero(case["valid"])[::3] if use_rows else None
    cols = np.arange(0, X.shape[1], 2) if use_columns else None
    arr = row_chunked(X, rows, cols, l2=False, chunk_rows=257)
    got = dask_client.compute(arr, sync=True)
    want = np.asarray(X)[rows if rows is not None else slice(None)]
    want = want[:, cols] if cols is not None else want
    assert arr.chunks[0][0] == 257
    np.testing.assert_array_equal(got, want)


def test_in_memory_array_is_read_too(case, dask_client):
    X = np.array(case["X"][:500])
    got = dask_client.compute(row_chunked(X, np.arange(0, 500, 7), l2=True), sync=True)
    want = X[::7] / np.linalg.norm(X[::7], axis=1, keepdims=True)
    np.testing.assert_allclose(got[np.isfinite(want).all(1)], want[np.isfinite(want).all(1)], rtol=1e-5, atol=1e-6)


def test_preparer_matches_local_subspace(prepared, case):
    a, b = prepared["local"], prepared["dask"]
    assert a.shape == b.shape == (int(case["valid"].sum()), 16)
    assert b.dtype == np.float32
    # The signal components (the planted rank is 12) agree up to float noise; the rest is noise.
    ca, cb = prepared["local_est"].components_, prepared["dask_est"].components_
    cos = np.abs(np.sum(ca[:, :6] * cb[:, :6], axis=0))
    assert cos.min() > 0.999
    np.testing.assert_allclose(a[:, :6], b[:, :6], atol=2e-3)
    sa, sb = prepared["local_est"].summary(), prepared["dask_est"].summary()
    assert set(sa) <= set(sb) and sb["engine"] == "dask"
    assert sb["n_rows_fit"] == int(case["valid"].sum())
    assert abs(sa["explained_variance"] - sb["explained_variance"]) < 0.01


def test_preparer_variance_share_uses_the_covariance(case, dask_client):
    prep = DaskPreparer(n_components=0.9, random_state=0, scheduler=dask_client)
    X = prep.fit_transform(case["X"], rows=case["valid"])
    assert 1 <= prep.n_components_ <= 14
    assert prep.summary()["explained_variance"] >= 0.9
    assert X.shape == (int(case["valid"].sum()), prep.n_components_)


@pytest.mark.parametrize("bad", [0, -3, 1.5, "64", True])
def test_preparer_rejects_bad_components(case, dask_client, bad):
    with pytest.raises(InputError, match="n_components"):
        DaskPreparer(n_components=bad, scheduler=dask_client).fit(case["X"], rows=case["valid"])


def test_preparer_rejects_bad_rows(case, dask_client):
    with pytest.raises(InputError, match="rows"):
        DaskPreparer(scheduler=dask_client).fit(case["X"], rows=np.ones(5, dtype=bool))
    with pytest.raises(InputError, match="2-D"):
        DaskPreparer(scheduler=dask_client).fit(np.zeros(5, dtype=np.float32))


@pytest.fixture(scope="module")
def selectors(prepared, dask_client):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        local = ClusterSelector(families=("kmeans",), k_min=2, k_max=8, random_state=3, progress=False).fit(prepared["local"])
        dist = DaskClusterSelector(k_min=2, k_max=8, random_state=3, progress=False, scheduler=dask_client).fit(prepared["dask"])
    return local, dist


def test_selector_agrees_with_local_engine(selectors, case):
    local, dist = selectors
    assert dist.best_["k"] == local.best_["k"] == 6
    assert adjusted_rand_score(local.labels_, dist.labels_) >= 0.99
    truth = case["truth"][case["valid"]]
    inl = truth >= 0
    assert adjusted_rand_score(truth[inl], dist.labels_[inl]) >= 0.99
    assert dist.labels_.dtype == np.int64 and dist.labels_.shape == local.labels_.shape


def test_selection_table_has_the_local_columns_and_exact_metrics(selectors, prepared):
    local, dist = selectors
    assert list(local.selection_.columns)[:14] == list(dist.selection_.columns)[:14]
    assert dist.selection_["k"].tolist() == list(range(2, 9))
    assert int(dist.selection_["chosen"].sum()) == 1
    row = dist.selection_.loc[dist.selection_["chosen"]].iloc[0]
    X = prepared["dask"]
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz(X, dist.labels_), rel=1e-5)
    assert row["davies_bouldin"] == pytest.approx(davies_bouldin(X, dist.labels_), rel=1e-5)
    assert dist.cluster_centers_.shape == (6, X.shape[1])


def test_selector_same_seed_same_labels(prepared, dask_client):
    kw = dict(k_min=5, k_max=7, random_state=11, progress=False, scheduler=dask_client, n_stability=1)
    a = DaskClusterSelector(**kw).fit(prepared["dask"])
    b = DaskClusterSelector(**kw).fit(prepared["dask"])
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.selection_["calinski_harabasz"], b.selection_["calinski_harabasz"])


def test_selector_notes_skipped_families_and_small_grids(dask_client):
    X = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    sel = DaskClusterSelector(families=("kmeans", "hdbscan"), k_min=2, k_max=40, random_state=0, progress=False,
                              scheduler=dask_client, n_stability=0)
    with pytest.warns(UserWarning, match="k-means only"):
        sel.fit(X)
    assert sel.selection_["k"].max() == 5
    assert "k grid cut" in sel.best_["note"]


@pytest.mark.parametrize("kw, match", [({"k_min": 1}, "k_min"), ({"k_min": 5, "k_max": 3}, "k_min <= k_max"),
                                       ({"families": ("spectral",)}, "families"), ({"n_init": 0}, "n_init")])
def test_selector_rejects_bad_parameters(dask_client, kw, match):
    X = np.zeros((20, 2), dtype=np.float32)
    with pytest.raises(InputError, match=match):
        DaskClusterSelector(scheduler=dask_client, **kw).fit(X)


def _reference_knn(X, ref_rows, k):
    """Slow numpy reference of the k-NN detector."""
    R = X[ref_rows]
    D = np.sqrt(np.maximum(((X[:, None, :] - R[None, :, :]) ** 2).sum(-1), 0))
    D[ref_rows, np.arange(len(ref_rows))] = np.inf  # a row is not its own neighbour
    return np.sort(D, axis=1)[:, :k].mean(axis=1)


def test_outlier_scores_match_reference_and_find_planted_outliers(selectors, prepared, case, dask_client):
    _, dist = selectors
    X = prepared["dask"]
    table = dask_outlier_scores(X, dist.labels_, dist.cluster_centers_, n_neighbors=5, reference_size=400,
                                random_state=0, scheduler=dask_client)
    assert len(table) == len(X)
    ref_rows = np.sort(np.random.RandomState(0).choice(len(X), 400, replace=False))
    np.testing.assert_allclose(table["knn_distance"].to_numpy(), _reference_knn(X.astype(np.float64), ref_rows, 5),
                               rtol=1e-3, atol=1e-4)
    centre = np.linalg.norm(X - dist.cluster_centers_[dist.labels_], axis=1)
    np.testing.assert_allclose(table["centroid_distance"], centre, rtol=1e-4, atol=1e-5)
    planted = case["outlier"][case["valid"]]
    flagged = table["is_outlier"].to_numpy()
    assert flagged[planted].mean() >= 0.9
    assert (flagged & ~planted).mean() <= 0.02
    assert set(table.loc[flagged, "outlier_reasons"].str.split(";").sum()) <= {"far_from_cluster", "far_from_data"}
    assert (table.loc[~flagged, "outlier_reasons"] == "").all()


def test_outlier_scores_without_centres_and_with_contamination(selectors, prepared, dask_client):
    _, dist = selectors
    X = prepared["dask"]
    table = dask_outlier_scores(X, dist.labels_, contamination=0.05, reference_size=500, random_state=1,
                                scheduler=dask_client)
    share = table["is_outlier"].mean()
    assert 0.04 <= share <= 0.1  # each detector flags its top 5%; flags are their union
    with pytest.raises(InputError, match="labels"):
        dask_outlier_scores(X, dist.labels_[:-1], scheduler=dask_client)


def test_get_client_rejects_a_bad_scheduler():
    with pytest.raises(InputError, match="scheduler"):
        get_client(scheduler=42)
