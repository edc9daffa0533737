from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples, silhouette_score

from vehiclust.cluster import metrics as M


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(700, 6).astype(np.float32)
    y = rng.randint(0, 4, 700)
    X[y == 1] += 2.0
    return X, y


@pytest.mark.parametrize("chunk", [7, 100, 65_536])
def test_ch_db_exact_and_chunk_independent(data, chunk, monkeypatch):
    X, y = data
    monkeypatch.setattr(M, "_CHUNK", chunk)
    assert M.calinski_harabasz(X, y) == pytest.approx(calinski_harabasz_score(X, y), rel=1e-9)
    assert M.davies_bouldin(X, y) == pytest.approx(davies_bouldin_score(X, y), rel=1e-6)


def test_internal_indices_equal_the_single_functions(data):
    X, y = data
    y = y.copy()
    y[:30] = -1
    both = M.internal_indices(X, y)
    assert both["calinski_harabasz"] == pytest.approx(M.calinski_harabasz(X, y), rel=1e-12)
    assert both["davies_bouldin"] == pytest.approx(M.davies_bouldin(X, y), rel=1e-12)
    assert both["explained_variance"] == pytest.approx(M.explained_variance(X, y), rel=1e-12)
    assert 0 < both["explained_variance"] < 1
    assert all(np.isnan(v) for v in M.internal_indices(X, np.zeros(len(X), int)).values())


def test_noise_rows_are_left_out(data):
    X, y = data
    y2 = y.copy()
    y2[:50] = -1
    keep = y2 >= 0
    assert M.calinski_harabasz(X, y2) == pytest.approx(calinski_harabasz_score(X[keep], y2[keep]), rel=1e-9)
    assert M.davies_bouldin(X, y2) == pytest.approx(davies_bouldin_score(X[keep], y2[keep]), rel=1e-6)


def test_one_cluster_gives_nan(data):
    X, _ = data
    one = np.zeros(len(X), dtype=int)
    assert np.isnan(M.calinski_harabasz(X, one))
    assert np.isnan(M.davies_bouldin(X, one))
    assert all(np.isnan(v) for v in M.sampled_silhouette(X, one))


def test_silhouette_values_match_sklearn(data):
    X, y = data
    y = y.copy()
    y[0] = 9  # a singleton cluster scores 0 in both
    np.testing.assert_allclose(M.silhouette_values(X, y), silhouette_samples(X, y), atol=1e-6)


def test_sampled_silhouette_full_sample_and_ci(data):
    X, y = data
    s, lo, hi = M.sampled_silhouette(X, y, n_samples=10_000, random_state=0)
    assert s == pytest.approx(silhouette_score(X, y), abs=1e-6)
    assert lo <= s <= hi
    s2, lo2, hi2 = M.sampled_silhouette(X, y, n_samples=200, random_state=0)
    assert lo2 < hi2 and abs(s2 - s) < 0.1
    assert M.sampled_silhouette(X, y, n_samples=200, random_state=5) == M.sampled_silhouette(X, y, n_samples=200, random_state=5)


def test_stratified_sample_keeps_small_clusters():
    labels = np.r_[np.zeros(10_000, int), np.ones(5, int), -np.ones(50, int)]
    idx = M.stratified_sample(labels, 300, random_state=0)
    assert (labels[idx] == 1).sum() >= 2
    assert (labels[idx] == -1).sum() == 0
    assert len(np.unique(idx)) == len(idx)


@pytest.mark.parametrize(
    "labels, expected",
    [([0, 0, 1, 1], 1.0), ([0, 0, 0, 0], 0.0), ([0, 1, 2, 3], 1.0), ([-1, -1, 0, 1], 1.0)],
)
def test_size_balance(labels, expected):
    assert M.size_balance(np.array(labels)) == pytest.approx(expected)


def test_size_balance_dominant_cluster_is_low():
    assert M.size_balance(np.r_[np.zeros(990, int), np.arange(10) + 1]) < 0.2


@pytest.mark.parametrize("k", [5, 300])  # one-hot product path and sorted-segment path
def test_cluster_centroids_match_a_plain_mean(k, monkeypatch):
    monkeypatch.setattr(M, "_CHUNK", 997)  # chunks that split clusters
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3000, 7)).astype(np.float32)
    labels = rng.integers(-1, k, 3000)
    centroids, counts = M.cluster_centroids(X, labels)
    for c in (0, k // 2, k - 1):
        rows = X[labels == c].astype(np.float64)
        assert counts[c] == len(rows)
        np.testing.assert_allclose(centroids[c], rows.mean(0) if len(rows) else 0.0, rtol=1e-10, atol=1e-12)
