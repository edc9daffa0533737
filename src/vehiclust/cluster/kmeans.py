"""K-means with faiss: the fast workhorse (416k x 64 rows, k = 40 in a couple of seconds)."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_array, check_random_state

from vehiclust.cluster.rows import row_work
from vehiclust.exceptions import InputError

# Train on at most this many rows (500 per centroid at k = 40; faiss' own default is 256);
# assignment of every row is exact afterwards. 50,000 cost 2.2x the CPU for +0.15 % inertia.
DEFAULT_MAX_TRAIN = 20_000
# k-means++ seeding looks at this many of the training rows.
_PLUSPLUS_ROWS = 5_000


def _faiss():
    import faiss

    return faiss


@contextmanager
def faiss_threads(n_jobs: int | None):
    """Run faiss with `n_jobs` OpenMP threads (None = its default), then restore.

    On a busy machine faiss' spinning OpenMP threads can be 10x slower than one thread, so
    the selector uses one thread unless told otherwise.
    """
    faiss = _faiss()
    if n_jobs is None:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, int(n_jobs)))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def nearest_centroid(X: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels int64, squared distances float32) of each row's nearest centroid (exact), through
    the per-row work in force (:mod:`vehiclust.cluster.rows`)."""
    return row_work().nearest(X, centroids)


class FaissKMeans(ClusterMixin, BaseEstimator):
    """Lloyd k-means (faiss) from k-means++ seeds, the lowest-inertia of `n_init` runs.

    faiss' own random-row start falls into poor local minima on well-separated data, so by
    default the seeds come from scikit-learn's `kmeans_plusplus` on at most 5,000 rows
    (`init="random"` picks random rows: enough for many small micro-clusters). Training uses a
    random subset of at most `max_train` rows; every row is then assigned to its nearest
    centroid exactly.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        n_init: int = 1,
        max_iter: int = 25,
        max_train: int = DEFAULT_MAX_TRAIN,
        init: str = "k-means++",
        random_state=None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.max_train = max_train
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> "FaissKMeans":
        X = check_array(X, dtype=np.float32, order="C", copy=False)
        n, d = X.shape
        k = self.n_clusters
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"The 'n_clusters' parameter of FaissKMeans must be an int in [1, inf). Got {k!r}.")
        if k > n:
            raise InputError(f"FaissKMeans got n_clusters={k} but only {n} rows; n_clusters must be <= the number of rows.")
        if self.init not in ("k-means++", "random"):
            raise InputError(f"The 'init' parameter of FaissKMeans must be one of ['k-means++', 'random']. Got {self.init!r}.")
        rng = check_random_state(self.random_state)
        faiss = _faiss()
        best_obj, best_centroids = np.inf, None
        for _ in range(max(1, int(self.n_init))):
            seed = int(rng.randint(0, 2**31 - 1))
            train = X if n <= self.max_train else X[np.sort(rng.choice(n, self.max_train, replace=False))]
            if self.init == "random":
                init = train[rng.choice(train.shape[0], int(k), replace=False)]
            else:
                seeds_from = train if train.shape[0] <= _PLUSPLUS_ROWS else train[rng.choice(train.shape[0], _PLUSPLUS_ROWS, replace=False)]
                init, _ = kmeans_plusplus(seeds_from, int(k), random_state=seed)
            km = faiss.Kmeans(
                d,
                int(k),
                niter=int(self.max_iter),
                nredo=1,
                seed=seed,
                verbose=False,
                max_points_per_centroid=train.shape[0],
                min_points_per_centroid=1,
            )
            km.train(np.ascontiguousarray(train), init_centroids=np.ascontiguousarray(init, dtype=np.float32))
            obj = float(km.obj[-1]) if len(km.obj) else np.inf
            if best_centroids is None or obj < best_obj:
                best_obj, best_centroids = obj, np.asarray(km.centroids, dtype=np.float32).reshape(k, d)
        self.cluster_centers_ = best_centroids
        self.labels_, dist = nearest_centroid(X, self.cluster_centers_)
        self.inertia_ = float(dist.astype(np.float64).sum())
        self.n_features_in_ = d
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = check_array(X, dtype=np.float32, order="C", copy=False)
        return nearest_centroid(X, self.cluster_centers_)[0]
