"""Internal clustering scores computed the same way for every candidate, so rows compare.

Scale-free terms only: each descriptor set lives in its own space, so the Calinski-Harabasz
values of the clustering selection tables cannot be compared across sets. Here every
candidate gets, on the same kind of row sample:

* ``silhouette``: cosine silhouette in the candidate's own space (in [-1, 1]);
* ``davies_bouldin``: Davies-Bouldin on the rows projected onto the unit sphere (a ratio, so
  the overall scale drops out; lower is better);
* ``silhouette_common``: the cosine silhouette of the candidate's labels in one shared space,
  the equal-weight mix of all single descriptor sets (every descriptor's information, no block
  dominating), so single sets, mixes and the consensus meet on the same ground;
* ``stability``: the mean pairwise ARI between refits of the chosen configuration on random
  80 % subsamples (Ben-Hur, Elisseeff & Guyon 2002), compared on the rows the subsamples share.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from itertools import combinations
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score
from sklearn.utils import check_random_state

from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

Refit = Callable[[np.ndarray, int], np.ndarray]


def _assigned(labels: np.ndarray) -> np.ndarray:
    return np.asarray(labels) >= 0


def _sample(n: int, size: int, rng: np.random.RandomState) -> np.ndarray:
    return np.sort(rng.choice(n, size, replace=False)) if n > size else np.arange(n)


def _scored_rows(labels: np.ndarray, sample_size: int, random_state: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A seeded sample of the assigned rows and their labels, or ``(None, None)`` when they hold
    fewer than 2 clusters or every row is its own cluster (no score is defined)."""
    keep = np.flatnonzero(_assigned(labels))
    rng = check_random_state(random_state)
    keep = keep[_sample(len(keep), sample_size, rng)]
    lab = np.asarray(labels)[keep]
    n_lab = len(np.unique(lab))
    if n_lab < 2 or n_lab >= len(keep):
        return None, None
    return keep, lab


def cosine_silhouette(X: np.ndarray, labels: np.ndarray, *, sample_size: int = 3000, random_state: Any = None) -> float:
    """Cosine silhouette of the assigned rows; NaN when fewer than 2 clusters are present."""
    keep, lab = _scored_rows(labels, sample_size, random_state)
    if keep is None:
        return float("nan")
    return float(silhouette_score(np.asarray(X)[keep], lab, metric="cosine"))


def sphere_davies_bouldin(X: np.ndarray, labels: np.ndarray, *, sample_size: int = 3000, random_state: Any = None) -> float:
    """Davies-Bouldin on unit-norm rows (scale-free); NaN when fewer than 2 clusters."""
    keep, lab = _scored_rows(labels, sample_size, random_state)
    if keep is None:
        return float("nan")
    Z = np.asarray(X, dtype=np.float64)[keep]
    Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    return float(davies_bouldin_score(Z, lab))


def common_silhouette(labels: np.ndarray, spaces: Mapping[str, tuple[np.ndarray, np.ndarray]], *,
                      sample_size: int = 3000, random_state: Any = None) -> float:
    """Mean cosine silhouette of full-length ``labels`` in each reference space.

    ``spaces`` maps a name to ``(X, valid)``: ``X`` holds the rows where ``valid`` is True.
    """
    labels = np.asarray(labels)
    values = []
    for name, (X, valid) in spaces.items():
        valid = np.asarray(valid, bool)
        s = cosine_silhouette(X, labels[valid], sample_size=sample_size, random_state=random_state)
        if np.isfinite(s):
            values.append(s)
    return float(np.mean(values)) if values else float("nan")


def kmeans_refit(random_state: Any = None) -> Refit:
    """Refit function used when a candidate's own estimator cannot be cloned: k-means with k."""
    from sklearn.cluster import KMeans

    def refit(X: np.ndarray, k: int) -> np.ndarray:
        return KMeans(n_clusters=max(k, 1), n_init=3, random_state=random_state).fit_predict(X)

    return refit


def estimator_refit(estimator: Any) -> Refit:
    """Refit by cloning a fitted scikit-learn style clusterer (its parameters, not its state)."""

    def refit(X: np.ndarray, k: int) -> np.ndarray:
        est = clone(estimator)
        if hasattr(est, "fit_predict"):
            return np.asarray(est.fit_predict(X))
        return np.asarray(est.fit(X).labels_)

    return refit


def stability(X: np.ndarray, labels: np.ndarray, refit: Refit | None = None, *, n_resamples: int = 5,
              fraction: float = 0.8, sample_size: int = 3000, random_state: Any = None) -> float:
    """Mean pairwise ARI of refits on random subsamples, on the rows each pair shares."""
    if not 0 < fraction <= 1:
        raise InputError(f"The 'fraction' parameter of stability must be in (0, 1]. Got {fraction}.")
    rng = check_random_state(random_state)
    labels = np.asarray(labels)
    k = int(len(np.unique(labels[labels >= 0])))
    if k < 2:
        return float("nan")
    refit = refit or kmeans_refit(rng.randint(2**31 - 1))
    base = _sample(len(labels), sample_size, rng)
    m = max(int(round(fraction * len(base))), k + 1)
    if m > len(base):
        return float("nan")
    X = np.asarray(X)
    draws = []
    for _ in range(n_resamples):
        idx = np.sort(rng.choice(len(base), m, replace=False))
        lab = np.full(len(base), -2, dtype=np.int64)  # -2 = not in this subsample
        try:
            lab[idx] = refit(np.ascontiguousarray(X[base[idx]]), k)
        except Exception as exc:  # noqa: BLE001 - e.g. a tree with fewer micro-clusters than k
            log.info("stability: a refit on a subsample failed (%s: %s); stability unknown", type(exc).__name__, exc)
            return float("nan")
        draws.append(lab)
    scores = []
    for a, b in combinations(draws, 2):
        both = (a != -2) & (b != -2)
        if both.sum() > 1:
            scores.append(adjusted_rand_score(a[both], b[both]))
    return float(np.mean(scores)) if scores else float("nan")
