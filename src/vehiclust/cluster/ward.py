"""Ward agglomerative clustering made scalable: Ward on k-means micro-clusters.

Up to `n_micro` rows are clustered exactly. Beyond that, k-means first cuts the rows into
`n_micro` micro-clusters; Ward then merges the micro-clusters weighted by their sizes (the
exact Ward criterion for groups kept whole), and every row inherits its micro-cluster's
label, so all rows are labelled consistently. One tree gives every k at once.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_array, check_random_state

from vehiclust.cluster._kernels import cut_merges, weighted_ward_merges
from vehiclust.cluster.kmeans import FaissKMeans
from vehiclust.exceptions import InputError


class MicroWard:
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
        if not isinstance(self.n_micro, (int, np.integer)) or self.n_micro < 2:
            raise InputError(f"The 'n_micro' parameter of MicroWard must be an int in [2, inf). Got {self.n_micro!r}.")
        if self.n_clusters > n:
            raise InputError(f"MicroWard got n_clusters={self.n_clusters} but only {n} rows.")
        if n <= self.n_micro:
            self.micro_labels_ = np.arange(n, dtype=np.int64)
            centroids, weights = X.astype(np.float64), np.ones(n)
        else:
            km = FaissKMeans(int(self.n_micro), init="random", max_iter=10, max_train=self.micro_max_train,
                             random_state=check_random_state(self.random_state)).fit(X)
            used, self.micro_labels_ = np.unique(km.labels_, return_inverse=True)
            centroids = km.cluster_centers_[used].astype(np.float64)
            weights = np.bincount(self.micro_labels_).astype(np.float64)
        self.micro_centers_ = centroids
        self.micro_weights_ = weights
        self.merges_, self.merge_costs_ = weighted_ward_merges(centroids, weights)
        self.labels_ = self.labels_for(int(self.n_clusters))
        self.n_features_in_ = X.shape[1]
        return self

    def labels_for(self, k: int) -> np.ndarray:
        """Row labels when the tree is cut into k clusters (k <= number of micro-clusters)."""
        return self.labels_for_many([k])[k]

    def labels_for_many(self, ks: list[int]) -> dict[int, np.ndarray]:
        m = self.micro_centers_.shape[0]
        cuts = cut_merges(self.merges_, m, [k for k in ks if k <= m])
        return {k: cut[self.micro_labels_] for k, cut in cuts.items()}

    def fit_predict(self, X: np.ndarray, y=None) -> np.ndarray:
        return self.fit(X).labels_
