"""The rule that picks the overall best candidate for the deliverable clusters.csv.

Rule (labels are reported in the table, never read here):

1. **Gate** on each candidate's own validity: at least 2 clusters; at most half of its valid
   rows left unassigned; where the comparison knows them, a chosen configuration that beats a
   structureless reference (``silhouette_excess`` > 0), a ``stability`` of at least
   :data:`STABILITY_FLOOR` and a ``size_balance`` of at least :data:`BALANCE_FLOOR` (not one
   cluster with most rows plus crumbs). A gate nobody passes is dropped (the first two stay).
2. **What the vehicles are, first**, where the run knows it: ``type_evidence``, how far the
   clusters agree with what an ImageNet classifier says the vehicles are — the share of its
   vehicle-type probability masses (car, truck, bus, van or minibus, motorbike or bicycle, ...)
   that lies between the clusters, corrected for chance, or without the masses the adjusted
   mutual information with its type words (both corrected for the number of clusters;
   :func:`~vehiclust.compare._report.type_agreement`). The classifier's answers come from the
   user's ImageNet head table, or from EfficientNet-Lite0 run on a seeded sample of the images
   (:func:`~vehiclust.compare._evidence.type_evidence`). Only the sets within
   :data:`TYPE_TIE` of the best go on. Without it, predictivity alone follows the view most
   sets share: with no ImageNet network among the sets, two colour sets and a re-id net
   outvoted HOG (type NMI 0.25 and 0.42 picked where HOG has 0.53 and 0.58, demo and Zenodo
   crops); HOG's clusters agree more with the classifier's types than OSNet's (by 0.06-0.08)
   and the colour sets' (by 0.1-0.15). A set of that classifier's own features is favoured by
   construction; it is also, measured, the set whose clusters follow the type best.
3. **Rank by meaning** among those: the highest ``predictivity`` wins — how well the candidate's k-NN graph
   keeps together what the *other* descriptor sets' clusterings keep together (chance-corrected
   assortativity relative to each reference's own graph; see :mod:`._predictivity`).
   Internal indices such as silhouette compare partitions of one space; across spaces they
   reward low intrinsic dimension, so a compact but shallow code won with them. Predictivity
   rewards the space that carries what every view sees. Redundant sets count as one view: a
   set derived from another (a network's own class probabilities beside its features, a copy)
   neither scores its source nor is scored by it, and votes once for the others
   (:func:`~vehiclust.compare._predictivity.admissible_references`); otherwise such a twin
   keeps its source's clusters by construction and lifted it to the pick. Ties (within 0.005)
   go to the higher stability, then the name.
   **Single sets first.** A mix or the consensus is built from the very sets that serve as
   references: its score is leave-one-out, i.e. measured on *another* space (itself without
   that block), and it grows with the number of blocks (three views mixed predict a fourth
   better than any one view does) — measured, it put the equal-weight mix of all sets first on
   the demo and on Zenodo although it diluted its best block. So mixes and the consensus are
   ranked (and reported with their score) but picked only when no single set is eligible;
   ``--best`` delivers one.
4. Without predictivity (one descriptor set: no other view to predict), the former rule: the
   lowest mean rank of ``silhouette`` (higher is better), ``davies_bouldin`` (lower),
   ``silhouette_common`` (higher) and ``stability`` (higher), average ranks, a missing score
   taking the worst rank.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from vehiclust.compare._predictivity import REFINES, _number
from vehiclust.exceptions import InputError

# score -> direction (+1 higher is better, -1 lower is better) of the fallback rule
SELECTION_SCORES: dict[str, int] = {
    "silhouette": +1,
    "davies_bouldin": -1,
    "silhouette_common": +1,
    "stability": +1,
}
PREDICTIVITY = "predictivity"
TYPE_EVIDENCE = "type_evidence"
TYPE_TIE = 0.025  # type agreements this close are one tie (spread between two sets on 500 images: 0.004-0.009)
VIEW = "view"  # the set that represents a set's view (sets counted as one view share one)
VIEW_PREDICTIVITY = "view_predictivity"  # the best predictivity among a view's sets
REFINEMENT = "refinement"  # how far a set refines the other sets of its view (compare._predictivity.refinement)
MAX_NOISE_SHARE = 0.5
STABILITY_FLOOR = 0.5
BALANCE_FLOOR = 0.5
TIE = 0.005
_NOTE = "true labels were not used"


def _gates(table: pd.DataFrame) -> pd.Series:
    base = (table["n_clusters"] >= 2) & (table["noise_share"].fillna(1.0) <= MAX_NOISE_SHARE)
    gated = base.copy()
    for col, ok in (("silhouette_excess", lambda s: s > 0), ("stability", lambda s: s >= STABILITY_FLOOR),
                    ("size_balance", lambda s: s >= BALANCE_FLOOR)):
        if col not in table:
            continue
        values = pd.to_numeric(table[col], errors="coerce")
        passes = base & (values.isna() | ok(values))
        if passes.any():  # a gate nobody passes says nothing about who is best
            gated &= passes
    return gated if gated.any() else base


def _uses_predictivity(table: pd.DataFrame) -> bool:
    return PREDICTIVITY in table and bool(table.loc[table["eligible"], PREDICTIVITY].notna().any())


def _composite(table: pd.DataFrame) -> pd.Series:
    """Rows that are a mix or the consensus (built from the reference sets themselves)."""
    if "kind" not in table:
        return pd.Series(False, index=table.index)
    return table["kind"].isin(["mix", "consensus"])


def _represents(table: pd.DataFrame) -> pd.Series:
    """Rows that represent their view: every row, except a set counted as one view with another
    set that represents that view (``view`` names the representative)."""
    if VIEW not in table:
        return pd.Series(True, index=table.index)
    rep = table[VIEW]
    own = rep.isna() | (rep == table["descriptor"])
    # a view whose representative is not among these (eligible) rows: its clearest member stands in
    orphans = table[rep.notna() & ~rep.isin(table["descriptor"])]
    clearest = pd.to_numeric(orphans.get("silhouette_excess", pd.Series(np.nan, index=orphans.index)),
                             errors="coerce").fillna(-np.inf)
    stand_in = (orphans.assign(_v=clearest).sort_values(["_v", "descriptor"], ascending=[False, True])
                .groupby(VIEW).head(1).index)
    return own | table.index.isin(stand_in)


def _score(table: pd.DataFrame) -> pd.Series:
    """The score a candidate competes with: its view's predictivity where known, else its own."""
    own = table[PREDICTIVITY]
    if VIEW_PREDICTIVITY not in table:
        return own
    return pd.to_numeric(table[VIEW_PREDICTIVITY], errors="coerce").fillna(own)


def _type_score(table: pd.DataFrame) -> pd.Series:
    """Each candidate's own type agreement (NaN where not measured)."""
    if TYPE_EVIDENCE not in table:
        return pd.Series(np.nan, index=table.index)
    return pd.to_numeric(table[TYPE_EVIDENCE], errors="coerce")


def _contenders(singles: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """(the single sets that compete on predictivity, whether the type evidence chose them).

    With type agreement for two or more sets: those within :data:`TYPE_TIE` of the best, each
    on its own clustering — sets of one view too, since the evidence is no set's own and a
    twin's poorer clustering must not ride on its view's — and of a view's sets in the band,
    the one that represents it. Without it: the sets that represent their view."""
    share = _type_score(singles)
    if share.notna().sum() < 2:
        return singles[_represents(singles)], False
    band = singles[share >= share.max() - TYPE_TIE]
    return band[_represents(band)], True


def _predictivity_order(sub: pd.DataFrame) -> pd.Series:
    """Sort key: the contending single sets (:func:`_contenders`) by their view's predictivity;
    then, where the type evidence chose them, the other single sets by type agreement; then
    the rest (a view's other sets, mixes, the consensus) by predictivity."""
    key = 10.0 - _score(sub).fillna(-np.inf).clip(-1, 1)
    single = sub[~_composite(sub) & sub[PREDICTIVITY].notna()]
    if single.empty:
        return key - 10.0
    field, typed = _contenders(single)
    key[field.index] -= 10.0
    if typed:
        rest = single.index.difference(field.index)
        key[rest] = 3.0 - _type_score(single).loc[rest].fillna(-1.0)
    return key


def _view_words(table: pd.DataFrame, best: pd.Series) -> tuple[str, str]:
    """(subject, clause) of the reason for a pick that represents several sets counted as one view."""
    name = best["descriptor"]
    twins = table[(table[VIEW] == name) & (table["descriptor"] != name)] if VIEW in table else table.iloc[:0]
    if twins.empty:
        return name, ""
    members = table[table[VIEW] == name]
    top = members.loc[pd.to_numeric(members[PREDICTIVITY], errors="coerce").idxmax(), "descriptor"]
    refines = _number(best.get(REFINEMENT))
    if np.isfinite(refines) and refines > REFINES:
        why = (f"it refines the other{'s' if len(twins) > 1 else ''} (keeps their k-means splits better than they "
               f"keep its own, by {refines:.3f})")
    else:
        excess = "; ".join(f"{t['descriptor']} {_number(t.get('silhouette_excess')):.3f}" for _, t in twins.iterrows())
        why = (f"the codes refine each other alike, and its clusters stand out most from structureless data "
               f"(silhouette excess {_number(best.get('silhouette_excess')):.3f}; {excess})")
    return (f"the view of {name} and {', '.join(twins['descriptor'])} (one view: nearly functions of each other's "
            f"neighbourhoods)", f" by {top}; {name} represents the view: {why}")


def rank_candidates(comparison: pd.DataFrame) -> pd.DataFrame:
    """``eligible`` and ``selection_rank`` (1 = best) for each row of the comparison."""
    missing = [c for c in ("descriptor", "n_clusters", "noise_share", *SELECTION_SCORES) if c not in comparison]
    if missing:
        raise InputError(f"The comparison table lacks the columns {missing} the selection rule needs.")
    table = comparison.copy()
    eligible = _gates(table)
    if not _uses_predictivity(table.assign(eligible=eligible)):
        eligible &= table[list(SELECTION_SCORES)].notna().any(axis=1)
    table["eligible"] = eligible
    sub = table[eligible]
    if _uses_predictivity(table):
        rank = _predictivity_order(sub).rank(method="min", na_option="bottom")
    else:
        ranks = pd.DataFrame(index=sub.index)
        for col, direction in SELECTION_SCORES.items():
            ranks[col] = (sub[col] * direction).rank(ascending=False, method="average", na_option="bottom")
        rank = ranks.mean(axis=1)
    table["selection_rank"] = np.nan
    table.loc[sub.index, "selection_rank"] = rank
    return table[["descriptor", "eligible", "selection_rank"]]


def choose_best(comparison: pd.DataFrame) -> tuple[str, str]:
    """(name, reason) of the best candidate by the rule above; labels are never used."""
    ranked = rank_candidates(comparison)
    table = comparison.drop(columns=["eligible", "selection_rank"], errors="ignore").assign(
        eligible=ranked["eligible"].to_numpy(), selection_rank=ranked["selection_rank"].to_numpy())
    pool = table[table["eligible"]]
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
    stab = pool["stability"].fillna(-np.inf)
    if _uses_predictivity(table):
        scored = pool[~_composite(pool) & pool[PREDICTIVITY].notna()]
        singles, by_type = _contenders(scored) if len(scored) else (scored, False)
        field = (scored if by_type else singles) if len(singles) else pool
        field = field.assign(_score=_score(field).fillna(-np.inf), _stab=stab, _type=_type_score(field))
        typed = field.loc[singles.index] if len(singles) else field
        top = typed[typed["_score"] >= typed["_score"].max() - TIE]
        best = top.sort_values(["_stab", "descriptor"], ascending=[False, True]).iloc[0]
        others = typed[typed["descriptor"] != best["descriptor"]].sort_values("_score", ascending=False)
        runner = (f"; next {others.iloc[0]['descriptor']} {others.iloc[0]['_score']:.3f}"
                  if len(others) and np.isfinite(others.iloc[0]["_score"]) else "")
        composites = len(pool[_composite(pool)])
        subject, clause = _view_words(pool, best)
        lead, near = "", typed.iloc[:0]
        if by_type:
            near = typed[typed["descriptor"] != best["descriptor"]]
            rest = field[field["_type"] < field["_type"].max() - TYPE_TIE].sort_values("_type", ascending=False)
            parts = ([", ".join(f"{d} {t:.2f}" for d, t in zip(near["descriptor"], near["_type"]))
                      + f" within {TYPE_TIE:g}"] if len(near) else []) + (
                [", ".join(f"{d} {t:.2f}" for d, t in zip(rest["descriptor"], rest["_type"])) + " less"] if len(rest) else [])
            lead = (f"{': its' if clause else chr(39) + 's'} clusters agree {'best' if near.empty else 'as well as any'} "
                    f"with the vehicle types an ImageNet classifier sees in the images ({best['_type']:.2f}; "
                    f"{'; '.join(parts)}), and it")
        reason = (
            f"{subject}{lead} keeps together {'' if lead and near.empty else 'best '}what the other descriptor sets' "
            f"clusterings keep together "
            f"(cross-view predictivity {best['_score']:.3f}{clause}{runner}), among "
            f"{len(field)} {('sets' if by_type else 'views') if len(singles) else 'candidates'} that are stable and "
            f"beat structureless data"
            f"{'; mixes and the consensus are built from those sets and are not ranked against them' if len(singles) and composites else ''}; {_NOTE}."
        )
        return str(best["descriptor"]), reason
    pool = pool.assign(_stab=stab, _sc=pool["silhouette_common"].fillna(-np.inf))
    pool = pool.sort_values(["selection_rank", "_stab", "_sc", "descriptor"], ascending=[True, False, False, True])
    best = pool.iloc[0]
    parts = ", ".join(f"{col} {best[col]:.3f}" for col in SELECTION_SCORES if pd.notna(best[col]))
    reason = (
        f"{best['descriptor']} has the best mean rank ({best['selection_rank']:.2f}) over silhouette, "
        f"Davies-Bouldin, common-space silhouette and stability among {len(pool)} eligible candidates "
        f"({parts}); {_NOTE}."
    )
    return str(best["descriptor"]), reason


def label_disagreement(comparison: pd.DataFrame, best: str, margin: float = 0.05) -> str:
    """A loud note when a label column's NMI prefers another candidate by more than ``margin``.

    Reported only: the pick is never changed by it. Empty when there are no labels or they agree.
    """
    notes = []
    table = comparison.set_index("descriptor")
    for col in [c for c in comparison.columns if c.startswith("nmi_")]:
        scores = pd.to_numeric(table[col], errors="coerce").dropna()
        if scores.empty or best not in scores.index:
            continue
        top = scores.idxmax()
        if scores[top] > scores[best] + margin:
            notes.append(f"by your labels' '{col[4:]}', {top} agrees best (NMI {scores[top]:.2f}), "
                         f"the label-free pick {best} less (NMI {scores[best]:.2f})")
    if not notes:
        return ""
    return ("NOTE: the labels disagree with the label-free pick: " + "; ".join(notes)
            + ". The labels were not used to choose; --best NAME delivers another set.")


def check_best_name(name: str, available: list[str]) -> None:
    """``--best NAME`` must name a loaded set, a mix or the consensus."""
    if name not in available:
        raise InputError(f"--best {name!r} is not a descriptor set, mix or the consensus of this run; allowed: {available}.")


def override_reason(name: str, rule_best: str, rule_reason: str) -> str:
    """The reason sentence when ``--best`` overrides the label-free pick."""
    if name == rule_best:
        return f"{name} was asked for with --best and is also the label-free pick: {rule_reason}"
    return f"{name} was asked for with --best; the label-free rule would pick {rule_best}: {rule_reason}"
