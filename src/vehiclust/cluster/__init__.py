"""Clustering engine: several families swept over k, scored in one space, one chosen.

See docs/clustering.md ("How the clustering is chosen") for the rule.
"""

from vehiclust.cluster._families import FAMILIES, available_families, make_family
from vehiclust.cluster._reference import NullReference
from vehiclust.cluster._rule import summarise
from vehiclust.cluster.external import external_agreement, purity
from vehiclust.cluster.kmeans import FaissKMeans
from vehiclust.cluster.metrics import (
    calinski_harabasz,
    davies_bouldin,
    sampled_silhouette,
    size_balance,
    typicality,
)
from vehiclust.cluster.plot import plot_selection_curves
from vehiclust.cluster._sizing import k_grid, sweep_params
from vehiclust.cluster.selector import ClusterSelector

__all__ = [
    "FAMILIES",
    "ClusterSelector",
    "FaissKMeans",
    "NullReference",
    "available_families",
    "calinski_harabasz",
    "davies_bouldin",
    "external_agreement",
    "k_grid",
    "make_family",
    "plot_selection_curves",
    "purity",
    "sampled_silhouette",
    "size_balance",
    "summarise",
    "sweep_params",
    "typicality",
]
