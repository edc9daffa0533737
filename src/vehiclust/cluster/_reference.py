"""A structureless reference for the internal indices (the idea of the gap statistic).

Silhouette, Davies-Bouldin and Calinski-Harabasz all change with k even on data that has no
clusters at all: cutting one elongated cloud in two scores well, so on real descriptors they
drift to k = 2-3. The reference is a Gaussian sample with the data's mean and covariance
(the same scale and spread, no clusters). k-means on it gives, for each k, the index values
that geometry alone produces; the selector scores each configuration by its *excess* over
that reference at the same number of clusters.
"""

from __future__ import annotations

import numpy as np

from vehiclust.cluster import metrics as M
from vehiclust.cluster.kmeans import FaissKMeans


class NullReference:
    """Index values of k-means on a same-covariance Gaussian sample, cached per k."""

    def __init__(self, X: np.ndarray, n_samples: int = 2000, random_state: int = 0) -> None:
        rng = np.random.RandomState(random_state)
        n = X.shape[0]
        idx = rng.choice(n, min(n, 5000), replace=False)
        S = np.asarray(X[idx], dtype=np.float64)
        mean = S.mean(0)
        _, s, Vt = np.linalg.svd(S - mean, full_matrices=False)
        scale = s / np.sqrt(max(S.shape[0] - 1, 1))
        m = int(min(n_samples, max(n, 10)))
        self.data_ = (rng.standard_normal((m, scale.size)) * scale @ Vt + mean).astype(np.float32)
        self.random_state = random_state
        self._cache: dict[int, tuple[float, float, float]] = {}

    def metrics(self, k: int) -> tuple[float, float, float]:
        """(silhouette, Davies-Bouldin, Calinski-Harabasz) of k-means with k clusters."""
        k = int(min(max(k, 2), self.data_.shape[0] - 1))
        if k not in self._cache:
            labels = FaissKMeans(k, n_init=2, random_state=self.random_state + k).fit(self.data_).labels_
            sil = float(M.silhouette_values(self.data_, labels).mean())
            self._cache[k] = (sil, M.davies_bouldin(self.data_, labels), M.calinski_harabasz(self.data_, labels))
        return self._cache[k]

    def excess(self, n_clusters: int, silhouette: float, davies_bouldin: float, calinski_harabasz: float) -> dict[str, float]:
        """Each index's improvement over the reference at the same k (higher = better for all)."""
        if n_clusters < 2 or not np.isfinite([silhouette, davies_bouldin, calinski_harabasz]).all():
            return {"silhouette_excess": np.nan, "davies_bouldin_excess": np.nan, "calinski_harabasz_excess": np.nan}
        s0, db0, ch0 = self.metrics(n_clusters)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "silhouette_excess": float(silhouette - s0),
                "davies_bouldin_excess": float(np.log(db0 / davies_bouldin)) if davies_bouldin > 0 else np.inf,
                "calinski_harabasz_excess": float(np.log(calinski_harabasz / ch0)) if ch0 > 0 else np.nan,
            }
