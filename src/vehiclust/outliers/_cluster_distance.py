"""Distance to the assigned cluster's centre, in units of that cluster's typical spread.

Dividing by the cluster's median member distance makes a loose cluster's edge as normal as
a tight cluster's edge, so the reason ``far_from_cluster`` means "unlike its own group".
"""

from __future__ import annotations

import numpy as np

from vehiclust.outliers._base import BaseDetector


class ClusterDistanceDetector(BaseDetector):
    """``fit(X, labels)``: rows far from their cluster's centre (unassigned rows: nearest centre).

    ``centers`` may be passed (e.g. a fitted selector's ``cluster_centers_``, one row per
    label 0..k-1); otherwise they are the label means.
    """

    name = "cluster_distance"
    reason = "far_from_cluster"

    def __init__(
        self,
        centers: np.ndarray | None = None,
        *,
        cut: float = 3.5,
        contamination: float | None = None,
    ) -> None:
        super().__init__(cut=cut, contamination=contamination)
        self.centers = centers

    def _decision_scores(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        n = len(X)
        labels = np.full(n, -1, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
        if labels.shape != (n,):
            from vehiclust.exceptions import InputError

            raise InputError(f"ClusterDistanceDetector.fit got {labels.shape[0]} labels for {n} rows.")
        ids = np.unique(labels[labels >= 0])
        centers = self._centers(X, labels, ids)
        if centers.shape[0] == 0:
            centre = X.mean(axis=0, dtype=np.float64)[None, :].astype(np.float32)
            d = _dist(X, centre)[:, 0]
            scale = np.median(d) or 1.0
            self.cluster_centers_ = centre
            return d / scale
        # own centre for assigned rows, nearest for unassigned
        pos = np.full(n, -1, dtype=np.int64)
        pos[labels >= 0] = np.searchsorted(ids, labels[labels >= 0])
        d = np.empty(n, dtype=np.float64)
        assigned = pos >= 0
        diff = X[assigned] - centers[pos[assigned]]
        d[assigned] = np.sqrt(np.einsum("ij,ij->i", diff, diff, dtype=np.float64))
        if (~assigned).any():
            dd = _dist(X[~assigned], centers)
            pos[~assigned] = dd.argmin(axis=1)
            d[~assigned] = dd.min(axis=1)
        # per-cluster scale: median distance of its assigned members
        scale = np.ones(len(ids), dtype=np.float64)
        for j in range(len(ids)):
            member = assigned & (pos == j)
            m = float(np.median(d[member])) if member.any() else 0.0
            scale[j] = m if m > 0 else (float(np.median(d[assigned])) or 1.0)
        self.cluster_centers_ = centers
        return d / scale[pos]

    def _centers(self, X: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
        given = self.centers
        if given is not None:
            c = np.asarray(given, dtype=np.float32)
            if c.ndim == 2 and c.shape[1] == X.shape[1] and (len(ids) == 0 or ids.max() < c.shape[0]):
                return c[ids] if len(ids) else c
        out = np.zeros((len(ids), X.shape[1]), dtype=np.float64)
        pos = np.searchsorted(ids, labels[labels >= 0])
        np.add.at(out, pos, X[labels >= 0])
        out /= np.bincount(pos, minlength=len(ids))[:, None]
        return out.astype(np.float32)


def _dist(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(A), len(C)), blockwise to bound memory."""
    out = np.empty((len(A), len(C)), dtype=np.float64)
    c2 = np.einsum("ij,ij->i", C, C, dtype=np.float64)
    for s in range(0, len(A), 65536):
        a = A[s : s + 65536]
        a2 = np.einsum("ij,ij->i", a, a, dtype=np.float64)
        out[s : s + 65536] = np.sqrt(np.maximum(a2[:, None] + c2[None, :] - 2.0 * (a @ C.T), 0.0))
    return out
