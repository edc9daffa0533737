"""Per-block kernels the workers run: nearest centre, per-cluster sums, distances.

Each takes one row block (float32, C-contiguous) and returns small per-cluster sums that the
driver adds up over blocks, or per-row results that stay on the worker until needed.
No validation, no logging.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def nearest(block: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels int64, squared distances float32) of each row's nearest centre, via faiss."""
    import faiss

    faiss.omp_set_num_threads(1)  # one task per core; the worker owns the parallelism
    index = faiss.IndexFlatL2(centres.shape[1])
    index.add(np.ascontiguousarray(centres, dtype=np.float32))
    d2, idx = index.search(np.ascontiguousarray(block, dtype=np.float32), 1)
    return idx[:, 0].astype(np.int64), np.maximum(d2[:, 0], 0)


def cluster_sums(block: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """(k, d) float64 sums of the rows of each cluster (codes 0..k-1; -1 rows left out)."""
    keep = np.flatnonzero(codes >= 0)
    onehot = sp.csr_matrix((np.ones(len(keep)), (codes[keep], keep)), shape=(k, len(codes)))
    return np.asarray(onehot @ block.astype(np.float64, copy=False))


def spread(block: np.ndarray, means: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster: (sum of distances, sum of squared distances) of its rows to its MEAN, the
    terms of Davies-Bouldin, Calinski-Harabasz and R² (float64, as `cluster.metrics`)."""
    keep = codes >= 0
    diff = block[keep].astype(np.float64) - means[codes[keep]]
    dist2 = np.einsum("ij,ij->i", diff, diff)
    k = means.shape[0]
    return (np.bincount(codes[keep], weights=np.sqrt(dist2), minlength=k),
            np.bincount(codes[keep], weights=dist2, minlength=k))
