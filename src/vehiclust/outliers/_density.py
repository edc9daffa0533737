"""Neighbourhood detectors on the faiss k-NN graph: k-NN distance and local outlier factor.

LOF is computed from the same graph (no brute-force pairwise matrix), so both detectors cost
one k-NN search even at 416k rows.
"""

from __future__ import annotations

import numbers
from abc import abstractmethod

import numpy as np

from vehiclust.exceptions import InputError
from vehiclust.outliers._base import BaseDetector
from vehiclust.outliers._neighbors import AcceptsGraph, KNNGraph, knn_graph


class _GraphDetector(AcceptsGraph, BaseDetector):
    def __init__(
        self,
        n_neighbors: int = 10,
        *,
        cut: float = 3.5,
        contamination: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(cut=cut, contamination=contamination)
        self.n_neighbors = n_neighbors
        self.random_state = random_state

    def _validate_params_extra(self, X: np.ndarray) -> None:
        k = self.n_neighbors
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise InputError(
                f"The 'n_neighbors' parameter of {type(self).__name__} must be an int in [1, inf). Got {k!r}."
            )

    def _neighbours(self, X: np.ndarray) -> KNNGraph:
        k = int(min(self.n_neighbors, max(len(X) - 1, 0)))
        g = self._graph
        if g is not None and g.indices.shape[0] == len(X) and g.k >= k:
            return g.head(k)
        return knn_graph(X, k, random_state=self.random_state)

    alone = 0.0  # every row's score when there is no neighbour to compare with (a single row)

    @abstractmethod
    def _graph_scores(self, g: KNNGraph) -> np.ndarray:
        """Raw scores of the rows from their k-NN graph, higher = more abnormal."""

    def _decision_scores(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        g = self._neighbours(X)
        if g.k == 0:
            return np.full(len(X), self.alone)
        return self._graph_scores(g)


class KNNDistanceDetector(_GraphDetector):
    """Distance to the k-th nearest neighbour: rows far from all the others.

    Misses a dense group of abnormal rows (e.g. road scenes without a vehicle, which look
    alike): use it with the isolation forest and the cluster-centre distance.
    """

    name = "knn"
    reason = "far_from_data"

    alone = 0.0

    def _graph_scores(self, g: KNNGraph) -> np.ndarray:
        return g.distances[:, -1].astype(np.float64)


class LOFDetector(_GraphDetector):
    """Local outlier factor: density of a row relative to the density of its neighbours."""

    name = "lof"
    reason = "low_local_density"

    alone = 1.0

    def _graph_scores(self, g: KNNGraph) -> np.ndarray:
        return local_outlier_factor(g)


def local_outlier_factor(graph: KNNGraph) -> np.ndarray:
    """LOF from a k-NN graph (Breunig et al. 2000), float64, 1 = as dense as its neighbours.

    On a reference-sample graph every neighbour is a reference row whose own neighbours are
    reference rows too, so each row's density is compared with the sample's densities.
    """
    idx, dist = graph.indices, graph.distances.astype(np.float64)
    k_distance = dist[:, -1]
    reach = np.maximum(dist, k_distance[idx])
    mean_reach = reach.mean(axis=1)
    # Duplicates give zero reachability: cap density like scikit-learn does (1e-10).
    lrd = 1.0 / (mean_reach + 1e-10)
    return lrd[idx].mean(axis=1) / lrd
