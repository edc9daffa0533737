"""`DaskClusterSelector`: the k-means sweep of `ClusterSelector`, run over a Dask cluster.

Every k of the grid is fitted at once: one Lloyd iteration is ONE pass over the row blocks in
which each worker assigns its rows to every k's centres (faiss) and returns per-cluster sums;
the driver adds them up and moves the centres. So a sweep over k = 2..40 costs ~25 passes, not
39 x 25. Calinski-Harabasz and Davies-Bouldin are exact (two more passes of per-block sums);
the silhouette and stability are computed as `ClusterSelector` does, on a sample held by the
driver. The configuration is chosen by the same rule (`vehiclust.cluster._rule`), so on the
same data and seed both engines choose alike.

Only k-means is distributed; other families named in ``families`` are skipped with a note.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_array, check_random_state

from vehiclust import _progress
from vehiclust.cluster import metrics as M
from vehiclust.cluster._families import FAMILIES, config_seed, make_family
from vehiclust.cluster._reference import NullReference
from vehiclust.cluster._rule import EXCESS as REFERENCE_COLUMNS
from vehiclust.cluster._rule import choose_configuration
from vehiclust.cluster.kmeans import faiss_threads, nearest_centroid
from vehiclust.cluster.selector import SELECTION_COLUMNS
from vehiclust.distributed import _kernels as K
from vehiclust.distributed._arrays import auto_chunk_rows
from vehiclust.distributed._client import get_client
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

# k-means++ seeding looks at this many rows of the driver's sample (as FaissKMeans does).
_PLUSPLUS_ROWS = 20_000


def _base_seed(random_state) -> int:
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) & 0x7FFFFFFF
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class DaskClusterSelector:
    """Sweep k-means over k on a Dask cluster, score every k, keep the best.

    Parameters
    ----------
    families : accepted for compatibility with ``ClusterSelector``; only "kmeans" runs here.
    k_min, k_max : the grid of k (inclusive).
    n_init : k-means++ starts per k (the lowest inertia wins).
    max_iter, tol : Lloyd iterations, and the stop when every centre moved less than
        ``tol`` x the mean feature variance.
    n_stability, stability_sample, silhouette_sample, stability_floor : as ``ClusterSelector``.
    sample_size : rows the driver keeps for seeding, silhouette and stability.
    chunk_rows : rows per block (None = automatic).
    random_state : seed; the same seed gives the same labels.
    progress : show a progress bar over Lloyd iterations.
    scheduler : scheduler address, a ``distributed.Client``, or None (the process's
        LocalCluster with two worker processes).
    """

    def __init__(
        self,
        families: tuple[str, ...] | list[str] = ("kmeans",),
        k_min: int = 2,
        k_max: int = 40,
        *,
        n_init: int = 1,
        max_iter: int = 25,
        tol: float = 1e-4,
        n_stability: int = 3,
        stability_sample: int = 2000,
        silhouette_sample: int = 2000,
        stability_floor: float = 0.5,
        sample_size: int = 20_000,
        chunk_rows: int | None = None,
        random_state=None,
        progress: bool = True,
        scheduler: Any = None,
    ) -> None:
        self.families = families
        self.k_min = k_min
        self.k_max = k_max
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_stability = n_stability
        self.stability_sample = stability_sample
        self.silhouette_sample = silhouette_sample
        self.stability_floor = stability_floor
        self.sample_size = sample_size
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
        for pname in ("k_min", "k_max", "max_iter", "n_init"):
            v = getattr(self, pname)
            low = 2 if pname.startswith("k_") else 1
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
                raise InputError(f"The '{pname}' parameter of DaskClusterSelector must be an int in [{low}, inf). Got {v!r}.")
        if self.k_max < self.k_min:
            raise InputError(f"DaskClusterSelector needs k_min <= k_max. Got k_min={self.k_min}, k_max={self.k_max}.")
        notes: list[str] = []
        skipped = [f for f in names if f != "kmeans"]
        if skipped:
            notes.append(f"the Dask engine sweeps k-means only; skipped {skipped}")
            log.info("DaskClusterSelector: the Dask engine sweeps k-means only; skipped %s", skipped)
        if not hasattr(X, "dask"):
            X = check_array(X, dtype=np.float32, order="C", copy=False, ensure_min_samples=1)
        n = int(X.shape[0])
        if n < 3:
            raise InputError(f"DaskClusterSelector needs at least 3 rows to compare clusterings. Got {n}.")
        k_hi = min(int(self.k_max), n - 1)
        if k_hi < self.k_max:
            notes.append(f"k grid cut to {k_hi} (only {n} rows)")
        return X, list(range(min(int(self.k_min), k_hi), k_hi + 1)), notes

    # ---- one pass over the blocks ------------------------------------------------------
    def _pass(self, fn, *args) -> list:
        """Run ``fn(block, *args)`` on every row block; return the per-block results in order."""
        import dask

        client = self._client
        shared = [client.scatter(a, broadcast=True, hash=False) if isinstance(a, np.ndarray) else a for a in args]
        tasks = [dask.delayed(fn, pure=False)(blk, *shared) for blk in self._blocks]
        return client.gather(client.compute(tasks))

    def _lloyd(self, centres: dict[int, np.ndarray], scale: float) -> tuple[dict[int, np.ndarray], dict[int, float], int]:
        """Batched Lloyd iterations for every k still moving; returns centres, inertia, passes."""
        active = sorted(centres)
        inertia = {k: np.inf for k in centres}
        passes = 0
        for _ in _progress.track(range(int(self.max_iter)), "k-means on Dask", disable=not self.progress):
            if not active:
                break
            ks = tuple(centres[k].shape[0] for k in active)
            packed = np.concatenate([centres[k] for k in active]).astype(np.float32)
            per_block = self._pass(K.block_stats, packed, ks)
            passes += 1
            still = []
            for j, k in enumerate(active):
                sums = sum(b[j][0] for b in per_block)
                counts = sum(b[j][1] for b in per_block)
                inertia[k] = float(sum(b[j][2] for b in per_block))
                new = centres[k].astype(np.float64).copy()
                nz = counts > 0
                new[nz] = sums[nz] / counts[nz, None]
                shift = float(((new - centres[k]) ** 2).sum(1).max())
                centres[k] = new.astype(np.float32)
                if shift > self.tol * scale:
                    still.append(k)
            active = still
        return centres, inertia, passes

    def _init_centres(self, S: np.ndarray, k: int, seed: int, start: int) -> np.ndarray:
        rng = np.random.RandomState(config_seed(seed, "dask-init", {"start": start}))
        rows = S if len(S) <= _PLUSPLUS_ROWS else S[rng.choice(len(S), _PLUSPLUS_ROWS, replace=False)]
        init, _ = kmeans_plusplus(rows, int(k), random_state=int(rng.randint(0, 2**31 - 1)))
        return init.astype(np.float32)

    # ---- fit ---------------------------------------------------------------------------
    def fit(self, X, y=None) -> "DaskClusterSelector":
        """Sweep, score and choose; `labels_`, `selection_`, `best_` hold the outcome."""
        import dask.array as da

        X, ks, notes = self._validate(X)
        start_all = time.perf_counter()
        self._client = client = get_client(self.scheduler)
        n, d = int(X.shape[0]), int(X.shape[1])
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        step = self.chunk_rows or auto_chunk_rows(n, d, n_workers)
        Xd = X.rechunk((step, d)) if hasattr(X, "dask") else da.from_array(X, chunks=(step, d))
        Xd = client.persist(Xd)
        self._blocks = list(Xd.to_delayed().ravel())
        base = _base_seed(self.random_state)
        rng = np.random.RandomState(config_seed(base, "dask-sample", {}))
        sample = np.sort(rng.choice(n, min(n, int(self.sample_size)), replace=False))
        S = np.ascontiguousarray(X[sample] if not hasattr(X, "dask") else client.compute(Xd[sample], sync=True), dtype=np.float32)
        scale = float(S.var(axis=0).mean()) or 1.0
        # The structureless reference of the local selector (same rows when X is in memory).
        self.reference_ = NullReference(S if hasattr(X, "dask") else X, random_state=config_seed(base, "reference", {}))
        # k-means++ starts from the sample, then Lloyd on every row; n_init starts per k.
        seeds = {k: config_seed(base, "kmeans", {"k": k}) for k in ks}
        best_c: dict[int, np.ndarray] = {}
        best_inertia: dict[int, float] = {}
        passes = 0
        for start in range(int(self.n_init)):
            centres = {k: self._init_centres(S, k, seeds[k], start) for k in ks}
            centres, inertia, p = self._lloyd(centres, scale)
            passes += p
            for k in ks:
                if k not in best_c or inertia[k] < best_inertia[k]:
                    best_c[k], best_inertia[k] = centres[k], inertia[k]
        # Exact CH / DB: means of the final assignment, then spreads around those means.
        ks_t = tuple(best_c[k].shape[0] for k in ks)
        packed = np.concatenate([best_c[k] for k in ks]).astype(np.float32)
        per_block = self._pass(K.block_stats, packed, ks_t)
        means, counts = [], []
        for j in range(len(ks)):
            s = sum(b[j][0] for b in per_block)
            c = sum(b[j][1] for b in per_block).astype(np.float64)
            means.append(s / np.maximum(c, 1.0)[:, None])
            counts.append(c)
        spread = self._pass(K.block_spread, packed, np.concatenate(means), ks_t)
        lloyd_seconds = time.perf_counter() - start_all
        rows = []
        with faiss_threads(1):
            family = make_family("kmeans")
            for j, k in enumerate(ks):
                dist_sum = sum(b[j][0] for b in spread)
                dist_sq = sum(b[j][1] for b in spread)
                row = self._score(S, best_c[k], means[j], counts[j], dist_sum, dist_sq, k, seeds[k], base, family)
                row.update(config_id=j, family="kmeans", params=f"k={k}", k=k,
                           fit_seconds=round(lloyd_seconds / len(ks), 4), engine="dask")
                rows.append(row)
        table = pd.DataFrame(rows)
        own = REFERENCE_COLUMNS + ["explained_variance"]
        extra = [c for c in table.columns if c not in SELECTION_COLUMNS and c not in own]
        table = table[SELECTION_COLUMNS + own + extra]
        table, chosen_id, note = choose_configuration(
            table, k_min=ks[0], k_max=ks[-1], stability_floor=self.stability_floor, extra_notes=notes
        )
        self.selection_ = table
        best = table.loc[table["config_id"] == chosen_id].iloc[0].to_dict()
        self.best_ = {key: (v.item() if isinstance(v, np.generic) else v) for key, v in best.items()}
        if note:
            warnings.warn(f"DaskClusterSelector: {note}", UserWarning, stacklevel=2)
        k = int(best["k"])
        j = ks.index(k)
        parts = self._pass(K.block_labels, best_c[k])
        # labels 0..k-1 with no gaps (a centre can end up empty), as the local selector gives
        self.labels_ = M._compact(np.concatenate(parts).astype(np.int64))[0]
        # mean of each cluster's rows, row c = cluster c (same assignment as the labels)
        self.cluster_centers_ = means[j][counts[j] > 0].astype(np.float32)
        self.noise_mask_ = np.zeros(n, dtype=bool)
        self.best_params_ = {"k": k}
        self.n_clusters_ = int(np.unique(self.labels_).size)
        self.n_features_in_ = d
        self.n_passes_ = passes + 3
        self.fit_seconds_ = round(time.perf_counter() - start_all, 3)
        client.cancel(Xd)
        del self._blocks, self._client
        log.info("DaskClusterSelector: k=%d chosen from %d..%d in %.1f s (%d passes over %d rows)",
                 k, ks[0], ks[-1], self.fit_seconds_, self.n_passes_, n)
        return self

    def _score(self, S, centres, means, counts, dist_sum, dist_sq, k, seed, base, family) -> dict[str, Any]:
        nz = counts > 0
        kk = int(nz.sum())
        n = float(counts.sum())
        p = counts[nz] / n
        row: dict[str, Any] = {
            "n_clusters": kk,
            "noise_share": 0.0,
            "size_balance": float(-(p * np.log(p)).sum() / np.log(kk)) if kk >= 2 else 0.0,
        }
        if kk < 2:
            row.update(calinski_harabasz=np.nan, davies_bouldin=np.nan, silhouette_sample=np.nan,
                       silhouette_ci_low=np.nan, silhouette_ci_high=np.nan, stability=np.nan,
                       silhouette_excess=np.nan, davies_bouldin_excess=np.nan, calinski_harabasz_excess=np.nan,
                       explained_variance=np.nan)
            return row
        mu, c = means[nz], counts[nz]
        grand = (mu * c[:, None]).sum(0) / n
        between = float((c * ((mu - grand) ** 2).sum(1)).sum())
        within = float(dist_sq[nz].sum())
        row["calinski_harabasz"] = (between * (n - kk) / (within * (kk - 1))) if within > 0 else float("inf")
        row["explained_variance"] = between / (between + within) if between + within > 0 else float("nan")
        scatter = dist_sum[nz] / c
        sq = (mu**2).sum(1)
        sep = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * mu @ mu.T, 0.0))
        np.fill_diagonal(sep, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (scatter[:, None] + scatter[None, :]) / sep
        ratio[~np.isfinite(ratio)] = 0.0
        row["davies_bouldin"] = float(ratio.max(1).mean())
        labels_s, _ = nearest_centroid(S, centres)
        s, lo, hi = M.sampled_silhouette(S, labels_s, n_samples=self.silhouette_sample, random_state=seed)
        row.update(silhouette_sample=s, silhouette_ci_low=lo, silhouette_ci_high=hi)
        row.update(self.reference_.excess(kk, s, row["davies_bouldin"], row["calinski_harabasz"]))
        row["stability"] = self._stability(S, labels_s, k, base, family)
        return row

    def _stability(self, S: np.ndarray, labels: np.ndarray, k: int, base: int, family) -> float:
        """As ``ClusterSelector``: mean ARI of refits on subsamples (of the driver's sample)."""
        if self.n_stability <= 0:
            return float("nan")
        n = S.shape[0]
        size = min(int(self.stability_sample), max(int(0.8 * n), 3))
        if k >= size:
            return float("nan")
        pairs = []
        for b in range(int(self.n_stability)):
            rng = np.random.RandomState(config_seed(base, "stability-rows", {"b": b}))
            idx = np.sort(rng.choice(n, size=size, replace=False))
            sub_seed = family.seed_for(config_seed(base, "stability-fit", {"b": b}), {"k": k})
            sub = family.fit(np.ascontiguousarray(S[idx]), {"k": k}, sub_seed)
            keep = sub.labels >= 0
            pairs.append((idx[keep], sub.labels[keep]))
        return M.mean_pairwise_ari(labels, pairs)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_

    def predict(self, X) -> np.ndarray:
        """Nearest chosen centre of each row (numpy in, numpy out)."""
        X = check_array(X, dtype=np.float32, order="C")
        return nearest_centroid(X, self.cluster_centers_)[0]
