"""The small-data UMAP path: umap-learn's graph from faiss, seeded, finite, clusters apart."""

from __future__ import annotations

import numpy as np
import pytest

from vehiclust.embed import MapEmbedder, neighbourhood_preservation
from vehiclust.embed._umap_small import fuzzy_graph, neighbours_with_self
from vehiclust.neighbors import knn_graph


def _blobs(n: int = 900, d: int = 24, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(0, 6, (k, d))[y] + rng.normal(0, 1, (n, d))
    return X.astype(np.float32), y


def test_fuzzy_graph_is_umap_learns_small_data_graph():
    """Same fuzzy simplicial set as umap-learn's all-pairs path, twins included."""
    from sklearn.metrics import pairwise_distances
    from umap.umap_ import fuzzy_simplicial_set

    X, _ = _blobs(400)
    X[7] = X[8]  # an exact twin: distance 0 to another row
    indices, distances = neighbours_with_self(X, 15)
    assert (indices[:, 0] == np.arange(len(X))).all() and (distances[:, 0] == 0).all()
    ours = fuzzy_graph(indices, distances).tocsr()
    theirs = fuzzy_simplicial_set(pairwise_distances(X), 15, np.random.RandomState(0), "precomputed")[0].tocsr()
    assert ours.nnz == theirs.nnz
    assert abs(ours - theirs).max() < 1e-4


def test_small_umap_is_seeded_finite_and_keeps_clusters_apart(monkeypatch):
    import umap

    def no_umap_class(*args, **kwargs):
        raise AssertionError("the small-data path must not run umap.UMAP (its all-pairs Python metric)")

    monkeypatch.setattr(umap, "UMAP", no_umap_class)
    X, y = _blobs()
    graph = knn_graph(X, 15, random_state=0, progress=False)
    a = MapEmbedder(method="umap", n_components=2, random_state=5).fit_transform(X, graph=graph)
    b = MapEmbedder(method="umap", n_components=2, random_state=5).fit_transform(X)  # faiss search instead
    c = MapEmbedder(method="umap", n_components=3, random_state=5).fit_transform(X, graph=graph)
    assert a.shape == (len(X), 2) and c.shape == (len(X), 3) and a.dtype == np.float32
    assert np.isfinite(a).all() and np.isfinite(c).all()
    np.testing.assert_array_equal(a, b)  # the set's graph and a fresh search: same neighbours, same map
    np.testing.assert_array_equal(a, MapEmbedder(method="umap", random_state=5).fit_transform(X, graph=graph))
    assert not np.array_equal(a, MapEmbedder(method="umap", random_state=6).fit_transform(X, graph=graph))
    centres = np.stack([a[y == k].mean(0) for k in range(4)])
    spread = max(np.linalg.norm(a[y == k] - centres[k], axis=1).mean() for k in range(4))
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 2 * spread  # four planted blobs stay four islands
    assert neighbourhood_preservation(X, a, k=10) > 0.1  # a random map keeps ~10/900


@pytest.mark.parametrize("n", [12, 40])
def test_tiny_small_umap_is_finite(n):
    X, _ = _blobs(n, d=6)
    Y = MapEmbedder(method="umap", random_state=0).fit_transform(X)
    assert Y.shape == (n, 2) and np.isfinite(Y).all()


def test_layout_kernel_is_kept_in_numbas_cache():
    from umap import layouts

    from vehiclust.embed._umap_small import cache_layout_kernel, small_umap

    X = np.random.default_rng(1).normal(size=(120, 6)).astype(np.float32)
    assert cache_layout_kernel() is True
    kernel = layouts._nb_optimize_layout_euclidean_single_epoch
    assert type(kernel._cache).__name__ != "NullCache"
    assert cache_layout_kernel() is True  # a second call changes nothing
    first, again = small_umap(X, 2, 10, 50, 0), small_umap(X, 2, 10, 50, 0)
    np.testing.assert_array_equal(first, again)


def test_no_cache_folder_leaves_the_kernel_as_it_is(monkeypatch):
    from umap import layouts

    from vehiclust.embed._umap_small import cache_layout_kernel

    class Kernel:
        _cache = type("NullCache", (), {})()

        def enable_caching(self):
            raise RuntimeError("cannot cache function: no locator available for file")

    monkeypatch.setattr(layouts, "_nb_optimize_layout_euclidean_single_epoch", Kernel())
    assert cache_layout_kernel() is False
