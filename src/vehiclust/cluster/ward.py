"""Ward agglomerative clustering made scalable: Ward on k-means micro-clusters.

Up to `n_micro` rows are clustered exactly. Beyond that, k-means first cuts the rows into
`n_micro` micro-clusters; Ward then merges the micro-clusters weighted by their sizes (the
exact Ward criterion for groups kept whole), and every row inherits its micro-cluster's
label, so all rows are labelled consistently. One tree gives every k at once.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_array, check_random_state

from vehiclust.cluster._kernels import cut_merges, weighted_ward_merges
from vehiclust.cluster.kmeans import FaissKMeans
from vehiclust.exceptions import InputError


def micro_clusters(X: np.ndarray, n_micro: int, max_train: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row → micro-cluster int64, centres float64, sizes float64); rows themselves up to `n_micro`.

    Empty micro-clusters are dropped, so every centre has at least one row.
    """
    n = X.shape[0]
    if not isinstance(n_micro, (int, np.integer)) or n_micro < 2:
        raise InputError(f"The 'n_micro' parameter must be an int in [2, inf). Got {n_micro!r}.")
    if n <= n_micro:
        return np.arange(n, dtype=np.int64), X.astype(np.float64), np.ones(n)
    km = FaissKMeans(int(n_micro), init="random", max_iter=10, max_train=max_train, random_state=rng).fit(X)
    used, labels = np.unique(km.labels_, return_inverse=True)
    return labels.astype(np.int64), km.cluster_centers_[used].astype(np.float64), np.bincount(labels).astype(np.float64)


class MicroClusterTree(ClusterMixin, BaseEstimator):
    """Base of the tree clusterings on micro-clusters: one fit, a cut at any k."""

    def labels_for_many(self, ks: list[int]) -> dict[int, np.ndarray]:
        raise TypeError(f"{type(self).__name__} must implement labels_for_many().")

    def labels_for(self, k: int) -> np.ndarray:
        """Row labels when the tree is cut into k clusters (k <= number of micro-clusters)."""
        return self.labels_for_many([k])[k]

    def _check_cuts(self, ks: list[int], m: int) -> list[int]:
        """The distinct ks, each in [1, m]; a k the tree cannot give is an error, never dropped.

        A tree of m leaves (micro-clusters, or distinct rows when a subsample repeats a few
        points) has no cut with more than m clusters.
        """
        wanted = sorted({int(k) for k in ks})
        bad = [k for k in wanted if not 1 <= k <= m]
        if bad:
            raise InputError(f"{type(self).__name__}: the tree has {m} micro-clusters, so it cannot be cut into "
                             f"{bad[0]} clusters (allowed: 1..{m}).")
        return wanted



class MicroWard(MicroClusterTree):
    """Ward's method on k-means micro-clusters; `labels_for(k)` cuts the tree at any k."""

    def __init__(self, n_clusters: int = 8, *, n_micro: int = 1000, micro_max_train: int = 50_000,
                 random_state=None) -> None:
        self.n_clusters = n_clusters
        self.n_micro = n_micro
        self.micro_max_train = micro_max_train
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> "MicroWard":
        X = check_array(X, dtype=np.float32, order="C", copy=False)
        n = X.shape[0]
        if self.n_clusters > n:
            raise InputError(f"MicroWard got n_clusters={self.n_clusters} but only {n} rows.")
        self.micro_labels_, centroids, weights = micro_clusters(X, self.n_micro, self.micro_max_train,
                                                               check_random_state(self.random_state))
        self.micro_centers_ = centroids
        self.micro_weights_ = weights
        self.merges_, self.merge_costs_ = weighted_ward_merges(centroids, weights)
        self.labels_ = self.labels_for(int(self.n_clusters))
        self.n_features_in_ = X.shape[1]
        return self

    def labels_for_many(self, ks: list[int]) -> dict[int, np.ndarray]:
        m = self.micro_centers_.shape[0]
        cuts = cut_merges(self.merges_, m, self._check_cuts(ks, m))
        return {k: cut[self.micro_labels_] for k, cut in cuts.items()}
