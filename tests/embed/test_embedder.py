"""MapEmbedder: shapes, NaN-free output, seeds, sampling + k-NN placement, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from vehiclust.embed import MapEmbedder, embed, neighbourhood_preservation
from vehiclust.exceptions import InputError


def blobs(n: int = 600, d: int = 16, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clusters on low-dimensional subspaces, so neighbourhoods mean something."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(0, 8, (k, d))
    bases = rng.normal(0, 1, (k, 3, d))
    z = rng.normal(0, 1, (n, 3))
    X = centres[y] + np.einsum("nj,njd->nd", z, bases[y]) + rng.normal(0, 0.05, (n, d))
    return X.astype(np.float32), y


@pytest.mark.parametrize("method, n_components", [("pca", 2), ("pca", 3), ("tsne", 2), ("tsne", 3)])
def test_shapes_dtype_finite(method, n_components):
    X, _ = blobs(300 if method == "pca" else 80)
    Y = MapEmbedder(method=method, n_components=n_components, random_state=0).fit_transform(X)
    assert Y.shape == (len(X), n_components)
    assert Y.dtype == np.float32
    assert np.isfinite(Y).all()


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_same_seed_same_map(method):
    X, _ = blobs(200)
    a = MapEmbedder(method=method, random_state=3, sample_size=60).fit_transform(X)
    b = MapEmbedder(method=method, random_state=3, sample_size=60).fit_transform(X)
    np.testing.assert_array_equal(a, b)


def test_sample_and_place_keeps_clusters_apart():
    X, y = blobs(2000, k=4)
    est = MapEmbedder(method="tsne", sample_size=150, random_state=0)
    Y = est.fit_transform(X)
    assert est.sample_indices_.shape == (150,)
    # sample rows keep their laid-out coordinates
    np.testing.assert_array_equal(Y[est.sample_indices_], est.sample_embedding_)
    # placed rows sit with their own cluster: nearest centroid in the map = own cluster
    cents = np.stack([Y[y == c].mean(0) for c in range(4)])
    nearest = np.argmin(((Y[:, None, :] - cents[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y).mean() > 0.95
    assert neighbourhood_preservation(X, Y, k=10, n_samples=300) > 0.1


def test_transform_places_duplicates_on_their_sample_row():
    X, _ = blobs(300)
    est = MapEmbedder(method="pca", random_state=0).fit(X)
    np.testing.assert_allclose(est.transform(X[:5]), est.embedding_[:5], atol=1e-3)


@pytest.mark.slow
def test_umap_sampled_layout():
    X, y = blobs(1500, k=3)
    Y = MapEmbedder(method="umap", sample_size=500, random_state=0, n_epochs=50).fit_transform(X)
    assert Y.shape == (1500, 2) and np.isfinite(Y).all()
    assert neighbourhood_preservation(X, Y, k=10, n_samples=300) > 0.2


@pytest.mark.parametrize("n", [1, 2, 5])
def test_tiny_inputs_fall_back_to_pca(n):
    X, _ = blobs(50)
    est = MapEmbedder(method="umap", random_state=0)
    Y = est.fit_transform(X[:n])
    assert Y.shape == (n, 2) and np.isfinite(Y).all()
    assert est.method_ == "pca"


def test_identical_rows_give_a_finite_map():
    X = np.ones((40, 8), dtype=np.float32)
    Y = embed(X, method="tsne", random_state=0)
    assert Y.shape == (40, 2) and np.isfinite(Y).all()


@pytest.mark.parametrize("params, match", [
    ({"method": "mds"}, "'method'"),
    ({"n_components": 4}, "'n_components'"),
    ({"sample_size": 1}, "'sample_size'"),
    ({"placement_k": 0}, "'placement_k'"),
    ({"n_epochs": -3}, "'n_epochs'"),
])
def test_bad_parameters_say_which(params, match):
    X, _ = blobs(50)
    with pytest.raises(InputError, match=match):
        MapEmbedder(**params).fit_transform(X)


def test_params_stored_unchanged():
    est = MapEmbedder(method="tsne", sample_size=None, random_state=5)
    assert est.get_params()["sample_size"] is None and est.get_params()["method"] == "tsne"


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_shared_graph_lays_out_its_reference_and_places_like_a_search(method):
    """A reference-sample k-NN graph (built once by the outlier stage) replaces the map's own
    sample and search: same layout sample, same placement as the embedder's own k-NN."""
    from vehiclust.neighbors import knn_graph

    X, y = blobs(900)
    graph = knn_graph(X, 10, exact_max_rows=100, reference_size=200, random_state=1)
    emb = MapEmbedder(method=method, random_state=0)
    Y = emb.fit_transform(X, graph=graph)
    np.testing.assert_array_equal(emb.sample_indices_, graph.reference)
    rest = np.setdiff1d(np.arange(len(X)), graph.reference)
    np.testing.assert_allclose(Y[rest], emb.transform(X[rest]), atol=1e-3)
    # clusters stay apart in the placed rows too
    centroid = np.array([Y[y == c].mean(0) for c in range(4)])
    nearest = np.argmin(((Y[rest, None, :] - centroid[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == y[rest]) > 0.95
