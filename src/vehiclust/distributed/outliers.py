"""`DaskOutlierEnsemble`: the local `OutlierEnsemble`, with its per-row work on Dask.

The same detectors, seeds, thresholds and vote as :class:`vehiclust.outliers.OutlierEnsemble`,
so on the same prepared matrix both flag the same rows. What costs time per row runs on the
workers over row blocks: the k-NN search of every row (the faiss index is built on the driver
exactly as :func:`vehiclust.outliers.knn_graph` builds it, then shipped to the workers once)
and the isolation-forest scoring (the forest is fitted on the driver, it sees only
200 x 512 rows). LOF and the k-NN distance are read off the gathered graph, the cluster-centre
distance and GLOSH (at most 30,000 rows) run on the driver through the local detectors.
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
from vehiclust.outliers import DEFAULT_DETECTORS, DEFAULT_VOTERS, DETECTORS, KNNGraph, OutlierEnsemble, robust_threshold
from vehiclust.outliers._ensemble import _rescale
from vehiclust.outliers._neighbors import _drop_self

log = logging.getLogger(__name__)


def _search_block(block: np.ndarray, blob: np.ndarray, start: int, k: int, nprobe: int,
                  block_rows: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """(indices, squared distances) of the k nearest OTHER rows of each row of one block."""
    import faiss

    faiss.omp_set_num_threads(1)  # one task per core; the worker owns the parallelism
    index = faiss.deserialize_index(blob)
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = nprobe
    n = len(block)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    for a in range(0, n, block_rows):
        b = min(a + block_rows, n)
        D, I = index.search(np.ascontiguousarray(block[a:b], dtype=np.float32), k + 1)
        idx[a:b], dist[a:b] = _drop_self(I, D, np.arange(start + a, start + b))
    return idx, dist


def _forest_scores(block: np.ndarray, forest: IsolationForest) -> np.ndarray:
    return -forest.score_samples(block)


def dask_knn_graph(
    X: np.ndarray,
    k: int,
    *,
    exact_max_rows: int = 60_000,
    nprobe: int = 12,
    random_state: int | None = 0,
    chunk_rows: int | None = None,
    scheduler: Any = None,
) -> KNNGraph:
    """:func:`vehiclust.outliers.knn_graph` with the search of every row on the workers.

    The index (exact up to ``exact_max_rows`` rows, else IVF trained on the same seeded
    subsample) is built on the driver, serialised and broadcast once; each worker searches
    its row blocks against it.
    """
    import faiss

    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    k = int(min(k, max(n - 1, 0)))
    if k == 0:
        return KNNGraph(np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32))
    if n <= exact_max_rows:
        index = faiss.IndexFlatL2(d)
    else:  # as knn_graph: the same lists, the same training rows, the same seed
        nlist = int(min(4096, max(64, 4 * np.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)
        rng = np.random.default_rng(random_state)
        n_train = min(n, 64 * nlist)
        train = X[np.sort(rng.choice(n, size=n_train, replace=False))]
        index.cp.seed = int(rng.integers(0, 2**31 - 1))
        index.train(train)
        log.info("k-NN graph on Dask: IVF index, %d lists, nprobe %d, %d rows", nlist, nprobe, n)
    index.add(X)
    client = get_client(scheduler)
    blob = client.scatter(faiss.serialize_index(index), broadcast=True, hash=False)
    del index
    step = int(chunk_rows or auto_chunk_rows(n, d, max(1, len(client.scheduler_info().get("workers", {})))))
    starts = list(range(0, n, step))
    blocks = client.scatter([X[a:a + step] for a in starts], hash=False)
    futures = [client.submit(_search_block, b, blob, a, k, int(nprobe), pure=False) for b, a in zip(blocks, starts)]
    parts = client.gather(futures)
    client.cancel(blocks + [blob])
    idx = np.concatenate([p[0] for p in parts])
    dist = np.concatenate([p[1] for p in parts])
    np.sqrt(np.maximum(dist, 0.0, out=dist), out=dist)
    return KNNGraph(idx, dist)


class DaskOutlierEnsemble(OutlierEnsemble):
    """:class:`vehiclust.outliers.OutlierEnsemble` with the k-NN search and the isolation-forest
    scoring of every row on a Dask cluster. Same parameters and fitted attributes, plus
    ``chunk_rows`` (rows per block, None = automatic) and ``scheduler`` (address, Client, or
    None for the process's LocalCluster). The prepared matrix is held by the driver
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

    def fit(self, X, labels: np.ndarray | None = None, centers: np.ndarray | None = None) -> "DaskOutlierEnsemble":
        names = self._validate()
        if hasattr(X, "dask"):
            X = get_client(self.scheduler).compute(X, sync=True)
        X = check_array(X, dtype=np.float32, ensure_min_samples=1)
        n = len(X)
        if labels is not None and np.shape(labels) != (n,):
            raise InputError(f"DaskOutlierEnsemble.fit got {np.shape(labels)[0]} labels for {n} rows of X.")
        # The same per-detector seeds as OutlierEnsemble.fit.
        rng = np.random.default_rng(self.random_state)
        seeds = {name: int(rng.integers(0, 2**31 - 1)) for name in DETECTORS}
        graph = None
        if {"knn", "lof", "glosh"} & set(names) and n > 1:
            graph = dask_knn_graph(X, self.n_neighbors, random_state=seeds["knn"], chunk_rows=self.chunk_rows,
                                   scheduler=self.scheduler)
        fitted, columns = {}, {}
        for name in names:
            det = self._make(name, seeds[name], centers)
            if name in ("knn", "lof", "glosh"):
                det.fit(X, graph=graph)  # type: ignore[call-arg]
            elif name == "cluster_distance":
                det.fit(X, labels)
            elif name == "iforest":
                self._fit_forest(det, X)
            else:
                det.fit(X)
            if name == "glosh" and not getattr(det, "available_", False):
                log.info("GLOSH not available for %d rows; left out of the ensemble", n)
                continue
            fitted[name] = det
            columns[f"{name}_outlierness"] = det.outlierness_
        self._combine(fitted, columns, names, n)
        return self

    def _fit_forest(self, det, X: np.ndarray) -> None:
        """IsolationForestDetector.fit with the scoring of every row on the workers."""
        det._validate_common()
        det._validate_params_extra(X)
        det.n_features_in_ = X.shape[1]
        if len(X) < 2:
            det.decision_scores_ = np.zeros(len(X))
        else:
            forest = IsolationForest(n_estimators=det.n_estimators, max_samples=min(det.max_samples, len(X)),
                                     n_jobs=det.n_jobs, random_state=det.random_state).fit(X)
            client = get_client(self.scheduler)
            step = int(self.chunk_rows or auto_chunk_rows(len(X), X.shape[1],
                                                          max(1, len(client.scheduler_info().get("workers", {})))))
            shared = client.scatter(forest, broadcast=True, hash=False)
            blocks = client.scatter([X[a:a + step] for a in range(0, len(X), step)], hash=False)
            parts = client.gather([client.submit(_forest_scores, b, shared, pure=False) for b in blocks])
            client.cancel(blocks + [shared])
            det.forest_ = forest
            det.decision_scores_ = np.concatenate(parts).astype(np.float64)
        det._process_decision_scores()

    def _combine(self, fitted: dict, columns: dict, names: list[str], n: int) -> None:
        """The vote of OutlierEnsemble.fit over the detectors' calibrated scores."""
        self.detectors_ = fitted
        self.scores_ = pd.DataFrame(columns)
        out = self.scores_.to_numpy(np.float64)
        voting = [f"{v}_outlierness" for v in (self.voters if self.voters is not None else names)]
        voting = [c for c in voting if c in self.scores_] or list(self.scores_.columns)
        self.voters_ = [c.removesuffix("_outlierness") for c in voting]
        vote = self.scores_[voting].to_numpy(np.float64)
        score = np.maximum(vote.mean(axis=1), vote.max(axis=1) - (self.strong - 0.5)) if vote.shape[1] else np.zeros(n)
        self.decision_scores_ = np.clip(score, 0.0, 1.0)
        if self.contamination is None:
            self.threshold_ = 0.5
            self.outlierness_ = self.decision_scores_
        else:
            self.threshold_ = robust_threshold(self.decision_scores_, contamination=self.contamination)
            self.outlierness_ = _rescale(self.decision_scores_, self.threshold_)
        flagged = self.decision_scores_ > self.threshold_
        self.labels_ = flagged.astype(np.int64)
        self.reasons_ = self._reasons(out, flagged)
        log.info("DaskOutlierEnsemble: %d of %d rows flagged", int(flagged.sum()), n)


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
