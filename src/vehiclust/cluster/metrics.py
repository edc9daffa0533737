"""Internal cluster-quality metrics that stay linear in the number of rows.

Every configuration of every family is scored in ONE evaluation space: the prepared matrix the
selector was fitted on (L2-normalised, PCA-reduced descriptors). Calinski-Harabasz and
Davies-Bouldin are exact and computed in row chunks (two passes, float64 accumulators, no copy
of the matrix). The silhouette is quadratic, so it is estimated on a stratified sample and
reported with a bootstrap confidence interval; the column names say so.

Rows labelled -1 (noise a family could not assign) are left out of every metric; the share of
such rows is reported separately.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state

_CHUNK = 65_536
# up to this many clusters, centroid sums are a one-hot matrix product (k x 65,536 float64)
_ONEHOT_MAX_K = 256


def _chunks(n: int, size: int = _CHUNK):
    for start in range(0, n, size):
        yield start, min(start + size, n)


def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Map labels >= 0 to 0..k-1; return (codes with -1 kept, kept mask, k)."""
    labels = np.asarray(labels)
    kept = labels >= 0
    uniq, codes = np.unique(labels[kept], return_inverse=True)
    out = np.full(labels.shape[0], -1, dtype=np.int64)
    out[kept] = codes
    return out, kept, len(uniq)


_compact = compact_labels  # the name this module's functions use


def cluster_centroids(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster means and sizes (labels must be 0..k-1 or -1), float64, chunked."""
    k = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    sums = np.zeros((k, X.shape[1]), dtype=np.float64)
    counts = np.bincount(labels[labels >= 0], minlength=k).astype(np.float64)
    for a, b in _chunks(X.shape[0]):
        lab = labels[a:b]
        keep = lab >= 0
        if not keep.any():
            continue
        if k <= _ONEHOT_MAX_K:
            # a (k x chunk) one-hot times the chunk: one float64 GEMM, 2.4x faster than sorting
            onehot = np.zeros((k, b - a))
            onehot[lab[keep], np.flatnonzero(keep)] = 1.0
            sums += onehot @ X[a:b].astype(np.float64)
            continue
        block = X[a:b][keep].astype(np.float64, copy=False)
        # sorted segment sums are much faster than np.add.at
        order = np.argsort(lab[keep], kind="stable")
        sl = lab[keep][order]
        starts = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1]])
        sums[sl[starts]] += np.add.reduceat(block[order], starts, axis=0)
    centroids = sums / np.maximum(counts, 1.0)[:, None]
    return centroids, counts


def _distances_to_own_centroid(X: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Euclidean distance of each kept row to its cluster centroid (NaN for -1), chunked."""
    out = np.full(X.shape[0], np.nan, dtype=np.float64)
    for a, b in _chunks(X.shape[0]):
        lab = labels[a:b]
        keep = lab >= 0
        if not keep.any():
            continue
        diff = X[a:b][keep].astype(np.float64, copy=False) - centroids[lab[keep]]
        out[a:b][keep] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def calinski_harabasz(X: np.ndarray, labels: np.ndarray) -> float:
    """Exact Calinski-Harabasz index (higher = better), linear time; NaN below 2 clusters."""
    codes, kept, k = _compact(labels)
    n = int(kept.sum())
    if k < 2 or n <= k:
        return float("nan")
    centroids, counts = cluster_centroids(X, codes)
    grand = (centroids * counts[:, None]).sum(0) / n
    between = float((counts * ((centroids - grand) ** 2).sum(1)).sum())
    within = float(np.nansum(_distances_to_own_centroid(X, codes, centroids) ** 2))
    if within == 0.0:
        return float("inf") if between > 0 else float("nan")
    return between * (n - k) / (within * (k - 1))


def internal_indices(X: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Calinski-Harabasz, Davies-Bouldin and explained variance (R²) from ONE centroid pass and
    ONE distance pass over the rows; each equals its single-index function below."""
    codes, kept, k = _compact(labels)
    n = int(kept.sum())
    nan = {"calinski_harabasz": float("nan"), "davies_bouldin": float("nan"), "explained_variance": float("nan")}
    if k < 2 or n <= k:
        return nan
    centroids, counts = cluster_centroids(X, codes)
    dist = _distances_to_own_centroid(X, codes, centroids)
    scatter = np.bincount(codes[kept], weights=dist[kept], minlength=k) / np.maximum(counts, 1.0)
    return indices_from_parts(centroids, counts, float(np.nansum(dist**2)), scatter)


def indices_from_parts(centroids: np.ndarray, counts: np.ndarray, within: float, scatter: np.ndarray) -> dict[str, float]:
    """Calinski-Harabasz, Davies-Bouldin and R² of k >= 2 non-empty clusters from their means,
    sizes, the within sum of squares and each cluster's mean distance to its mean: the part of
    :func:`internal_indices` that does not read the rows (an engine that sums over row blocks
    gives these parts and gets the same indices)."""
    n = int(counts.sum())
    k = len(counts)
    grand = (centroids * counts[:, None]).sum(0) / n
    between = float((counts * ((centroids - grand) ** 2).sum(1)).sum())
    if within == 0.0:
        ch = float("inf") if between > 0 else float("nan")
    else:
        ch = between * (n - k) / (within * (k - 1))
    total = between + within
    return {
        "calinski_harabasz": ch,
        "davies_bouldin": _db_from(centroids, scatter),
        "explained_variance": between / total if total > 0 else float("nan"),
    }


def _db_from(centroids: np.ndarray, scatter: np.ndarray) -> float:
    sq = (centroids**2).sum(1)
    sep = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * centroids @ centroids.T, 0.0))
    np.fill_diagonal(sep, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (scatter[:, None] + scatter[None, :]) / sep
    ratio[~np.isfinite(ratio)] = 0.0
    return float(ratio.max(1).mean())


def explained_variance(X: np.ndarray, labels: np.ndarray) -> float:
    """R² of a clustering: between-cluster / total sum of squares (exact, linear time)."""
    codes, kept, k = _compact(labels)
    n = int(kept.sum())
    if k < 1 or n == 0:
        return float("nan")
    centroids, counts = cluster_centroids(X, codes)
    grand = (centroids * counts[:, None]).sum(0) / n
    between = float((counts * ((centroids - grand) ** 2).sum(1)).sum())
    within = float(np.nansum(_distances_to_own_centroid(X, codes, centroids) ** 2))
    total = between + within
    return between / total if total > 0 else float("nan")


def davies_bouldin(X: np.ndarray, labels: np.ndarray) -> float:
    """Exact Davies-Bouldin index (lower = better), linear time; NaN below 2 clusters."""
    codes, kept, k = _compact(labels)
    if k < 2:
        return float("nan")
    centroids, counts = cluster_centroids(X, codes)
    dist = _distances_to_own_centroid(X, codes, centroids)
    scatter = np.bincount(codes[kept], weights=dist[kept], minlength=k) / np.maximum(counts, 1.0)
    return _db_from(centroids, scatter)


def stratified_sample(labels: np.ndarray, n_samples: int, random_state=None) -> np.ndarray:
    """Row indices, about `n_samples`, drawn per cluster in proportion to its size (at least
    two per cluster when it has them), so small clusters still count in the silhouette."""
    rng = check_random_state(random_state)
    labels = np.asarray(labels)
    kept = np.flatnonzero(labels >= 0)
    if kept.size <= n_samples:
        return kept
    lab = labels[kept]
    uniq, inverse, counts = np.unique(lab, return_inverse=True, return_counts=True)
    quota = np.maximum(np.minimum(counts, 2), np.round(counts * n_samples / kept.size).astype(int))
    order = np.argsort(inverse, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    picks = []
    for c in range(len(uniq)):
        members = kept[order[starts[c]: starts[c] + counts[c]]]
        picks.append(rng.choice(members, size=min(quota[c], counts[c]), replace=False))
    return np.sort(np.concatenate(picks))


def silhouette_values(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-row silhouette of a small matrix (same definition as scikit-learn's
    `silhouette_samples`: 0 for rows alone in their cluster), via one float64 distance matrix."""
    X = np.asarray(X, dtype=np.float64)
    _, codes = np.unique(labels, return_inverse=True)
    k = int(codes.max()) + 1
    sq = np.einsum("ij,ij->i", X, X)
    D = X @ X.T  # turned into distances in place: one n x n buffer
    D *= -2.0
    D += sq[:, None]
    D += sq[None, :]
    np.maximum(D, 0.0, out=D)
    np.sqrt(D, out=D)
    np.fill_diagonal(D, 0.0)
    onehot = np.zeros((X.shape[0], k))
    onehot[np.arange(X.shape[0]), codes] = 1.0
    sums = D @ onehot  # (n, k): total distance to each cluster
    counts = onehot.sum(0)
    own = counts[codes]
    a = sums[np.arange(X.shape[0]), codes] / np.maximum(own - 1.0, 1.0)
    mean_other = sums / counts[None, :]
    mean_other[np.arange(X.shape[0]), codes] = np.inf
    b = mean_other.min(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (b - a) / np.maximum(a, b)
    s[(own <= 1) | ~np.isfinite(s)] = 0.0
    return s


def sampled_silhouette(
    X: np.ndarray,
    labels: np.ndarray,
    n_samples: int = 3000,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state=None,
) -> tuple[float, float, float]:
    """Silhouette on a stratified sample with a bootstrap (percentile) confidence interval.

    Returns (mean, ci_low, ci_high); NaNs when fewer than 2 clusters are present.
    """
    rng = check_random_state(random_state)
    idx = stratified_sample(labels, n_samples, rng)
    lab = np.asarray(labels)[idx]
    if idx.size < 3 or len(np.unique(lab)) < 2 or len(np.unique(lab)) >= idx.size:
        return float("nan"), float("nan"), float("nan")
    values = silhouette_values(np.asarray(X[idx], dtype=np.float64), lab)
    boot = rng.randint(0, values.size, size=(n_bootstrap, values.size))
    means = values[boot].mean(1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(values.mean()), float(low), float(high)


def size_balance(labels: np.ndarray) -> float:
    """Normalised entropy of cluster sizes: 1 = equal sizes, near 0 = one dominant cluster."""
    lab = np.asarray(labels)
    lab = lab[lab >= 0]
    if lab.size == 0:
        return float("nan")
    counts = np.unique(lab, return_counts=True)[1]
    if counts.size < 2:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum() / np.log(counts.size))


def mean_pairwise_ari(reference: np.ndarray, others: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean ARI between `reference[idx]` and each refit's labels on `idx`."""
    scores = [adjusted_rand_score(reference[idx], lab) for idx, lab in others]
    return float(np.mean(scores)) if scores else float("nan")


__all__ = [
    "calinski_harabasz",
    "cluster_centroids",
    "compact_labels",
    "davies_bouldin",
    "explained_variance",
    "indices_from_parts",
    "internal_indices",
    "mean_pairwise_ari",
    "sampled_silhouette",
    "size_balance",
    "stratified_sample",
]


def typicality(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How typical each row is of its cluster, in [0, 1]: the share of the cluster's other rows
    that lie farther from the cluster's centre (mean) than it does. 1 = the row nearest the
    centre, 0 = the farthest; a cluster of one row gets 1; NaN where the label is -1.

    A rank, not a raw distance, so it reads the same in every cluster and every space."""
    labels = np.asarray(labels)
    codes, kept, _ = _compact(labels)
    out = np.full(labels.shape[0], np.nan, dtype=np.float64)
    if not kept.any():
        return out
    centroids, counts = cluster_centroids(X, codes)
    dist = _distances_to_own_centroid(X, codes, centroids)
    rows = np.flatnonzero(kept)
    order = rows[np.lexsort((dist[rows], codes[rows]))]  # by cluster, nearest first
    sizes = counts.astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(order.size) - np.repeat(starts, sizes)  # 0 = nearest the centre
    size = np.repeat(sizes, sizes)
    out[order] = np.where(size > 1, 1.0 - rank / np.maximum(size - 1, 1), 1.0)
    return out
