"""`DaskClusterSelector`: the k-means sweep of `ClusterSelector`, with the per-row work on Dask.

Agreement with the local engine is by construction. For each k the driver trains exactly what
`FaissKMeans` trains inside the local sweep: the same seeded training subsample (at most 50,000
rows, gathered from the row-chunked array), the same k-means++ seeds, the same faiss training.
The workers then do the per-row work over the row blocks: every row's nearest centre (the
labels), the per-cluster sums, counts and inertia, and in a second pass the distances of each
row to its cluster's mean, from which the driver gets the exact Calinski-Harabasz,
Davies-Bouldin and R² (``explained_variance``) of `cluster.metrics.internal_indices`. The
silhouette, the structureless reference (``*_excess`` columns) and the stability read only a
few thousand seeded rows, so they run on the driver through the local code itself. The
configuration is chosen by the same rule (`vehiclust.cluster._rule`).

Only k-means is distributed; other families named in ``families`` are skipped with a note.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_array, check_random_state
from threadpoolctl import threadpool_limits

from vehiclust import _progress
from vehiclust.cluster import metrics as M
from vehiclust.cluster._families import FAMILIES, config_seed, make_family
from vehiclust.cluster._reference import NullReference
from vehiclust.cluster._rule import EXCESS as REFERENCE_COLUMNS
from vehiclust.cluster._rule import choose_configuration
from vehiclust.cluster.kmeans import _PLUSPLUS_ROWS, DEFAULT_MAX_TRAIN, faiss_threads, nearest_centroid
from vehiclust.cluster.selector import SELECTION_COLUMNS, ClusterSelector, _base_seed
from vehiclust.distributed import _kernels as K
from vehiclust.distributed._arrays import auto_chunk_rows
from vehiclust.distributed._client import get_client
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)


class RowReader:
    """``X[idx]`` of a matrix that may live on the workers: what the driver-side code reads.

    A numpy array is indexed directly; a (persisted) Dask array is gathered, the last few
    requests cached (the stability subsamples are the same for every k).
    """

    def __init__(self, X, client=None, cache_size: int = 8) -> None:
        self._X = X
        self._client = client
        self._cache: dict[bytes, np.ndarray] = {}
        self._cache_size = cache_size
        self.shape = tuple(int(s) for s in X.shape)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx) -> np.ndarray:
        if not hasattr(self._X, "dask"):
            return np.asarray(self._X[idx], dtype=np.float32)
        idx = np.arange(self.shape[0])[idx] if isinstance(idx, slice) else np.asarray(idx, dtype=np.int64)
        key = hashlib.blake2b(idx.tobytes(), digest_size=16).digest()
        if key not in self._cache:
            uniq, inverse = np.unique(idx, return_inverse=True)
            got = np.asarray(self._client.compute(self._X[uniq], sync=True), dtype=np.float32)
            self._cache[key] = np.ascontiguousarray(got[inverse])
            while len(self._cache) > self._cache_size:
                self._cache.pop(next(iter(self._cache)))
        return self._cache[key]


def train_centres(rows, k: int, random_state, *, n_init: int = 1, max_iter: int = 25,
                  max_train: int = DEFAULT_MAX_TRAIN) -> tuple[np.ndarray, float]:
    """(centroids, training objective) that ``FaissKMeans(k, n_init, max_iter, max_train,
    random_state).fit(X)`` finds, reading only the training rows of ``rows`` (``X`` or a
    :class:`RowReader`): the same seeded draws, k-means++ seeds and faiss training, in order."""
    import faiss

    n, d = int(rows.shape[0]), int(rows.shape[1])
    rng = check_random_state(random_state)
    best_obj, best = np.inf, None
    for _ in range(max(1, int(n_init))):
        seed = int(rng.randint(0, 2**31 - 1))
        train_rows = slice(None) if n <= max_train else np.sort(rng.choice(n, max_train, replace=False))
        train = np.ascontiguousarray(rows[train_rows], dtype=np.float32)
        seeds_from = train if train.shape[0] <= _PLUSPLUS_ROWS else train[rng.choice(train.shape[0], _PLUSPLUS_ROWS, replace=False)]
        init, _ = kmeans_plusplus(seeds_from, int(k), random_state=seed)
        km = faiss.Kmeans(d, int(k), niter=int(max_iter), nredo=1, seed=seed, verbose=False,
                          max_points_per_centroid=train.shape[0], min_points_per_centroid=1)
        km.train(train, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
        obj = float(km.obj[-1]) if len(km.obj) else np.inf
        if best is None or obj < best_obj:
            best_obj, best = obj, np.asarray(km.centroids, dtype=np.float32).reshape(k, d)
    return best, best_obj


def indices_from_sums(means: np.ndarray, counts: np.ndarray, dist_sum: np.ndarray, dist_sq: np.ndarray) -> dict[str, float]:
    """Calinski-Harabasz, Davies-Bouldin and R² from per-cluster sums (as
    `cluster.metrics.internal_indices` computes them from the rows; empty clusters dropped)."""
    nz = counts > 0
    k = int(nz.sum())
    n = float(counts.sum())
    if k < 2 or n <= k:
        return {"calinski_harabasz": float("nan"), "davies_bouldin": float("nan"), "explained_variance": float("nan")}
    centroids, c = means[nz], counts[nz].astype(np.float64)
    grand = (centroids * c[:, None]).sum(0) / n
    between = float((c * ((centroids - grand) ** 2).sum(1)).sum())
    within = float(dist_sq[nz].sum())
    if within == 0.0:
        ch = float("inf") if between > 0 else float("nan")
    else:
        ch = between * (n - k) / (within * (k - 1))
    total = between + within
    return {
        "calinski_harabasz": ch,
        "davies_bouldin": M._db_from(centroids, dist_sum[nz] / np.maximum(c, 1.0)),
        "explained_variance": between / total if total > 0 else float("nan"),
    }


class DaskClusterSelector(ClusterMixin, BaseEstimator):
    """Sweep k-means over k with the per-row work on a Dask cluster; score every k, keep the best.

    Parameters
    ----------
    families : as ``ClusterSelector``; only "kmeans" runs here (the others are skipped with a note).
    k_min, k_max : the grid of k (inclusive).
    n_stability, stability_sample, silhouette_sample, stability_floor : as ``ClusterSelector``.
    n_jobs : threads for faiss and BLAS on the driver (as ``ClusterSelector``; workers use one each).
    chunk_rows : rows per block (None = automatic).
    random_state : seed; the same seed gives the same labels, and the labels of
        ``ClusterSelector(families=("kmeans",))`` with that seed.
    progress : show a progress bar over k.
    scheduler : scheduler address, a ``distributed.Client``, or None (the process's
        LocalCluster with two worker processes).
    """

    def __init__(
        self,
        families: tuple[str, ...] | list[str] = ("kmeans",),
        k_min: int = 2,
        k_max: int = 40,
        *,
        n_stability: int = 3,
        stability_sample: int = 2000,
        silhouette_sample: int = 2000,
        stability_floor: float = 0.5,
        n_jobs: int | None = 1,
        chunk_rows: int | None = None,
        random_state=None,
        progress: bool = True,
        scheduler: Any = None,
    ) -> None:
        self.families = families
        self.k_min = k_min
        self.k_max = k_max
        self.n_stability = n_stability
        self.stability_sample = stability_sample
        self.silhouette_sample = silhouette_sample
        self.stability_floor = stability_floor
        self.n_jobs = n_jobs
        self.chunk_rows = chunk_rows
        self.random_state = random_state
        self.progress = progress
        self.scheduler = scheduler

    # ---- validation -------------------------------------------------------------------
    def _validate(self, X) -> tuple[Any, list[int], list[str]]:
        names = [self.families] if isinstance(self.families, str) else list(self.families)
        unknown = [f for f in names if f not in FAMILIES]
        if unknown or not names:
            raise InputError(f"The 'families' parameter of DaskClusterSelector must name families in {sorted(FAMILIES)}. Got {names!r}.")
        for pname in ("k_min", "k_max"):
            v = getattr(self, pname)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 2:
                raise InputError(f"The '{pname}' parameter of DaskClusterSelector must be an int in [2, inf). Got {v!r}.")
        if self.k_max < self.k_min:
            raise InputError(f"DaskClusterSelector needs k_min <= k_max. Got k_min={self.k_min}, k_max={self.k_max}.")
        c = self.chunk_rows
        if c is not None and (not isinstance(c, (int, np.integer)) or isinstance(c, bool) or c < 1):
            raise InputError(f"The 'chunk_rows' parameter of DaskClusterSelector must be None or an int in [1, inf). Got {c!r}.")
        notes: list[str] = []
        skipped = [f for f in names if f != "kmeans"]
        if skipped:
            notes.append(f"the Dask engine sweeps k-means only; skipped {skipped}")
            log.info("DaskClusterSelector: the Dask engine sweeps k-means only; skipped %s", skipped)
        if not hasattr(X, "dask"):
            X = check_array(X, dtype=np.float32, order="C", copy=False, ensure_min_samples=1)
        elif X.ndim != 2:
            raise InputError(f"DaskClusterSelector expects a 2-D array; got shape {X.shape}.")
        n = int(X.shape[0])
        if n < 3:
            raise InputError(f"DaskClusterSelector needs at least 3 rows to compare clusterings. Got {n}.")
        k_hi = min(int(self.k_max), n - 1)
        if k_hi < self.k_max:
            notes.append(f"k grid cut to {k_hi} (only {n} rows)")
        return X, list(range(min(int(self.k_min), k_hi), k_hi + 1)), notes

    # ---- fit ---------------------------------------------------------------------------
    def fit(self, X, y=None) -> "DaskClusterSelector":
        """Sweep, score and choose; `labels_`, `selection_`, `best_` hold the outcome."""
        X, ks, notes = self._validate(X)
        limit = threadpool_limits(limits=int(self.n_jobs)) if self.n_jobs is not None else nullcontext()
        client = get_client(self.scheduler)
        blocks, rows, held = self._scatter(X, client)
        try:
            with faiss_threads(self.n_jobs), limit:
                return self._fit(rows, blocks, ks, notes, client)
        finally:
            client.cancel(blocks + held)

    def _scatter(self, X, client) -> tuple[list, RowReader, list]:
        """Row blocks as futures on the workers, and the driver's reader of single rows."""
        n, d = int(X.shape[0]), int(X.shape[1])
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        step = int(self.chunk_rows or auto_chunk_rows(n, d, n_workers))
        if not hasattr(X, "dask"):
            parts = [np.ascontiguousarray(X[a:a + step]) for a in range(0, n, step)]
            return list(client.scatter(parts, hash=False)), RowReader(X), []
        Xp = client.persist(X.astype(np.float32).rechunk((step, d)))
        blocks = client.compute(list(Xp.to_delayed().ravel()))
        return blocks, RowReader(Xp, client), list(client.futures_of(Xp))

    def _fit(self, rows: RowReader, blocks: list, ks: list[int], notes: list[str], client) -> "DaskClusterSelector":
        start_all = time.perf_counter()
        n, d = rows.shape
        base = _base_seed(self.random_state)
        self.reference_ = NullReference(rows, random_state=config_seed(base, "reference", {}))
        family = make_family("kmeans")
        # The local selector's stability step, run on the driver's reader of the rows.
        local = ClusterSelector(families=("kmeans",), n_stability=self.n_stability,
                                stability_sample=self.stability_sample, progress=False)
        # 1. Train each k on the driver; the workers label every row meanwhile.
        jobs: dict[int, dict[str, Any]] = {}
        for k in _progress.track(ks, "k-means on Dask", disable=not self.progress):
            t0 = time.perf_counter()
            centres, _ = train_centres(rows, k, family.seed_for(base, {"k": k}), n_init=family.n_init,
                                       max_iter=family.max_iter)
            shared = client.scatter(centres, broadcast=True, hash=False)
            jobs[k] = {"assigned": [client.submit(K.assign, b, shared, pure=False) for b in blocks],
                       "seconds": time.perf_counter() - t0}
        # 2. Per-cluster means from the block sums, then distances of the rows to them.
        for k in ks:
            job = jobs[k]
            t0 = time.perf_counter()
            parts = client.gather(job["assigned"])
            counts = sum(p["counts"] for p in parts).astype(np.float64)
            means = sum(p["sums"] for p in parts) / np.maximum(counts, 1.0)[:, None]
            job.update(labels=np.concatenate([p["labels"] for p in parts]), counts=counts, means=means,
                       inertia=float(sum(p["inertia"] for p in parts)))
            shared = client.scatter(means, broadcast=True, hash=False)
            job["spread"] = [client.submit(K.spread, b, a, shared, pure=False) for b, a in zip(blocks, job["assigned"])]
            del job["assigned"]  # released once the spread tasks that read the labels are done
            job["seconds"] += time.perf_counter() - t0
        # 3. Score every k as ClusterSelector._score does.
        table_rows = []
        for j, k in enumerate(_progress.track(ks, "scoring on Dask", disable=not self.progress)):
            job = jobs[k]
            t0 = time.perf_counter()
            spread = client.gather(job.pop("spread"))
            labels = job["labels"].astype(np.int64)
            seed = family.seed_for(base, {"k": k})
            n_clusters = int(np.unique(labels).size)
            row: dict[str, Any] = {"config_id": j, "family": "kmeans", "params": f"k={k}", "k": k,
                                   "n_clusters": n_clusters, "noise_share": 0.0, "size_balance": M.size_balance(labels)}
            if n_clusters >= 2:
                row.update(indices_from_sums(job["means"], job["counts"], sum(s[0] for s in spread),
                                             sum(s[1] for s in spread)))
                s, lo, hi = M.sampled_silhouette(rows, labels, n_samples=self.silhouette_sample, random_state=seed)
                row.update(silhouette_sample=s, silhouette_ci_low=lo, silhouette_ci_high=hi)
                row.update(self.reference_.excess(n_clusters, s, row["davies_bouldin"], row["calinski_harabasz"]))
                row["stability"] = local._stability(rows, family, {"k": k}, labels, base)
            else:
                row.update(calinski_harabasz=np.nan, davies_bouldin=np.nan, silhouette_sample=np.nan,
                           silhouette_ci_low=np.nan, silhouette_ci_high=np.nan, stability=np.nan,
                           silhouette_excess=np.nan, davies_bouldin_excess=np.nan, calinski_harabasz_excess=np.nan,
                           explained_variance=np.nan)
            row["inertia"] = job["inertia"]
            row["error"] = ""  # the local selector's column: why a configuration failed (none here)
            row["fit_seconds"] = round(job["seconds"] + time.perf_counter() - t0, 4)
            table_rows.append(row)
        table = pd.DataFrame(table_rows)
        own = REFERENCE_COLUMNS + ["explained_variance"]
        table = table[SELECTION_COLUMNS + own + [c for c in table.columns if c not in SELECTION_COLUMNS and c not in own]]
        table, chosen_id, note = choose_configuration(
            table, k_min=ks[0], k_max=ks[-1], stability_floor=self.stability_floor, extra_notes=notes
        )
        self.selection_ = table
        best = table.loc[table["config_id"] == chosen_id].iloc[0].to_dict()
        self.best_ = {key: (v.item() if isinstance(v, np.generic) else v) for key, v in best.items()}
        if note:
            warnings.warn(f"DaskClusterSelector: {note}", UserWarning, stacklevel=3)
        k = int(best["k"])
        job = jobs[k]
        # labels 0..k-1 with no gaps (a centre can end up empty), as the local selector gives
        self.labels_ = M._compact(job["labels"].astype(np.int64))[0]
        # mean of each cluster's rows, row c = cluster c (as ClusterSelector.cluster_centers_)
        self.cluster_centers_ = job["means"][job["counts"] > 0].astype(np.float32)
        self.noise_mask_ = np.zeros(n, dtype=bool)
        self.best_params_ = {"k": k}
        self.n_clusters_ = int(np.unique(self.labels_).size)
        self.n_features_in_ = d
        self.fit_seconds_ = round(time.perf_counter() - start_all, 3)
        log.info("DaskClusterSelector: k=%d chosen from %d..%d in %.1f s (%d rows)", k, ks[0], ks[-1],
                 self.fit_seconds_, n)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_

    def predict(self, X) -> np.ndarray:
        """Nearest chosen centre of each row (numpy in, numpy out)."""
        X = check_array(X, dtype=np.float32, order="C")
        return nearest_centroid(X, self.cluster_centers_)[0]
