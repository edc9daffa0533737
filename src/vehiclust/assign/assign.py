"""Place new rows into an existing run: same preparation, same clusters, same outlier rules.

:class:`RunAssigner` loads the saved models of a run folder (see :mod:`vehiclust.assign.model`)
and has a scikit-learn style ``predict``; :func:`assign_run` is the whole job behind
``vehiclust assign``: load the new case, place it, write ``clusters.csv`` + the drift report.

How a row is placed in a prepared space follows the family's own rule
(:func:`vehiclust.assign.model.placement_rule`): k-means clusters are their centres' cells,
so a row takes its nearest centre; EAC and Ward label micro-clusters, so a row takes its
nearest micro-cluster's cluster (up to 1,000 rows, where every row is its own micro-cluster:
EAC by its base k-means runs' co-association, Ward by the least merge cost); Leiden spreads its labels to the rows outside its graph by
the majority of the 15 nearest sample rows; a new row here by the majority of its 5 nearest
(15 over-fed Leiden's large clusters with rows it never saw); the other families
(GMM, HDBSCAN, DBSCAN) by a distance-weighted vote of the nearest rows of the run's labelled
reference sample (all valid rows up to 60,000, else the k-NN graph's seeded sample). A row
equal to a reference row takes that row's label (the run's own rows come back unchanged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from vehiclust.assign.model import (
    SetModel,
    coassoc_positions,
    consensus_embed,
    far_scores,
    glosh_new_scores,
    mixer_from_state,
    preparer_from_state,
    residual_norms,
)
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

#: Leiden's rows are placed by the majority of this many nearest reference rows. Leiden spreads
#: its labels to the rows outside its graph by 15 (GRAPH_NEIGHBOURS); for rows it never saw, 15
#: over-fed its large clusters (demo splits: held-out PSI up to 0.164, 5: at most 0.093)
MAJORITY_NEIGHBOURS = 5
NO_VEHICLE_REASON = "no_vehicle"  # the image checks' reason (with --images): an image of a new kind too
_SELF = 1e-9  # squared distance to the nearest reference row, relative to the row's squared norm,
# under which that reference row is the row itself (float32 rounding of the same descriptor)


@dataclass
class Placement:
    """What placing the rows of one set gave (every array full-length: one entry per new row)."""

    name: str
    valid: np.ndarray  # (n,) bool
    labels: np.ndarray  # (n,) int64, -1 = invalid row
    outliers: pd.DataFrame  # per-row outlier table, as in the run's outlier_scores.csv
    far: np.ndarray  # (n,) bool: far from every cluster ("a new kind of image")
    far_score: np.ndarray  # (n,) float: nearest scaled centre distance / the run's cut (> 1 = far)


@dataclass
class RunAssigner:
    """Assign new rows to a saved run: ``RunAssigner(run_dir).predict({"osnet": X_new})``.

    ``descriptor_set``: the set (or mix / consensus) whose clusters to use; default the run's
    chosen set (the one in its clusters.csv).
    """

    run_dir: str | Path
    descriptor_set: str | None = None
    results: Any = None  # the run's RunResults when already loaded
    models: dict[str, SetModel] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        from vehiclust.results import RunResults

        run_dir = Path(self.run_dir)
        if not (run_dir / "metadata.json").exists():
            raise InputError(f"{run_dir} is not a vehiclust run folder (no metadata.json).")
        self.results_ = self.results if self.results is not None else RunResults.load(run_dir)
        name = self.descriptor_set or self.results_.best
        if name not in self.results_.descriptors:
            raise InputError(f"The run has no descriptor set {name!r}; allowed: {sorted(self.results_.descriptors)}.")
        self.name_ = name
        self.models = {name: self._load(name)}
        for block in self.models[name].info.get("blocks", []):
            self.models[block] = self._load(block)
        self.required_ = sorted(n for n, m in self.models.items() if m.kind == "single")
        self.off_space_: dict[str, np.ndarray] = {}  # per single set: valid rows' PCA residual / the run's cut

    def _load(self, name: str) -> SetModel:
        return SetModel.load(Path(self.run_dir) / "descriptors" / name)

    # ---- placing --------------------------------------------------------------------------
    def predict(self, descriptors: dict[str, np.ndarray], image_checks: pd.DataFrame | None = None) -> Placement:
        """Place every row of ``descriptors`` (name → (n, d) raw descriptors, row-aligned)."""
        missing = [n for n in self.required_ if n not in descriptors]
        if missing:
            raise InputError(f"The run's set {self.name_!r} needs descriptor sets {self.required_}; "
                             f"missing {missing} (give them as -d NAME=PATH).")
        rows = {len(descriptors[n]) for n in self.required_}
        if len(rows) != 1:
            raise InputError(f"The new descriptor sets have different row counts {sorted(rows)}.")
        prepared = {n: self._prepare(n, descriptors[n]) for n in self.required_}
        return self._place(self.name_, prepared, image_checks)

    def _prepare(self, name: str, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(valid rows mask, prepared valid rows) of one raw descriptor matrix."""
        model = self.models[name]
        width = int(model.info["n_features_in"])
        if getattr(raw, "ndim", None) != 2 or raw.shape[1] != width:
            got = raw.shape[1] if getattr(raw, "ndim", None) == 2 else getattr(raw, "shape", None)
            raise InputError(f"Descriptor set {name!r} has {got} columns but the run's {name!r} was fitted on {width}.")
        valid = np.ones(len(raw), bool)
        for start in range(0, len(raw), 65_536):
            valid[start:start + 65_536] = np.isfinite(np.asarray(raw[start:start + 65_536], np.float32)).all(axis=1)
        prep = preparer_from_state(model.arrays)
        X = prep.transform(raw, rows=valid) if valid.any() else np.zeros((0, prep.n_components_), np.float32)
        if "prep_residual_cut" in model.arrays and valid.any():  # off the run's PCA subspace: > 1
            off = residual_norms(model.arrays, raw, valid) / float(model.arrays["prep_residual_cut"][0])
            self.off_space_[name] = np.where(np.isfinite(off), off, 0.0)
        else:
            self.off_space_.pop(name, None)
        return valid, X

    def _place(self, name: str, prepared: dict, image_checks: pd.DataFrame | None) -> Placement:
        model = self.models[name]
        if model.kind == "single":
            valid, X = prepared[name]
            return place_in_space(model, X, valid, image_checks, self.results_.samples["path"], self.off_space_.get(name),
                                  _far_factor(model))
        if model.kind == "mix":
            blocks = model.info["blocks"]
            valid = np.logical_and.reduce([prepared[b][0] for b in blocks])
            parts = []
            for b in blocks:
                v, Xb = prepared[b]
                pos = np.cumsum(v) - 1
                parts.append(Xb[pos[valid]])
            Z = mixer_from_state(model.arrays).transform(parts) if valid.any() else np.zeros((0, 1), np.float32)
            offs = [self.off_space_[b][(np.cumsum(prepared[b][0]) - 1)[valid]] for b in blocks if b in self.off_space_]
            # off the blocks' subspaces on average: the largest of several blocks' scores would call
            # a fresh draw a new kind once per block (4 blocks: ~4 % instead of 1 %)
            off = np.mean(offs, axis=0) if offs else None
            factor = float(np.mean([_far_factor(self.models[b]) for b in blocks]))  # the blocks' refit spread
            return place_in_space(model, np.asarray(Z, np.float32), valid, image_checks, self.results_.samples["path"], off,
                                  factor)
        return self._consensus(model, prepared, image_checks)

    def _consensus(self, model: SetModel, prepared: dict, image_checks: pd.DataFrame | None) -> Placement:
        from vehiclust.outliers import majority_outliers

        singles = [self._place(b, prepared, image_checks) for b in model.info["blocks"]]
        combos = np.stack([p.labels for p in singles], axis=1)
        labels = combination_labels(model.arrays["combos"], model.arrays["combo_labels"],
                                    model.arrays["combo_counts"], combos, model.arrays)
        valid = np.logical_or.reduce([p.valid for p in singles])
        labels[~valid] = -1
        outliers = majority_outliers([p.outliers for p in singles], valid)  # as the run's consensus
        far = np.mean([p.far for p in singles], axis=0) > 0.5
        far_score = np.median([p.far_score for p in singles], axis=0)
        return Placement(model.name, valid, labels, outliers, far, far_score)

    def clusters_table(self, placement: Placement, paths: pd.Series) -> pd.DataFrame:
        """clusters.csv for the new rows: the run's cluster ids and names."""
        from vehiclust.results import DescriptorRun

        run = self.results_.descriptors[self.name_]
        shell = DescriptorRun(name=self.name_, labels=placement.labels, selection=pd.DataFrame(), chosen={},
                              outliers=placement.outliers, clusters=run.clusters)
        table = shell.table(pd.Series(paths).reset_index(drop=True))
        reasons = placement.outliers["outlier_reasons"].astype(str).str.split(";")
        no_vehicle = reasons.map(lambda r: NO_VEHICLE_REASON in r).to_numpy(bool)  # with --images
        table["new_kind"] = (placement.far | no_vehicle) & placement.valid
        return table


def assign_rows(results: Any, descriptors: dict[str, np.ndarray], paths: Any = None, *,
                descriptor_set: str | None = None) -> pd.DataFrame:
    """clusters.csv rows for new rows (``descriptors``: name -> (n, d) array) placed into the
    clusters of a run loaded from disk (``results = RunResults.load(run_dir)``) with its saved models."""
    if getattr(results, "run_dir", None) is None:
        raise InputError("assign_rows needs a run loaded from disk: assign_rows(RunResults.load(run_dir), ...).")
    assigner = RunAssigner(results.run_dir, descriptor_set, results=results)
    placement = assigner.predict(descriptors)
    n = len(placement.labels)
    return assigner.clusters_table(placement, pd.Series(paths if paths is not None else [f"row {i}" for i in range(n)]))


def _far_factor(model: SetModel) -> float:
    """What a row's new-kind score (measured like the run's rows) is divided by: the spread of rows
    the preparation was not fitted on (:func:`vehiclust.assign.model.novelty_calibration`); 1 for
    runs saved without it."""
    return float(model.arrays["prep_far_factor"][0]) if "prep_far_factor" in model.arrays else 1.0


def combination_labels(combos: np.ndarray, combo_labels: np.ndarray, counts: np.ndarray, rows: np.ndarray,
                       arrays: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Consensus cluster of each row's label combination. A combination the run never saw takes
    the cluster of the seen one nearest in the consensus' co-association embedding (``arrays``
    with ``cons_vectors``, see :func:`vehiclust.assign.model.consensus_vectors`; the run's
    clusters were cut in that embedding), else of the seen one agreeing on the most sets (ties:
    the larger micro-cluster)."""
    out = np.empty(len(rows), np.int64)
    order = np.argsort(-counts, kind="stable")  # larger micro-clusters first on ties
    combos, combo_labels = combos[order], combo_labels[order]
    embed = arrays is not None and "cons_vectors" in arrays
    seen_at = consensus_embed(arrays, combos) if embed else None
    for start in range(0, len(rows), 4096):
        block = rows[start:start + 4096]
        agree = (block[:, None, :] == combos[None, :, :]).sum(axis=2)
        pick = agree.argmax(axis=1)
        if embed:
            unseen = agree.max(axis=1) < combos.shape[1]
            if unseen.any():
                pick[unseen] = (consensus_embed(arrays, block[unseen]) @ seen_at.T).argmax(axis=1)
        out[start:start + len(block)] = combo_labels[pick]
    return out


def place_in_space(model: SetModel, X: np.ndarray, valid: np.ndarray, image_checks: pd.DataFrame | None = None,
                   run_paths: pd.Series | None = None, off_space: np.ndarray | None = None,
                   far_factor: float = 1.0) -> Placement:
    """Labels, outlier table and far-from-every-cluster flags of prepared rows ``X`` (the valid ones).

    ``run_paths``: the run's image paths, to name the run image a new row duplicates;
    ``off_space``: per valid row, its distance off the run's PCA subspace over the run's cut
    (> 1: a new kind too); ``far_factor``: what the distance part is divided by (both measured on
    rows the preparation was not fitted on, see :func:`vehiclust.assign.model.novelty_calibration`)."""
    from vehiclust.neighbors import knn
    from vehiclust.outliers import calibrate, outlier_table

    a, info = model.arrays, model.info
    n = len(valid)
    if X.shape[1] != int(info["n_features"]):
        raise InputError(f"Set {model.name!r}: prepared rows have {X.shape[1]} dims, the model {info['n_features']}.")
    ids, centres, scales = a["cluster_ids"], a["centres"], a["cluster_scales"]
    ref_X, ref_labels = a["ref_X"], a["ref_labels"]
    out_info = info.get("outliers") or {}
    k = int(out_info.get("n_neighbors", 10)) or 10
    rule = info["rule"]
    # the neighbours searched once: the detectors' k + 1 (the row itself may be a reference row),
    # Leiden's MAJORITY_NEIGHBOURS for its majority rule
    k_far = int(info.get("far_k", 0))
    kq = int(min(max(k + 1, k_far + 1, MAJORITY_NEIGHBOURS if rule == "majority" else 0), len(ref_X)))
    D2, I = knn(ref_X, X, kq) if len(X) else (np.zeros((0, kq), np.float32), np.zeros((0, kq), np.int64))
    D = np.sqrt(np.maximum(D2, 0.0)).astype(np.float64)
    ref_pos = np.searchsorted(ids, ref_labels)
    if not len(X):
        pos = np.zeros(0, np.int64)
    elif rule == "centre":
        pos = knn(centres, X, 1)[1][:, 0].astype(np.int64)
    elif rule == "micro":
        pos = np.searchsorted(ids, a["micro_labels"][knn(a["micro_centres"], X, 1)[1][:, 0]])
    elif rule == "coassoc":
        pos = coassoc_positions(a, X, ref_pos)
    elif rule == "ward":  # the least Ward merge cost: n / (n + 1) * |x - centre|²
        sizes = a["run_counts"][np.searchsorted(a["run_cluster_ids"], ids)].astype(np.float64)
        d2 = knn(centres, X, len(centres))
        cost = np.empty_like(d2[0], dtype=np.float64)
        np.put_along_axis(cost, d2[1], np.maximum(d2[0], 0.0), axis=1)
        pos = (cost * (sizes / (sizes + 1.0))).argmin(axis=1)
    elif rule == "majority":
        pos = _majority(ref_pos[I[:, :MAJORITY_NEIGHBOURS]], len(ids))
    else:
        pos = _vote(ref_pos[I[:, :k + 1]], D[:, :k + 1], len(ids))
    self_hit = _is_reference_row(X, ref_X, I)  # the row is a reference row: it keeps that row's label
    labels_valid = np.where(self_hit, ref_labels[I[:, 0]], ids[pos]) if len(X) else ids[pos]
    row_far = np.where(self_hit, D[:, min(k_far, kq - 1)], D[:, max(k_far - 1, 0)]) if len(X) else np.zeros(0)
    I, D, D2 = I[:, :k + 1], D[:, :k + 1], D2[:, :k + 1]
    kq = I.shape[1]
    # outlier detectors, scored like the run's rows
    cols: dict[str, np.ndarray] = {}
    if out_info:
        keep = np.ones_like(I, dtype=bool)
        keep[self_hit, 0] = False
        keep[~self_hit, -1] = False
        kk = kq - 1
        In, Dn = I[keep].reshape(-1, kk), D[keep].reshape(-1, kk)
        for name in out_info["detectors"]:
            if name == "knn":
                raw = Dn[:, -1] if kk else np.zeros(len(X))
            elif name == "lof":
                reach = np.maximum(Dn, a["ref_kdist"][In])
                lrd = 1.0 / (reach.mean(axis=1) + 1e-10)
                raw = a["ref_lrd"][In].mean(axis=1) / lrd
            elif name == "glosh":
                raw = np.where(self_hit, a["glosh_score"][I[:, 0]], glosh_new_scores(a, In, Dn))
            elif name == "iforest":
                from vehiclust.assign._forest import forest_scores

                raw = forest_scores({k_[7:]: v for k_, v in a.items() if k_.startswith("forest_")}, X)
            else:  # cluster_distance
                at = np.searchsorted(ids, labels_valid)
                raw = np.linalg.norm(X - centres[at], axis=1).astype(np.float64) / scales[at]
            cols[f"{name}_outlierness"] = calibrate(raw, float(a[f"{name}_threshold"][0]), float(a[f"{name}_spread"][0]))
    ensemble = _combine(pd.DataFrame(cols), out_info) if out_info else None
    table = outlier_table(n, valid, ensemble, image_checks)
    if info.get("twin_similarity") is not None and len(X):
        _mark_twins(table, valid, X, ref_X, a, I, self_hit, float(info["twin_similarity"]), run_paths)
    labels = np.full(n, -1, np.int64)
    labels[valid] = labels_valid
    far_valid = far_scores(X, centres, scales) / max(float(info["far_cut"]), 1e-12) if len(X) else np.zeros(0)
    if info.get("far_row_cut") is not None and len(X):  # and far from the run's rows themselves
        far_valid = np.maximum(far_valid, row_far / float(info["far_row_cut"])) / float(info["far_combined_cut"])
    far_valid = far_valid / max(float(far_factor), 1e-12)
    if off_space is not None and len(X):
        far_valid = np.maximum(far_valid, off_space)
    far_score = np.full(n, np.inf)
    far_score[valid] = far_valid
    return Placement(model.name, np.asarray(valid, bool), labels, table, far_score > 1.0, far_score)


def _is_reference_row(X: np.ndarray, ref_X: np.ndarray, I: np.ndarray) -> np.ndarray:
    """Per row: its nearest reference row is the row itself. Measured directly in float64: the
    k-NN search's ``|x|² + |y|² - 2 x·y`` loses ~1e-7 of ``|x|²`` to cancellation, more than the
    rounding that separates a run row from itself prepared again."""
    if not len(X):
        return np.zeros(0, bool)
    out = np.empty(len(X), bool)
    for lo in range(0, len(X), 65_536):
        x = np.asarray(X[lo:lo + 65_536], np.float64)
        d = ((x - ref_X[I[lo:lo + 65_536, 0]]) ** 2).sum(axis=1)
        out[lo:lo + 65_536] = d <= _SELF * np.maximum((x ** 2).sum(axis=1), 1.0)
    return out


def _mark_twins(table: pd.DataFrame, valid: np.ndarray, X: np.ndarray, ref_X: np.ndarray, arrays: dict,
                I: np.ndarray, self_hit: np.ndarray, cut: float, run_paths: pd.Series | None) -> None:
    """Descriptor-space twins, the run's rule against the run's rows: a new row whose cosine
    similarity to one of its nearest run rows reaches the cut duplicates that run image; a run
    row assigned back keeps its twin of the run. (Twins among the new rows themselves are not
    searched: that is an all-new-rows k-NN search.)"""
    from vehiclust.outliers import DETECTORS, DUPLICATE_REASON, PROBLEM

    rare = {d.reason for d in DETECTORS.values()}

    ref_unit = ref_X / np.maximum(np.linalg.norm(ref_X, axis=1, keepdims=True), 1e-12)
    sim = np.empty(I.shape, np.float64)
    for lo in range(0, len(X), 16_384):  # (rows, k, d) at a time: bounded memory
        unit = X[lo:lo + 16_384] / np.maximum(np.linalg.norm(X[lo:lo + 16_384], axis=1, keepdims=True), 1e-12)
        sim[lo:lo + 16_384] = np.einsum("id,ijd->ij", unit, ref_unit[I[lo:lo + 16_384]])
    sim[self_hit, 0] = -np.inf  # a run row assigned back is not its own twin
    j = sim.argmax(axis=1)
    best = sim[np.arange(len(X)), j]
    twin = np.where(best >= cut, arrays["ref_index"][I[np.arange(len(X)), j]], -1)
    twin = np.where(self_hit, arrays["ref_twin"][I[:, 0]], twin)
    rows = np.flatnonzero(valid)
    table.loc[rows, "twin_similarity"] = np.round(np.where(np.isfinite(best), best, np.nan), 6)
    hit = twin >= 0
    if not hit.any():
        return
    at = rows[hit]
    names = (np.asarray(run_paths, dtype=object)[twin[hit]] if run_paths is not None else
             np.array([f"run row {t}" for t in twin[hit]], dtype=object))
    table.loc[at, "duplicate_of"] = np.where(table.loc[at, "duplicate_of"].to_numpy(object) == "", names,
                                             table.loc[at, "duplicate_of"].to_numpy(object))
    table.loc[at, "outlier_reasons"] = [_with_reason(r, DUPLICATE_REASON, rare) for r in table.loc[at, "outlier_reasons"].astype(str)]
    table.loc[at, "is_outlier"] = True
    table.loc[at, "outlier_kind"] = PROBLEM
    score = 0.5 + 0.25 * np.clip(np.nan_to_num(best[hit]), 0.0, 1.0) + 1e-6
    table.loc[at, "outlier_score"] = np.round(np.fmax(table.loc[at, "outlier_score"].to_numpy(float), score), 6)


def _with_reason(reasons: str, code: str, after: set[str]) -> str:
    """``code`` added to ``;``-joined reasons as the run orders them: image problems, then the
    duplicate, then the descriptor detectors' codes (``after``)."""
    parts = [r for r in reasons.split(";") if r]
    if code in parts:
        return reasons
    at = next((i for i, r in enumerate(parts) if r in after), len(parts))
    return ";".join([*parts[:at], code, *parts[at:]])


def _majority(pos: np.ndarray, n_ids: int) -> np.ndarray:
    """Leiden's rule for rows outside its graph (:func:`vehiclust.cluster.leiden.spread_labels`):
    the cluster most of the neighbours belong to, a nearer neighbour breaking a tie."""
    if not len(pos):
        return np.zeros(0, np.int64)
    k = pos.shape[1]
    w = 1.0 + (k - np.arange(k)) / (k * (k + 1.0))
    tally = np.zeros((len(pos), n_ids))
    np.add.at(tally, (np.repeat(np.arange(len(pos)), k), pos.ravel()), np.tile(w, len(pos)))
    return tally.argmax(axis=1)


def _vote(pos: np.ndarray, dist: np.ndarray, n_ids: int) -> np.ndarray:
    """Distance-weighted majority of the neighbours' cluster positions (ties: the nearest)."""
    weights = 1.0 / (dist + 1e-6)
    tally = np.zeros((len(pos), n_ids))
    np.add.at(tally, (np.repeat(np.arange(len(pos)), pos.shape[1]), pos.ravel()), weights.ravel())
    return tally.argmax(axis=1) if len(pos) else np.zeros(0, np.int64)


def _combine(scores: pd.DataFrame, info: dict[str, Any]) -> SimpleNamespace:
    """The ensemble vote of :class:`~vehiclust.outliers.OutlierEnsemble` with the run's cut."""
    from vehiclust.outliers import DETECTORS

    out = scores.to_numpy(np.float64)
    voting = [f"{v}_outlierness" for v in info["voters"] if f"{v}_outlierness" in scores] or list(scores.columns)
    vote = scores[voting].to_numpy(np.float64)
    score = (np.maximum(vote.mean(axis=1), vote.max(axis=1) - (info["strong"] - 0.5)) if vote.shape[1]
             else np.zeros(len(scores)))
    score = np.clip(score, 0.0, 1.0)
    t = float(info["threshold"])
    if info.get("contamination") is None:
        outlierness = score
    else:
        tc = float(np.clip(t, 1e-9, 1 - 1e-9))
        outlierness = np.where(score <= tc, 0.5 * score / tc, 0.5 + 0.5 * (score - tc) / (1.0 - tc))
    flagged = score > t
    names = [c.removesuffix("_outlierness") for c in scores.columns]
    codes = [DETECTORS[nm].reason for nm in names]
    voter = np.array([nm in info["voters"] for nm in names])
    reasons = np.full(len(scores), "", dtype=object)
    for i in np.flatnonzero(flagged):
        order = np.lexsort((-out[i], ~voter))
        hit = [codes[j] for j in order if out[i, j] > 0.5] or [codes[int(np.argmax(np.where(voter, out[i], -1.0)))]]
        reasons[i] = ";".join(dict.fromkeys(hit))
    return SimpleNamespace(scores_=scores, outlierness_=outlierness, labels_=flagged.astype(np.int64), reasons_=reasons)


# ---- the whole job ------------------------------------------------------------------------
def assign_run(run_dir: str | Path, descriptors: dict[str, str | Path], paths: str | Path, out: str | Path, *,
               images: str | Path | None = None, descriptor_set: str | None = None, trust_pickle: bool = False,
               progress: bool = True) -> pd.DataFrame:
    """``vehiclust assign``: write ``out/clusters.csv``, ``out/drift.csv`` and ``out/drift.html``;
    return the clusters table."""
    from vehiclust.assign.drift import drift_table, write_drift_report
    from vehiclust.io import load_case
    from vehiclust.io.atomic import atomic_write_csv

    assigner = RunAssigner(run_dir, descriptor_set)
    unknown = sorted(set(descriptors) - set(assigner.required_))
    if unknown:
        log.info("descriptor sets %s are not used by the run's set %r", unknown, assigner.name_)
    needed = {n: p for n, p in descriptors.items() if n in assigner.required_}
    if not needed:
        raise InputError(f"The run's set {assigner.name_!r} needs descriptor sets {assigner.required_}; "
                         f"got {sorted(descriptors)} (give them as -d NAME=PATH).")
    case = load_case(descriptors=needed, paths=paths, images=images, trust_pickle=trust_pickle)
    checks = None
    if images is not None:
        checks = _image_checks(case.samples, progress)
    placement = assigner.predict(case.descriptors, image_checks=checks)
    table = assigner.clusters_table(placement, case.samples["path"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(table, out / "clusters.csv")
    drift = drift_table(assigner.models[assigner.name_], table, assigner.results_.descriptors[assigner.name_].cluster_names())
    write_drift_report(drift, out, run_dir=Path(run_dir), set_name=assigner.name_)
    return table


def _image_checks(samples: pd.DataFrame, progress: bool) -> pd.DataFrame:
    """The run's per-image checks on the new images (thresholds from the checks' defaults)."""
    import warnings

    from vehiclust.quality import ImageChecker

    checker = ImageChecker(progress=progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        checker.fit(samples["resolved"].fillna("").astype(str).tolist())
    table = checker.table_
    table.insert(0, "path", samples["path"].to_numpy())
    return table
