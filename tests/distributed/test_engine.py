"""The Dask engine against the local one, on a LocalCluster with two worker processes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster import ClusterSelector, calinski_harabasz, davies_bouldin
from vehiclust.cluster.metrics import explained_variance
from vehiclust.distributed import (
    DaskClusterSelector,
    DaskEngine,
    DaskOutlierEnsemble,
    DaskPreparer,
    dask_knn_graph,
    close_clients,
    dask_outlier_scores,
    get_client,
    row_chunked,
)
from vehiclust.exceptions import InputError
from vehiclust.neighbors import knn_graph
from vehiclust.outliers import OutlierEnsemble
from vehiclust.prepare import DescriptorPreparer


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*a, **kw)


@pytest.fixture(scope="module")
def prepared(case, dask_client):
    local = DescriptorPreparer(whiten=False, n_components=16, random_state=0, sample_size=10**6)
    dist = DaskPreparer(whiten=False, n_components=16, random_state=0, sample_size=None, scheduler=dask_client)
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


def test_default_preparer_is_the_local_fit_projected_by_workers(hard_case, dask_client):
    """Default sample_size: the same seeded PCA sample as the local engine, so the same matrix."""
    kw = dict(n_components=16, whiten=False, random_state=4, sample_size=2500)
    local = DescriptorPreparer(**kw)
    dist = DaskPreparer(scheduler=dask_client, chunk_rows=700, **kw)
    a = local.fit_transform(hard_case["X"], rows=hard_case["valid"])
    b = dist.fit_transform(hard_case["X"], rows=hard_case["valid"])
    np.testing.assert_array_equal(local.components_, dist.components_)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert dist.summary()["n_rows_fit"] == 2500 and dist.summary()["engine"] == "dask"
    assert DaskPreparer().sample_size == DescriptorPreparer().sample_size


def test_preparer_on_every_row_matches_local_subspace(prepared, case):
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
    prep = DaskPreparer(whiten=False, n_components=0.9, random_state=0, sample_size=None, scheduler=dask_client)
    X = prep.fit_transform(case["X"], rows=case["valid"])
    assert 1 <= prep.n_components_ <= 14
    assert prep.summary()["explained_variance"] >= 0.9
    assert X.shape == (int(case["valid"].sum()), prep.n_components_)


@pytest.mark.parametrize("kw, match", [({"n_components": 0}, "n_components"), ({"n_components": -3}, "n_components"),
                                       ({"n_components": 1.5}, "n_components"), ({"n_components": "64"}, "n_components"),
                                       ({"n_components": True}, "n_components"), ({"sample_size": 1}, "sample_size")])
def test_preparer_rejects_bad_parameters(case, dask_client, kw, match):
    with pytest.raises(InputError, match=match):
        DaskPreparer(scheduler=dask_client, **kw).fit(case["X"], rows=case["valid"])


def test_preparer_rejects_bad_rows(case, dask_client):
    with pytest.raises(InputError, match="rows"):
        DaskPreparer(scheduler=dask_client).fit(case["X"], rows=np.ones(5, dtype=bool))
    with pytest.raises(InputError, match="2-D"):
        DaskPreparer(scheduler=dask_client).fit(np.zeros(5, dtype=np.float32))


# ---- k-means sweep ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def hard_prepared(hard_case):
    return DescriptorPreparer(whiten=False, n_components=16, random_state=0).fit_transform(hard_case["X"], rows=hard_case["valid"])


@pytest.fixture(scope="module")
def hard_selectors(hard_prepared, dask_client):
    kw = dict(families=("kmeans",), k_min=2, k_max=12, random_state=3, progress=False)
    local = _quiet(ClusterSelector(**kw).fit, hard_prepared)
    dist = _quiet(DaskClusterSelector(scheduler=dask_client, chunk_rows=1000, **kw).fit, hard_prepared)
    return local, dist


def test_selector_agrees_with_local_engine_on_overlapping_unequal_clusters(hard_selectors, hard_prepared):
    local, dist = hard_selectors
    assert dist.best_["k"] == local.best_["k"]
    np.testing.assert_array_equal(dist.labels_, local.labels_)
    np.testing.assert_allclose(dist.cluster_centers_, local.cluster_centers_, rtol=1e-4, atol=1e-5)
    # The whole selection table, reference-excess and R² columns included, is the local one.
    a, b = local.selection_, dist.selection_
    assert list(b.columns) == list(a.columns)
    numeric = [c for c in a.columns if c != "fit_seconds" and pd.api.types.is_float_dtype(a[c])]
    assert {"explained_variance", "silhouette_excess", "davies_bouldin_excess", "calinski_harabasz_excess"} <= set(numeric)
    # the local engine refits only the configurations its rule puts forward (stability NaN elsewhere)
    measured = a["stability"].notna()
    np.testing.assert_allclose(b.loc[measured, numeric].to_numpy(float), a.loc[measured, numeric].to_numpy(float),
                               rtol=1e-4, atol=1e-6)
    assert (a["chosen"] == b["chosen"]).all()
    # The indices summed over blocks are the exact ones.
    row = b.loc[b["chosen"]].iloc[0]
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz(hard_prepared, dist.labels_), rel=1e-5)
    assert row["davies_bouldin"] == pytest.approx(davies_bouldin(hard_prepared, dist.labels_), rel=1e-5)
    assert row["explained_variance"] == pytest.approx(explained_variance(hard_prepared, dist.labels_), rel=1e-6)


def test_selector_on_a_dask_array_gives_the_same_labels(hard_case, hard_selectors, dask_client):
    _, dist = hard_selectors
    prep = DaskPreparer(whiten=False, n_components=16, random_state=0, scheduler=dask_client).fit(hard_case["X"], rows=hard_case["valid"])
    lazy = prep.transform_dask(hard_case["X"], rows=hard_case["valid"])
    again = _quiet(DaskClusterSelector(families=("kmeans",), k_min=2, k_max=12, random_state=3, progress=False, scheduler=dask_client).fit, lazy)
    assert adjusted_rand_score(again.labels_, dist.labels_) >= 0.99
    assert again.best_["k"] == dist.best_["k"]


def test_selector_recovers_planted_clusters(prepared, case, dask_client):
    dist = _quiet(DaskClusterSelector(families=("kmeans",), k_min=2, k_max=8, random_state=3, progress=False,
                                      scheduler=dask_client).fit, prepared["dask"])
    assert dist.best_["k"] == 6
    truth = case["truth"][case["valid"]]
    inl = truth >= 0
    assert adjusted_rand_score(truth[inl], dist.labels_[inl]) >= 0.99
    assert dist.labels_.dtype == np.int64 and dist.cluster_centers_.shape == (6, 16)


def test_selector_same_seed_same_labels_and_is_an_estimator(prepared, dask_client):
    # A scheduler address (a str, as from the CLI) keeps the estimator clonable.
    sel = DaskClusterSelector(families=("kmeans",), k_min=5, k_max=7, random_state=11, progress=False,
                              scheduler=dask_client.scheduler.address, n_stability=1)
    a = _quiet(sel.fit, prepared["dask"])
    b = _quiet(clone(sel).fit, prepared["dask"])
    assert clone(sel).get_params()["k_max"] == 7
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.selection_["calinski_harabasz"], b.selection_["calinski_harabasz"])
    close_clients()  # the client connected to that address


def test_every_default_family_runs_on_dask_and_matches_local(hard_prepared, dask_client):
    """eac, gmm, ward, hdbscan, dbscan and leiden fit on samples or search every row through the
    per-row hooks: the Dask selector gives the local selection table and labels, family by family."""
    kw = dict(k_min=2, k_max=9, random_state=4, progress=False, n_stability=1)
    local = _quiet(ClusterSelector(**kw).fit, hard_prepared)
    dist = _quiet(DaskClusterSelector(scheduler=dask_client, chunk_rows=900, **kw).fit, hard_prepared)
    a, b = local.selection_, dist.selection_
    assert set(b["family"]) == {"kmeans", "eac", "gmm", "ward", "hdbscan", "dbscan", "leiden"}
    assert (b["error"] == "").all()
    assert list(a.columns) == list(b.columns)
    numeric = [c for c in a.columns if c != "fit_seconds" and pd.api.types.is_float_dtype(a[c])]
    np.testing.assert_allclose(b[numeric].to_numpy(float), a[numeric].to_numpy(float), rtol=1e-6, atol=1e-7)
    other = [c for c in a.columns if c not in numeric and c != "fit_seconds"]
    pd.testing.assert_frame_equal(a[other], b[other])
    np.testing.assert_array_equal(dist.labels_, local.labels_)
    np.testing.assert_array_equal(dist.noise_mask_, local.noise_mask_)


def test_selector_small_grids_are_noted(dask_client):
    X = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    sel = DaskClusterSelector(families=("kmeans", "hdbscan"), k_min=2, k_max=40, random_state=0, progress=False,
                              scheduler=dask_client, n_stability=0)
    _quiet(sel.fit, X)
    assert sel.selection_["k"].max() == 5
    assert "k grid cut" in sel.best_["note"]


@pytest.mark.parametrize("kw, match", [({"k_min": 1}, "k_min"), ({"k_min": 5, "k_max": 3}, "k_min <= k_max"),
                                       ({"families": ("spectral",)}, "families"), ({"chunk_rows": 0}, "chunk_rows")])
def test_selector_rejects_bad_parameters(dask_client, kw, match):
    X = np.zeros((20, 2), dtype=np.float32)
    with pytest.raises(InputError, match=match):
        DaskClusterSelector(scheduler=dask_client, **kw).fit(X)


# ---- outliers ---------------------------------------------------------------------------
@pytest.mark.parametrize("exact_max_rows", [10**6, 1000])  # all rows, and the reference sample
def test_knn_graph_on_workers_is_the_local_graph(hard_prepared, dask_client, exact_max_rows):
    kw = dict(exact_max_rows=exact_max_rows, reference_size=1500, random_state=5)
    a = knn_graph(hard_prepared, 10, **kw)
    b = dask_knn_graph(hard_prepared, 10, chunk_rows=1300, scheduler=dask_client, **kw)
    assert (a.indices == b.indices).mean() >= 0.999
    np.testing.assert_allclose(a.distances, b.distances, rtol=1e-4, atol=1e-5)
    assert (a.reference is None) == (b.reference is None) == (exact_max_rows > len(hard_prepared))
    if a.reference is not None:
        np.testing.assert_array_equal(a.reference, b.reference)


def test_outlier_ensemble_agrees_with_local_on_overlapping_clusters(hard_prepared, hard_selectors, hard_case,
                                                                    dask_client):
    local_sel, dist_sel = hard_selectors
    a = OutlierEnsemble(random_state=2).fit(hard_prepared, local_sel.labels_, centers=local_sel.cluster_centers_)
    b = DaskOutlierEnsemble(random_state=2, chunk_rows=1000, scheduler=dask_client).fit(
        hard_prepared, dist_sel.labels_, centers=dist_sel.cluster_centers_)
    assert np.mean(a.labels_ != b.labels_) <= 0.01
    assert list(a.scores_.columns) == list(b.scores_.columns)
    np.testing.assert_allclose(b.decision_scores_, a.decision_scores_, atol=1e-6)
    assert (a.reasons_ == b.reasons_).mean() >= 0.99
    planted = hard_case["outlier"][hard_case["valid"]]
    assert b.labels_[planted].mean() >= 0.9


def test_outlier_table_with_contamination_and_bad_labels(prepared, dask_client):
    labels = np.zeros(len(prepared["dask"]), dtype=np.int64)
    table = dask_outlier_scores(prepared["dask"], labels, contamination=0.05, random_state=1, scheduler=dask_client)
    assert len(table) == len(prepared["dask"])
    assert 0.04 <= table["is_outlier"].mean() <= 0.06
    assert (table.loc[~table["is_outlier"], "outlier_reasons"] == "").all()
    assert {"knn_outlierness", "iforest_outlierness", "cluster_distance_outlierness"} <= set(table.columns)
    with pytest.raises(InputError, match="labels"):
        DaskOutlierEnsemble(scheduler=dask_client).fit(prepared["dask"], labels[:-1])


def test_get_client_rejects_a_bad_scheduler():
    with pytest.raises(InputError, match="scheduler"):
        get_client(scheduler=42)


def test_outlier_stage_parts_match_the_local_stage(hard_prepared, hard_selectors, dask_client):
    """`pipeline._fit_outliers` on the Dask engine gives the local graph and flags (what the maps reuse)."""
    from vehiclust.pipeline import _fit_outliers

    local_sel, _ = hard_selectors
    args = (hard_prepared, local_sel.labels_, local_sel.cluster_centers_, None, 9)
    g_local, e_local = _fit_outliers(*args, False)
    g_dask, e_dask = _fit_outliers(*args, False, engine=DaskEngine(dask_client))
    np.testing.assert_array_equal(g_dask.indices, g_local.indices)
    np.testing.assert_array_equal(e_dask.labels_, e_local.labels_)
    assert isinstance(e_dask, DaskOutlierEnsemble)


def test_an_array_mapped_from_a_pickle_travels_as_its_file(tmp_path, monkeypatch):
    """A large pickle is memory-mapped where its bytes lie (not at the end of the file): the Dask
    engine still sends workers the file and offset, never the matrix; a slice is not trusted."""
    import pickle

    from vehiclust.distributed._arrays import mapped_file
    from vehiclust.io import _safe_pickle, load_descriptors

    monkeypatch.setattr(_safe_pickle, "MMAP_MIN_BYTES", 1)
    a = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
    src = tmp_path / "a.pickle"
    src.write_bytes(pickle.dumps(a, protocol=5))
    X = load_descriptors(src)
    where = mapped_file(X)
    assert where is not None and where.offset > 0
    np.testing.assert_array_equal(where.open(), a)
    assert mapped_file(X[5:]) is None
