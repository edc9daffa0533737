"""2-D / 3-D maps of every row: fit a layout on a seeded sample, place the rest by k-NN.

umap-learn with its defaults needs about five minutes for 416,314 x 64 rows on two cores, most
of it in the nearest-neighbour graph and 200 optimisation epochs over every row. The map is a
picture: a layout of a few tens of thousands of rows already fixes where every cluster goes.
So :class:`MapEmbedder` lays out a random sample with the chosen method and puts every other
row at the distance-weighted mean of the coordinates of its ``placement_k`` nearest sample rows
(exact faiss search in the prepared space). ``bench/maps.py`` measures what this costs in
neighbourhood preservation against umap-learn's defaults on all rows.
"""

from __future__ import annotations

import logging
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from vehiclust import progress as _progress
from vehiclust.embed._umap_small import SMALL_DATA_ROWS, small_umap
from vehiclust.neighbors import KNNGraph, knn
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

METHODS = ("umap", "tsne", "pca")
# Below this many rows a neighbour-graph layout is meaningless; PCA is used instead.
MIN_ROWS_NONLINEAR = 10
_PLACE_CHUNK = 65_536
#: Up to this many laid-out rows the UMAP neighbours are exact (faiss), not umap-learn's descent.
EXACT_LAYOUT_ROWS = 50_000


class MapEmbedder(TransformerMixin, BaseEstimator):
    """Low-dimensional map coordinates for every row of a prepared descriptor matrix.

    Parameters
    ----------
    method : {"umap", "tsne", "pca"}
        Layout of the sample. "tsne" uses scikit-learn's Barnes-Hut t-SNE.
    n_components : int
        2 or 3 map dimensions.
    sample_size : int or None
        Rows laid out by ``method``; the rest are placed by k-NN. ``None`` lays out every row.
    n_neighbors : int
        UMAP's neighbourhood size (t-SNE uses ``perplexity = n_neighbors * 2``).
    n_epochs : int or None
        UMAP optimisation epochs. 200 is umap-learn's own choice for large data; ``None`` keeps
        umap-learn's default for the sample size (500 below 10,000 rows: 2.5x the time).
    placement_k : int
        Sample neighbours whose coordinates are averaged to place a row that was not laid out.
    random_state : int, RandomState or None
        Seeds the sample and the layout; same seed, same map.
    progress : bool or None
        Progress bar while placing rows; ``None`` follows the library-wide switch.
    """

    def __init__(
        self,
        method: str = "umap",
        n_components: int = 2,
        sample_size: int | None = 20_000,
        n_neighbors: int = 15,
        n_epochs: int | None = 200,
        placement_k: int = 10,
        random_state=None,
        progress: bool | None = None,
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.sample_size = sample_size
        self.n_neighbors = n_neighbors
        self.n_epochs = n_epochs
        self.placement_k = placement_k
        self.random_state = random_state
        self.progress = progress

    # ---- validation ----------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"The 'method' parameter of MapEmbedder must be one of {list(METHODS)}. Got {self.method!r}.")
        if not isinstance(self.n_components, Integral) or self.n_components not in (2, 3):
            raise InputError(f"The 'n_components' parameter of MapEmbedder must be 2 or 3. Got {self.n_components!r}.")
        if self.sample_size is not None and (not isinstance(self.sample_size, Integral) or self.sample_size < 2):
            raise InputError(f"The 'sample_size' parameter of MapEmbedder must be an int in [2, inf) or None. Got {self.sample_size!r}.")
        for name in ("n_neighbors", "placement_k"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or value < 1:
                raise InputError(f"The '{name}' parameter of MapEmbedder must be an int in [1, inf). Got {value!r}.")
        if self.n_epochs is not None and (not isinstance(self.n_epochs, Integral) or self.n_epochs < 1):
            raise InputError(f"The 'n_epochs' parameter of MapEmbedder must be an int in [1, inf) or None. Got {self.n_epochs!r}.")

    # ---- public API ----------------------------------------------------------------------
    def fit(self, X, y=None, graph: KNNGraph | None = None) -> "MapEmbedder":
        self.fit_transform(X, graph=graph)
        return self

    def fit_transform(self, X, y=None, graph: KNNGraph | None = None) -> np.ndarray:
        """Coordinates of every row of ``X``, (n_rows, n_components) float32.

        ``graph``: a k-NN graph of ``X`` against a reference sample
        (:func:`vehiclust.neighbors.knn_graph`, shared with the outlier stage); its sample is
        laid out and its neighbours place the other rows, so no second search is needed.
        ``sample_size`` is then the graph's.
        """
        self._check_params()
        X = check_array(X, dtype=np.float32, order="C", ensure_min_samples=1)
        n = X.shape[0]
        rng = check_random_state(self.random_state)
        use_graph = (graph is not None and graph.reference is not None and self.method != "pca"
                     and graph.indices.shape[0] == n and graph.k >= 1)
        if use_graph:
            sample = np.asarray(graph.reference)
        elif self.method == "pca" or self.sample_size is None or n <= self.sample_size:
            sample = np.arange(n)
        else:
            sample = np.sort(rng.choice(n, size=self.sample_size, replace=False))
        X_sample = X[sample] if sample.size < n else X
        # an exact graph over every row (small data) gives a small-data UMAP its neighbours
        exact = graph if graph is not None and graph.reference is None and sample.size == n else None
        Y_sample, method_used = self._layout(X_sample, rng, exact)
        self.method_ = method_used
        self.sample_indices_ = sample
        self._X_sample = np.ascontiguousarray(X_sample)
        self.sample_embedding_ = Y_sample
        if sample.size == n:
            Y = Y_sample
        else:
            Y = np.empty((n, self.n_components), dtype=np.float32)
            rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
            Y[sample] = Y_sample
            if use_graph:
                k = min(self.placement_k, graph.k)
                pos = np.searchsorted(sample, graph.indices[rest, :k])
                Y[rest] = self._weighted(graph.distances[rest, :k], pos)
            else:
                Y[rest] = self._place(X[rest])
        self.embedding_ = Y
        self.n_features_in_ = X.shape[1]
        return Y

    def transform(self, X) -> np.ndarray:
        """Place new rows by k-NN among the laid-out sample (no re-layout)."""
        check_is_fitted(self, "sample_embedding_")
        X = check_array(X, dtype=np.float32, order="C", ensure_min_samples=1)
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"MapEmbedder was fitted on {self.n_features_in_} columns; X has {X.shape[1]}.")
        return self._place(X)

    # ---- internals -----------------------------------------------------------------------
    def _layout(self, X: np.ndarray, rng: np.random.RandomState, graph: KNNGraph | None = None) -> tuple[np.ndarray, str]:
        n, d = X.shape
        method = self.method
        distinct = n if n > 2000 else len(np.unique(X, axis=0))
        if method != "pca" and (n < MIN_ROWS_NONLINEAR or distinct < MIN_ROWS_NONLINEAR):
            log.info("map: %d rows (%d distinct) are too few for %s; using PCA", n, distinct, method)
            method = "pca"
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if method == "pca":
            Y = _pca(X, self.n_components)
        elif method == "umap":
            Y = self._umap(X, seed, graph)
        else:
            Y = self._tsne(X, seed)
        Y = np.asarray(Y, dtype=np.float32)
        if not np.all(np.isfinite(Y)):
            raise InputError(f"The {method} layout produced non-finite coordinates for {np.sum(~np.isfinite(Y).all(1))} rows.")
        return Y, method

    def _umap(self, X: np.ndarray, seed: int, graph: KNNGraph | None = None) -> np.ndarray:
        n_neighbors = min(self.n_neighbors, X.shape[0] - 1)
        init = "pca" if X.shape[0] > self.n_components + 1 else "random"
        # Below SMALL_DATA_ROWS umap-learn takes a slow all-pairs path; up to EXACT_LAYOUT_ROWS (the
        # 20,000-row map sample) its nearest-neighbour descent costs ~45 CPU-s of numba compiling
        # in every process that draws a map, more than the exact faiss graph and the layout.
        if X.shape[0] < max(SMALL_DATA_ROWS, EXACT_LAYOUT_ROWS):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="umap")
                warnings.filterwarnings("ignore", message="Graph is not fully connected")
                return small_umap(X, self.n_components, n_neighbors, self.n_epochs, seed, init, graph)
        import umap

        reducer = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=n_neighbors,
            n_epochs=self.n_epochs,
            random_state=seed,
            # PCA init: deterministic and far cheaper than the spectral init's eigsh on 20k rows.
            init=init,
        )
        with warnings.catch_warnings():
            # umap warns that a seed disables parallelism and about tiny graphs; both are expected.
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            warnings.filterwarnings("ignore", message=".*n_jobs.*")
            warnings.filterwarnings("ignore", message="Graph is not fully connected")
            return reducer.fit_transform(X)

    def _tsne(self, X: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.manifold import TSNE

        perplexity = float(min(2 * self.n_neighbors, max(2, (X.shape[0] - 1) // 3)))
        tsne = TSNE(
            n_components=self.n_components,
            perplexity=perplexity,
            init="pca",
            random_state=seed,
            method="barnes_hut" if self.n_components <= 3 else "exact",
        )
        # Below a few thousand rows OpenMP start-up and spin-waiting cost more than they save
        # (40x slower on a busy 2-core machine); one thread is faster.
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1 if X.shape[0] < 5000 else None, user_api="openmp"):
            return tsne.fit_transform(X)

    def _place(self, X: np.ndarray) -> np.ndarray:
        base = self._X_sample
        k = min(self.placement_k, base.shape[0])
        out = np.empty((X.shape[0], self.n_components), dtype=np.float32)
        starts = range(0, X.shape[0], _PLACE_CHUNK)
        for start in _progress.track(starts, "placing map rows", disable=None if self.progress is None else not self.progress):
            chunk = np.ascontiguousarray(X[start:start + _PLACE_CHUNK])
            dist, idx = knn(base, chunk, k)
            out[start:start + _PLACE_CHUNK] = self._weighted(np.sqrt(np.maximum(dist, 0.0)), idx)
        return out


    def _weighted(self, dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Inverse-distance mean of sample coordinates; an exact duplicate lands on its twin."""
        w = 1.0 / (dist.astype(np.float32) + 1e-6)
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkc->nc", w, self.sample_embedding_[idx]).astype(np.float32)


def _pca(X: np.ndarray, n_components: int) -> np.ndarray:
    """PCA coordinates, zero-padded when there are fewer usable directions than components."""
    n, d = X.shape
    Y = np.zeros((n, n_components), dtype=np.float32)
    if n < 2:
        return Y
    from sklearn.decomposition import PCA

    m = min(n_components, d, n - 1)
    centred_var = float(np.var(X, axis=0).sum())
    if centred_var <= 0:
        return Y
    Y[:, :m] = PCA(n_components=m, svd_solver="full" if n * d < 5_000_000 else "randomized", random_state=0).fit_transform(X)
    return Y


def embed(X, method: str = "umap", n_components: int = 2, sample_size: int | None = 20_000,
          random_state=None, **kwargs) -> np.ndarray:
    """Function form of :class:`MapEmbedder`: coordinates of every row."""
    return MapEmbedder(method=method, n_components=n_components, sample_size=sample_size,
                       random_state=random_state, **kwargs).fit_transform(X)
