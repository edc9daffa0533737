"""Leiden on the shared-neighbour k-NN graph: structure, every row labelled, seeds, the shared graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster import ClusterSelector, external_agreement
from vehiclust.cluster.leiden import LeidenClustering, shared_neighbour_graph
from vehiclust.exceptions import InputError
from vehiclust.io._safe_pickle import load_pickle
from vehiclust.neighbors import knn_graph


@pytest.fixture(scope="module")
def blobs8():
    """3,000 rows, 16 dims, 8 planted clusters of unequal size and spread."""
    rng = np.random.default_rng(5)
    sizes = rng.multinomial(3000, rng.dirichlet(np.full(8, 4.0)))
    X, y = make_blobs(sizes.tolist(), n_features=16, cluster_std=rng.uniform(0.8, 1.6, 8), center_box=(-7, 7),
                      random_state=5)
    return X.astype(np.float32), y


def test_leiden_recovers_planted_clusters_and_labels_every_row(blobs8):
    X, y = blobs8
    est = LeidenClustering(resolution=0.5, random_state=0).fit(X)
    assert est.labels_.shape == (len(X),) and est.labels_.dtype == np.int64 and (est.labels_ >= 0).all()
    assert est.n_clusters_ == est.labels_.max() + 1
    assert adjusted_rand_score(y, est.labels_) >= 0.95
    sizes = np.bincount(est.labels_)
    assert (np.diff(sizes) <= 0).all()  # largest cluster first


def test_resolution_plays_the_role_of_k(blobs8):
    X, _ = blobs8
    counts = [LeidenClustering(resolution=r, random_state=0).fit(X).n_clusters_ for r in (0.01, 0.5, 5.0)]
    assert counts[0] <= counts[1] == 8 < counts[2]


def test_reference_sample_graph_labels_every_row(blobs8):
    """Above exact_max_rows Leiden runs on the reference sample; the rest vote with their neighbours."""
    X, y = blobs8
    est = LeidenClustering(resolution=0.5, exact_max_rows=1000, reference_size=1200, random_state=0).fit(X)
    assert est.graph_nodes_.size == 1200
    assert (est.labels_ >= 0).all()
    assert adjusted_rand_score(y, est.labels_) >= 0.95


def test_jaccard_weights_are_symmetric_and_in_unit_interval(blobs8):
    X, _ = blobs8
    W, nodes = shared_neighbour_graph(knn_graph(X[:500], 10))
    assert nodes.size == 500 and abs(W - W.T).max() == 0
    assert 0 < W.data.min() and W.data.max() <= 1.0
    assert W.diagonal().sum() == 0


def test_seeded_clone_and_shared_graph(blobs8):
    X, _ = blobs8
    est = LeidenClustering(resolution=1.0, n_neighbors=10, random_state=3)
    a = clone(est).fit(X).labels_
    b = clone(est).fit(X).labels_
    np.testing.assert_array_equal(a, b)
    assert clone(est).get_params() == est.get_params() and not hasattr(est, "labels_")
    # a graph built elsewhere (the pipeline's, with more neighbours) gives the same labels
    c = clone(est).fit(X, graph=knn_graph(X, 15)).labels_
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("bad", [dict(resolution=0), dict(resolution="x"), dict(n_neighbors=0),
                                 dict(min_cluster_size=0)])
def test_bad_parameters_are_one_clear_error(bad, blobs8):
    with pytest.raises(InputError, match="LeidenClustering"):
        LeidenClustering(**bad).fit(blobs8[0][:50])


def _demo(demo_dir, name, seed):
    from vehiclust.prepare import DescriptorPreparer

    X = np.asarray(load_pickle(demo_dir / "descriptors" / f"{name}.pkl"), dtype=np.float32)
    paths = pd.read_csv(demo_dir / "images_paths.csv")["paths"]
    y = pd.read_csv(demo_dir / "labels.csv").set_index("path").loc[paths, "type"].to_numpy()
    return DescriptorPreparer(n_components=64, whiten=0.5, random_state=seed).fit_transform(X), y


@pytest.mark.slow
def test_selector_takes_leiden_on_real_demo_and_it_follows_the_vehicle_type(demo_dir):
    """On the demo's real EfficientNet-Lite0 descriptors (1,200 Zenodo crops, 6 types) the rule
    reads Leiden's elbow over the clusters found and prefers it to k-means; the labels only score."""
    Z, y = _demo(demo_dir, "efficientnet-lite0", 0)
    sel = ClusterSelector(families=("kmeans", "leiden"), n_stability=2, random_state=0, progress=False).fit(Z)
    t = sel.selection_
    assert t.loc[t["family"] == "leiden", "elbow"].sum() == 1
    assert sel.best_["family"] == "leiden"
    km = t[(t["family"] == "kmeans") & t["elbow"]]
    assert len(km) == 1
    nmi = external_agreement(y, sel.labels_)["nmi"]
    assert nmi > 0.6


def test_the_sweep_records_replicate_seeds_on_the_same_graph(blobs8):
    """Each configuration carries the count and R² of other Leiden seeds on the same graph (the rule
    reads the knee's seed-to-seed spread from them); seeded, and close to the main run's."""
    from vehiclust.cluster._families import LeidenFamily
    from vehiclust.cluster._rule import REPLICATE_COLUMNS
    from vehiclust.cluster.metrics import explained_variance

    X, y = blobs8
    fam = LeidenFamily()
    fit = fam.fit(X, {"resolution": 0.5}, 3)
    again = LeidenFamily().fit(X, {"resolution": 0.5}, 3)
    assert fit.info == again.info
    assert np.array_equal(fit.labels, again.labels)
    r2 = explained_variance(X, fit.labels)
    for i in range(1, fam.n_replicates + 1):
        assert abs(fit.info[REPLICATE_COLUMNS[0] % i] - (fit.labels.max() + 1)) <= 2
        assert abs(fit.info[REPLICATE_COLUMNS[1] % i] - r2) < 0.05
