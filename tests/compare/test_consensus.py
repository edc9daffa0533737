from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from vehiclust.compare import coassociation_onehot, consensus_embedding
from vehiclust.exceptions import InputError

from .conftest import kmeans_labels


def test_onehot_gives_the_coassociation():
    a = np.array([0, 0, 1, 1, -1])
    b = np.array([2, 2, 2, 5, 5])
    H = coassociation_onehot({"a": a, "b": b}).toarray()
    C = H @ H.T / 2
    slow = np.array([[np.mean([x[i] == x[j] and x[i] >= 0 for x in (a, b)]) for j in range(5)] for i in range(5)])
    np.testing.assert_allclose(C, slow)


@pytest.mark.parametrize("seed", [0, 1])
def test_consensus_of_two_views_recovers_their_product(two_attribute_data, seed):
    """Colour clusters from A and type clusters from B: the consensus separates all 12 combinations."""
    d = two_attribute_data
    X, valid, summary = consensus_embedding({"A": d["colour"], "B": d["type"]}, random_state=seed)
    assert valid.all() and X.dtype == np.float32
    assert summary["n_micro_clusters"] == 12
    labels = kmeans_labels(X, 12, seed)
    assert adjusted_rand_score(d["colour"] * 4 + d["type"], labels) > 0.99


def test_consensus_of_agreeing_clusterings_keeps_the_partition():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 300)
    noisy = truth.copy()
    flip = rng.choice(300, 15, replace=False)
    noisy[flip] = rng.integers(0, 5, 15)
    X, valid, _ = consensus_embedding({"a": truth, "b": truth, "c": noisy}, random_state=0)
    assert adjusted_rand_score(truth, kmeans_labels(X, 5)) > 0.95


def test_consensus_skips_rows_unassigned_everywhere():
    a = np.array([0, 0, 1, 1, 2, 2, -1, 0])
    b = np.array([1, 1, 0, 0, 2, 2, -1, -1])
    X, valid, _ = consensus_embedding({"a": a, "b": b}, random_state=0)
    assert valid.tolist() == [True] * 6 + [False, True]
    assert len(X) == 7
    np.testing.assert_allclose(X[0], X[1])  # same micro-cluster, same embedding


@pytest.mark.parametrize("sets, match", [({"a": np.zeros(5, int)}, "at least 2"), ({"a": np.zeros(5, int), "b": np.zeros(4, int)}, "same rows"), ({"a": np.zeros(5, int), "b": np.zeros(5, int)}, "at least 3 clusters")])
def test_consensus_errors(sets, match):
    with pytest.raises(InputError, match=match):
        consensus_embedding(sets)
