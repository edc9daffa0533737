"""`DaskOutlierEnsemble`: the local `OutlierEnsemble`, with its per-row work on Dask.

The same detectors, seeds, thresholds and vote as :class:`vehiclust.outliers.OutlierEnsemble`
(it IS that class, with two steps moved), so on the same prepared matrix both flag the same
rows. What costs time per row runs on the workers over row blocks:

- the k-NN search of every row (:func:`dask_knn_graph`): the faiss index is built on the
  driver exactly as :func:`vehiclust.neighbors.knn_graph` builds it (all rows, exact, up to
  60,000 rows; above that an HNSW index of the seeded 20,000-row reference sample, built on
  one thread), serialised and sent to the workers once;
- the isolation-forest scoring of every row (the forest is fitted on the driver: it sees
  200 trees x 512 rows).

LOF and the k-NN distance are read off the gathered graph; the cluster-centre distance and
GLOSH (at most 30,000 rows) run on the driver, through the local detectors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_array

from vehiclust.distributed._arrays import auto_chunk_rows
from vehiclust.distributed._client import get_client
from vehiclust.exceptions import InputError
from vehiclust.neighbors import KNNGraph, neighbour_index, search_rows
from vehiclust.outliers import DEFAULT_DETECTORS, DEFAULT_VOTERS, DETECTORS, IsolationForestDetector, OutlierEnsemble

log = logging.getLogger(__name__)


def _n_workers(client) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def _scatter_blocks(client, X: np.ndarray, chunk_rows: int | None) -> tuple[list, list[int]]:
    """Row blocks of an in-memory matrix as futures spread over the workers, and their starts."""
    step = int(chunk_rows or auto_chunk_rows(len(X), X.shape[1], _n_workers(client)))
    starts = list(range(0, len(X), step))
    return client.scatter([np.ascontiguousarray(X[a:a + step]) for a in starts], hash=False), starts


def _search_block(block: np.ndarray, blob: np.ndarray, reference: np.ndarray | None, start: int, k: int,
                  block_rows: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, distances) of the k nearest OTHER rows of each row of one block."""
    import faiss

    faiss.omp_set_num_threads(1)  # one task per core; the worker owns the parallelism
    index = faiss.deserialize_index(blob)
    parts = [search_rows(index, block[a:a + block_rows], start + a, k, reference) for a in range(0, len(block), block_rows)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def dask_knn_graph(
    X: np.ndarray,
    k: int,
    *,
    exact_max_rows: int = 60_000,
    reference_size: int = 20_000,
    random_state: int | None = 0,
    chunk_rows: int | None = None,
    scheduler: Any = None,
) -> KNNGraph:
    """:func:`vehiclust.neighbors.knn_graph` (same parameters, same graph) with the search of
    every row on the workers; the index is built on the driver and broadcast once."""
    import faiss

    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    k = int(min(k, max(n - 1, 0)))
    if k == 0:
        return KNNGraph(np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32))
    index, reference = neighbour_index(X, k, exact_max_rows=exact_max_rows, reference_size=reference_size,
                                       random_state=random_state)
    client = get_client(scheduler)
    shared = [client.scatter(a, broadcast=True, hash=False) for a in (faiss.serialize_index(index), reference)
              if a is not None]
    blob, ids = shared[0], (shared[1] if reference is not None else None)
    del index
    blocks, starts = _scatter_blocks(client, X, chunk_rows)
    parts = client.gather([client.submit(_search_block, b, blob, ids, a, k, pure=False)
                           for b, a in zip(blocks, starts)])
    client.cancel(blocks + shared)
    idx = np.concatenate([p[0] for p in parts])
    dist = np.concatenate([p[1] for p in parts]).astype(np.float32)
    return KNNGraph(idx, dist, reference)


def _forest_scores(block: np.ndarray, forest: IsolationForest) -> np.ndarray:
    return -forest.score_samples(block)


class DaskIsolationForestDetector(IsolationForestDetector):
    """:class:`vehiclust.outliers.IsolationForestDetector`: the forest fitted on the driver (it
    sees ``n_estimators`` x ``max_samples`` rows), every row scored on the workers."""

    def __init__(self, n_estimators: int = 200, max_samples: int = 512, *, cut: float = 3.5,
                 contamination: float | None = None, n_jobs: int | None = None, random_state: int | None = 0,
                 chunk_rows: int | None = None, scheduler: Any = None) -> None:
        super().__init__(n_estimators, max_samples, cut=cut, contamination=contamination, n_jobs=n_jobs,
                         random_state=random_state)
        self.chunk_rows = chunk_rows
        self.scheduler = scheduler

    def _decision_scores(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        if len(X) < 2:
            return np.zeros(len(X))
        forest = IsolationForest(n_estimators=self.n_estimators, max_samples=min(self.max_samples, len(X)),
                                 n_jobs=self.n_jobs, random_state=self.random_state).fit(X)
        self.forest_ = forest
        client = get_client(self.scheduler)
        shared = client.scatter(forest, broadcast=True, hash=False)
        blocks, _ = _scatter_blocks(client, X, self.chunk_rows)
        parts = client.gather([client.submit(_forest_scores, b, shared, pure=False) for b in blocks])
        client.cancel(blocks + [shared])
        return np.concatenate(parts)


class DaskOutlierEnsemble(OutlierEnsemble):
    """:class:`vehiclust.outliers.OutlierEnsemble` with the k-NN search and the isolation-forest
    scoring of every row on a Dask cluster. Same parameters and fitted attributes, plus
    ``chunk_rows`` (rows per block, None = automatic) and ``scheduler`` (address, Client, or
    None for the process's LocalCluster). The driver holds the prepared matrix
    (n x 64 float32: 106 MB at 416k rows)."""

    def __init__(
        self,
        detectors: Sequence[str] = DEFAULT_DETECTORS,
        *,
        voters: Sequence[str] | None = DEFAULT_VOTERS,
        n_neighbors: int = 10,
        cut: float = 3.5,
        strong: float = 0.5,
        contamination: float | None = None,
        glosh_max_rows: int = 30_000,
        random_state: int | None = 0,
        chunk_rows: int | None = None,
        scheduler: Any = None,
    ) -> None:
        super().__init__(detectors, voters=voters, n_neighbors=n_neighbors, cut=cut, strong=strong,
                         contamination=contamination, glosh_max_rows=glosh_max_rows, random_state=random_state)
        self.chunk_rows = chunk_rows
        self.scheduler = scheduler

    def fit(self, X, labels: np.ndarray | None = None, centers: np.ndarray | None = None,
            graph: KNNGraph | None = None) -> "DaskOutlierEnsemble":
        """As ``OutlierEnsemble.fit``; the k-NN graph, when not given, is searched on the workers."""
        names = self._validate()
        if hasattr(X, "dask"):
            X = get_client(self.scheduler).compute(X, sync=True)
        X = check_array(X, dtype=np.float32, ensure_min_samples=1)
        n = len(X)
        if labels is not None and np.shape(labels) != (n,):
            raise InputError(f"DaskOutlierEnsemble.fit got {np.shape(labels)[0]} labels for {n} rows of X.")
        if graph is None and {"knn", "lof", "glosh"} & set(names) and n > 1:
            # the seed OutlierEnsemble.fit gives its own knn_graph call
            rng = np.random.default_rng(self.random_state)
            seeds = {name: int(rng.integers(0, 2**31 - 1)) for name in DETECTORS}
            graph = dask_knn_graph(X, self.n_neighbors, random_state=seeds["knn"], chunk_rows=self.chunk_rows,
                                   scheduler=self.scheduler)
        super().fit(X, labels, centers=centers, graph=graph)
        log.info("DaskOutlierEnsemble: %d of %d rows flagged", int(self.labels_.sum()), n)
        return self

    def _make(self, name: str, seed: int, centers: np.ndarray | None):
        if name == "iforest":
            return DaskIsolationForestDetector(random_state=seed, cut=self.cut, contamination=self.contamination,
                                               chunk_rows=self.chunk_rows, scheduler=self.scheduler)
        return super()._make(name, seed, centers)


def dask_outlier_scores(
    X,
    labels: np.ndarray,
    centers: np.ndarray | None = None,
    *,
    contamination: float | None = None,
    n_neighbors: int = 10,
    random_state: int | None = 0,
    chunk_rows: int | None = None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Per-row outlier table of a prepared matrix from :class:`DaskOutlierEnsemble`.

    Columns: one ``<detector>_outlierness`` per detector (0.5 = on its threshold),
    ``outlier_score`` (the ensemble score), ``is_outlier`` and ``outlier_reasons``.
    """
    ens = DaskOutlierEnsemble(n_neighbors=n_neighbors, contamination=contamination, random_state=random_state,
                              chunk_rows=chunk_rows, scheduler=scheduler).fit(X, labels, centers=centers)
    table = ens.scores_.copy()
    table["outlier_score"] = ens.decision_scores_
    table["is_outlier"] = ens.labels_.astype(bool)
    table["outlier_reasons"] = ens.reasons_.astype(str)
    return table
