"""`DaskClusterSelector`: `ClusterSelector` itself, with the per-row steps on a Dask cluster.

The selector, its families, the sweep, the scores, the stability refits and the rule are the
local ones (this class subclasses `ClusterSelector` and overrides one hook): every family
whose fit reads a sample (k-means training, the micro-clusters of Ward and evidence
accumulation, the Gaussian mixture, the HDBSCAN and DBSCAN samples, the silhouette and
stability subsamples) runs on the driver exactly as it runs locally. What reads EVERY row
runs on the workers over row blocks (:class:`DaskRowWork`): each row's nearest centre, the
per-cluster sums of Calinski-Harabasz, Davies-Bouldin and R², and the k-NN search of the
Leiden graph. So both engines give the same selection table and labels for the same seed
(the block sums differ from the local sums in the last bits of the float64 totals only).

The driver holds the prepared matrix (n x 64 float32: 106 MB at 416k rows), as the
outlier ensemble does; a Dask array is gathered first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_array

from vehiclust.cluster import ClusterSelector
from vehiclust.cluster import metrics as M
from vehiclust.cluster.rows import RowWork
from vehiclust.distributed import _kernels as K
from vehiclust.distributed._arrays import scatter_rows
from vehiclust.distributed._client import get_client
from vehiclust.distributed._params import extended_init
from vehiclust.exceptions import InputError


def _same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` is the very matrix ``b`` (the same memory, shape and layout)."""
    return (isinstance(a, np.ndarray) and a.shape == b.shape and a.strides == b.strides
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


class DaskRowWork(RowWork):
    """:class:`vehiclust.cluster.rows.RowWork` with every-row steps of ONE matrix on Dask.

    The matrix is cut into row blocks held by the workers (scattered once, released by
    :meth:`close`); a step asked for that matrix runs per block on the workers, a step on any
    other rows (a sample, a subsample, a projection) runs in this process, as locally.
    """

    def __init__(self, X: np.ndarray, client, chunk_rows: int | None = None, scheduler: Any = None) -> None:
        self.X = X
        self.client = client
        self.scheduler = scheduler
        self.chunk_rows = chunk_rows
        self.blocks, self.starts = scatter_rows(client, X, chunk_rows)
        self.ends = [*self.starts[1:], X.shape[0]]

    def close(self) -> None:
        self.client.cancel(self.blocks)

    def _map(self, fn, *shared, per_block=None) -> list:
        """``fn(block, *shared[, per_block[i]])`` on the workers for every block, gathered in order."""
        shared = [self.client.scatter(a, broadcast=True, hash=False) for a in shared]
        extra = per_block if per_block is not None else [()] * len(self.blocks)
        futures = [self.client.submit(fn, b, *shared, *e, pure=False) for b, e in zip(self.blocks, extra)]
        out = self.client.gather(futures)
        self.client.cancel(shared)
        return out

    def nearest(self, X, centres, chunk: int = 65_536):
        if not _same_rows(X, self.X):
            return super().nearest(X, centres, chunk)
        parts = self._map(K.nearest, np.ascontiguousarray(centres, dtype=np.float32))
        return (np.concatenate([p[0] for p in parts]).astype(np.int64),
                np.concatenate([p[1] for p in parts]).astype(np.float32))

    def indices(self, X, labels):
        if not _same_rows(X, self.X):
            return super().indices(X, labels)
        codes, kept, k = M.compact_labels(labels)
        n = int(kept.sum())
        if k < 2 or n <= k:
            return super().indices(X, labels)  # the NaN row, as locally
        per_block = [(codes[a:b], k) for a, b in zip(self.starts, self.ends)]
        sums = self._map(K.cluster_sums, per_block=per_block)
        counts = np.bincount(codes[kept], minlength=k).astype(np.float64)
        means = sum(sums) / np.maximum(counts, 1.0)[:, None]
        spread = self._map(K.spread, means, per_block=[(codes[a:b],) for a, b in zip(self.starts, self.ends)])
        dist_sum = sum(s[0] for s in spread)
        dist_sq = sum(s[1] for s in spread)
        return M.indices_from_parts(means, counts, float(dist_sq.sum()), dist_sum / np.maximum(counts, 1.0))

    def knn_graph(self, X, k, **kw):
        if not _same_rows(X, self.X):
            return super().knn_graph(X, k, **kw)
        from vehiclust.distributed.outliers import dask_knn_graph

        kw.pop("progress", None)
        return dask_knn_graph(X, k, chunk_rows=self.chunk_rows, scheduler=self.client, **kw)


class DaskClusterSelector(ClusterSelector):
    """:class:`vehiclust.cluster.ClusterSelector` with every-row steps on a Dask cluster.

    Parameters are those of ``ClusterSelector``, plus ``chunk_rows`` (rows per block, None =
    automatic) and ``scheduler`` (a scheduler address, a ``distributed.Client``, or None for
    the process's LocalCluster with two worker processes). Same fitted attributes, same
    labels and selection table as the local selector with the same seed.
    """

    __init__ = extended_init(ClusterSelector, chunk_rows=None, scheduler=None)

    def fit(self, X, y=None, graph=None) -> "DaskClusterSelector":
        c = self.chunk_rows
        if c is not None and (not isinstance(c, (int, np.integer)) or isinstance(c, bool) or c < 1):
            raise InputError(f"The 'chunk_rows' parameter of DaskClusterSelector must be None or an int in [1, inf). Got {c!r}.")
        if hasattr(X, "dask"):
            if X.ndim != 2:
                raise InputError(f"DaskClusterSelector expects a 2-D array; got shape {X.shape}.")
            X = get_client(self.scheduler).compute(X, sync=True)
        X = check_array(X, dtype=np.float32, order="C", copy=False, ensure_min_samples=1)
        try:
            return super().fit(X, y, graph=graph)
        finally:
            work = getattr(self, "_work", None)
            if work is not None:
                work.close()
                self._work = None

    def _row_work(self, X: np.ndarray) -> RowWork:
        self._work = DaskRowWork(X, get_client(self.scheduler), self.chunk_rows, self.scheduler)
        return self._work
