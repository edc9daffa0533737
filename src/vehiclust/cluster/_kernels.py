"""Numeric kernels for the clustering families: prepared contiguous arrays in, no validation."""

from __future__ import annotations

import numpy as np


def weighted_ward_merges(centroids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ward's agglomeration of weighted points (micro-cluster centroids with their sizes).

    Merging clusters a and b costs w_a w_b / (w_a + w_b) * |c_a - c_b|^2, the increase of the
    within-cluster sum of squares, which is exactly Ward's criterion on the underlying rows if
    every micro-cluster is kept whole. Greedy global-minimum merging with cached row minima.

    Returns (merges, costs): merges[s] = (kept, absorbed) ids of step s; costs[s] its cost.
    With unit weights, sqrt(2 * cost) equals scipy's Ward linkage height.
    """
    C = np.array(centroids, dtype=np.float64)
    w = np.array(weights, dtype=np.float64)
    m = C.shape[0]
    merges = np.zeros((max(m - 1, 0), 2), dtype=np.int64)
    costs = np.zeros(max(m - 1, 0), dtype=np.float64)
    if m < 2:
        return merges, costs
    sq = np.einsum("ij,ij->i", C, C)
    D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (C @ C.T), 0.0)
    D *= (w[:, None] * w[None, :]) / (w[:, None] + w[None, :])
    np.fill_diagonal(D, np.inf)
    nn_idx = D.argmin(1)
    nn_dist = D[np.arange(m), nn_idx]
    active = np.ones(m, dtype=bool)
    for step in range(m - 1):
        i = int(nn_dist.argmin())
        j = int(nn_idx[i])
        a, b = (i, j) if i < j else (j, i)
        merges[step] = (a, b)
        costs[step] = nn_dist[i]
        wa, wb = w[a], w[b]
        C[a] = (wa * C[a] + wb * C[b]) / (wa + wb)
        w[a] = wa + wb
        active[b] = False
        D[b, :] = np.inf
        D[:, b] = np.inf
        nn_dist[b] = np.inf
        diff = C - C[a]
        row = np.einsum("ij,ij->i", diff, diff) * (w[a] * w) / (w[a] + w)
        row[~active] = np.inf
        row[a] = np.inf
        D[a, :] = row
        D[:, a] = row
        if step == m - 2:
            break
        nn_idx[a] = int(row.argmin())
        nn_dist[a] = row[nn_idx[a]]
        stale = np.flatnonzero(active & ((nn_idx == a) | (nn_idx == b)))
        stale = stale[stale != a]
        for r in stale:
            nn_idx[r] = int(D[r].argmin())
            nn_dist[r] = D[r, nn_idx[r]]
        closer = active & (row < nn_dist)
        nn_idx[closer] = a
        nn_dist[closer] = row[closer]
    return merges, costs


def cut_merges(merges: np.ndarray, m: int, ks: list[int]) -> dict[int, np.ndarray]:
    """Labels (0..k-1, by first appearance) of the m leaves for each k in `ks`."""
    rep = np.arange(m)
    wanted = {int(k) for k in ks if 1 <= k <= m}
    out: dict[int, np.ndarray] = {}
    if m in wanted:
        out[m] = np.arange(m)
    for step, (a, b) in enumerate(merges):
        rep[rep == b] = a
        k = m - step - 1
        if k in wanted:
            out[k] = np.unique(rep, return_inverse=True)[1].astype(np.int64)
    return out


def knee_index(values: np.ndarray) -> int:
    """Index of the knee of an increasing curve (the point farthest below its chord)."""
    y = np.asarray(values, dtype=np.float64)
    n = y.size
    if n < 3 or y[-1] == y[0]:
        return n // 2
    x = np.linspace(0.0, 1.0, n)
    yn = (y - y[0]) / (y[-1] - y[0])
    return int(np.argmax(x - yn))
