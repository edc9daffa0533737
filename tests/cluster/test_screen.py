"""The sweep's schedule on large sets: a sample screen, then the finalists on every row."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster import ClusterSelector
from vehiclust.neighbors import knn_graph

FAST = dict(n_stability=2, stability_sample=300, silhouette_sample=400, progress=False)


@pytest.fixture(scope="module")
def blobs6():
    """4,000 rows, 12 dims, 6 planted clusters of unequal size."""
    rng = np.random.default_rng(2)
    sizes = rng.multinomial(4000, rng.dirichlet(np.full(6, 5.0)))
    X, y = make_blobs(sizes.tolist(), n_features=12, cluster_std=1.0, center_box=(-8, 8), random_state=2)
    return X.astype(np.float32), y


def _fit(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ClusterSelector(families=("kmeans", "leiden"), k_max=10, random_state=0, **FAST, **kw).fit(X)


def test_screened_sweep_scores_only_finalists_on_every_row(blobs6):
    X, y = blobs6
    sel = _fit(X, screen_sample=1000, n_finalists=2)
    t = sel.selection_
    assert "configurations screened on 1000 of 4000 rows" in sel.best_["note"]
    on_all = t[t["scored_on"] == "all rows"]
    assert 1 <= len(on_all) <= 3 and t.loc[t["chosen"], "scored_on"].item() == "all rows"
    assert (t["scored_on"] == "sample").sum() == len(t) - len(on_all)
    assert sel.labels_.shape == (len(X),) and (sel.labels_ >= 0).all()
    assert adjusted_rand_score(y, sel.labels_) >= 0.95
    # the same seed, the same labels
    again = _fit(X, screen_sample=1000, n_finalists=2)
    np.testing.assert_array_equal(sel.labels_, again.labels_)


def test_screen_agrees_with_the_full_sweep(blobs6):
    X, y = blobs6
    full = _fit(X, screen_sample=None)
    screened = _fit(X, screen_sample=1000)
    assert "scored_on" not in full.selection_.columns
    assert full.n_clusters_ == screened.n_clusters_ == 6
    assert adjusted_rand_score(full.labels_, screened.labels_) >= 0.95


def test_given_graph_serves_leiden_on_every_row(blobs6):
    X, y = blobs6
    graph = knn_graph(X, 15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = ClusterSelector(families=("leiden",), random_state=0, **FAST).fit(X, graph=graph)
        b = ClusterSelector(families=("leiden",), random_state=0, **FAST).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_no_stability_refits_for_configurations_out_of_the_running():
    """Structureless data: a configuration no better than the reference gets no refits."""
    X = np.random.default_rng(0).standard_normal((800, 6)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t = ClusterSelector(families=("kmeans",), k_max=10, random_state=0, **FAST).fit(X).selection_
    hopeless = ~(t["silhouette_excess"] > 0)
    assert hopeless.any()
    assert t.loc[hopeless, "stability"].isna().all()
    # refits are paid where the rule can take the configuration (`_settle_stability`): every
    # candidate; one that loses even when counted perfectly stable is never put forward
    assert t.loc[t["candidate"] | t["chosen"], "stability"].notna().all()


def test_screen_sweeps_a_coarse_k_grid_then_every_k_near_the_candidates():
    from vehiclust.cluster.selector import coarse_ks, fine_ks

    ks = list(range(2, 41))
    coarse = coarse_ks(ks)
    assert coarse == [*range(2, 17), 20, 24, 28, 32, 36, 40]  # the ends of the R² curve kept
    assert fine_ks(ks, coarse, [20.0, 7.0]) == [18, 19, 21, 22]
    assert coarse_ks(list(range(2, 19))) == [*range(2, 17), 18]
