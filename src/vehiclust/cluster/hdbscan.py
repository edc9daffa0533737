"""HDBSCAN (fast_hdbscan) on a sample in a low-dimensional PCA space, then every row assigned.

Density estimates in 64 dimensions are slow and flat, so HDBSCAN runs on at most
`max_fit_samples` rows projected on their first `n_components` principal axes. Rows outside
the sample take the label of their nearest sample row in that space. Noise is NOT left as -1:
a noise row takes the label of its nearest clustered sample row and is flagged in
`noise_mask_` (so every row has a cluster and the noise share is still reported).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.decomposition import PCA
from sklearn.utils import check_array, check_random_state

from vehiclust.cluster.rows import nearest_labelled
from vehiclust.exceptions import InputError


class SampledHDBSCAN(ClusterMixin, BaseEstimator):
    """HDBSCAN on a PCA-reduced sample; `labels_` for every row, `noise_mask_` for noise."""

    def __init__(self, min_cluster_size: int = 50, *, min_samples: int | None = 10,
                 max_fit_samples: int = 10_000, n_components: int | None = 10, random_state=None) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.max_fit_samples = max_fit_samples
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None, shared: dict | None = None) -> "SampledHDBSCAN":
        """``shared``: a dict the caller keeps for one matrix and one ``random_state``; the sample,
        its projection and its minimum spanning tree (which depend on ``min_samples``, not on
        ``min_cluster_size``) are stored there, so fits that differ only in ``min_cluster_size``
        build them once."""
        from fast_hdbscan.hdbscan import clusters_from_spanning_tree

        X = check_array(X, dtype=np.float32, order="C", copy=False)
        if not isinstance(self.min_cluster_size, (int, np.integer)) or self.min_cluster_size < 2:
            raise InputError(f"The 'min_cluster_size' parameter of SampledHDBSCAN must be an int in [2, inf). Got {self.min_cluster_size!r}.")
        shared = {} if shared is None else shared
        key = (self.min_cluster_size if self.min_samples is None else None, self.min_samples, self.max_fit_samples,
               self.n_components)
        if key not in shared:
            shared[key] = self._spanning_tree(X)
        idx, self.pca_, Z, tree = shared[key]
        project = self.pca_.transform if self.pca_ is not None else np.asarray
        if Z.shape[0] < 2:
            sample_labels = np.full(Z.shape[0], -1, dtype=np.int64)
        else:  # what fast_hdbscan.HDBSCAN(min_cluster_size, min_samples).fit_predict(Z) gives
            sample_labels = np.asarray(clusters_from_spanning_tree(tree, min_cluster_size=int(self.min_cluster_size))[0],
                                       dtype=np.int64)
        self._finish(X, idx, Z, sample_labels, project)
        return self

    def _spanning_tree(self, X: np.ndarray) -> tuple:
        """(sample rows, PCA or None, projected sample, minimum spanning tree of its mutual reachability)."""
        from fast_hdbscan.hdbscan import compute_minimum_spanning_tree

        rng = check_random_state(self.random_state)
        n, d = X.shape
        idx = np.sort(rng.choice(n, self.max_fit_samples, replace=False)) if n > self.max_fit_samples else np.arange(n)
        sample = X[idx]
        pca = None
        if self.n_components is not None and self.n_components < d and sample.shape[0] > self.n_components:
            pca = PCA(n_components=int(self.n_components), random_state=int(rng.randint(0, 2**31 - 1))).fit(sample)
        Z = np.ascontiguousarray(pca.transform(sample) if pca is not None else sample, dtype=np.float32)
        if Z.shape[0] < 2:
            return idx, pca, Z, None
        min_samples = int(min(self.min_cluster_size if self.min_samples is None else self.min_samples,
                              max(1, Z.shape[0] - 1)))
        tree = compute_minimum_spanning_tree(Z, min_samples=min_samples)[0]
        return idx, pca, Z, tree

    def _finish(self, X, idx, Z, sample_labels, project) -> None:
        n = X.shape[0]
        clustered = sample_labels >= 0
        self.sample_index_ = idx
        self.sample_labels_ = sample_labels
        if not clustered.any():
            self.labels_ = np.zeros(n, dtype=np.int64)
            self.noise_mask_ = np.ones(n, dtype=bool)
            return
        labels = np.empty(n, dtype=np.int64)
        noise = np.zeros(n, dtype=bool)
        # one search against every sample row: its label, or (noise) a flag plus a second
        # search among the clustered sample rows for those rows only
        for a in range(0, n, 65_536):
            block = np.ascontiguousarray(project(X[a: a + 65_536]), dtype=np.float32)
            near = nearest_labelled(block, Z, sample_labels)[0]
            flagged = near < 0
            if flagged.any():
                near[flagged] = nearest_labelled(block[flagged], Z[clustered], sample_labels[clustered])[0]
            labels[a: a + 65_536] = near
            noise[a: a + 65_536] = flagged
        labels[idx] = np.where(clustered, sample_labels, labels[idx])
        noise[idx] = ~clustered
        self.labels_ = labels
        self.noise_mask_ = noise
