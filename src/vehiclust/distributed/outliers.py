"""`DaskOutlierEnsemble`: the local `OutlierEnsemble`, with its per-row work on Dask.

The same detectors, seeds, thresholds and vote as :class:`vehiclust.outliers.OutlierEnsemble`
(it IS that class, with two hooks overridden: `_knn_graph` and the forest's `_score_rows`), so on the same prepared matrix both flag the same
rows. What costs time per row runs on the workers over row blocks:

- the k-NN search of every row (:func:`dask_knn_graph`): the faiss index is built on the
  driver exactly as :func:`vehiclust.neighbors.knn_graph` builds it (all rows, exact, up to
  60,000 rows; above that a flat index of the seeded 20,000-row reference sample, also
  exact), serialised and sent to the workers once;
- the isolation-forest scoring of every row (the forest is fitted on the driver: it sees
  200 trees x 512 rows).

LOF and the k-NN distance are read off the gathered graph; the cluster-centre distance and
GLOSH (at most 30,000 rows) run on the driver, through the local detectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from vehiclust.distributed._arrays import scatter_rows
from vehiclust.distributed._client import get_client
from vehiclust.distributed._params import extended_init
from vehiclust.neighbors import KNNGraph, knn_graph, search_rows
from vehiclust.outliers import IsolationForestDetector, OutlierEnsemble


def _search_block(block: np.ndarray, blob: np.ndarray, reference: np.ndarray | None, start: int, k: int,
                  block_rows: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, distances) of the k nearest OTHER rows of each row of one block."""
    import faiss

    faiss.omp_set_num_threads(1)  # one task per core; the worker owns the parallelism
    index = faiss.deserialize_index(blob)
    parts = [search_rows(index, block[a:a + block_rows], start + a, k, reference) for a in range(0, len(block), block_rows)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def dask_knn_graph(X: np.ndarray, k: int, *, chunk_rows: int | None = None, scheduler: Any = None,
                   **kw: Any) -> KNNGraph:
    """:func:`vehiclust.neighbors.knn_graph` (same parameters ``kw``, same graph) with the search
    of every row on the workers; the index is built on the driver and broadcast once."""

    def search(index, rows: np.ndarray, k: int, reference: np.ndarray | None):
        import faiss

        client = get_client(scheduler)
        shared = [client.scatter(a, broadcast=True, hash=False) for a in (faiss.serialize_index(index), reference)
                  if a is not None]
        blob, ids = shared[0], (shared[1] if reference is not None else None)
        blocks, starts = scatter_rows(client, rows, chunk_rows)
        parts = client.gather([client.submit(_search_block, b, blob, ids, a, k, pure=False)
                               for b, a in zip(blocks, starts)])
        client.cancel(blocks + shared)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    kw.pop("search", None)
    return knn_graph(X, k, search=search, **kw)


def _forest_scores(block: np.ndarray, forest: IsolationForest) -> np.ndarray:
    return -forest.score_samples(block)


class DaskIsolationForestDetector(IsolationForestDetector):
    """:class:`vehiclust.outliers.IsolationForestDetector`: the forest fitted on the driver (it
    sees ``n_estimators`` x ``max_samples`` rows), every row scored on the workers."""

    __init__ = extended_init(IsolationForestDetector, chunk_rows=None, scheduler=None)

    def _score_rows(self, forest: IsolationForest, X: np.ndarray) -> np.ndarray:
        client = get_client(self.scheduler)
        shared = client.scatter(forest, broadcast=True, hash=False)
        blocks, _ = scatter_rows(client, X, self.chunk_rows)
        parts = client.gather([client.submit(_forest_scores, b, shared, pure=False) for b in blocks])
        client.cancel(blocks + [shared])
        return np.concatenate(parts)


class DaskOutlierEnsemble(OutlierEnsemble):
    """:class:`vehiclust.outliers.OutlierEnsemble` with the k-NN search and the isolation-forest
    scoring of every row on a Dask cluster. Same parameters and fitted attributes, plus
    ``chunk_rows`` (rows per block, None = automatic) and ``scheduler`` (address, Client, or
    None for the process's LocalCluster). The driver holds the prepared matrix
    (n x 64 float32: 106 MB at 416k rows)."""

    __init__ = extended_init(OutlierEnsemble, chunk_rows=None, scheduler=None)

    def fit(self, X, labels: np.ndarray | None = None, centers: np.ndarray | None = None,
            graph: KNNGraph | None = None) -> "DaskOutlierEnsemble":
        """As ``OutlierEnsemble.fit`` (a Dask array is gathered first)."""
        if hasattr(X, "dask"):
            X = get_client(self.scheduler).compute(X, sync=True)
        return super().fit(X, labels, centers=centers, graph=graph)

    def _knn_graph(self, X: np.ndarray, k: int, seed: int) -> KNNGraph:
        return dask_knn_graph(X, k, random_state=seed, chunk_rows=self.chunk_rows, scheduler=self.scheduler)

    def _make(self, name: str, seed: int, centers: np.ndarray | None):
        det = super()._make(name, seed, centers)
        if name != "iforest":
            return det
        return DaskIsolationForestDetector(**det.get_params(), chunk_rows=self.chunk_rows, scheduler=self.scheduler)


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
