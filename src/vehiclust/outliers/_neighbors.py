"""The k-nearest-neighbour graph (faiss) shared by the k-NN distance and LOF detectors.

Exact search (``IndexFlatL2``) up to ``exact_max_rows`` rows; above that an inverted-file
index (``IndexIVFFlat``) trained on a seeded subsample, which keeps a 416k-row case to
minutes on two cores. Queries run in blocks behind a progress bar.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from vehiclust import _progress

log = logging.getLogger(__name__)


@dataclass
class KNNGraph:
    """``indices[i]`` are the k nearest other rows of row i, ``distances[i]`` their L2 distances."""

    indices: np.ndarray  # (n, k) int64
    distances: np.ndarray  # (n, k) float32, ascending per row

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])


def knn_graph(
    X: np.ndarray,
    k: int,
    *,
    exact_max_rows: int = 60_000,
    nprobe: int = 12,
    block_rows: int = 8192,
    random_state: int | None = 0,
) -> KNNGraph:
    """k nearest neighbours of every row among the other rows (self excluded)."""
    import faiss

    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    k = int(min(k, max(n - 1, 0)))
    if k == 0:
        return KNNGraph(np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32))
    if n <= exact_max_rows:
        index = faiss.IndexFlatL2(d)
    else:
        nlist = int(min(4096, max(64, 4 * np.sqrt(n))))
        quantizer = faiss.IndexFlatL2(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist)
        rng = np.random.default_rng(random_state)
        n_train = min(n, 64 * nlist)
        train = X[np.sort(rng.choice(n, size=n_train, replace=False))]
        index.cp.seed = int(rng.integers(0, 2**31 - 1))
        index.train(train)
        index.nprobe = nprobe
        log.info("k-NN graph: IVF index, %d lists, nprobe %d, %d rows", nlist, nprobe, n)
    index.add(X)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    starts = range(0, n, block_rows)
    for start in _progress.track(starts, "k-NN graph", total=len(starts)):
        stop = min(start + block_rows, n)
        D, I = index.search(X[start:stop], k + 1)
        idx[start:stop], dist[start:stop] = _drop_self(I, D, np.arange(start, stop))
    np.sqrt(np.maximum(dist, 0.0, out=dist), out=dist)
    return KNNGraph(idx, dist)


def _drop_self(I: np.ndarray, D: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query row from its own result list (it is not always first: ties)."""
    is_self = I == rows[:, None]
    # Rows where self was not returned lose their last (farthest) neighbour instead.
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    # Missing results (IVF with too few candidates) come back as -1 / huge distance.
    keep = ~is_self
    k = I.shape[1] - 1
    I2 = I[keep].reshape(-1, k)
    D2 = D[keep].reshape(-1, k)
    missing = I2 < 0
    if missing.any():
        D2 = D2.copy()
        D2[missing] = np.float32(np.nanmax(np.where(missing, np.nan, D2)) if (~missing).any() else 0.0)
        I2 = np.where(missing, rows[:, None], I2)
    return I2, D2


class AcceptsGraph:
    """Mixin: ``fit(X, graph=...)`` reuses a k-NN graph the ensemble already built."""

    _graph: KNNGraph | None = None

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, graph: KNNGraph | None = None):  # type: ignore[no-untyped-def]
        self._graph = graph
        try:
            return super().fit(X, y)  # type: ignore[misc]
        finally:
            self._graph = None
