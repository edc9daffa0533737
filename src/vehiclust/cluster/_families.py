"""The registry of clustering families the selector sweeps, selected by name.

A family turns a parameter dict into labels for EVERY row of the matrix. Families with a
target number of clusters (k-means, Gaussian mixture, Ward) sweep k over the grid; density
families (HDBSCAN, DBSCAN) sweep their own few parameters and report the k they found.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from vehiclust.cache import cache_key
from vehiclust.cluster._rule import REPLICATE_COLUMNS
from vehiclust.cluster.dbscan import AutoEpsDBSCAN
from vehiclust.cluster.evidence import EvidenceAccumulation
from vehiclust.cluster.gmm import SampledGaussianMixture
from vehiclust.cluster.hdbscan import SampledHDBSCAN
from vehiclust.cluster.kmeans import FaissKMeans
from vehiclust.cluster.leiden import LeidenClustering
from vehiclust.cluster.metrics import explained_variance
from vehiclust.cluster.ward import MicroWard


@dataclass
class FamilyFit:
    """One configuration's outcome."""

    labels: np.ndarray  # (n,) int64; -1 only where the family could not assign a row
    noise_mask: np.ndarray | None = None  # rows the family left as noise before assignment
    info: dict[str, Any] = field(default_factory=dict)  # extra columns for the selection table


def config_seed(base: int, family: str, params: dict[str, Any]) -> int:
    """A seed that depends only on (base seed, family, parameters), not on sweep order."""
    key = f"{base}|{family}|{sorted(params.items())}".encode()
    return zlib.crc32(key) & 0x7FFFFFFF


def _memo(store: OrderedDict, key: tuple, make, keep: int = 4) -> Any:
    """``store[key]``, made by ``make()`` when missing; the oldest entries beyond ``keep`` dropped."""
    if key not in store:
        store[key] = make()
        while len(store) > keep:
            store.popitem(last=False)
    return store[key]


class Family:
    """Base: one parameter dict → one fit; override `sweep` when fits can share work.

    A family backed by one scikit-learn estimator keeps it unfitted in ``estimator``: every fit
    and refit (stability, the final one) is a ``clone`` of it with the swept parameters set."""

    name: str = ""
    uses_k: bool = True

    def configs(self, n: int, ks: list[int]) -> list[dict[str, Any]]:
        return [{"k": k} for k in ks]

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        raise TypeError(f"{type(self).__name__} must implement fit().")

    def seed_for(self, base_seed: int, params: dict[str, Any]) -> int:
        return config_seed(base_seed, self.name, params)

    def refit(self, X: np.ndarray, params: dict[str, Any], seed: int, n_clusters: int) -> FamilyFit:
        """A stability refit on a subsample of the rows a fit found ``n_clusters`` clusters in:
        the same parameters (a k-family's k is its number of clusters already)."""
        return self.fit(X, params, seed)

    def sweep(self, X: np.ndarray, configs: list[dict[str, Any]], base_seed: int) -> Iterator[tuple[dict[str, Any], FamilyFit]]:
        for params in configs:
            yield params, self.fit(X, params, self.seed_for(base_seed, params))


class KMeansFamily(Family):
    name = "kmeans"

    def __init__(self, n_init: int = 2, max_iter: int = 25) -> None:
        self.estimator = FaissKMeans(n_init=n_init, max_iter=max_iter)  # every fit and refit: a clone

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        km = clone(self.estimator).set_params(n_clusters=params["k"], random_state=seed).fit(X)
        return FamilyFit(km.labels_, info={"inertia": km.inertia_})


class GMMFamily(Family):
    name = "gmm"
    estimator = SampledGaussianMixture(covariance_type="diag")

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        gm = clone(self.estimator).set_params(n_components=params["k"], random_state=seed).fit(X)
        return FamilyFit(gm.labels_, info={"bic": gm.bic_, "converged": gm.converged_})


class TreeFamily(Family):
    """A family whose one fitted tree serves every k; trees are memoised by the data's cache key."""

    def __init__(self) -> None:
        self._trees: OrderedDict[tuple, Any] = OrderedDict()

    def build(self, X: np.ndarray, seed: int) -> Any:
        """The fitted tree: an object with ``labels_for_many(ks)``."""
        raise TypeError(f"{type(self).__name__} must implement build().")

    def seed_for(self, base_seed: int, params: dict[str, Any]) -> int:
        return config_seed(base_seed, self.name, {})  # the tree does not depend on k

    def _tree(self, X: np.ndarray, seed: int) -> Any:
        return _memo(self._trees, (cache_key(X), seed), lambda: self.build(X, seed), keep=8)

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        k = int(params["k"])
        return FamilyFit(self._tree(X, seed).labels_for_many([k])[k])

    def sweep(self, X, configs, base_seed):
        tree = self._tree(X, self.seed_for(base_seed, {}))
        cuts = tree.labels_for_many([int(p["k"]) for p in configs])
        for params in configs:
            yield params, FamilyFit(cuts[int(params["k"])])


class WardFamily(TreeFamily):
    name = "ward"

    def build(self, X: np.ndarray, seed: int) -> MicroWard:
        return MicroWard(min(2, X.shape[0]), random_state=seed).fit(X)


class EvidenceAccumulationFamily(TreeFamily):
    """Average linkage on how often ~40 k-means runs (k = 2..40) put micro-clusters together."""

    name = "eac"

    def build(self, X: np.ndarray, seed: int) -> EvidenceAccumulation:
        return EvidenceAccumulation(min(2, X.shape[0]), random_state=seed).fit(X)


def _density_sizes(n: int) -> list[int]:
    fit_n = min(n, 10_000)
    sizes = sorted({max(5, int(round(f * fit_n))) for f in (0.005, 0.01, 0.02, 0.05)})
    return [s for s in sizes if s < fit_n / 2] or [max(2, fit_n // 4)]


class HDBSCANFamily(Family):
    """HDBSCAN over a few minimum cluster sizes: one sample and one minimum spanning tree (the
    costly part, which does not depend on the minimum cluster size) per matrix and seed."""

    name = "hdbscan"
    uses_k = False

    def __init__(self) -> None:
        self._shared: OrderedDict[tuple, dict] = OrderedDict()

    def configs(self, n: int, ks: list[int]) -> list[dict[str, Any]]:
        return [{"min_cluster_size": s} for s in _density_sizes(n)]

    estimator = SampledHDBSCAN()

    def seed_for(self, base_seed: int, params: dict[str, Any]) -> int:
        return config_seed(base_seed, self.name, {})  # one sample and one tree for every size

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        shared = _memo(self._shared, (cache_key(X), seed), dict)
        hd = clone(self.estimator).set_params(min_cluster_size=int(params["min_cluster_size"]), random_state=seed
                                              ).fit(X, shared=shared)
        return FamilyFit(hd.labels_, noise_mask=hd.noise_mask_)


class DBSCANFamily(Family):
    """DBSCAN over min_samples x eps scales: one sample and one k-distance knee per min_samples
    for every scale (per matrix and seed)."""

    name = "dbscan"
    uses_k = False

    def __init__(self) -> None:
        self._shared: OrderedDict[tuple, dict] = OrderedDict()

    def configs(self, n: int, ks: list[int]) -> list[dict[str, Any]]:
        return [{"min_samples": m, "eps_scale": e} for m in (5, 20) for e in (0.8, 1.0, 1.25)]

    estimator = AutoEpsDBSCAN()

    def seed_for(self, base_seed: int, params: dict[str, Any]) -> int:
        return config_seed(base_seed, self.name, {})  # one sample for every configuration

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        shared = _memo(self._shared, (cache_key(X), seed), dict)
        db = clone(self.estimator).set_params(min_samples=int(params["min_samples"]), eps_scale=float(params["eps_scale"]),
                                              random_state=seed).fit(X, shared=shared)
        return FamilyFit(db.labels_, noise_mask=db.noise_mask_, info={"eps": db.eps_})


REFIT_STEPS = 10  # Leiden runs at most per stability refit of a resolution family
REFIT_SPAN = 8.0  # the refit's resolution is searched within [r / span, r * span]


class LeidenFamily(Family):
    """Leiden communities of the shared-neighbour k-NN graph over a resolution grid; the graph
    (the costly part) is built once per matrix, or taken from `graph` when the caller has it."""

    name = "leiden"
    uses_k = False
    resolutions = (0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
    n_replicates = 4  # Leiden runs with other seeds per configuration (rule step 2: a broad knee)

    def __init__(self) -> None:
        self.graph = None  # a vehiclust.neighbors.KNNGraph of the swept matrix, if already built
        self._graphs: OrderedDict[tuple, Any] = OrderedDict()

    def configs(self, n: int, ks: list[int]) -> list[dict[str, Any]]:
        return [{"resolution": r} for r in self.resolutions]

    def seed_for(self, base_seed: int, params: dict[str, Any]) -> int:
        return config_seed(base_seed, self.name, {})  # one graph and one seed for the whole grid

    def _prepared(self, est: LeidenClustering, X: np.ndarray, seed: int):
        given = self.graph if self.graph is not None and self.graph.indices.shape[0] == X.shape[0] else None
        return _memo(self._graphs, (cache_key(X), seed), lambda: est.shared_graph(X, given, seed))

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        """The partition at the resolution, and the count and R² of :attr:`n_replicates` runs with
        other Leiden seeds on the same graph (the rule reads the knee's seed-to-seed spread from them).
        Not on a reference-sample graph (above `exact_max_rows`: a finalist fitted on every row after
        the screen, whose table the rule does not read again; a sweep there reads a sharp knee)."""
        est = LeidenClustering(float(params["resolution"]), random_state=seed)
        W, nodes, graph = self._prepared(est, X, seed)
        info: dict[str, Any] = {}
        for i in range(1, (self.n_replicates if graph.reference is None else 0) + 1):
            other = est.partition(W, nodes, graph, est.resolution, config_seed(seed, "leiden-replicate", {"r": i}))
            info[REPLICATE_COLUMNS[0] % i] = int(other.max()) + 1
            info[REPLICATE_COLUMNS[1] % i] = explained_variance(X, other)
        return FamilyFit(est.partition(W, nodes, graph, est.resolution, seed), info=info)

    def refit(self, X: np.ndarray, params: dict[str, Any], seed: int, n_clusters: int) -> FamilyFit:
        """The subsample's partition with the full fit's number of clusters, its resolution found
        by bisection (log scale, :data:`REFIT_STEPS` Leiden runs at most on the subsample's graph).

        The resolution plays the role of k, but the same resolution does not give the same number
        of communities on fewer rows: the subsample's k-NN graph reaches further, and on 2,000 of
        4,800 real crops 0.3 gives 7-8 communities where the full fit found 11. Refitting at the
        same resolution then measures how the knob drifts with the row count (ARI 0.48-0.60),
        not whether the partition comes back (0.61-0.78 at 11 communities); a k-family is refitted
        at its k, so a resolution family is refitted at the number of clusters it found. The
        closest count reached is kept when no resolution gives it exactly."""
        r = float(params["resolution"])
        est = LeidenClustering(r, random_state=seed)
        W, nodes, graph = self._prepared(est, X, seed)
        lo, hi, best = r / REFIT_SPAN, r * REFIT_SPAN, None
        for _ in range(REFIT_STEPS):
            labels = est.partition(W, nodes, graph, r, seed)
            count = int(labels.max()) + 1
            if best is None or abs(count - n_clusters) < abs(int(best.max()) + 1 - n_clusters):
                best = labels
            if count == n_clusters:
                break
            lo, hi = (r, hi) if count < n_clusters else (lo, r)
            r = float(np.sqrt(lo * hi))
        return FamilyFit(best)


FAMILIES: dict[str, type[Family]] = {
    "kmeans": KMeansFamily,
    "gmm": GMMFamily,
    "ward": WardFamily,
    "eac": EvidenceAccumulationFamily,
    "hdbscan": HDBSCANFamily,
    "dbscan": DBSCANFamily,
    "leiden": LeidenFamily,
}


def available_families() -> tuple[str, ...]:
    return tuple(FAMILIES)


def make_family(name: str) -> Family:
    return FAMILIES[name]()
