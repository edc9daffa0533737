"""Agreement with known labels: reported only, never used to choose a clustering."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from vehiclust.exceptions import InputError


def purity(labels_true, labels_pred) -> float:
    """Share of rows whose cluster's majority true label is their own."""
    table = pd.crosstab(np.asarray(labels_pred), np.asarray(labels_true))
    return float(table.max(axis=1).sum() / table.to_numpy().sum()) if table.size else float("nan")


def external_agreement(labels_true, labels_pred) -> dict[str, float]:
    """NMI, ARI and purity of a clustering against known labels.

    Rows whose true label is missing (NaN/None/"") are dropped; predicted -1 (unassigned) rows
    count as one more cluster, so leaving rows out is not rewarded.
    """
    t = pd.Series(np.asarray(labels_true, dtype=object))
    p = np.asarray(labels_pred)
    if len(t) != len(p):
        raise InputError(f"external_agreement needs labels of equal length. Got {len(t)} true and {len(p)} predicted.")
    keep = t.notna().to_numpy() & (t.astype(str).str.len() > 0).to_numpy()
    if not keep.any():
        return {"nmi": float("nan"), "ari": float("nan"), "purity": float("nan"), "n_labelled": 0}
    t = t[keep].astype(str).to_numpy()
    p = p[keep]
    return {
        "nmi": float(normalized_mutual_info_score(t, p)),
        "ari": float(adjusted_rand_score(t, p)),
        "purity": purity(t, p),
        "n_labelled": int(keep.sum()),
    }
