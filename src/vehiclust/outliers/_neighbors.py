"""The k-NN graph the neighbourhood detectors share (built in :mod:`vehiclust.neighbors`)."""

from __future__ import annotations

import numpy as np

from vehiclust.neighbors import KNNGraph, drop_self, knn_graph

__all__ = ["AcceptsGraph", "KNNGraph", "drop_self", "knn_graph"]


class AcceptsGraph:
    """Mixin: ``fit(X, graph=...)`` reuses a k-NN graph the ensemble already built."""

    _graph: KNNGraph | None = None

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, graph: KNNGraph | None = None):  # type: ignore[no-untyped-def]
        self._graph = graph
        try:
            return super().fit(X, y)  # type: ignore[misc]
        finally:
            self._graph = None
