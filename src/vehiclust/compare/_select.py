"""The rule that picks the overall best candidate for the deliverable clusters.csv.

Rule: among eligible candidates (at least 2 clusters, at most half of the valid rows left
unassigned), rank each internal score — ``silhouette`` (higher is better), ``davies_bouldin``
(lower), ``silhouette_common`` (higher), ``stability`` (higher) — with average ranks, a
missing score taking the worst rank; the best candidate has the lowest mean rank. Ties go to
the higher stability, then the higher common silhouette, then the name. Ranks, not raw
values, so no score outweighs the others by its range. Label columns (``nmi_*``, ``ari_*``)
and attribute alignment are reported but never read here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError

# score -> direction (+1 higher is better, -1 lower is better)
SELECTION_SCORES: dict[str, int] = {
    "silhouette": +1,
    "davies_bouldin": -1,
    "silhouette_common": +1,
    "stability": +1,
}
MAX_NOISE_SHARE = 0.5


def rank_candidates(comparison: pd.DataFrame) -> pd.DataFrame:
    """``eligible`` and ``selection_rank`` (mean rank, 1 = best) for each row of the comparison."""
    missing = [c for c in ("descriptor", "n_clusters", "noise_share", *SELECTION_SCORES) if c not in comparison]
    if missing:
        raise InputError(f"The comparison table lacks the columns {missing} the selection rule needs.")
    table = comparison[["descriptor", "n_clusters", "noise_share", *SELECTION_SCORES]].copy()
    eligible = (table["n_clusters"] >= 2) & (table["noise_share"].fillna(1.0) <= MAX_NOISE_SHARE)
    eligible &= table[list(SELECTION_SCORES)].notna().any(axis=1)
    table["eligible"] = eligible
    ranks = pd.DataFrame(index=table.index)
    sub = table[eligible]
    for col, direction in SELECTION_SCORES.items():
        r = (sub[col] * direction).rank(ascending=False, method="average", na_option="bottom")
        ranks[col] = r
    table["selection_rank"] = ranks.mean(axis=1)
    table.loc[~eligible, "selection_rank"] = np.nan
    return table[["descriptor", "eligible", "selection_rank"]]


def choose_best(comparison: pd.DataFrame) -> tuple[str, str]:
    """(name, reason) of the best candidate by the rule above; labels are never used."""
    ranked = rank_candidates(comparison).merge(
        comparison[["descriptor", *SELECTION_SCORES]], on="descriptor")
    pool = ranked[ranked["eligible"]]
    if pool.empty:
        if comparison.empty:
            raise InputError("choose_best needs a comparison table with at least one candidate.")
        fallback = comparison.sort_values(["n_clusters", "descriptor"], ascending=[False, True]).iloc[0]
        reason = (
            "No candidate is eligible (each has fewer than 2 clusters or leaves more than "
            f"{MAX_NOISE_SHARE:.0%} of its rows unassigned); {fallback['descriptor']} is kept because it "
            "has the most clusters. True labels were not used."
        )
        warnings.warn(reason, UserWarning, stacklevel=2)
        return str(fallback["descriptor"]), reason
    pool = pool.assign(_stab=pool["stability"].fillna(-np.inf), _sc=pool["silhouette_common"].fillna(-np.inf))
    pool = pool.sort_values(["selection_rank", "_stab", "_sc", "descriptor"], ascending=[True, False, False, True])
    best = pool.iloc[0]
    parts = ", ".join(f"{col} {best[col]:.3f}" for col in SELECTION_SCORES if pd.notna(best[col]))
    reason = (
        f"{best['descriptor']} has the best mean rank ({best['selection_rank']:.2f}) over silhouette, "
        f"Davies-Bouldin, common-space silhouette and stability among {len(pool)} eligible candidates "
        f"({parts}); true labels were not used."
    )
    return str(best["descriptor"]), reason
