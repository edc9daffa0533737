"""`ClusterSelector`: sweep families × parameters, score every configuration, choose one.

The sweep keeps only one configuration's labels at a time (plus the matrix itself); the chosen
configuration is fitted again at the end with the same derived seed, which gives the same
labels because every family is deterministic for a given seed.

On large sets (`screen_sample`) the sweep runs on a seeded sample and only its finalists are
fitted and scored on every row; configurations out of the running get no stability refits.
On that sample the k-families first sweep a coarse grid of k (:func:`coarse_ks`: every k up
to 16, every fourth above), then every k within two of the k the rule puts forward
(:func:`fine_ks`), so the rule reads the full grid where it matters.
"""

from __future__ import annotations

import logging
import time
import warnings
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_array
from threadpoolctl import threadpool_limits

from vehiclust import progress as _progress
from vehiclust.cluster import metrics as M
from vehiclust.cluster._families import FAMILIES, FamilyFit, config_seed, make_family
from vehiclust.cluster._sizing import k_grid
from vehiclust.cluster._reference import NullReference
from vehiclust.cluster._rule import EXCESS as REFERENCE_COLUMNS
from vehiclust.cluster._rule import MAX_NOISE, choose_configuration, eligible_alone, summarise
from vehiclust.cluster.kmeans import faiss_threads
from vehiclust.cluster.rows import RowWork, row_work, working_with
from vehiclust.defaults import FAMILY_NAMES, K_MAX, K_MIN
from vehiclust.exceptions import InputError
from vehiclust.seeds import draw_seed

log = logging.getLogger(__name__)

PENDING = -np.inf  # `stability` of a configuration whose refits are owed (see `_settle_stability`)

SELECTION_COLUMNS = [
    "config_id",
    "family",
    "params",
    "k",
    "n_clusters",
    "noise_share",
    "calinski_harabasz",
    "davies_bouldin",
    "silhouette_sample",
    "silhouette_ci_low",
    "silhouette_ci_high",
    "stability",
    "size_balance",
    "fit_seconds",
]


def _base_seed(random_state) -> int:
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) & 0x7FFFFFFF
    return draw_seed(random_state)


class ClusterSelector(ClusterMixin, BaseEstimator):
    """Try several clustering families over a grid of k, score each, keep the best.

    Parameters
    ----------
    families : names from :data:`vehiclust.cluster.FAMILIES` ("kmeans", "eac", "gmm", "ward",
        "hdbscan", "dbscan", "leiden").
    k_min, k_max : the grid of k for families that take a k (inclusive).
    n_stability : refits per configuration on random subsamples; stability is the mean ARI
        between each refit and the full fit on the same rows. 0 disables it.
    stability_sample : rows per stability subsample.
    silhouette_sample : rows in the stratified silhouette sample.
    stability_floor : configurations less stable than this are not chosen (unless none pass).
    n_jobs : threads for faiss and BLAS during the sweep (None = library defaults). One is
        the default: spinning OpenMP/OpenBLAS threads slow the sweep down 10x or more on a
        machine that is busy with other work, and the sweep is already cheap per fit.
    keep_labels : keep every configuration's labels in `labels_by_config_` (int16, config_id →
        labels): for comparing configurations; costs n_rows x 2 bytes per configuration.
    screen_sample : above 1.5x this many rows, every configuration is fitted and scored on a
        seeded sample of this many rows first (the rule reads the whole sweep there); only the
        `n_finalists` best-ranked candidates (and the consensus the rule took) are then fitted
        and scored on every row, and the first of them that stays eligible on every row is
        kept. None = always every row.
    n_finalists : candidates of the sample sweep fitted again on every row.
    random_state : seed; the same seed gives the same labels.
    progress : show a progress bar over configurations.
    """

    def __init__(
        self,
        families: tuple[str, ...] | list[str] = FAMILY_NAMES,
        k_min: int = K_MIN,
        k_max: int = K_MAX,
        *,
        n_stability: int = 3,
        stability_sample: int = 2000,
        silhouette_sample: int = 2000,
        stability_floor: float = 0.5,
        n_jobs: int | None = 1,
        keep_labels: bool = False,
        screen_sample: int | None = 20_000,
        n_finalists: int = 3,
        random_state=None,
        progress: bool = True,
    ) -> None:
        self.families = families
        self.k_min = k_min
        self.k_max = k_max
        self.n_stability = n_stability
        self.stability_sample = stability_sample
        self.silhouette_sample = silhouette_sample
        self.stability_floor = stability_floor
        self.n_jobs = n_jobs
        self.keep_labels = keep_labels
        self.screen_sample = screen_sample
        self.n_finalists = n_finalists
        self.random_state = random_state
        self.progress = progress

    # ---- validation -------------------------------------------------------------------
    def _validate(self, X) -> tuple[np.ndarray, list[str], list[int], list[str]]:
        X = check_array(X, dtype=np.float32, order="C", copy=False, ensure_min_samples=1)
        names = [self.families] if isinstance(self.families, str) else list(self.families)
        if not names:
            raise InputError(f"The 'families' parameter of ClusterSelector must name at least one of {sorted(FAMILIES)}. Got an empty list.")
        unknown = [f for f in names if f not in FAMILIES]
        if unknown:
            raise InputError(f"The 'families' parameter of ClusterSelector must name families in {sorted(FAMILIES)}. Got unknown {unknown}.")
        for pname in ("k_min", "k_max"):
            v = getattr(self, pname)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 2:
                raise InputError(f"The '{pname}' parameter of ClusterSelector must be an int in [2, inf). Got {v!r}.")
        if self.k_max < self.k_min:
            raise InputError(f"ClusterSelector needs k_min <= k_max. Got k_min={self.k_min}, k_max={self.k_max}.")
        n = X.shape[0]
        notes: list[str] = []
        if n < 3:
            raise InputError(f"ClusterSelector needs at least 3 rows to compare clusterings. Got {n}.")
        k_hi = min(int(self.k_max), n - 1)
        if k_hi < self.k_max:
            notes.append(f"k grid cut to {k_hi} (only {n} rows)")
        ks = k_grid(min(int(self.k_min), k_hi), k_hi, n)  # every k, sparser above 16 on small data
        return X, names, ks, notes

    # ---- scoring -----------------------------------------------------------------------
    def _score(self, X: np.ndarray, family, params: dict, fit: FamilyFit, seed: int, base: int,
               defer_stability: bool = False) -> dict[str, Any]:
        """Metrics of one fit; with ``defer_stability`` a configuration still in the running gets
        ``stability = PENDING`` instead of its refits (see `_settle_stability`)."""
        labels = fit.labels
        assigned = labels[labels >= 0]
        n_clusters = int(np.unique(assigned).size)
        noise = fit.noise_mask if fit.noise_mask is not None else labels < 0
        row: dict[str, Any] = {
            "n_clusters": n_clusters,
            "noise_share": float(np.mean(noise)),
            "size_balance": M.size_balance(labels),
        }
        if n_clusters >= 2:
            row.update(row_work().indices(X, labels))  # CH, DB, R²: two passes over the rows
            s, lo, hi = M.sampled_silhouette(X, labels, n_samples=self.silhouette_sample, random_state=seed)
            row.update(silhouette_sample=s, silhouette_ci_low=lo, silhouette_ci_high=hi)
            row.update(self.reference_.excess(n_clusters, row["silhouette_sample"], row["davies_bouldin"],
                                               row["calinski_harabasz"]))
            # refits only where the rule could still take the configuration: not for one no better
            # than structureless data, or one leaving more than a quarter of the rows as noise
            hopeless = not row["silhouette_excess"] > 0 or row["noise_share"] > MAX_NOISE
            row["stability"] = (np.nan if hopeless or self.n_stability <= 0 else PENDING if defer_stability
                                else self._stability(X, family, params, labels, base))
        else:
            row.update(calinski_harabasz=np.nan, davies_bouldin=np.nan, silhouette_sample=np.nan,
                       silhouette_ci_low=np.nan, silhouette_ci_high=np.nan, stability=np.nan,
                       silhouette_excess=np.nan, davies_bouldin_excess=np.nan, calinski_harabasz_excess=np.nan,
                       explained_variance=np.nan)
        row.update(fit.info)
        return row

    def _stability(self, X: np.ndarray, family, params: dict, labels: np.ndarray, base: int) -> float:
        """Mean ARI between the full fit and refits on random subsamples (other seeds), each
        refit with as many clusters as the full fit found (`Family.refit`).

        The subsamples depend only on the seed, not on the configuration, so every
        configuration is judged on the same rows.
        """
        if self.n_stability <= 0:
            return float("nan")
        n = X.shape[0]
        size = min(int(self.stability_sample), max(int(0.8 * n), 3))
        if int(params.get("k", 0)) >= size:
            return float("nan")
        pairs = []
        found = int(np.unique(labels[labels >= 0]).size)
        for b in range(int(self.n_stability)):
            rng = np.random.RandomState(config_seed(base, "stability-rows", {"b": b}))
            idx = np.sort(rng.choice(n, size=size, replace=False))
            sub_seed = family.seed_for(config_seed(base, "stability-fit", {"b": b}), params)
            sub = family.refit(np.ascontiguousarray(X[idx]), params, sub_seed, found)
            keep = sub.labels >= 0
            pairs.append((idx[keep], sub.labels[keep]))
        return M.mean_pairwise_ari(labels, pairs)

    def _settle_stability(self, X: np.ndarray, table: pd.DataFrame, failed: pd.Series, pending: dict, ks: list[int],
                          notes: list[str], base: int) -> tuple[pd.DataFrame, int, str]:
        """Run the rule, paying stability refits only where they can change its outcome.

        A configuration whose refits are still owed counts as perfectly stable (it passes the
        floor and would rank first on stability). The rule runs; every candidate it puts
        forward (and the consensus it takes) that is still owed gets its refits, and the rule
        runs again, until the candidates' stability is all measured. Their scores are then
        exactly those of a sweep that refitted everything (the score ranks candidates only,
        and a candidate's eligibility is measured); configurations never put forward keep
        ``stability`` NaN. Most of a sweep is never put
        forward (the k far from an elbow), so this saves most of the refits.
        """
        while True:
            view = table[~failed].copy()
            view.loc[view["stability"] == PENDING, "stability"] = 1.0  # owed: optimistic
            t, chosen_id, note = choose_configuration(view, k_min=ks[0], k_max=ks[-1],
                                                      stability_floor=self.stability_floor, extra_notes=notes)
            owed = [int(c) for c in t.loc[t["candidate"] | t["chosen"], "config_id"] if int(c) in pending]
            if not owed:
                break
            for cid in owed:
                fam, params, labels = pending.pop(cid)
                i = table.index[table["config_id"] == cid][0]
                try:
                    table.loc[i, "stability"] = self._stability(X, fam, params, labels.astype(np.int64), base)
                except Exception as exc:  # noqa: BLE001 - a refit the family cannot give
                    table.loc[i, ["n_clusters", "error"]] = [0, _error_text(exc)]
                    failed.loc[i] = True
        t.loc[t["config_id"].isin(list(pending)), "stability"] = np.nan  # never put forward: not measured
        return t, chosen_id, note

    # ---- fit ---------------------------------------------------------------------------
    def fit(self, X, y=None, graph=None) -> "ClusterSelector":
        """Sweep, score and choose; `labels_`, `selection_`, `best_` hold the outcome.

        ``graph``: a k-NN graph of ``X`` already built (:func:`vehiclust.neighbors.knn_graph`,
        15+ neighbours), used by the ``leiden`` family on every row instead of building its own.
        """
        X, names, ks, notes = self._validate(X)
        limit = threadpool_limits(limits=int(self.n_jobs)) if self.n_jobs is not None else nullcontext()
        with faiss_threads(self.n_jobs), limit, working_with(self._row_work(X)):
            m = self.screen_sample
            if m is not None and X.shape[0] > 1.5 * int(m) and int(m) > ks[-1]:
                return self._fit_screened(X, names, ks, notes, graph)
            return self._fit(X, names, ks, notes, graph)

    def _row_work(self, X: np.ndarray) -> RowWork:
        """The per-row steps of this fit (:mod:`vehiclust.cluster.rows`): an engine's hook."""
        return row_work()

    def _families(self, names: list[str], graph) -> dict[str, Any]:
        families = {name: make_family(name) for name in names}
        for fam in families.values():
            if hasattr(fam, "graph"):
                fam.graph = graph
        return families

    def _fit_screened(self, X: np.ndarray, names: list[str], ks: list[int], notes: list[str], graph) -> "ClusterSelector":
        """The whole sweep on a seeded sample, then its best candidates on every row (see `screen_sample`)."""
        n, m = X.shape[0], int(self.screen_sample)
        base = _base_seed(self.random_state)
        rows = np.sort(np.random.RandomState(config_seed(base, "screen-rows", {})).choice(n, m, replace=False))
        start = time.perf_counter()
        log.info("clustering: every configuration on a %d-row sample of %d rows", m, n)
        self._fit(np.ascontiguousarray(X[rows]), names, ks, [*notes, f"configurations screened on {m} of {n} rows"], None,
                  coarse=True)
        screen = self.selection_
        log.info("clustering: sample sweep %.1f s", time.perf_counter() - start)
        finalists = screen[screen["candidate"] & (screen["rank"] <= screen.loc[screen["candidate"], "rank"].nsmallest(
            int(self.n_finalists)).max())].sort_values("rank")
        chosen = screen[screen["chosen"]]
        finalists = pd.concat([chosen, finalists[~finalists["config_id"].isin(chosen["config_id"])]])
        self.reference_ = NullReference(X, random_state=config_seed(base, "reference", {}))
        families = self._families(names, graph)
        full: dict[int, dict[str, Any]] = {}
        fits: dict[int, FamilyFit] = {}
        kept = None
        queue = [f for _, f in finalists.iterrows()]
        # stand-ins for a finalist that fails on every row: the next configurations by rank
        spare = [f for _, f in screen[screen["rank"].notna() & ~screen["config_id"].isin(finalists["config_id"])
                                      & (screen["error"] == "")].sort_values("rank").iterrows()]

        def finalists_then_spares():
            while queue:
                yield queue.pop(0)

        for f in _progress.track(finalists_then_spares(), "clustering: finalists on every row",
                                 disable=not self.progress):
            fam, params = families[f["family"]], self.params_by_config_[int(f["config_id"])]
            t0 = time.perf_counter()
            try:
                fit = fam.fit(X, params, fam.seed_for(base, params))
                row = self._score(X, fam, params, fit, fam.seed_for(base, params), base)
            except Exception as exc:  # noqa: BLE001 - a finalist that fails on every row: the next one
                full[int(f["config_id"])] = {"error": _error_text(exc), "eligible": False}
                log.info("%s %s failed on every row: %s", fam.name, f["params"], _error_text(exc))
                if spare:
                    queue.append(spare.pop(0))
                continue
            row["fit_seconds"] = round(time.perf_counter() - t0, 4)
            full[int(f["config_id"])], fits[int(f["config_id"])] = row, fit
            if eligible_alone(row, self.stability_floor):
                kept = (f, fam, params, fit)
                break
        fallback = kept is None
        if fallback:  # none holds up on every row: the first finalist that fitted, with a note
            if not fits:
                raise InputError("ClusterSelector: every finalist failed on all rows; the first: "
                                 f"{full[int(finalists.iloc[0]['config_id'])]['error']}")
            first = next(int(cid) for cid in [*finalists["config_id"], *fits] if int(cid) in fits)
            f = screen.loc[screen["config_id"] == first].iloc[0]
            fam, params = families[f["family"]], self.params_by_config_[int(f["config_id"])]
            kept = (f, fam, params, fits[int(f["config_id"])])
        f, fam, params, fit = kept
        table = screen.copy()
        table["scored_on"] = "sample"
        for cid, row in full.items():
            i = table.index[table["config_id"] == cid][0]
            for col, v in row.items():
                if col in table.columns:
                    table.loc[i, col] = v
            table.loc[i, "scored_on"] = "all rows"
        table["chosen"] = table["config_id"] == int(f["config_id"])
        taken = ("no finalist stayed eligible on every row: the sample's choice kept" if fallback else
                 "" if int(f["config_id"]) == int(chosen["config_id"].iloc[0]) else
                 "the sample's choice did not stay eligible on every row: the next finalist taken")
        note = "; ".join(x for x in [screen.loc[screen["chosen"], "note"].iloc[0], taken] if x)
        table["note"] = ""
        table.loc[table["chosen"], "note"] = note
        self.selection_ = table
        best = table.loc[table["chosen"]].iloc[0].to_dict()
        self.best_ = {k: _plain(v) for k, v in best.items()}
        log.info("chosen on every row: %s (%d finalists, %.1f s in all)", summarise(self.best_), len(full),
                 time.perf_counter() - start)
        self._finish(X, fit, params)
        return self

    def _finish(self, X: np.ndarray, final: FamilyFit, params: dict[str, Any]) -> None:
        # labels 0..k-1 with no gaps (a mixture component can end up empty), -1 kept
        self.labels_ = M._compact(np.asarray(final.labels, dtype=np.int64))[0]
        self.noise_mask_ = (np.asarray(final.noise_mask, dtype=bool) if final.noise_mask is not None
                            else self.labels_ < 0)
        self.best_params_ = dict(params)
        self.n_clusters_ = int(np.unique(self.labels_[self.labels_ >= 0]).size)
        # mean of each cluster's rows in the evaluation space, row c = cluster c
        self.cluster_centers_ = M.cluster_centroids(X, self.labels_)[0].astype(np.float32)
        self.n_features_in_ = X.shape[1]

    def _fit(self, X: np.ndarray, names: list[str], ks: list[int], notes: list[str], graph=None,
             coarse: bool = False) -> "ClusterSelector":
        """The sweep, the rule and the chosen configuration's fit. With ``coarse`` the k-families
        first sweep :func:`coarse_ks` and then every k of ``ks`` near the k the rule puts forward
        (see :func:`fine_ks`); the rule then reads the union."""
        base = _base_seed(self.random_state)
        self.reference_ = NullReference(X, random_state=config_seed(base, "reference", {}))
        families = self._families(names, graph)
        first = coarse_ks(ks) if coarse else ks
        plan = [(fam, fam.configs(X.shape[0], first)) for fam in families.values()]
        rows: list[dict[str, Any]] = []
        self.labels_by_config_: dict[int, np.ndarray] = {}
        pending: dict[int, tuple[Any, dict[str, Any], np.ndarray]] = {}  # config_id → refits still owed
        self._sweep_into(X, plan, base, rows, pending)
        table, failed = self._table(rows)
        if coarse and len(first) < len(ks) and not failed.all():
            view = table[~failed].copy()
            view.loc[view["stability"] == PENDING, "stability"] = 1.0  # owed: optimistic, as in `_settle_stability`
            t = choose_configuration(view, k_min=ks[0], k_max=ks[-1], stability_floor=self.stability_floor)[0]
            near = fine_ks(ks, first, t.loc[t["candidate"] | t["elbow"], "k"].dropna())
            if near:
                log.info("clustering: k near the candidates' k on the sample: %s", near)
                self._sweep_into(X, [(fam, [{"k": k} for k in near]) for fam in families.values() if fam.uses_k],
                                 base, rows, pending)
                table, failed = self._table(rows)
        params_list = self.params_by_config_
        if failed.all():
            raise InputError(f"ClusterSelector: every configuration failed; the first: {table['error'].iloc[0]}")
        chosen_table, chosen_id, note = self._settle_stability(X, table, failed, pending, ks, notes, base)
        table = pd.concat([chosen_table, table[failed].assign(eligible=False, candidate=False, chosen=False, note="")]
                          ).sort_values("config_id", kind="stable").reset_index(drop=True)
        self.selection_ = table
        best = table.loc[table["config_id"] == chosen_id].iloc[0].to_dict()
        self.best_ = {k: _plain(v) for k, v in best.items()}
        log.info("chosen: %s (of %d configurations)", summarise(self.best_), len(table))
        warn = "; ".join(part for part in note.split("; ") if part and not part.startswith("consensus"))
        if warn:  # taking the consensus is the rule working, not something to warn about
            warnings.warn(f"ClusterSelector: {warn}", UserWarning, stacklevel=3)
        fam = families[best["family"]]
        params = params_list[chosen_id]
        final = fam.fit(X, params, fam.seed_for(base, params))
        self._finish(X, final, params)
        return self

    def _sweep_into(self, X: np.ndarray, plan: list, base: int, rows: list[dict[str, Any]], pending: dict) -> None:
        """Fit and score every configuration of ``plan`` ([(family, [params])]), appending to ``rows``."""
        total = sum(len(c) for _, c in plan)

        def runs():
            for fam, configs in plan:
                for params, fit, elapsed in _guarded_sweep(fam, X, configs, base):
                    yield fam, params, fit, elapsed

        for fam, params, fit, elapsed in _progress.track(runs(), "clustering", total=total, disable=not self.progress):
            seed = fam.seed_for(base, params)
            row = {"config_id": len(rows), "family": fam.name, "params": _params_text(params),
                   "k": params.get("k", np.nan)}
            if isinstance(fit, Exception):  # this configuration failed; the sweep goes on
                row.update(n_clusters=0, error=_error_text(fit))
                fit = None
            else:
                try:
                    row.update(self._score(X, fam, params, fit, seed, base, defer_stability=True))
                except Exception as exc:  # noqa: BLE001 - e.g. a stability refit the family cannot give
                    row.update(n_clusters=0, error=_error_text(exc))
                if row.get("stability") == PENDING:
                    pending[row["config_id"]] = (fam, params, _small_ints(fit.labels))
            if row.get("error"):
                log.info("%s %s failed: %s", fam.name, row["params"], row["error"])
            row["fit_seconds"] = round(elapsed, 4)
            row["_params"] = params
            if self.keep_labels and fit is not None:
                self.labels_by_config_[row["config_id"]] = fit.labels.astype(np.int16)
            rows.append(row)
            log.debug("%s %s: %d clusters", fam.name, row["params"], row["n_clusters"])

    def _table(self, rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.Series]:
        """(the selection table of the scored ``rows``, which of them failed); sets `params_by_config_`."""
        table = pd.DataFrame(rows).reindex(columns=list(dict.fromkeys(
            SELECTION_COLUMNS + REFERENCE_COLUMNS + ["explained_variance"] + [c for r in rows for c in r] + ["error"])))
        extra = [c for c in table.columns if c not in SELECTION_COLUMNS and c != "_params"]
        self.params_by_config_ = table.pop("_params").tolist()  # config_id → parameter dict
        own = REFERENCE_COLUMNS + ["explained_variance"]
        table = table[SELECTION_COLUMNS + own + [c for c in extra if c not in own]]
        table["error"] = [e if isinstance(e, str) else "" for e in table["error"]]
        return table, table["error"] != ""

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_


COARSE_DENSE_UP_TO = 16  # the screen's first pass: every k up to here, every COARSE_STEP-th above
COARSE_STEP = 4
FINE_SPAN = 2  # the second pass: every k within this of a candidate's k


def coarse_ks(ks: list[int]) -> list[int]:
    """The screen's first k grid: every k of ``ks`` up to :data:`COARSE_DENSE_UP_TO`, every
    :data:`COARSE_STEP`-th above, and the last (the ends of the R² curve, whose chord the elbow
    is measured from, stay where they are)."""
    kept = [k for k in ks if k <= COARSE_DENSE_UP_TO or (k - COARSE_DENSE_UP_TO) % COARSE_STEP == 0]
    return kept if kept[-1] == ks[-1] else [*kept, ks[-1]]


def fine_ks(ks: list[int], done: list[int], centres) -> list[int]:
    """The k of ``ks`` not yet swept within :data:`FINE_SPAN` of any candidate's k (``centres``):
    the second pass fills the coarse grid where the elbow and the candidates lie, so the rule
    reads there the same curve and the same configurations as on the full grid."""
    near = {k for c in centres for k in ks if abs(k - float(c)) <= FINE_SPAN}
    return sorted(near - set(done))


def _guarded_sweep(fam, X: np.ndarray, configs: list[dict[str, Any]], base: int):
    """``fam.sweep`` as (params, FamilyFit or the exception it raised, seconds): a configuration
    that fails is yielded as its exception and the sweep goes on with the next one."""
    done = 0
    start = time.perf_counter()
    try:
        for params, fit in fam.sweep(X, configs, base):
            yield params, fit, time.perf_counter() - start
            done += 1
            start = time.perf_counter()
        return
    except Exception as exc:  # noqa: BLE001 - the shared sweep failed: one configuration at a time
        log.info("%s: shared sweep failed (%s); fitting the configurations one by one", fam.name, _error_text(exc))
    for params in configs[done:]:
        start = time.perf_counter()
        try:
            fit = fam.fit(X, params, fam.seed_for(base, params))
        except Exception as exc:  # noqa: BLE001
            fit = exc
        yield params, fit, time.perf_counter() - start


def _small_ints(labels: np.ndarray) -> np.ndarray:
    """Labels kept for later refits in the narrowest integer type that holds them."""
    labels = np.asarray(labels)
    return labels.astype(np.int16) if labels.size == 0 or labels.max() < 2**15 else labels.astype(np.int32)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
