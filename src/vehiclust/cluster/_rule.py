"""The selection rule: which configuration of the sweep becomes the clustering.

1. Eligible: at least 2 clusters, finite metrics, at most `max_noise` (25 %) of the rows left
   as noise by the family (more would leave a quarter of the collection unexplained), a
   silhouette and a Davies-Bouldin index better than those of structureless data
   (`silhouette_excess` > 0 and `davies_bouldin_excess` > 0), a `size_balance`
   (normalised entropy of the cluster sizes) of at least `min_balance` (0.5: below it one
   cluster holds most of the rows, e.g. 90 % + crumbs, which does not describe the collection;
   a diagonal mixture won on vehicle-attributes that way with NMI 0.03), and stability at least
   `stability_floor`. A floor nothing passes (balance, or stability with DB) is dropped with a
   note. The DB condition does not trim the R² curve of step 2 (over-split k fail it).
2. Elbow per k-family: the share of variance the clusters explain, R²(k) = 1 - W/T (W the
   within-cluster sum of squares), rises with k and flattens once the real groups are split.
   The family's candidate is the knee of that curve (with R²(1) = 0 when the grid starts at
   2) — the point farthest above the chord between the curve's ends (kneedle) — or the
   eligible k nearest to it. A curve
   with no knee (never more than `min_knee` above its chord) gives no elbow; that family's
   candidate is then its best eligible configuration by the score below, with a note.
   A family whose parameter plays the role of k (Leiden's resolution, see
   :data:`RESOLUTION_FAMILIES`) is read the same way, over the number of clusters each of its
   configurations found, with R²(1) = 0 (its smallest count is found, not a grid bound the user set);
   several resolutions at the count nearest the knee go to the best-scored (step 3, ties as in
   step 4), and neighbouring resolutions that tie on every figure within its uncertainty (the
   same partition as far as the rule can tell) give the middle of that plateau
   (:func:`plateau_middle`). A resolution family's knee may be broad: with replicate runs (other
   Leiden seeds on the same graph, :data:`REPLICATE_COLUMNS`), every eligible count from the knee
   to the counts whose height lies within the spread of the knee heights across seeds, and to the
   replicates' own knees, is in it (:func:`broad_knee`), and its best-scored goes forward. Density families (no k of their own) put forward every eligible configuration with at
   least as many clusters as the smallest elbow (fewer would be under-splitting: on real
   descriptors they tend to find 2-3 dense cores and call the rest noise).
3. Score among the candidates: the mean percentile rank over `silhouette_excess`,
   `davies_bouldin_excess` (each index's excess over a structureless reference at the same
   number of clusters, see `_reference.py`) and `stability`. Raw silhouette, Davies-Bouldin and
   Calinski-Harabasz all drift to k = 2-3 on real descriptors, so they are reported, not ranked.
   The silhouette is estimated on a sample (with a bootstrap 95 % interval): two candidates whose
   silhouettes differ by less than the interval of the difference, sqrt(h1² + h2²) for half-widths
   h, tie on it (:func:`tolerant_rank`). Ranking a difference the sample cannot resolve let a
   consensus beat Leiden on MobileNet (Zenodo 4,800, seed 2) by 0.0024 of silhouette (half-widths
   0.0024 each) where Leiden was ahead on Davies-Bouldin (0.37 vs 0.31) and stability (0.78 vs 0.58).
4. The best score wins; ties go to the first of the ranked figures that tells them apart beyond
   its uncertainty (silhouette excess outside its interval, then Davies-Bouldin excess, then
   stability), then the fewer clusters: a silhouette edge inside its interval, a tie in step 3,
   does not decide in step 4 either. A chosen k at the
   edge of the k grid is reported in `note` (and warned about by the caller).
5. Consensus at the base family's k. A family in :data:`CONSENSUS_OF` (evidence accumulation,
   "eac") is a consensus of many runs of another family (k-means) and does not put forward a k
   of its own while that family is swept. When the consensus at the base family's candidate k
   (its elbow) is eligible, the consensus is the candidate in its place: one k-means run is
   one draw (its agreement with the real groups swings by several points from seed to seed),
   the consensus keeps what ~40 runs agree on. The base family's R² curve still picks k; the
   consensus decides which rows go together at that k. It competes in step 3 on its OWN
   silhouette, Davies-Bouldin and stability, since it is what would be delivered: ranking the
   k-means run's figures and then delivering the consensus would let a partition win on
   scores it does not have (on the 4,800 Zenodo crops the consensus is less compact than the
   k-means run it stands in for, and Leiden's candidate beats it on its own figures).

Without the reference columns (another engine's table) step 3 ranks the raw indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EXCESS = ["silhouette_excess", "davies_bouldin_excess", "calinski_harabasz_excess"]
# consensus family → the family whose runs it combines (see step 5 of the rule)
CONSENSUS_OF = {"eac": "kmeans"}
# families without a k whose parameter plays its role (Leiden's resolution): their elbow is read
# from R² over the number of clusters each configuration found (step 2)
RESOLUTION_FAMILIES = ("leiden",)
MAX_NOISE = 0.25  # step 1: most noise a configuration may leave
MIN_BALANCE = 0.5  # step 1: least size balance


def chord_heights(k: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k sorted, each point's height above the chord between the curve's ends, in normalised
    units) of R²(k); empty when the curve has no knee to read (< 3 points, not rising).

    R²(1) = 0 is added when the grid starts at 2 (so a knee at k = 2 can be seen); a grid
    starting higher is taken as given, or its first point would always look like the knee.
    """
    order = np.argsort(k, kind="stable")
    k = np.asarray(k, float)[order]
    r2 = np.asarray(r2, float)[order]
    if k.size and k[0] == 2:
        k, r2 = np.r_[1.0, k], np.r_[0.0, r2]
    if k.size < 3 or not np.isfinite(r2).all() or r2[-1] <= r2[0] or k[-1] <= k[0]:
        return np.empty(0), np.empty(0)
    x = (k - k[0]) / (k[-1] - k[0])
    y = (r2 - r2[0]) / (r2[-1] - r2[0])
    return k, y - x


def elbow(k: np.ndarray, r2: np.ndarray) -> tuple[float, float]:
    """(knee k, height above the chord in normalised units) of R²(k) (:func:`chord_heights`)."""
    k, d = chord_heights(k, r2)
    if not k.size:
        return float("nan"), 0.0
    i = int(np.argmax(d))
    return float(k[i]), float(d[i])


# a resolution family's replicate runs (other Leiden seeds on the same graph) → their count and
# R² columns, numbered from 1: REPLICATE_COLUMNS[0] % 1, ...
REPLICATE_COLUMNS = ("replicate_n_clusters_%d", "replicate_explained_variance_%d")


def replicate_knees(part: pd.DataFrame) -> list[tuple[float, float]]:
    """(knee count, knee height) of each replicate's R² curve over the configurations ``part``."""
    out = []
    i = 1
    while REPLICATE_COLUMNS[0] % i in part.columns and REPLICATE_COLUMNS[1] % i in part.columns:
        kk = part[REPLICATE_COLUMNS[0] % i].to_numpy(float)
        r2 = part[REPLICATE_COLUMNS[1] % i].to_numpy(float)
        ok = np.isfinite(kk) & np.isfinite(r2)
        knee, h = elbow(np.r_[1.0, kk[ok]], np.r_[0.0, r2[ok]])
        if np.isfinite(knee):
            out.append((knee, h))
        i += 1
    return out


def broad_knee(part: pd.DataFrame, kk: np.ndarray, r2: np.ndarray, knee: float, height: float) -> tuple[float, float]:
    """(lowest, highest) count of the knee's seed-to-seed range: the counts of the curve whose height
    lies within the spread of the knee heights across seeds, and the replicates' own knees."""
    reps = replicate_knees(part)
    if not reps:
        return knee, knee
    spread = max([height] + [h for _, h in reps]) - min([height] + [h for _, h in reps])
    counts, heights = chord_heights(kk, r2)
    inside = [*counts[heights >= height - spread], knee, *(k for k, _ in reps)]
    return float(min(inside)), float(max(inside))


# a column whose figure is a sample estimate → its 95 % confidence bounds (step 3 ties what they cannot tell apart)
UNCERTAIN = {"silhouette_excess": ("silhouette_ci_low", "silhouette_ci_high"),
             "silhouette_sample": ("silhouette_ci_low", "silhouette_ci_high")}


def tolerant_rank(values: pd.Series, half_width: pd.Series | None = None) -> pd.Series:
    """Percentile rank (average rank of ties / count, as ``Series.rank(pct=True)``) where two
    values count as tied when their difference is within the 95 % interval of the difference,
    ``sqrt(h_i² + h_j²)`` for half-widths ``h``; with no half-widths, the plain percentile rank."""
    x = values.to_numpy(float)
    h = np.zeros_like(x) if half_width is None else np.nan_to_num(half_width.to_numpy(float), nan=0.0)
    tol = np.sqrt(h[:, None] ** 2 + h[None, :] ** 2)
    diff = x[:, None] - x[None, :]  # diff[i, j] = x_i - x_j; NaN (unknown) neither beats nor ties
    below = (diff > tol).sum(axis=1)  # values j that i beats beyond the uncertainty
    tied = (np.abs(diff) <= tol).sum(axis=1)  # including i itself
    known = np.isfinite(x)
    rank = (below + (tied + 1) / 2.0) / max(int(known.sum()), 1)
    return pd.Series(np.where(known, rank, np.nan), index=values.index)


def _ranks(frame: pd.DataFrame, columns: list[tuple[str, bool]]) -> pd.DataFrame:
    """Each ranked column's percentile rank within ``frame`` (higher is better), differences the
    column's confidence interval cannot resolve counted as ties (:func:`tolerant_rank`)."""
    parts = {}
    for c, higher in columns:
        bounds = UNCERTAIN.get(c)
        half = ((frame[bounds[1]] - frame[bounds[0]]) / 2.0 if bounds and all(b in frame.columns for b in bounds)
                else None)
        parts[c] = tolerant_rank(frame[c] if higher else -frame[c], half)
    return pd.DataFrame(parts, index=frame.index)


def _score(frame: pd.DataFrame, columns: list[tuple[str, bool]]) -> pd.Series:
    return _ranks(frame, columns).mean(axis=1)


TIE_KEYS = [f"_tie{i}" for i in range(3)]


def _tie_keys(frame: pd.DataFrame, columns: list[tuple[str, bool]]) -> pd.DataFrame:
    """Step 4's tie-break keys: the ranked columns in order, each as its tolerant rank within
    ``frame`` (a silhouette edge inside its interval does not break a tie it could not break in
    the score), then the more stable, then the fewer clusters (as ``-n_clusters``)."""
    ranks = _ranks(frame, columns).fillna(-np.inf)
    keys = pd.DataFrame({TIE_KEYS[i]: ranks[c] for i, (c, _) in enumerate(columns)}, index=frame.index)
    for i in range(len(columns), len(TIE_KEYS)):
        keys[TIE_KEYS[i]] = 0.0
    keys["_stab"] = frame["stability"].fillna(-np.inf)
    keys["_n"] = -frame["n_clusters"]
    return keys


def _best_scored(frame: pd.DataFrame, columns: list[tuple[str, bool]]) -> Any:
    """Index of the best-scored row of ``frame``, ties broken as in step 4 (:func:`_tie_keys`):
    with silhouettes tied within their interval, identical partitions at several resolutions would
    otherwise go to the first in the grid."""
    order = pd.concat([frame.assign(_s=_score(frame, columns)), _tie_keys(frame, columns)], axis=1)
    keys = ["_s", *TIE_KEYS, "_stab", "_n"]
    return order.sort_values(keys, ascending=False, kind="stable").index[0]


def plateau_middle(part: pd.DataFrame, keys: pd.DataFrame, pick: Any) -> Any:
    """The middle of the plateau ``pick`` lies on in a resolution family's grid (``part``, in grid
    order): the run of neighbouring configurations equal to ``pick`` on every column of ``keys``
    (indexed by the eligible rows only). Those resolutions give the partition the rule wants, as
    far as its figures tell; the one furthest from both ends of the run is furthest from where it
    changes, so it is the one most likely to give it again when the graph changes (every row
    instead of the screen's sample, another subsample). The lowest resolution of the run sits
    next to a merge: on a planted case it found the planted groups on the 20,000-row sample and
    merged two of them on every row."""
    order = list(part.index)
    at = order.index(pick)
    ref = keys.loc[pick].to_numpy(float)

    def equal(i: int) -> bool:
        return order[i] in keys.index and bool(np.all(keys.loc[order[i]].to_numpy(float) == ref))

    lo = at
    while lo > 0 and equal(lo - 1):
        lo -= 1
    hi = at
    while hi + 1 < len(order) and equal(hi + 1):
        hi += 1
    return order[(lo + hi + 1) // 2]


def _on_plateau(part: pd.DataFrame, rows: pd.DataFrame, pick: Any, columns: list[tuple[str, bool]]) -> Any:
    """:func:`plateau_middle` over the configurations of ``rows`` that tie with ``pick`` on every
    figure within its uncertainty (score, each ranked figure, stability, count)."""
    keys = pd.concat([rows.assign(_s=_score(rows, columns))[["_s"]], _tie_keys(rows, columns)], axis=1)
    return plateau_middle(part, keys, pick)


def choose_configuration(
    table: pd.DataFrame,
    *,
    k_min: int,
    k_max: int,
    stability_floor: float = 0.5,
    max_noise: float = MAX_NOISE,
    min_knee: float = 0.05,
    min_balance: float = MIN_BALANCE,
    extra_notes: list[str] | None = None,
) -> tuple[pd.DataFrame, int, str]:
    """Add `eligible`, `elbow`, `candidate`, `score`, `rank`, `chosen`, `note`; return (table, id, note)."""
    t = table.copy()
    notes = list(extra_notes or [])
    raw = ["silhouette_sample", "davies_bouldin", "calinski_harabasz"]
    have_reference = all(c in t.columns for c in EXCESS)
    if not have_reference:
        notes.append("no reference-excess columns: raw indices ranked")
    finite = np.isfinite(t[raw + (EXCESS if have_reference else [])].astype(float)).all(axis=1)
    base = (t["n_clusters"] >= 2) & finite & (t["noise_share"] <= max_noise)
    if have_reference:
        base &= t["silhouette_excess"] > 0  # must beat structureless data
    if "size_balance" in t.columns:
        balanced = t["size_balance"].isna() | (t["size_balance"] >= min_balance)
        if (base & balanced).any():
            base &= balanced  # one cluster holding most rows does not describe the collection
        elif base.any():
            notes.append(f"no configuration reached the size-balance floor {min_balance}; floor dropped")
    stable = t["stability"].isna() | (t["stability"] >= stability_floor)
    if have_reference:
        # Davies-Bouldin must beat structureless data too; not part of `base`, so the R² curve
        # the elbow is read from keeps its over-split tail (where DB falls below the reference)
        stable &= t["davies_bouldin_excess"] > 0
    eligible = base & stable
    if not eligible.any():
        if base.any():
            eligible = base
            extra = " with a Davies-Bouldin excess > 0" if have_reference else ""
            notes.append(f"no configuration reached the stability floor {stability_floor}{extra}; floor dropped")
        else:
            eligible = t["n_clusters"] >= 1
            notes.append("no configuration found 2 or more clusters with finite metrics"
                         + (" and a silhouette above the structureless reference" if have_reference else ""))
    t["eligible"] = eligible
    if have_reference:
        columns = [("silhouette_excess", True), ("davies_bouldin_excess", True), ("stability", True)]
    else:
        columns = [("silhouette_sample", True), ("davies_bouldin", False), ("calinski_harabasz", True)]
    stab_known = t["stability"].notna().any()
    columns = [c for c in columns if c[0] != "stability" or stab_known]

    # candidates: the elbow of each k-family, every eligible density configuration
    t["elbow"] = False
    candidate = pd.Series(False, index=t.index)
    has_k = t["k"].notna() if "k" in t.columns else pd.Series(False, index=t.index)
    have_r2 = "explained_variance" in t.columns
    density: list[str] = []
    elbows: list[float] = []
    swept = set(t["family"].unique())
    for fam in t["family"].unique():
        if CONSENSUS_OF.get(fam) in swept:
            continue  # a consensus refines its base family's choice (step 5), it does not compete
        part = t[(t["family"] == fam)]
        if fam in RESOLUTION_FAMILIES:
            part_k = part["n_clusters"].astype(float)  # the resolution plays the role of k
        elif not has_k[part.index].all():
            density.append(fam)
            continue
        else:
            part_k = part["k"].astype(float)
        ok = part[eligible[part.index]]
        if ok.empty:
            continue
        knee, height = (float("nan"), 0.0)
        if have_r2 and base[part.index].sum() >= 2:
            fit = part[base[part.index]]
            kk, r2 = part_k[fit.index].to_numpy(float), fit["explained_variance"].to_numpy(float)
            if fam in RESOLUTION_FAMILIES:  # one cluster explains nothing: R²(1) = 0 on every curve
                kk, r2 = np.r_[1.0, kk], np.r_[0.0, r2]
            knee, height = elbow(kk, r2)
        if np.isfinite(knee) and height >= min_knee:
            dist = (part_k[ok.index] - knee).abs()
            pick = dist.sort_values(kind="stable").index[0]
            if fam in RESOLUTION_FAMILIES:  # several resolutions found the count nearest the knee
                near = ok[dist == dist.min()]
                lo, hi = broad_knee(fit, kk, r2, knee, height)
                wide = ok[part_k[ok.index].between(lo, hi)]
                if len(wide) > len(near) and near.index.isin(wide.index).all():
                    near = wide
                pick = _on_plateau(part, near, _best_scored(near, columns), columns)
            t.loc[pick, "elbow"] = True
            elbows.append(float(part_k[pick]))
        else:
            pick = _best_scored(ok, columns)
            if fam in RESOLUTION_FAMILIES:
                pick = _on_plateau(part, ok, pick, columns)
            if have_r2:
                notes.append(f"{fam}: no clear elbow in the explained-variance curve, best-scored k taken")
        candidate[pick] = True
    # the consensus at a base family's candidate k competes in its place, on its own metrics (step 5)
    stand_in: dict[int, int] = {}  # consensus row → the base family's candidate it stands in for
    for pick in list(candidate.index[candidate]):
        cons = _consensus_at(t, pick, eligible)
        if cons is not None:
            candidate[pick], candidate[cons] = False, True
            stand_in[cons] = pick
    # density configurations compete when they split at least as finely as the smallest elbow:
    # merging the data into fewer groups than the variance supports is under-splitting.
    k_floor = min(elbows) if elbows else 2
    for fam in density:
        part = t[(t["family"] == fam)].index
        candidate[part] = eligible[part] & (t.loc[part, "n_clusters"] >= k_floor)
    if not candidate.any():
        candidate = eligible.copy()
    t["candidate"] = candidate
    score = pd.Series(np.nan, index=t.index)
    if base.any() and candidate.any():
        score.loc[candidate] = _score(t.loc[candidate], columns)
    t["score"] = score
    # tie-break keys within the candidates, and within the rest (their order feeds the screen's spares)
    ties = pd.concat([_tie_keys(t.loc[candidate], columns), _tie_keys(t.loc[~candidate], columns)]).loc[t.index]
    order = pd.concat([t.assign(_c=candidate.astype(int), _e=eligible.astype(int), _s=score.fillna(-np.inf)), ties], axis=1)
    order = order.sort_values(["_c", "_s", "_e", *TIE_KEYS, "_stab", "_n"], ascending=False, kind="stable")
    if order.index[0] in stand_in:  # the base family's candidate ranks right after its consensus
        consensus, base_idx = order.index[0], stand_in[order.index[0]]
        order = order.loc[[consensus, base_idx] + [i for i in order.index if i not in (consensus, base_idx)]]
        base_row = t.loc[base_idx]
        notes.append(f"consensus ({t.loc[consensus, 'family']}) of the {base_row['family']} runs at the chosen k={int(base_row['k'])}")
    t["rank"] = 0
    t.loc[order.index, "rank"] = np.arange(1, len(t) + 1)
    chosen_idx = order.index[0]
    chosen = t.loc[chosen_idx]
    k = chosen["k"] if "k" in t.columns else np.nan
    if pd.notna(k) and k_min < k_max and int(k) in (k_min, k_max):
        side = "lower" if int(k) == k_min else "upper"
        notes.append(
            f"chosen k={int(k)} is the {side} boundary of the k grid [{k_min}, {k_max}]; the best k may lie outside it"
        )
    note = "; ".join(notes)
    t["chosen"] = t.index == chosen_idx
    t["note"] = ""
    t.loc[chosen_idx, "note"] = note
    return t, int(chosen["config_id"]), note


def eligible_alone(row: dict[str, Any], stability_floor: float = 0.5) -> bool:
    """Whether one scored configuration passes every floor of step 1 (none dropped)."""
    metrics = ["silhouette_sample", "davies_bouldin", "calinski_harabasz", *EXCESS]
    if row.get("n_clusters", 0) < 2 or not all(np.isfinite(float(row.get(c, np.nan))) for c in metrics):
        return False
    stability = float(row.get("stability", np.nan))
    balance = float(row.get("size_balance", np.nan))
    return (row["noise_share"] <= MAX_NOISE and row["silhouette_excess"] > 0 and row["davies_bouldin_excess"] > 0
            and not balance < MIN_BALANCE and not stability < stability_floor)


def _consensus_at(t: pd.DataFrame, winner: int, eligible: pd.Series):
    """Index of the eligible consensus row at the winner's k, if the winner's family has one."""
    family, k = t.loc[winner, "family"], t.loc[winner, "k"] if "k" in t.columns else np.nan
    if pd.isna(k):
        return None
    for cons, of in CONSENSUS_OF.items():
        if of != family:
            continue
        rows = t.index[(t["family"] == cons) & (t["k"] == k) & eligible]
        if len(rows):
            return rows[0]
    return None


def summarise(row: dict[str, Any]) -> str:
    """One line for logs and reports."""
    return (
        f"{row['family']} ({row['params']}): {row['n_clusters']} clusters, silhouette "
        f"{row['silhouette_sample']:.3f}, DB {row['davies_bouldin']:.3f}, stability {row['stability']:.2f}"
    )
