"""Per-block kernels the workers run: nearest centre, per-cluster sums, distances.

Each takes one row block (float32, C-contiguous) and a packed set of centre matrices, and
returns small per-cluster sums that the driver adds up over blocks. No validation, no logging.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def unpack(packed: np.ndarray, ks: tuple[int, ...]) -> list[np.ndarray]:
    """Split a (sum(ks), d) stack of centre matrices back into one (k, d) matrix per k."""
    bounds = np.cumsum((0,) + tuple(ks))
    return [packed[bounds[i]:bounds[i + 1]] for i in range(len(ks))]


def nearest(block: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels int64, squared distances float32) of each row's nearest centre, via faiss."""
    import faiss

    faiss.omp_set_num_threads(1)  # one task per core; the worker owns the parallelism
    index = faiss.IndexFlatL2(centres.shape[1])
    index.add(np.ascontiguousarray(centres, dtype=np.float32))
    d2, idx = index.search(np.ascontiguousarray(block, dtype=np.float32), 1)
    return idx[:, 0].astype(np.int64), np.maximum(d2[:, 0], 0)


def _cluster_sums(block: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    return np.asarray(onehot @ block.astype(np.float64, copy=False))


def block_stats(block: np.ndarray, packed: np.ndarray, ks: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per k: (sums of the rows assigned to each centre, counts, inertia) — one Lloyd step."""
    out = []
    for centres in unpack(packed, ks):
        labels, d2 = nearest(block, centres)
        k = centres.shape[0]
        out.append((_cluster_sums(block, labels, k), np.bincount(labels, minlength=k), float(d2.astype(np.float64).sum())))
    return out


def block_spread(block: np.ndarray, packed: np.ndarray, means: np.ndarray, ks: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per k: per-cluster (sum of distances, sum of squared distances) of rows to the MEAN of
    their cluster (labels from the centres), the terms of Davies-Bouldin and Calinski-Harabasz."""
    out = []
    for centres, mu in zip(unpack(packed, ks), unpack(means, ks)):
        labels, _ = nearest(block, centres)
        diff = block.astype(np.float64) - mu[labels]
        dist2 = np.einsum("ij,ij->i", diff, diff)
        k = centres.shape[0]
        out.append((np.bincount(labels, weights=np.sqrt(dist2), minlength=k), np.bincount(labels, weights=dist2, minlength=k)))
    return out


def block_labels(block: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return nearest(block, centres)[0]
