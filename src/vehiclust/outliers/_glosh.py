"""GLOSH (Campello et al. 2015): how early a row leaves its density cluster as density rises.

Computed on the shared faiss k-NN graph: mutual-reachability weights on its edges, scipy's
minimum spanning tree, single linkage, the HDBSCAN condensed tree, then the score. No
numba compilation (fast_hdbscan's high-dimensional path JIT-compiles pynndescent, minutes on
a busy two-core machine). The condensing is a Python loop, so above ``max_rows`` the
detector is skipped (``available_`` False, scores 0) and logged.
"""

from __future__ import annotations

import logging
import numbers
from collections import deque

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from vehiclust.exceptions import InputError
from vehiclust.outliers._base import BaseDetector
from vehiclust.outliers._neighbors import AcceptsGraph, KNNGraph, knn_graph

log = logging.getLogger(__name__)


class GLOSHDetector(AcceptsGraph, BaseDetector):
    """Global-local outlier score from hierarchies, in [0, 1] (1 = leaves its cluster first)."""

    name = "glosh"
    reason = "low_density"

    def __init__(
        self,
        min_cluster_size: int = 15,
        min_samples: int = 10,
        max_rows: int = 30_000,
        *,
        cut: float = 3.5,
        contamination: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(cut=cut, contamination=contamination)
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.max_rows = max_rows
        self.random_state = random_state

    def _validate_params_extra(self, X: np.ndarray) -> None:
        for pname, low in (("min_cluster_size", 2), ("min_samples", 1), ("max_rows", 1)):
            v = getattr(self, pname)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
                raise InputError(f"The '{pname}' parameter of GLOSHDetector must be an int in [{low}, inf). Got {v!r}.")

    def _decision_scores(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        n = len(X)
        self.available_ = False
        if n > self.max_rows:
            log.info("GLOSH skipped: %d rows > max_rows=%d", n, self.max_rows)
            return np.zeros(n)
        if n < 2 * self.min_cluster_size:
            return np.zeros(n)
        k = int(min(self.min_samples, n - 1))
        g = self._graph
        if g is None or g.indices.shape[0] != n or g.k < k or g.reference is not None:
            g = knn_graph(X, k, exact_max_rows=max(n, 1), random_state=self.random_state)  # all rows
        self.available_ = True
        return glosh_from_graph(g, min_samples=k, min_cluster_size=self.min_cluster_size)


def glosh_from_graph(graph: KNNGraph, *, min_samples: int, min_cluster_size: int) -> np.ndarray:
    """GLOSH scores of every row from its k-NN graph (k >= ``min_samples``)."""
    tree = condensed_tree(graph, min_samples=min_samples, min_cluster_size=min_cluster_size)
    return glosh_scores(tree, graph.indices.shape[0])


def condensed_tree(graph: KNNGraph, *, min_samples: int, min_cluster_size: int) -> np.ndarray:
    """HDBSCAN's condensed tree of the rows of a k-NN graph (mutual reachability, its minimum
    spanning tree, single linkage)."""
    idx, dist = graph.indices, graph.distances.astype(np.float64)
    n = idx.shape[0]
    core = dist[:, min_samples - 1]
    rows = np.repeat(np.arange(n), idx.shape[1])
    cols = idx.ravel()
    w = np.maximum(np.maximum(core[rows], core[cols]), dist.ravel())
    # zero weights would vanish from the sparse graph: shift all by a tiny amount
    eps = max(float(w[w > 0].min()) * 1e-6, 1e-12) if (w > 0).any() else 1e-12
    graph_m = coo_matrix((w + eps, (rows, cols)), shape=(n, n)).tocsr()
    mst = minimum_spanning_tree(graph_m).tocoo()
    a, b, weight = mst.row.astype(np.int64), mst.col.astype(np.int64), mst.data - eps
    n_comp, comp = connected_components(graph_m, directed=False)
    if n_comp > 1:
        # join the pieces of a disconnected k-NN graph above every real edge (lambda ~ 0)
        reps = np.array([np.flatnonzero(comp == c)[0] for c in range(n_comp)])
        top = float(weight.max(initial=1.0)) * 1e6 + 1.0
        a = np.concatenate([a, reps[:-1]])
        b = np.concatenate([b, reps[1:]])
        weight = np.concatenate([weight, np.full(n_comp - 1, top)])
    order = np.argsort(weight, kind="stable")
    linkage = _single_linkage(a[order], b[order], weight[order], n)
    return _condense(linkage, n, min_cluster_size)


def _single_linkage(a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Sorted MST edges → (n-1, 4) linkage rows: left, right, distance, size."""
    parent = np.arange(2 * n - 1)
    size = np.ones(2 * n - 1, dtype=np.int64)
    out = np.zeros((n - 1, 4), dtype=np.float64)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for i, (u, v, d) in enumerate(zip(a.tolist(), b.tolist(), w.tolist())):
        ru, rv = find(u), find(v)
        new = n + i
        out[i] = (ru, rv, d, size[ru] + size[rv])
        parent[ru] = parent[rv] = new
        size[new] = size[ru] + size[rv]
    return out


def _condense(linkage: np.ndarray, n: int, min_cluster_size: int) -> np.ndarray:
    """HDBSCAN's condensed tree (parent, child, lambda_val, child_size) from a linkage."""
    root = 2 * n - 2
    left = linkage[:, 0].astype(np.int64)
    right = linkage[:, 1].astype(np.int64)
    dist = linkage[:, 2]
    sizes = np.concatenate([np.ones(n, dtype=np.int64), linkage[:, 3].astype(np.int64)])
    relabel = np.zeros(2 * n - 1, dtype=np.int64)
    relabel[root] = n
    next_label = n + 1
    ignore = np.zeros(2 * n - 1, dtype=bool)
    parents: list[int] = []
    children: list[int] = []
    lambdas: list[float] = []
    csizes: list[int] = []

    def emit_points(node: int, parent_label: int, lam: float) -> None:
        queue = deque([node])
        while queue:
            x = queue.popleft()
            ignore[x] = True
            if x < n:
                parents.append(parent_label)
                children.append(x)
                lambdas.append(lam)
                csizes.append(1)
            else:
                queue.append(int(left[x - n]))
                queue.append(int(right[x - n]))

    queue = deque([root])
    while queue:
        node = queue.popleft()
        if node < n or ignore[node]:
            continue
        i = node - n
        l, r, d = int(left[i]), int(right[i]), float(dist[i])
        lam = 1.0 / d if d > 0 else np.inf
        lc, rc = int(sizes[l]), int(sizes[r])
        me = int(relabel[node])
        if lc >= min_cluster_size and rc >= min_cluster_size:
            for child, cnt in ((l, lc), (r, rc)):
                relabel[child] = next_label
                next_label += 1
                parents.append(me)
                children.append(int(relabel[child]))
                lambdas.append(lam)
                csizes.append(cnt)
                queue.append(child)
        elif lc < min_cluster_size and rc < min_cluster_size:
            emit_points(l, me, lam)
            emit_points(r, me, lam)
        elif lc < min_cluster_size:
            relabel[r] = me
            emit_points(l, me, lam)
            queue.append(r)
        else:
            relabel[l] = me
            emit_points(r, me, lam)
            queue.append(l)
    tree = np.zeros(len(parents), dtype=[("parent", np.int64), ("child", np.int64), ("lambda_val", np.float64), ("child_size", np.int64)])
    tree["parent"], tree["child"], tree["lambda_val"], tree["child_size"] = parents, children, lambdas, csizes
    return tree


def glosh_scores(tree: np.ndarray, n_points: int) -> np.ndarray:
    """GLOSH from a condensed tree (records parent, child, lambda_val): 1 - λ_point / λ_max."""
    lam_p, lam_max = point_lambdas(tree, n_points)
    scores = np.zeros(n_points, dtype=np.float64)
    ok = (lam_max > 0) & np.isfinite(lam_p)
    scores[ok] = (lam_max[ok] - lam_p[ok]) / lam_max[ok]
    return np.clip(scores, 0.0, 1.0)


def point_lambdas(tree: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a condensed tree: (λ at which it leaves its cluster, the largest λ of that
    cluster's subtree); rows not in the tree get (0, 0)."""
    parent = np.asarray(tree["parent"], dtype=np.int64)
    child = np.asarray(tree["child"], dtype=np.int64)
    lam = np.asarray(tree["lambda_val"], dtype=np.float64)
    lam_p, lam_max = np.zeros(n_points), np.zeros(n_points)
    if parent.size == 0:
        return lam_p, lam_max
    top = int(max(parent.max(), child.max())) + 1
    finite_lam = np.where(np.isfinite(lam), lam, 0.0)
    deaths = np.zeros(top, dtype=np.float64)
    np.maximum.at(deaths, parent, finite_lam)
    # propagate the deepest death up the cluster hierarchy (children ids exceed parents')
    cluster_rows = np.flatnonzero(child >= n_points)
    for r in cluster_rows[np.argsort(-child[cluster_rows], kind="stable")]:
        deaths[parent[r]] = max(deaths[parent[r]], deaths[child[r]])
    point_rows = np.flatnonzero(child < n_points)
    lam_max[child[point_rows]] = deaths[parent[point_rows]]
    lam_p[child[point_rows]] = lam[point_rows]
    return lam_p, lam_max
