"""The comparison table: one row per descriptor set, mix and consensus, scored the same way."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from vehiclust import progress as _progress
from vehiclust.compare._agreement import label_scores
from vehiclust.compare._metrics import (
    Refit,
    common_silhouette,
    cosine_silhouette,
    sphere_davies_bouldin,
    stability,
)
from vehiclust.compare._mix import DescriptorMixer
from vehiclust.compare._predictivity import _number, candidate_predictivity
from vehiclust.compare._select import rank_candidates
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

KINDS = ("single", "mix", "consensus")


@dataclass
class Candidate:
    """One clustering to compare: its space, its labels and how to refit it."""

    name: str
    X: np.ndarray  # (n_valid, d): the rows of `valid`, in the space the clustering was fitted in
    valid: np.ndarray  # (n_rows,) bool
    labels: np.ndarray  # (n_rows,) int, -1 = unassigned (noise or invalid row)
    kind: str = "single"  # "single", "mix" or "consensus"
    refit: Refit | None = None  # (X_subsample, k) -> labels; None = k-means with k
    outliers: np.ndarray | None = None  # (n_rows,) bool
    chosen: dict[str, Any] = field(default_factory=dict)
    preparation: dict[str, Any] = field(default_factory=dict)  # a mix's blocks and weights, the consensus's clusterings


def _configuration(chosen: Mapping[str, Any]) -> str:
    """``family(params)`` from a clustering selector's chosen row, else ``key=value`` pairs."""
    if "family" in chosen:
        params = chosen.get("params", "")
        text = f"{chosen['family']}({params})" if params else str(chosen["family"])
        return f"{text} on {chosen['space']}" if chosen.get("space") else text
    parts = []
    for k, v in chosen.items():
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            continue
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)


def _check(c: Candidate) -> None:
    valid = np.asarray(c.valid, bool)
    if c.kind not in KINDS:
        raise InputError(f"Candidate {c.name!r} has kind {c.kind!r}; allowed: {list(KINDS)}.")
    if len(c.labels) != len(valid):
        raise InputError(f"Candidate {c.name!r} has {len(c.labels)} labels for {len(valid)} rows.")
    if np.asarray(c.X).shape[0] != valid.sum():
        raise InputError(f"Candidate {c.name!r}: X has {np.asarray(c.X).shape[0]} rows but {int(valid.sum())} rows are valid.")


def common_space(candidates: Sequence[Candidate], n_components: int | None = None, max_rows: int = 50_000,
                 random_state: Any = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The shared yardstick: the equal-weight mix of all single sets, on rows valid in all.

    Only scores on row samples are computed in it, so it is built on at most ``max_rows``
    random rows (``valid`` marks them). With one single set, its own space; with none, None.
    """
    singles = [c for c in candidates if c.kind == "single"]
    if not singles:
        return None
    if len(singles) == 1:
        return singles[0].X, np.asarray(singles[0].valid, bool)
    valid = np.logical_and.reduce([np.asarray(c.valid, bool) for c in singles])
    if valid.sum() < 3:
        return None
    if valid.sum() > max_rows:
        rng = check_random_state(random_state)
        keep = rng.choice(np.flatnonzero(valid), max_rows, replace=False)
        valid = np.zeros_like(valid)
        valid[keep] = True
    blocks = [np.asarray(c.X)[(np.cumsum(np.asarray(c.valid, bool)) - 1)[valid]] for c in singles]
    X = DescriptorMixer(n_components=n_components, random_state=random_state).fit_transform(blocks)
    return X, valid


def with_predictivity(table: pd.DataFrame, predictivity: pd.DataFrame,
                      type_agreement: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``table`` (one row per candidate, ``descriptor`` its name) with the rule's columns:
    ``type_evidence`` (when ``type_agreement`` is given: how far each clustering agrees with an
    ImageNet classifier's vehicle types, :func:`~vehiclust.compare._report.type_agreement`),
    ``predictivity`` (row means of
    :func:`candidate_predictivity`), and where sets count as one view, ``view`` (the set that
    represents it), ``view_predictivity`` (the view's best score) and ``refinement`` (how far each
    of those sets refines the others of its view)."""
    table = table.copy()
    if type_agreement:
        after = table.columns.get_loc("size_balance") + 1 if "size_balance" in table else len(table.columns)
        table.insert(after, "type_evidence", table["descriptor"].map(type_agreement).astype(float).to_numpy())
    means = predictivity.mean(axis=1) if predictivity.shape[1] else pd.Series(np.nan, index=predictivity.index)
    after = table.columns.get_loc("size_balance") + 1 if "size_balance" in table else len(table.columns)
    table.insert(after, "predictivity", means.reindex(table["descriptor"]).to_numpy())
    views = predictivity.attrs.get("views") or {}
    if views:  # sets counted as one view: the view's best score, delivered by its representative
        view = table["descriptor"].map(views)
        best_of_view = table.groupby(view)["predictivity"].max()
        table.insert(table.columns.get_loc("predictivity") + 1, "view", view)
        table.insert(table.columns.get_loc("view") + 1, "view_predictivity", view.map(best_of_view))
    refines = predictivity.attrs.get("refinement") or {}
    if refines:  # sets of a view with others: how far each refines them (the view's representative)
        table.insert(table.columns.get_loc("view_predictivity") + 1, "refinement",
                     table["descriptor"].map(refines).astype(float).to_numpy())
    return table


def compare_candidates(candidates: Sequence[Candidate], truth: pd.DataFrame | None = None, *,
                       common: tuple[np.ndarray, np.ndarray] | None = None, sample_size: int = 3000,
                       n_resamples: int = 5, random_state: Any = None, progress: bool | None = None,
                       predictivity: pd.DataFrame | None = None,
                       type_agreement: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per candidate: configuration, size, internal scores, selection rank, label scores.

    Every candidate is scored on row samples drawn with the same seed, with the functions of
    :mod:`vehiclust.compare._metrics`. ``silhouette_common`` is measured in ``common``
    (``(X, valid)``; default :func:`common_space` of the single sets). A consensus candidate's
    own space is built from the clusterings themselves and would flatter it, so its
    ``silhouette`` and ``davies_bouldin`` are measured in the common space too. ``truth`` (one column per label, one row per input row)
    only adds ``nmi_<label>`` / ``ari_<label>`` columns, which the selection rule ignores.
    ``predictivity`` (candidate x single set, :func:`candidate_predictivity`; computed when None)
    gives the ``predictivity`` column, its row means; for single sets, ``view`` names the set that
    represents its view (:func:`~vehiclust.compare._predictivity.view_representatives`) and
    ``view_predictivity`` is the best predictivity among the view's sets. ``silhouette_excess`` and ``size_balance``
    come from each candidate's chosen configuration, when it has them.
    """
    if not candidates:
        raise InputError("compare_candidates needs at least one candidate.")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise InputError(f"Candidate names must be unique; got {names}.")
    for c in candidates:
        _check(c)
    seed = int(check_random_state(random_state).randint(2**31 - 1))
    if common is None:
        common = common_space(candidates, random_state=seed)
    rows = []
    disable = None if progress is None else not progress
    for c in _progress.track(candidates, "comparing descriptor sets", disable=disable):
        valid = np.asarray(c.valid, bool)
        labels = np.asarray(c.labels, dtype=np.int64)
        lab_valid = labels[valid]
        assigned = lab_valid >= 0
        n_clusters = int(len(np.unique(lab_valid[assigned])))
        if c.kind == "consensus" and common is not None:
            own_X, own_lab = common[0], labels[np.asarray(common[1], bool)]
        else:
            own_X, own_lab = c.X, lab_valid
        row: dict[str, Any] = {
            "descriptor": c.name,
            "kind": c.kind,
            "configuration": _configuration(c.chosen),
            "n_clusters": n_clusters,
            "n_valid": int(valid.sum()),
            "coverage": float((labels >= 0).mean()) if len(labels) else float("nan"),
            "noise_share": float(1 - assigned.mean()) if assigned.size else float("nan"),
            "outlier_share": float(np.mean(c.outliers)) if c.outliers is not None else float((labels < 0).mean()),
            "silhouette": cosine_silhouette(own_X, own_lab, sample_size=sample_size, random_state=seed),
            "davies_bouldin": sphere_davies_bouldin(own_X, own_lab, sample_size=sample_size, random_state=seed),
            "silhouette_common": (common_silhouette(labels, {"common": common}, sample_size=sample_size,
                                                    random_state=seed) if common is not None else float("nan")),
            "stability": stability(c.X, lab_valid, c.refit, n_resamples=n_resamples,
                                   sample_size=sample_size, random_state=seed),
            "silhouette_excess": _number(c.chosen.get("silhouette_excess")),
            "size_balance": _number(c.chosen.get("size_balance")),
        }
        if truth is not None:
            for col in truth.columns:
                row[f"nmi_{col}"], row[f"ari_{col}"] = label_scores(labels, truth[col])
        rows.append(row)
        log.info("compared %s: %d clusters, silhouette %.3f, stability %.3f", c.name, n_clusters,
                 row["silhouette"], row["stability"])
    table = pd.DataFrame(rows)
    if predictivity is None:
        predictivity = candidate_predictivity(candidates, sample_size=min(sample_size, 2000), random_state=seed)
    table = with_predictivity(table, predictivity, type_agreement)
    ranked = rank_candidates(table)
    table.insert(table.columns.get_loc("predictivity") + 1, "eligible", ranked["eligible"].to_numpy())
    table.insert(table.columns.get_loc("eligible") + 1, "selection_rank", ranked["selection_rank"].to_numpy())
    return table
