"""Leiden community detection on the shared-neighbour k-NN graph of the prepared rows.

The graph is the one :func:`vehiclust.neighbors.knn_graph` builds once per descriptor set
(the outlier detectors and the maps use it too). Up to ``exact_max_rows`` rows it is exact
over every row and Leiden runs on every row. Above, every row's neighbours are searched
among a seeded reference sample (exact search); the sample rows' own neighbours are sample rows,
so Leiden runs on the sample's graph and every other row takes the community most of its
``n_neighbors`` nearest sample rows belong to (nearer rows break ties).

Edges are weighted by the Jaccard overlap of the two rows' neighbour lists (each list with
its row): two rows that share most neighbours sit in the same dense region, a link between
two regions shares few. Communities maximise modularity with a resolution parameter
(Reichardt-Bornholdt configuration model): a higher resolution gives more, smaller
communities, so the resolution plays the role of k. Communities smaller than
``min_cluster_size`` join the community they have the most edge weight to, so every row is
labelled and no cluster is a crumb.

Leiden: Traag, Waltman & van Eck, Sci. Rep. 9, 5233 (2019); the implementation is
graspologic-native (MIT). Shared-neighbour weights as in PhenoGraph (Levine et al. 2015).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_array

from vehiclust.cluster.rows import row_work
from vehiclust.exceptions import InputError
from vehiclust.neighbors import KNNGraph
from vehiclust.seeds import draw_seed

__all__ = ["LeidenClustering", "leiden_labels", "shared_neighbour_graph", "spread_labels"]


def shared_neighbour_graph(graph: KNNGraph, chunk: int = 65_536) -> tuple[sp.csr_matrix, np.ndarray]:
    """(symmetric Jaccard-weighted adjacency over the graph's nodes, node row numbers).

    The nodes are every row for an all-rows graph, the reference sample otherwise (whose
    neighbours are all sample rows). Weight of i-j: |N(i)+i & N(j)+j| / |N(i)+i | N(j)+j|.
    """
    n = graph.indices.shape[0]
    nodes = np.arange(n) if graph.reference is None else np.asarray(graph.reference, dtype=np.int64)
    m, k = nodes.size, graph.k
    if graph.reference is None:
        local = graph.indices
    else:  # sample rows → 0..m-1; their neighbours are sample rows
        local = np.searchsorted(nodes, graph.indices[nodes])
    own = np.concatenate([np.arange(m)[:, None], local], axis=1)
    own.sort(axis=1)
    src = np.repeat(np.arange(m), k)
    dst = local.reshape(-1)
    weights = np.empty(src.size, dtype=np.float64)
    for a in range(0, src.size, chunk):  # overlap of two sorted lists, one edge block at a time
        A, B = own[src[a:a + chunk]], own[dst[a:a + chunk]]
        pos = np.minimum(_batched_searchsorted(B, A), k)
        inter = (np.take_along_axis(B, pos, axis=1) == A).sum(axis=1)
        weights[a:a + chunk] = inter / (2.0 * (k + 1) - inter)
    W = sp.csr_matrix((weights, (src, dst)), shape=(m, m))
    W = W.maximum(W.T).tocsr()  # the weight is symmetric; an edge found from either side counts
    W.sort_indices()
    return W, nodes


def _batched_searchsorted(sorted_rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row-wise ``searchsorted(sorted_rows[i], values[i])`` for small sorted int rows."""
    offset = (np.arange(sorted_rows.shape[0], dtype=np.int64) * (int(max(sorted_rows.max(), values.max())) + 1))[:, None]
    flat = (sorted_rows + offset).ravel()
    return np.searchsorted(flat, values + offset) - (np.arange(sorted_rows.shape[0]) * sorted_rows.shape[1])[:, None]


def leiden_labels(W: sp.csr_matrix, resolution: float, seed: int, n_iterations: int = 2) -> np.ndarray:
    """Leiden communities (modularity with ``resolution``) of the weighted graph ``W``, int64 0..c-1."""
    import graspologic_native as gn

    m = W.shape[0]
    if W.nnz == 0:
        return np.arange(m, dtype=np.int64)
    seed = int(seed) & 0x7FFFFFFF
    if hasattr(gn, "leiden_csr"):  # graspologic-native >= 1.3: no Python edge list
        _, parts = gn.leiden_csr(W.indptr.astype(np.int64), W.indices.astype(np.int32), W.data.astype(np.float64),
                                 m, resolution=float(resolution), iterations=int(n_iterations), seed=seed)
    else:  # pragma: no cover - graspologic-native 1.2
        coo = sp.triu(W, k=1).tocoo()
        edges = [(str(i), str(j), float(w)) for i, j, w in zip(coo.row, coo.col, coo.data)]
        _, named = gn.leiden(edges, resolution=float(resolution), iterations=int(n_iterations), seed=seed)
        parts = {int(i): c for i, c in named.items()}
    labels = np.full(m, -1, dtype=np.int64)
    ids = np.fromiter(parts.keys(), dtype=np.int64, count=len(parts))
    labels[ids] = np.fromiter(parts.values(), dtype=np.int64, count=len(parts))
    lonely = labels < 0  # a node without edges is its own community
    labels[lonely] = labels.max() + 1 + np.arange(lonely.sum())
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def merge_small(W: sp.csr_matrix, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Communities below ``min_size`` rows join the community they share the most weight with
    (smallest first, sizes updated as they merge); relabelled 0..c-1 by size, largest first."""
    labels = labels.copy()
    settled: set[int] = set()  # small communities with no edge out (isolated components)
    while True:
        sizes = np.bincount(labels)
        small = [c for c in np.argsort(sizes, kind="stable") if 0 < sizes[c] < min_size and c not in settled]
        if not small or np.count_nonzero(sizes) <= 1:
            break
        c = int(small[0])
        rows = np.flatnonzero(labels == c)
        sub = W[rows].tocoo()
        target = labels[sub.col]
        out = target != c
        if not out.any():
            settled.add(c)
            continue
        link = np.bincount(target[out], weights=sub.data[out], minlength=sizes.size)
        labels[rows] = int(np.argmax(link))
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")
    remap = np.empty(sizes.size, dtype=np.int64)
    remap[order] = np.arange(sizes.size)
    return np.unique(remap[labels], return_inverse=True)[1].astype(np.int64)


def spread_labels(graph: KNNGraph, nodes: np.ndarray, node_labels: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Labels for every row: the nodes' own, and for the other rows the label most of their
    neighbours (all nodes) carry, the nearer neighbour breaking a tie."""
    n = graph.indices.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    labels[nodes] = node_labels
    rest = np.setdiff1d(np.arange(n), nodes, assume_unique=True)
    if rest.size == 0:
        return labels
    c = int(node_labels.max()) + 1
    k = graph.k
    # nearer neighbours weigh slightly more: a majority always wins, a tie goes to the nearer
    w = 1.0 + (k - np.arange(k)) / (k * (k + 1.0))
    for a in range(0, rest.size, chunk):
        rows = rest[a:a + chunk]
        neigh = labels[graph.indices[rows]]  # neighbours are nodes: already labelled
        cells = (np.arange(rows.size)[:, None] * c + neigh).ravel()
        votes = np.bincount(cells, weights=np.tile(w, rows.size), minlength=rows.size * c)
        labels[rows] = votes.reshape(rows.size, c).argmax(axis=1)
    return labels


class LeidenClustering(ClusterMixin, BaseEstimator):
    """Leiden communities of the shared-neighbour k-NN graph; every row labelled.

    Parameters
    ----------
    resolution : modularity resolution (> 0); higher gives more, smaller clusters.
    n_neighbors : neighbours per row in the k-NN graph.
    min_cluster_size : communities below this many graph nodes join their best-linked
        neighbour community; None = max(5, 0.2 % of the nodes).
    n_iterations : Leiden cycles (each starts from the previous partition).
    exact_max_rows, reference_size : see :func:`vehiclust.neighbors.knn_graph`.
    random_state : seed of the graph sample and of Leiden; the same seed gives the same labels.

    Attributes
    ----------
    labels_ : (n,) int64, 0..n_clusters_-1, largest cluster first.
    n_clusters_ : number of clusters.
    graph_nodes_ : row numbers Leiden ran on (every row, or the reference sample).
    """

    def __init__(self, resolution: float = 0.5, n_neighbors: int = 15, *, min_cluster_size: int | None = None,
                 n_iterations: int = 2, exact_max_rows: int = 60_000, reference_size: int = 20_000,
                 random_state=None) -> None:
        self.resolution = resolution
        self.n_neighbors = n_neighbors
        self.min_cluster_size = min_cluster_size
        self.n_iterations = n_iterations
        self.exact_max_rows = exact_max_rows
        self.reference_size = reference_size
        self.random_state = random_state

    def _check_params(self) -> None:
        if not isinstance(self.resolution, numbers.Real) or isinstance(self.resolution, bool) or not self.resolution > 0:
            raise InputError(f"The 'resolution' parameter of LeidenClustering must be a float in (0, inf). Got {self.resolution!r}.")
        for name, low in (("n_neighbors", 1), ("n_iterations", 1)):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
                raise InputError(f"The '{name}' parameter of LeidenClustering must be an int in [{low}, inf). Got {v!r}.")
        m = self.min_cluster_size
        if m is not None and (not isinstance(m, numbers.Integral) or isinstance(m, bool) or m < 1):
            raise InputError(f"The 'min_cluster_size' parameter of LeidenClustering must be None or an int in [1, inf). Got {m!r}.")

    def fit(self, X, y=None, graph: KNNGraph | None = None) -> "LeidenClustering":
        """``graph``: a k-NN graph of ``X`` already built (:func:`vehiclust.neighbors.knn_graph`,
        at least ``n_neighbors`` per row); else one is built here."""
        self._check_params()
        X = check_array(X, dtype=np.float32, order="C", ensure_min_samples=2)
        seed = draw_seed(self.random_state)
        W, nodes, graph = self.shared_graph(X, graph, seed)
        self.labels_ = self.partition(W, nodes, graph, self.resolution, seed)
        self.n_clusters_ = int(self.labels_.max()) + 1
        self.graph_nodes_ = nodes
        self.n_features_in_ = X.shape[1]
        return self

    def shared_graph(self, X: np.ndarray, graph: KNNGraph | None, seed: int) -> tuple[sp.csr_matrix, np.ndarray, KNNGraph]:
        """(weighted adjacency, its node rows, the k-NN graph) of ``X``: the part that does not
        depend on the resolution, so a sweep builds it once."""
        n = X.shape[0]
        k = int(min(self.n_neighbors, n - 1))
        if graph is None or graph.indices.shape[0] != n or graph.k < k:
            graph = row_work().knn_graph(X, k, exact_max_rows=self.exact_max_rows, reference_size=self.reference_size,
                              random_state=seed, progress=False)
        graph = graph.head(k)
        W, nodes = shared_neighbour_graph(graph)
        return W, nodes, graph

    def partition(self, W: sp.csr_matrix, nodes: np.ndarray, graph: KNNGraph, resolution: float, seed: int) -> np.ndarray:
        """Every row's community at ``resolution`` on the prepared graph."""
        node_labels = leiden_labels(W, resolution, seed, self.n_iterations)
        min_size = self.min_cluster_size or max(5, int(np.ceil(0.002 * nodes.size)))
        node_labels = merge_small(W, node_labels, min_size)
        return spread_labels(graph, nodes, node_labels)

    def fit_predict(self, X, y=None, graph: KNNGraph | None = None) -> np.ndarray:
        return self.fit(X, graph=graph).labels_
