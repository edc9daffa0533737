"""DBSCAN with an automatic eps: the knee of the sorted k-distance curve of a sample.

DBSCAN runs on at most `max_fit_samples` rows; every row then takes the label of its nearest
core sample (among at most `max_assign_cores` of them, drawn at random: assigning 416,314 rows
to 10,000 cores in 64 dimensions would cost more than the rest of the sweep; with that cap
the noise flag of rows outside the sample is an upper estimate). Rows farther than eps from every core sample are flagged in `noise_mask_` (their
label is still the nearest cluster's, so every row has one).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN
from sklearn.utils import check_array, check_random_state

from vehiclust.cluster.rows import nearest_labelled
from vehiclust.cluster._kernels import knee_index
from vehiclust.exceptions import InputError


def knee_eps(X: np.ndarray, min_samples: int) -> float:
    """eps at the knee of the sorted distances to each row's `min_samples`-th neighbour."""
    import faiss

    k = int(min(min_samples, X.shape[0] - 1))
    index = faiss.IndexFlatL2(X.shape[1])
    index.add(np.ascontiguousarray(X, dtype=np.float32))
    d, _ = index.search(np.ascontiguousarray(X, dtype=np.float32), k + 1)  # first hit is the row itself
    kdist = np.sort(np.sqrt(np.maximum(d[:, k], 0.0)))
    return float(kdist[knee_index(kdist)])


class AutoEpsDBSCAN(ClusterMixin, BaseEstimator):
    """DBSCAN on a sample; eps from the k-distance knee times `eps_scale` unless `eps` is given."""

    def __init__(self, min_samples: int = 10, *, eps: float | None = None, eps_scale: float = 1.0,
                 max_fit_samples: int = 10_000, max_assign_cores: int = 2_000, random_state=None) -> None:
        self.min_samples = min_samples
        self.max_assign_cores = max_assign_cores
        self.eps = eps
        self.eps_scale = eps_scale
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None, shared: dict | None = None) -> "AutoEpsDBSCAN":
        """``shared``: a dict the caller keeps for one matrix and one ``random_state``; the sample
        and its k-distance knee per ``min_samples`` are stored there, so fits that differ only in
        ``eps_scale`` search the sample for the knee once. (Sharing the neighbourhoods too was
        measured and dropped: at the widest eps they cover most pairs of a 10,000-row sample.)"""
        X = check_array(X, dtype=np.float32, order="C", copy=False)
        if not isinstance(self.min_samples, (int, np.integer)) or self.min_samples < 1:
            raise InputError(f"The 'min_samples' parameter of AutoEpsDBSCAN must be an int in [1, inf). Got {self.min_samples!r}.")
        if self.eps is not None and not self.eps > 0:
            raise InputError(f"The 'eps' parameter of AutoEpsDBSCAN must be a float in (0, inf) or None. Got {self.eps!r}.")
        shared = {} if shared is None else shared
        rng = check_random_state(self.random_state)
        n = X.shape[0]
        if "sample" not in shared or shared["max_fit_samples"] != self.max_fit_samples:
            shared.clear()
            idx = np.sort(rng.choice(n, self.max_fit_samples, replace=False)) if n > self.max_fit_samples else np.arange(n)
            shared.update(sample=np.ascontiguousarray(X[idx]), idx=idx, max_fit_samples=self.max_fit_samples,
                          state=rng.get_state())
        rng.set_state(shared["state"])  # later draws (the cores kept for assignment) as without sharing
        idx, sample = shared["idx"], shared["sample"]
        min_samples = int(min(self.min_samples, max(1, sample.shape[0] - 1)))
        if self.eps is None and ("knee", min_samples) not in shared:
            shared["knee", min_samples] = knee_eps(sample, min_samples)
        self.eps_ = float(self.eps) if self.eps is not None else shared["knee", min_samples] * float(self.eps_scale)
        if self.eps_ <= 0:
            self.eps_ = float(np.finfo(np.float32).eps)
        db = DBSCAN(eps=self.eps_, min_samples=min_samples, algorithm="brute" if sample.shape[1] > 20 else "auto").fit(sample)
        core = db.core_sample_indices_
        self.sample_index_ = idx
        self.sample_labels_ = db.labels_.astype(np.int64)
        if core.size == 0:
            self.labels_ = np.zeros(n, dtype=np.int64)
            self.noise_mask_ = np.ones(n, dtype=bool)
            return self
        if core.size > self.max_assign_cores:  # assignment cost is n x cores x d
            core = np.sort(rng.choice(core, self.max_assign_cores, replace=False))
        labels, dist = nearest_labelled(X, sample[core], self.sample_labels_[core])
        self.labels_ = labels
        self.noise_mask_ = np.sqrt(np.maximum(dist, 0.0)) > self.eps_
        self.labels_[idx] = np.where(self.sample_labels_ >= 0, self.sample_labels_, labels[idx])
        self.noise_mask_[idx] = self.sample_labels_ < 0
        return self
