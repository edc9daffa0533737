"""UMAP on a few thousand rows without umap-learn's small-data costs.

Below 4,096 rows umap-learn computes every pairwise distance with its own metric function
(a Python-level loop through scikit-learn: ~2 s per map on 1,200 rows), and its first call in
a process compiles the parallel numba kernels of ``fuzzy_simplicial_set`` (~7 CPU-s). Here
the exact ``n_neighbors`` graph comes from faiss (or from the set's k-NN graph, already built
for the clustering and the outliers), the fuzzy simplicial set is computed in numpy exactly as
umap-learn defines it (``smooth_knn_dist``, ``compute_membership_strengths`` and the fuzzy
union), and umap-learn's own ``simplicial_set_embedding`` lays it out with the same defaults
(``min_dist`` 0.1, ``spread`` 1, 5 negative samples, the given epochs and init, seeded).
"""

from __future__ import annotations

import numpy as np

from vehiclust.neighbors import KNNGraph, knn

#: umap-learn's own small-data threshold: at and above it, it uses nearest-neighbour descent.
SMALL_DATA_ROWS = 4096
_SMOOTH_K_TOLERANCE = 1e-5  # umap-learn's constants
_MIN_K_DIST_SCALE = 1e-3
_N_ITER = 64


def neighbours_with_self(X: np.ndarray, n_neighbors: int, graph: KNNGraph | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(indices, L2 distances), (n, n_neighbors): each row itself first, then its nearest rows.

    ``graph``: the set's exact k-NN graph over all rows (self excluded), reused when it has
    enough neighbours; otherwise an exact faiss search."""
    n = X.shape[0]
    others = n_neighbors - 1
    if graph is not None and graph.reference is None and graph.indices.shape[0] == n and graph.k >= others:
        idx, dist = graph.indices[:, :others], graph.distances[:, :others]
    else:
        sq, idx = knn(X, X, n_neighbors)
        dist = np.sqrt(np.maximum(sq, 0.0))
        # drop each row's own hit (or its farthest hit when an exact twin came first)
        own = idx == np.arange(n)[:, None]
        drop = np.where(own.any(axis=1), own.argmax(axis=1), n_neighbors - 1)
        keep = np.ones_like(own)
        keep[np.arange(n), drop] = False
        idx, dist = idx[keep].reshape(n, others), dist[keep].reshape(n, others)
    indices = np.concatenate([np.arange(n, dtype=np.int64)[:, None], idx.astype(np.int64)], axis=1)
    distances = np.concatenate([np.zeros((n, 1), np.float32), dist.astype(np.float32)], axis=1)
    return indices, distances


def smooth_knn_dist(distances: np.ndarray, k: float, local_connectivity: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(sigmas, rhos) per row: umap-learn's ``smooth_knn_dist``, vectorised over rows."""
    d = distances.astype(np.float32)
    n = d.shape[0]
    target = np.log2(k)
    positive = d > 0.0
    count = positive.sum(axis=1)
    index = int(np.floor(local_connectivity))
    interpolation = local_connectivity - index
    # the index-th smallest non-zero distance (rows are sorted ascending)
    sorted_pos = np.where(positive, d, np.inf)
    sorted_pos.sort(axis=1)
    rho = np.zeros(n, dtype=np.float32)
    enough = count >= local_connectivity
    if index > 0:
        rho[enough] = sorted_pos[enough, index - 1]
        if interpolation > _SMOOTH_K_TOLERANCE:
            nxt = sorted_pos[enough, min(index, d.shape[1] - 1)]
            rho[enough] += interpolation * (nxt - rho[enough])
    else:
        rho[enough] = interpolation * sorted_pos[enough, 0]
    some = ~enough & (count > 0)
    rho[some] = np.where(positive[some], d[some], 0.0).max(axis=1)

    lo = np.zeros(n, dtype=np.float64)
    hi = np.full(n, np.inf)
    mid = np.ones(n, dtype=np.float64)
    active = np.ones(n, dtype=bool)
    rest = d[:, 1:].astype(np.float64) - rho[:, None]
    for _ in range(_N_ITER):
        if not active.any():
            break
        a = np.flatnonzero(active)
        gap = rest[a]
        psum = np.where(gap > 0, np.exp(-(np.maximum(gap, 0.0) / mid[a, None])), 1.0).sum(axis=1)
        done = np.abs(psum - target) < _SMOOTH_K_TOLERANCE
        over = ~done & (psum > target)
        under = ~done & ~over
        hi[a[over]] = mid[a[over]]
        mid[a[over]] = (lo[a[over]] + hi[a[over]]) / 2.0
        lo[a[under]] = mid[a[under]]
        unbounded = a[under][np.isinf(hi[a[under]])]
        bounded = a[under][~np.isinf(hi[a[under]])]
        mid[unbounded] *= 2.0
        mid[bounded] = (lo[bounded] + hi[bounded]) / 2.0
        active[a[done]] = False
    sigma = mid.astype(np.float32)
    floor = np.where(rho > 0.0, _MIN_K_DIST_SCALE * d.mean(axis=1), _MIN_K_DIST_SCALE * d.mean())
    sigma = np.maximum(sigma, floor.astype(np.float32))
    return sigma, rho


def fuzzy_graph(indices: np.ndarray, distances: np.ndarray):
    """The symmetric fuzzy simplicial set (scipy COO/CSR, n x n) of a k-NN graph with self first."""
    import scipy.sparse

    n, k = indices.shape
    sigmas, rhos = smooth_knn_dist(distances, float(k))
    gap = distances.astype(np.float32) - rhos[:, None]
    with np.errstate(divide="ignore", over="ignore"):
        vals = np.where((gap <= 0.0) | (sigmas[:, None] == 0.0), 1.0,
                        np.exp(-(np.maximum(gap, 0.0) / np.where(sigmas == 0.0, 1.0, sigmas)[:, None]))).astype(np.float32)
    vals[indices == np.arange(n)[:, None]] = 0.0
    ok = indices >= 0
    rows = np.repeat(np.arange(n), k).reshape(n, k)
    P = scipy.sparse.coo_matrix((vals[ok], (rows[ok], indices[ok])), shape=(n, n))
    P.eliminate_zeros()
    T = P.transpose()
    graph = P + T - P.multiply(T)
    graph.eliminate_zeros()
    return graph


def cache_layout_kernel() -> bool:
    """Keep umap-learn's compiled layout kernel (the serial epoch of ``optimize_layout_euclidean``)
    on disk, as numba does for functions declared ``cache=True``.

    umap-learn compiles it afresh in every process (~2-3 CPU-s: each worker process that draws a
    map paid it on every run). The machine code loaded from numba's cache is the code a fresh
    compilation makes, so the maps do not change. Returns whether caching is on; the kernel is
    left as it is where this umap-learn does not have it."""
    try:
        from umap import layouts
    except ImportError:
        return False
    kernel = getattr(layouts, "_nb_optimize_layout_euclidean_single_epoch", None)
    if kernel is None or not hasattr(kernel, "enable_caching"):
        return False
    if type(getattr(kernel, "_cache", None)).__name__ == "NullCache":
        try:
            kernel.enable_caching()
        except RuntimeError:  # no writable cache folder (numba: "no locator available"): compile as before
            return False
    return True


def small_umap(X: np.ndarray, n_components: int, n_neighbors: int, n_epochs: int | None, seed: int,
               init: str = "pca", graph: KNNGraph | None = None) -> np.ndarray:
    """umap-learn's layout of ``X`` (fewer than :data:`SMALL_DATA_ROWS` rows), seeded."""
    from sklearn.utils import check_random_state
    from umap.distances import named_distances
    from umap.umap_ import find_ab_params, simplicial_set_embedding

    cache_layout_kernel()
    X = np.ascontiguousarray(X, dtype=np.float32)
    n_neighbors = max(2, min(n_neighbors, X.shape[0] - 1))
    indices, distances = neighbours_with_self(X, n_neighbors, graph)
    fuzzy = fuzzy_graph(indices, distances)
    a, b = find_ab_params(1.0, 0.1)
    rng = check_random_state(seed)
    Y, _ = simplicial_set_embedding(
        X, fuzzy, n_components, 1.0, a, b, 1.0, 5, n_epochs, init, rng,
        named_distances["euclidean"], {}, False, {}, False, parallel=False, verbose=False, tqdm_kwds={"disable": True},
    )
    return np.asarray(Y, dtype=np.float32)
