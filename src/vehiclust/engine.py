"""The engine of a run, chosen once from ``RunConfig.engine``.

An engine supplies the four objects whose work grows with the number of rows: the preparer,
the cluster selector, the outlier ensemble and the k-NN graph search. The pipeline's stages
ask the engine for them and are otherwise the same for every engine. `LocalEngine` runs in
this process (and in worker processes for several sets); `vehiclust.distributed.DaskEngine`
gives the Dask subclasses of the same estimators, which run only their every-row steps on a
Dask cluster.
"""

from __future__ import annotations

from typing import Any


class LocalEngine:
    """Everything in this process (the default engine)."""

    name = "local"

    def preparer(self, **params: Any):
        from vehiclust.prepare import DescriptorPreparer

        return DescriptorPreparer(**params)

    def selector(self, **params: Any):
        from vehiclust.cluster import ClusterSelector

        return ClusterSelector(**params)

    def ensemble(self, **params: Any):
        from vehiclust.outliers import OutlierEnsemble

        return OutlierEnsemble(**params)

    def knn_graph(self, X, k: int, **kw: Any):
        from vehiclust.neighbors import knn_graph

        return knn_graph(X, k, **kw)

    def n_jobs(self, n_jobs: int | None) -> int | None:
        """Processes for per-set work under this engine (the local engine: as configured)."""
        return n_jobs


def engine_for(config: Any):
    """The engine ``config.engine`` names ("local" or "dask")."""
    if getattr(config, "engine", "local") == "dask":
        from vehiclust.distributed import DaskEngine

        return DaskEngine(scheduler=config.scheduler)
    return LocalEngine()
