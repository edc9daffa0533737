"""The per-row work of the clustering, behind one switch an engine can override.

Every family fits on a sample or on every row the same way; what costs time per row is the
same few steps: every row's nearest centre (k-means, the micro-clusters of Ward and evidence
accumulation, the DBSCAN core assignment), the per-cluster sums of the internal indices, and
the k-NN search of the Leiden graph. They go through :func:`row_work`, which is a
:class:`RowWork` (in this process) unless an engine installed its own subclass with
:func:`working_with` for the length of a fit (:class:`vehiclust.distributed.DaskRowWork` runs
them over row blocks on a Dask cluster). The results are the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from vehiclust.cluster import metrics as M

_CHUNK = 65_536


class RowWork:
    """The per-row steps, in this process (the local engine)."""

    def nearest(self, X: np.ndarray, centres: np.ndarray, chunk: int = _CHUNK) -> tuple[np.ndarray, np.ndarray]:
        """(labels int64, squared distances float32) of each row's nearest centre (exact, faiss)."""
        import faiss

        index = faiss.IndexFlatL2(centres.shape[1])
        index.add(np.ascontiguousarray(centres, dtype=np.float32))
        labels = np.empty(X.shape[0], dtype=np.int64)
        dist = np.empty(X.shape[0], dtype=np.float32)
        for a in range(0, X.shape[0], chunk):
            b = min(a + chunk, X.shape[0])
            d, i = index.search(np.ascontiguousarray(X[a:b], dtype=np.float32), 1)
            labels[a:b] = i[:, 0]
            dist[a:b] = d[:, 0]
        return labels, dist

    def indices(self, X: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        """Calinski-Harabasz, Davies-Bouldin and R² (:func:`vehiclust.cluster.metrics.internal_indices`)."""
        return M.internal_indices(X, labels)

    def knn_graph(self, X: np.ndarray, k: int, **kw):
        """:func:`vehiclust.neighbors.knn_graph` of ``X``."""
        from vehiclust.neighbors import knn_graph

        return knn_graph(X, k, **kw)


_CURRENT: ContextVar[RowWork] = ContextVar("vehiclust_row_work", default=RowWork())


def row_work() -> RowWork:
    """The per-row steps in force (this process unless an engine installed its own)."""
    return _CURRENT.get()


@contextmanager
def working_with(work: RowWork) -> Iterator[RowWork]:
    """Run the per-row steps through ``work`` inside the ``with`` block."""
    token = _CURRENT.set(work)
    try:
        yield work
    finally:
        _CURRENT.reset(token)


def nearest_labelled(X: np.ndarray, ref: np.ndarray, ref_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of X: (label of its nearest row of ``ref``, that squared distance)."""
    near, dist = row_work().nearest(X, ref)
    return np.asarray(ref_labels)[near], dist
