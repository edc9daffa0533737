"""`DaskEngine`: the estimators of `vehiclust.engine.LocalEngine`, as their Dask subclasses."""

from __future__ import annotations

from typing import Any


class DaskEngine:
    """Preparer, selector, outlier ensemble and k-NN search with their every-row steps on Dask.

    ``scheduler``: a scheduler address, a ``distributed.Client``, or None for the process's
    LocalCluster. Per-set work stays in this process (the cluster owns the parallelism).
    """

    name = "dask"

    def __init__(self, scheduler: Any = None) -> None:
        self.scheduler = scheduler

    def preparer(self, **params: Any):
        from vehiclust.distributed.prepare import DaskPreparer

        return DaskPreparer(**{"scheduler": self.scheduler, **params})

    def selector(self, **params: Any):
        from vehiclust.distributed.cluster import DaskClusterSelector

        return DaskClusterSelector(**{"scheduler": self.scheduler, **params})

    def ensemble(self, **params: Any):
        from vehiclust.distributed.outliers import DaskOutlierEnsemble

        return DaskOutlierEnsemble(**{"scheduler": self.scheduler, **params})

    def knn_graph(self, X, k: int, **kw: Any):
        from vehiclust.distributed.outliers import dask_knn_graph

        kw.pop("progress", None)
        return dask_knn_graph(X, k, scheduler=self.scheduler, **kw)

    def n_jobs(self, n_jobs: int | None) -> int:
        return 1
