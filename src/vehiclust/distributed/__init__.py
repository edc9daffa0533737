"""The Dask engine: the same preparation, k-means sweep and outlier scores, on a cluster.

``vehiclust run --engine dask [--scheduler ADDRESS]`` uses these in place of the local
classes and gets the local engine's results (same data, same seed); without an address a
LocalCluster with two worker processes is started. Needs the ``dask`` extra
(``pip install 'vehiclust[dask]'``).
"""

from vehiclust.distributed._arrays import row_chunked
from vehiclust.distributed._client import close_clients, get_client
from vehiclust.distributed.cluster import DaskClusterSelector
from vehiclust.distributed.outliers import DaskOutlierEnsemble, dask_knn_graph, dask_outlier_scores
from vehiclust.distributed.prepare import DaskPreparer

__all__ = [
    "DaskClusterSelector",
    "DaskOutlierEnsemble",
    "DaskPreparer",
    "close_clients",
    "dask_knn_graph",
    "dask_outlier_scores",
    "get_client",
    "row_chunked",
]
