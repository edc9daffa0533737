"""Everything the compare stage produces for one run: tables, the best choice, figures."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score
from sklearn.utils import check_random_state

from vehiclust.compare._agreement import agreement_matrices, attribute_alignment, neighbourhood_overlap
from vehiclust.compare._compare import Candidate, compare_candidates, with_predictivity
from vehiclust.compare._consensus import CONSENSUS, consensus_embedding
from vehiclust.compare._evidence import TYPE_WORD, gather_attributes
from vehiclust.compare._plots import plot_contingency, plot_matrix
from vehiclust.compare._follows import _corrected_share, what_follows
from vehiclust.compare._predictivity import _number, candidate_predictivity, one_view_note
from vehiclust.compare._select import check_best_name, choose_best, label_disagreement, override_reason
from vehiclust.evidence import CATEGORICAL, EvidenceCache, label_columns
from vehiclust.evidence.head_models import MASS_COLUMNS
from vehiclust.io.atomic import atomic_write_csv

log = logging.getLogger(__name__)

# (X) -> (labels of the rows of X, chosen configuration, refit function or None)
ClusterFn = Callable[[np.ndarray], tuple[np.ndarray, dict[str, Any], Any]]


@dataclass
class CompareOutput:
    """The compare stage's results; ``artifacts`` maps a name to a path relative to the run dir."""

    comparison: pd.DataFrame
    agreement: pd.DataFrame  # ARI
    agreement_nmi: pd.DataFrame
    neighbourhood_overlap: pd.DataFrame
    attribute_alignment: pd.DataFrame
    best: str
    best_reason: str
    artifacts: dict[str, str] = field(default_factory=dict)
    predictivity: pd.DataFrame | None = None  # candidate x single set: assortativity of its clusters
    follows: pd.DataFrame | None = None  # candidate x evidence group + `follows` words
    label_note: str = ""  # labels prefer another candidate (reported, never used)


def make_consensus(candidates: Sequence[Candidate], cluster: ClusterFn, random_state: Any = None,
                   name: str = CONSENSUS) -> Candidate:
    """Cluster the co-association embedding of the single-set candidates' clusterings."""
    singles = [c for c in candidates if c.kind == "single"]
    X, valid, summary = consensus_embedding({c.name: c.labels for c in singles}, random_state=random_state)
    labels_valid, chosen, refit = cluster(X)
    labels = np.full(len(valid), -1, dtype=np.int64)
    labels[valid] = labels_valid
    chosen = {**chosen, "space": f"co-association of {len(singles)} clusterings"}
    return Candidate(name=name, X=X, valid=valid, labels=labels, kind="consensus", refit=refit, chosen=chosen)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_") or "set"


def _seeds(random_state: Any) -> np.ndarray:
    """The four seeds of :func:`compare_run` (scores, overlap, evidence, predictivity)."""
    return check_random_state(random_state).randint(2**31 - 1, size=4)


def type_agreement(candidates: Sequence[Candidate], evidence: pd.DataFrame | None) -> dict[str, float]:
    """Per candidate, how far its clusters agree with what an ImageNet classifier says the
    vehicles are (:func:`~vehiclust.compare._evidence.type_evidence`), on the rows looked at and
    assigned; {} without evidence.

    Where the classifier's type masses are known: their mean share of variance between the
    clusters (eta², less its expectation ``(k - 1) / (n - 1)`` for clusters blind to it) — a
    continuous signal, steadier on 500 images (spread 0.004-0.009 between two sets) than the
    words. Otherwise the adjusted mutual information with the type words (corrected for chance
    and for the number of clusters).
    """
    if evidence is None:
        return {}
    masses = evidence.reindex(columns=MASS_COLUMNS).to_numpy(float)
    with_masses = np.isfinite(masses).all(axis=1)
    words = evidence[TYPE_WORD].astype(object).to_numpy()
    known = pd.notna(words)
    out = {}
    for c in candidates:
        labels = np.asarray(c.labels)
        if with_masses.sum() >= 2:
            rows = with_masses & (labels >= 0)
            if len(np.unique(labels[rows])) < 2:
                out[c.name] = float("nan")
                continue
            shares = [_corrected_share(labels[rows], pd.Series(masses[rows, j]), True, None) for j in range(masses.shape[1])]
            out[c.name] = float(np.nanmean(shares)) if np.any(np.isfinite(shares)) else float("nan")
        else:
            rows = known & (labels >= 0)
            out[c.name] = (float(adjusted_mutual_info_score(words[rows].astype(str), labels[rows]))
                           if rows.sum() >= 2 else float("nan"))
    return out


def choose_single(candidates: Sequence[Candidate], random_state: Any = None,
                  type_evidence: pd.DataFrame | None = None) -> str | None:
    """The selection rule's pick among the single sets, from their clusterings alone.

    What the mix stage anchors the auto-weighted mixes on, before the mixes exist. Scored as
    :func:`compare_run` scores them (same predictivity sample and type agreement for the same
    ``random_state`` and ``type_evidence``); the gates read each clustering's chosen
    configuration (its sweep's silhouette, stability, size balance, excess over structureless
    data). None without a single set.
    """
    singles = [c for c in candidates if c.kind == "single"]
    if len(singles) < 2:
        return singles[0].name if singles else None
    rows = []
    for c in singles:
        chosen = dict(c.chosen or {})
        lab = np.asarray(c.labels)[np.asarray(c.valid, bool)]
        rows.append({"descriptor": c.name, "kind": "single", "n_clusters": int(len(np.unique(lab[lab >= 0]))),
                     "noise_share": float(np.mean(lab < 0)) if lab.size else float("nan"),
                     **{col: _number(chosen.get(key)) for col, key in (
                         ("silhouette", "silhouette_sample"), ("davies_bouldin", "davies_bouldin"),
                         ("silhouette_common", "silhouette_common"), ("stability", "stability"),
                         ("silhouette_excess", "silhouette_excess"), ("size_balance", "size_balance"))}})
    seeds = _seeds(random_state)
    predictivity = candidate_predictivity(singles, random_state=seeds[3])
    table = with_predictivity(pd.DataFrame(rows), predictivity, type_agreement(singles, type_evidence))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nobody eligible: the fallback's warning is compare's to give
        return choose_best(table)[0]


def compare_run(candidates: Sequence[Candidate], samples: pd.DataFrame, out_dir: str | Path | None = None, *,
                heads: Mapping[str, str | Path] | None = None, image_checks: pd.DataFrame | None = None,
                measure_pixels: bool = True, sample_size: int = 3000, n_resamples: int = 5, knn: int = 10,
                random_state: Any = None, progress: bool | None = None, best: str | None = None,
                evidence: EvidenceCache | None = None, cache_dir: str | Path | None = None,
                type_evidence: pd.DataFrame | None = None) -> CompareOutput:
    """Score, relate and choose among ``candidates``; write CSV/PNG files under ``out_dir/compare``.

    ``samples`` holds one row per input row (``path``, optional ``resolved`` image paths and
    label columns). Labels are reported in the tables and never used for the choice. ``best``
    names a candidate to deliver instead of the label-free pick (``--best``). ``evidence``: the
    run's per-image evidence measured so far (the describe stage's), ``cache_dir`` where it is
    cached on disk: images already measured are not read again. ``type_evidence``: what an
    ImageNet classifier says each vehicle is (:func:`~vehiclust.compare._evidence.type_evidence`),
    which the rule reads first when given.
    """
    seeds = _seeds(random_state)
    truth = label_columns(samples)
    predictivity = candidate_predictivity(candidates, random_state=seeds[3])
    comparison = compare_candidates(candidates, truth if len(truth.columns) else None, sample_size=sample_size,
                                    n_resamples=n_resamples, random_state=seeds[0], progress=progress,
                                    predictivity=predictivity,
                                    type_agreement=type_agreement(candidates, type_evidence))
    rule_best, reason = choose_best(comparison)
    labels = {c.name: c.labels for c in candidates}
    ari, nmi = agreement_matrices(labels)
    spaces = {c.name: (c.X, c.valid) for c in candidates if c.kind != "consensus"}
    overlap = neighbourhood_overlap(spaces, k=knn, random_state=seeds[1])
    attributes, kinds = gather_attributes(samples, heads=heads, image_checks=image_checks,
                                          measure_pixels=measure_pixels, random_state=seeds[2], progress=progress,
                                          cache=evidence, cache_dir=cache_dir)
    if type_evidence is not None and len(type_evidence) == len(samples):  # the rule's evidence, in the tables too
        attributes = attributes.assign(**{"imagenet:type": type_evidence[TYPE_WORD].to_numpy(object)})
        kinds = {**kinds, "imagenet:type": CATEGORICAL}
    alignment = attribute_alignment(labels, attributes, kinds)
    follows = what_follows(labels, attributes, kinds, samples.get("path"), random_state=seeds[2])
    words = follows.loc[rule_best, "follows"] if rule_best in follows.index else ""
    if words:
        reason = f"{reason[:-1]}; its clusters follow {words}."
    twins = one_view_note(predictivity.attrs.get("redundancy"))
    if twins:
        reason = f"{reason[:-1]}; {twins}."
    if type_evidence is None and sum(c.kind == "single" for c in candidates) > 1:
        reason = (f"{reason[:-1]}. What the vehicles are was not looked at (no images, no ImageNet head table), "
                  "so the pick follows the view most sets share; with --images an ImageNet classifier looks first.")
    if best is not None:
        check_best_name(best, list(labels))
        reason = override_reason(best, rule_best, reason)
    else:
        best = rule_best
    label_note = label_disagreement(comparison, best)
    if label_note:
        log.warning(label_note)
    result = CompareOutput(comparison=comparison, agreement=ari, agreement_nmi=nmi, neighbourhood_overlap=overlap,
                           attribute_alignment=alignment, best=best, best_reason=reason, predictivity=predictivity,
                           follows=follows, label_note=label_note)
    if out_dir is not None:
        result.artifacts = _write(result, candidates, Path(out_dir))
    log.info("best: %s", reason)
    return result


def _write(res: CompareOutput, candidates: Sequence[Candidate], out: Path) -> dict[str, str]:
    folder = out / "compare"
    folder.mkdir(parents=True, exist_ok=True)
    arts: dict[str, str] = {}

    def rel(p: Path) -> str:
        return p.relative_to(out).as_posix()

    redundancy = res.predictivity.attrs.get("redundancy") if res.predictivity is not None else None
    for key, frame in (("agreement_nmi", res.agreement_nmi), ("neighbourhood_overlap", res.neighbourhood_overlap),
                       ("predictivity", res.predictivity), ("redundancy", redundancy)):
        if frame is None:
            continue
        p = folder / f"{key}.csv"
        atomic_write_csv(frame, p, index=True)
        arts[f"compare_{key}_csv"] = rel(p)
    for key, frame, title in (
        ("agreement_ari", res.agreement, "Agreement between clusterings (ARI)"),
        ("agreement_nmi", res.agreement_nmi, "Agreement between clusterings (NMI)"),
        ("neighbourhood_overlap", res.neighbourhood_overlap, "Shared nearest neighbours between spaces"),
        ("attribute_alignment", res.attribute_alignment, "Share of each attribute explained by the clusters (homogeneity / eta²)"),
    ):
        if frame.size:
            arts[f"compare_{key}_png"] = rel(plot_matrix(frame, title, folder / f"{key}.png"))
    by_name = {c.name: c for c in candidates}
    best = by_name[res.best]
    for other in candidates:
        if other.name == res.best:
            continue
        p = folder / "contingency" / f"{_slug(res.best)}__vs__{_slug(other.name)}.png"
        arts[f"compare_contingency_{other.name}_png"] = rel(plot_contingency(best.labels, other.labels, res.best, other.name, p))
    return arts
