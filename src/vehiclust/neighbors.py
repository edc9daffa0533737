"""Nearest neighbours in a prepared descriptor space, searched once per set and shared.

The outlier detectors (k-NN distance, LOF, GLOSH) and the maps (placing every row among the
laid-out sample) all need each row's nearest neighbours. Up to ``exact_max_rows`` rows the
graph is exact over all rows (faiss flat index). Above that every row gets its ``k`` nearest
rows of a seeded *reference sample* (``reference_size`` rows, 20,000 by default), searched
exactly too (a flat index of the sample): at 416,314 x 64 that is ~18 CPU-s (BLAS distance
blocks), where an exact all-rows graph costs tens of minutes, an IVF index over all rows a
minute or more with poor recall, and an HNSW index of the sample (used before) ~2.5x the CPU
of the flat search for 0.998 recall. Distance to the k-th nearest row of a random sample is a known, sound
outlier score (Sugiyama & Borgwardt, NIPS 2013, "Rapid distance-based outlier detection via
sampling"); the same sample is the maps' layout sample, so one search serves both stages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from vehiclust import progress as _progress

log = logging.getLogger(__name__)

# neighbours per row in the one k-NN graph of a set: Leiden's 15 (the outlier detectors read the first 10)
GRAPH_NEIGHBOURS = 15



@dataclass
class KNNGraph:
    """``indices[i]`` are the k nearest other rows of row i, ``distances[i]`` their L2 distances.

    ``reference`` (sorted row numbers) is the sample every neighbour was drawn from, or None
    when the neighbours were searched among all rows.
    """

    indices: np.ndarray  # (n, k) int64, row numbers into the searched matrix
    distances: np.ndarray  # (n, k) float32, ascending per row
    reference: np.ndarray | None = None

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    def head(self, k: int) -> "KNNGraph":
        """The same graph with each row's ``k`` nearest neighbours only."""
        return KNNGraph(self.indices[:, :k], self.distances[:, :k], self.reference)


def knn(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Squared L2 distances and indices of the ``k`` nearest ``base`` rows of each query (exact).

    faiss' flat index is exact and several times faster than a KD-tree in 30+ dimensions.
    """
    import faiss

    k = min(k, base.shape[0])
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def neighbour_index(
    X: np.ndarray,
    k: int,
    *,
    exact_max_rows: int = 60_000,
    reference_size: int = 20_000,
    random_state: int | None = 0,
) -> tuple[Any, np.ndarray | None]:
    """(faiss index, reference rows or None) that :func:`knn_graph` searches every row in.

    Split out so another engine can build the index once and search row blocks elsewhere
    (:mod:`vehiclust.distributed`) with :func:`search_rows`.
    """
    import faiss

    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    reference = None
    if n > exact_max_rows:
        rng = np.random.default_rng(random_state)
        reference = np.sort(rng.choice(n, size=min(n, max(reference_size, k + 1)), replace=False))
        log.info("k-NN graph: %d rows against a %d-row reference sample (exact)", n, len(reference))
    index = faiss.IndexFlatL2(d)
    index.add(X if reference is None else X[reference])
    return index, reference


def search_rows(index: Any, rows: np.ndarray, start: int, k: int, reference: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, L2 distances) of the k nearest OTHER rows of ``rows`` (rows ``start``...)."""
    D, I = index.search(np.ascontiguousarray(rows, dtype=np.float32), k + 1)
    if reference is not None:
        I = np.where(I >= 0, reference[np.maximum(I, 0)], -1)
    I, D = drop_self(I, D, np.arange(start, start + len(rows)))
    return I, np.sqrt(np.maximum(D, 0.0))


def knn_graph(
    X: np.ndarray,
    k: int,
    *,
    exact_max_rows: int = 60_000,
    reference_size: int = 20_000,
    block_rows: int = 65_536,
    random_state: int | None = 0,
    progress: bool | None = None,
    search: Any = None,
) -> KNNGraph:
    """k nearest neighbours of every row (self excluded): among all rows up to
    ``exact_max_rows``, else among a seeded reference sample of ``reference_size`` rows.

    ``search(index, X, k, reference) -> (indices, distances)`` searches every row of ``X`` in
    the index elsewhere (another engine: :func:`vehiclust.distributed.dask_knn_graph`);
    None = here, ``block_rows`` at a time, with :func:`search_rows`."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    k = int(min(k, max(n - 1, 0)))
    if k == 0:
        return KNNGraph(np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32))
    index, reference = neighbour_index(X, k, exact_max_rows=exact_max_rows, reference_size=reference_size,
                                       random_state=random_state)
    if search is not None:
        idx, dist = search(index, X, k, reference)
        return KNNGraph(np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=np.float32), reference)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    starts = range(0, n, block_rows)
    for start in _progress.track(starts, "k-NN graph", total=len(starts),
                                 disable=None if progress is None else not progress):
        stop = min(start + block_rows, n)
        idx[start:stop], dist[start:stop] = search_rows(index, X[start:stop], start, k, reference)
    return KNNGraph(idx, dist, reference)


def drop_self(I: np.ndarray, D: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query row from its own result list (it is not always first: ties)."""
    is_self = I == rows[:, None]
    # Rows where self was not returned lose their last (farthest) neighbour instead.
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    # Missing results (an approximate index with too few candidates) come back as -1.
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
