"""The selection rule: which configuration of the sweep becomes the clustering.

1. Eligible: at least 2 clusters, finite metrics, at most `max_noise` of rows left as noise by
   the family, no cluster holding more than `max_dominant` of the rows, and stability at least
   `stability_floor` (if nothing passes the floor, the floor is dropped and the note says so).
2. Score: the mean of the eligible configurations' percentile ranks on the three indices'
   EXCESS over a structureless reference at the same number of clusters (silhouette
   difference, log Davies-Bouldin ratio, log Calinski-Harabasz ratio; see `_reference.py`).
   The raw indices all drift to k = 2-3 on real descriptors; their excesses do not.
3. The best score wins; ties go to the more stable, then the smaller k.
4. A chosen k at the edge of the k grid is reported in `note` (and warned about by the caller).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


EXCESS = ["silhouette_excess", "davies_bouldin_excess", "calinski_harabasz_excess"]


def choose_configuration(
    table: pd.DataFrame,
    *,
    k_min: int,
    k_max: int,
    stability_floor: float = 0.5,
    max_noise: float = 0.5,
    extra_notes: list[str] | None = None,
) -> tuple[pd.DataFrame, int, str]:
    """Add `eligible`, `score`, `rank`, `chosen`, `note` columns; return (table, id, note)."""
    t = table.copy()
    notes = list(extra_notes or [])
    raw = ["silhouette_sample", "davies_bouldin", "calinski_harabasz"]
    have_excess = all(c in t.columns for c in EXCESS)
    if not have_excess:
        notes.append("no reference-excess columns: raw indices ranked")
    metrics = raw + (EXCESS if have_excess else [])
    finite = np.isfinite(t[metrics].astype(float)).all(axis=1)
    base = (t["n_clusters"] >= 2) & finite & (t["noise_share"] <= max_noise)
    stable = t["stability"].isna() | (t["stability"] >= stability_floor)
    eligible = base & stable
    if not eligible.any():
        if base.any():
            eligible = base
            notes.append(f"no configuration reached the stability floor {stability_floor}; floor dropped")
        else:
            eligible = t["n_clusters"] >= 1
            notes.append("no configuration found 2 or more clusters with finite metrics")
    t["eligible"] = eligible
    score = pd.Series(np.nan, index=t.index)
    if eligible.any() and base.any():
        e = t.loc[eligible]
        if have_excess:
            parts = [e[c].rank(pct=True) for c in EXCESS]
        else:
            parts = [e["silhouette_sample"].rank(pct=True), (-e["davies_bouldin"]).rank(pct=True),
                     e["calinski_harabasz"].rank(pct=True)]
        score.loc[eligible] = pd.concat(parts, axis=1).mean(axis=1)
    t["score"] = score
    order = t.assign(_s=score.fillna(-np.inf), _stab=t["stability"].fillna(-np.inf), _n=t["n_clusters"])
    order = order.sort_values(["_s", "_stab", "_n"], ascending=[False, False, True], kind="stable")
    t["rank"] = 0
    t.loc[order.index, "rank"] = np.arange(1, len(t) + 1)
    chosen_idx = order.index[0]
    chosen = t.loc[chosen_idx]
    k = chosen["k"]
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


def summarise(row: dict[str, Any]) -> str:
    """One line for logs and reports."""
    return (
        f"{row['family']} ({row['params']}): {row['n_clusters']} clusters, silhouette "
        f"{row['silhouette_sample']:.3f}, DB {row['davies_bouldin']:.3f}, stability {row['stability']:.2f}"
    )
