"""The consensus clustering's outlier table: a majority vote of the single sets' tables.

The consensus has no descriptor space of its own to score, so each row's outlier columns come
from the single descriptor sets' tables (:func:`~vehiclust.outliers.outlier_table`), with the
same columns and meaning:

- ``is_outlier``: flagged by more than half of the sets, or assigned in none of them;
- ``outlier_score``: the score a majority of the sets reach (the ``m // 2 + 1``-th largest of
  the ``m`` sets' scores), so it passes 0.5 where a majority of sets' scores do; 1 for rows
  assigned in no set. ``descriptor_outlierness`` and ``no_vehicle_score`` are voted the same way;
- ``outlier_kind``: ``problem`` when at least as many sets call the row a problem as call it
  rare (image checks are shared by every set, so an image problem is a problem everywhere),
  else ``rare``;
- ``outlier_reasons``: the reasons more than half of the sets give (``unassigned_in_every_set``
  for rows no set assigned); ``flagged_by_most_descriptor_sets`` when the flagging sets agree
  on none;
- ``duplicate_of`` / ``twin_similarity``: the twin most of the sets that name one name (ties:
  the first set's), and its highest similarity among them.

The image-check quality columns are the same in every set and are copied from the first.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.outliers._table import PROBLEM, RARE

UNASSIGNED_REASON = "unassigned_in_every_set"
MAJORITY_REASON = "flagged_by_most_descriptor_sets"
_VOTED = ("outlier_score", "descriptor_outlierness", "no_vehicle_score")


def _majority_value(values: np.ndarray) -> np.ndarray:
    """Per row (axis 1 = sets), the value a strict majority of the sets reach; NaN are lowest."""
    m = values.shape[1]
    filled = np.where(np.isfinite(values), values, -np.inf)
    out = -np.sort(-filled, axis=1)[:, m // 2]
    return np.where(np.isfinite(out), out, np.nan)


def _text(table: pd.DataFrame, column: str, n: int) -> np.ndarray:
    if column not in table:
        return np.full(n, "", dtype=object)
    return table[column].fillna("").astype(str).to_numpy(object)


def majority_outliers(tables: list[pd.DataFrame], valid: np.ndarray) -> pd.DataFrame:
    """The consensus outlier table from the single sets' ``tables`` (row-aligned) and the rows
    the consensus assigned (``valid``)."""
    valid = np.asarray(valid, dtype=bool)
    n = len(valid)
    if any(len(t) != n for t in tables):
        raise InputError(f"majority_outliers: every set's outlier table must have {n:,} rows.")
    if not tables:
        return pd.DataFrame({"is_outlier": ~valid, "outlier_kind": np.where(valid, "", PROBLEM),
                             "outlier_score": np.where(valid, 0.0, 1.0),
                             "outlier_reasons": np.where(valid, "", UNASSIGNED_REASON), "duplicate_of": ""})
    m = len(tables)
    flags = np.column_stack([t["is_outlier"].to_numpy(bool) for t in tables])
    kinds = np.column_stack([_text(t, "outlier_kind", n) for t in tables])
    kinds = np.where(flags & (kinds == ""), RARE, kinds)  # tables older than outlier_kind
    flagged = ~valid | (flags.sum(axis=1) * 2 > m)
    n_problem = (kinds == PROBLEM).sum(axis=1)
    n_rare = (kinds == RARE).sum(axis=1)
    kind = np.where(flagged, np.where(~valid | (n_problem >= n_rare), PROBLEM, RARE), "")

    frame = pd.DataFrame(index=range(n))
    first = tables[0]
    for col in first.columns:  # the image checks' columns: one measurement shared by every set
        if col.endswith("_quality") or col == "image_outlierness":
            frame[col] = first[col].to_numpy()
    for col in _VOTED:
        if all(col in t for t in tables):
            stack = np.column_stack([pd.to_numeric(t[col], errors="coerce").to_numpy(np.float64) for t in tables])
            frame[col] = np.round(_majority_value(stack), 6)
    score = frame["outlier_score"].to_numpy(np.float64) if "outlier_score" in frame else flags.mean(axis=1)
    frame["outlier_score"] = np.where(valid, np.nan_to_num(score, nan=0.0), 1.0)

    reasons = [_text(t, "outlier_reasons", n) for t in tables]
    twins = [_text(t, "duplicate_of", n) for t in tables]
    sims = [pd.to_numeric(t["twin_similarity"], errors="coerce").to_numpy(np.float64) if "twin_similarity" in t
            else np.full(n, np.nan) for t in tables]
    out_reasons = np.full(n, "", dtype=object)
    dup_of = np.full(n, "", dtype=object)
    twin_sim = np.full(n, np.nan)
    for i in np.flatnonzero(flagged):
        counts = Counter(r for s in range(m) for r in dict.fromkeys(x for x in reasons[s][i].split(";") if x))
        held = [r for r, c in counts.items() if c * 2 > m]
        if not valid[i]:
            held = [UNASSIGNED_REASON, *(r for r in counts if r != UNASSIGNED_REASON)]
        out_reasons[i] = ";".join(held) if held else MAJORITY_REASON
        named = [(twins[s][i], sims[s][i]) for s in range(m) if twins[s][i]]
        if named:
            best = Counter(t for t, _ in named).most_common(1)[0][0]
            dup_of[i] = best
            found = [v for t, v in named if t == best and np.isfinite(v)]
            twin_sim[i] = max(found) if found else np.nan
    frame["twin_similarity"] = np.round(twin_sim, 6)
    frame["is_outlier"] = flagged
    frame["outlier_kind"] = kind
    frame["outlier_reasons"] = out_reasons
    frame["duplicate_of"] = np.where(flagged, dup_of, "")
    return frame
