"""The Dask engine: the local estimators, with their every-row steps on a Dask cluster.

``vehiclust run --engine dask [--scheduler ADDRESS]`` asks :class:`DaskEngine` for the
preparer, selector, outlier ensemble and k-NN search (`vehiclust.engine` chooses it once);
each is a subclass of the local one that overrides only the per-row hooks, so the run gets
the local engine's results (same data, same seed). Without an address a LocalCluster with
two worker processes is started. Needs the ``dask`` extra (``pip install 'vehiclust[dask]'``).
"""

from vehiclust.distributed._arrays import row_chunked
from vehiclust.distributed._client import close_clients, get_client
from vehiclust.distributed.cluster import DaskClusterSelector, DaskRowWork
from vehiclust.distributed.engine import DaskEngine
from vehiclust.distributed.outliers import DaskOutlierEnsemble, dask_knn_graph, dask_outlier_scores
from vehiclust.distributed.prepare import DaskPreparer

__all__ = [
    "DaskClusterSelector",
    "DaskEngine",
    "DaskOutlierEnsemble",
    "DaskPreparer",
    "DaskRowWork",
    "close_clients",
    "dask_knn_graph",
    "dask_outlier_scores",
    "get_client",
    "row_chunked",
]
