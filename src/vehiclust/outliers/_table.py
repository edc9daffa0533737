"""The per-row outlier table of one descriptor set: descriptor detectors + image checks.

One row per input row (invalid descriptors included), in input order. Two kinds of outlier
are kept apart in ``outlier_kind``:

- ``problem``: something is wrong with the image itself: missing, unreadable (its
  descriptor is invalid), odd size, blurry, dark, overexposed, low information, a duplicate
  (perceptual hash, or a descriptor-space twin) or no vehicle in it;
- ``rare``: a fine image that sits far from the mass of the data in descriptor space (the
  descriptor ensemble flags it, no image check does).

``outlier_score`` is the larger of the descriptor ensemble's calibrated outlierness and the
image problems' outlierness, both in [0, 1] with 0.5 on their thresholds, so it ranks rows
from any source on one scale; invalid descriptors score 1. ``duplicate_of`` names the twin
of a duplicate (its path when ``paths`` are given, else its row number).

When the image checks measured ``vehicle_confidence``, the detector-only ``no_vehicle``
check is replaced by :class:`~vehiclust.outliers._no_vehicle.NoVehicleScorer`, which adds
the descriptor-space neighbourhood and ImageNet's vehicle mass (``vehicle_prob``) to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.outliers._ensemble import OutlierEnsemble
from vehiclust.outliers._no_vehicle import NoVehicleScorer

INVALID_REASON = "invalid_descriptor"
DUPLICATE_REASON = "near_duplicate"
NO_VEHICLE_REASON = "no_vehicle"
#: outlier_kind values
PROBLEM, RARE = "problem", "rare"


def image_problem_score(image_checks: pd.DataFrame, exclude: tuple[str, ...] = ()) -> np.ndarray:
    """1 - the worst check quality per row, as the image checks score it, leaving out ``exclude``.

    Flagged checks count at most 0.5 quality and unflagged ones at least 0.5 (a kept
    duplicate original is not a problem), so a row scores above 0.5 exactly when flagged."""
    n = len(image_checks)
    worst = np.ones(n)
    for col in image_checks.columns:
        if not col.endswith("_quality") or col == "image_quality":
            continue
        name = col.removesuffix("_quality")
        if name in exclude:
            continue
        q = pd.to_numeric(image_checks[col], errors="coerce").to_numpy(np.float64)
        flag = image_checks[f"is_{name}"].to_numpy(bool) if f"is_{name}" in image_checks else np.isfinite(q) & (q < 0.5)
        q = np.where(flag, np.fmin(q, 0.5), np.fmax(q, 0.5))
        worst = np.fmin(worst, np.where(np.isfinite(q), q, 1.0))
    return 1.0 - worst


def _drop_reason(reasons: np.ndarray, code: str) -> np.ndarray:
    return np.array([";".join(r for r in str(x).split(";") if r and r != code) for x in reasons], dtype=object)


def outlier_table(
    n_rows: int,
    valid: np.ndarray,
    ensemble: OutlierEnsemble | None,
    image_checks: pd.DataFrame | None = None,
    *,
    paths: np.ndarray | pd.Series | None = None,
    vehicle_prob: np.ndarray | None = None,
    descriptors: np.ndarray | None = None,
) -> pd.DataFrame:
    """Assemble the table the pipeline stores in ``DescriptorRun.outliers``.

    ``descriptors``: the prepared rows of the valid descriptors (``X`` of the ensemble), so
    the no_vehicle score can learn which rows look like the detector's sure empty ones."""
    valid = np.asarray(valid, dtype=bool)
    if valid.shape != (n_rows,):
        raise InputError(f"outlier_table: 'valid' has shape {valid.shape}, expected ({n_rows},).")
    if paths is not None and len(paths) != n_rows:
        raise InputError(f"outlier_table: 'paths' has {len(paths):,} rows but the case has {n_rows:,}.")
    valid_rows = np.flatnonzero(valid)
    if descriptors is not None and len(descriptors) != len(valid_rows):
        raise InputError(f"outlier_table: 'descriptors' has {len(descriptors):,} rows but {len(valid_rows):,} are valid.")
    cols: dict[str, np.ndarray] = {}
    desc_score = np.zeros(n_rows)
    desc_flag = np.zeros(n_rows, dtype=bool)
    desc_reasons = np.full(n_rows, "", dtype=object)
    twin_of = np.full(n_rows, -1, dtype=np.int64)
    twin_sim = np.full(n_rows, np.nan)
    neighbors = None
    if ensemble is not None:
        for name in ensemble.scores_.columns:
            col = np.full(n_rows, np.nan)
            col[valid] = ensemble.scores_[name].to_numpy()
            cols[name] = np.round(col, 6)
        desc_score[valid] = ensemble.outlierness_
        desc_flag[valid] = ensemble.labels_.astype(bool)
        desc_reasons[valid] = ensemble.reasons_
        local_twin = getattr(ensemble, "twin_of_", None)
        if local_twin is not None:
            twin_of[valid] = np.where(local_twin >= 0, valid_rows[np.clip(local_twin, 0, None)], -1)
            twin_sim[valid] = ensemble.twin_similarity_
        local_nb = getattr(ensemble, "neighbors_", None)
        if local_nb is not None and local_nb.size:
            neighbors = np.full((n_rows, local_nb.shape[1]), -1, dtype=np.int64)
            neighbors[valid] = np.where(local_nb >= 0, valid_rows[np.clip(local_nb, 0, None)], -1)
    desc_score[~valid] = 1.0
    desc_flag[~valid] = True
    desc_reasons[~valid] = INVALID_REASON
    cols["descriptor_outlierness"] = np.round(desc_score, 6)
    frame = pd.DataFrame(cols, index=range(n_rows))

    # ---- image problems ---------------------------------------------------------------
    problem_score = np.where(valid, 0.0, 1.0)
    problem_reasons = np.full(n_rows, "", dtype=object)
    dup_of = np.full(n_rows, -1, dtype=np.int64)
    if image_checks is not None:
        if len(image_checks) != n_rows:
            raise InputError(f"The image-check table has {len(image_checks):,} rows but the case has {n_rows:,}.")
        image_reasons = image_checks["image_reasons"].fillna("").astype(str).to_numpy(object)
        quality_cols = [c for c in image_checks.columns if c.endswith("_quality") or c == "image_outlierness"]
        for c in quality_cols:
            frame[c] = image_checks[c].to_numpy()
        exclude: tuple[str, ...] = ()
        if "vehicle_confidence" in image_checks and "no_vehicle_quality" in image_checks:
            X_rows = None
            if descriptors is not None:  # the prepared rows of the valid descriptors, in input order
                X_rows = np.full((n_rows, descriptors.shape[1]), np.nan, dtype=np.float32)
                X_rows[valid] = descriptors
            scorer = NoVehicleScorer().fit(
                image_checks["vehicle_confidence"].to_numpy(np.float64), neighbors, vehicle_prob, X_rows)
            exclude = (NO_VEHICLE_REASON,)
            image_reasons = _drop_reason(image_reasons, NO_VEHICLE_REASON)
            nv_flag = scorer.labels_.astype(bool)
            image_reasons = np.array([";".join(r for r in (a, NO_VEHICLE_REASON if f else "") if r)
                                      for a, f in zip(image_reasons, nv_flag)], dtype=object)
            frame["no_vehicle_score"] = np.round(scorer.score_, 6)
            nv_score = np.nan_to_num(scorer.score_, nan=0.0)
        else:
            nv_score = np.zeros(n_rows)
        image_score = np.fmax(image_problem_score(image_checks, exclude), nv_score)
        problem_score = np.fmax(problem_score, image_score)
        problem_reasons = image_reasons
        if "duplicate_of" in image_checks:
            dup_of = pd.to_numeric(image_checks["duplicate_of"], errors="coerce").fillna(-1).to_numpy(np.int64)
    # descriptor-space twins: a problem too, unless the hash already named a twin
    twin_new = (twin_of >= 0) & (dup_of < 0)
    dup_of = np.where(twin_new, twin_of, dup_of)
    for i in np.flatnonzero(twin_new):
        if DUPLICATE_REASON not in problem_reasons[i].split(";"):
            problem_reasons[i] = f"{problem_reasons[i]};{DUPLICATE_REASON}" if problem_reasons[i] else DUPLICATE_REASON
    frame["twin_similarity"] = np.round(twin_sim, 6)
    # a twin scores just past the cut (0.5-0.75 with its similarity): a problem, seldom the worst
    sim = np.nan_to_num(twin_sim, nan=0.0)
    problem_score = np.where(twin_new, np.fmax(problem_score, 0.5 + 0.25 * np.clip(sim, 0.0, 1.0) + 1e-6), problem_score)

    is_problem = (problem_reasons != "") | ~valid
    reasons_problem = np.where(valid, problem_reasons, [";".join(r for r in (a, INVALID_REASON) if r) for a in problem_reasons])
    frame["is_outlier"] = desc_flag | is_problem
    frame["outlier_kind"] = np.where(is_problem, PROBLEM, np.where(desc_flag, RARE, ""))
    frame["outlier_score"] = np.round(np.fmax(desc_score, problem_score), 6)
    frame["outlier_reasons"] = [
        ";".join(dict.fromkeys(r for r in f"{a};{b}".split(";") if r)) if valid[i] else a
        for i, (a, b) in enumerate(zip(reasons_problem, desc_reasons))
    ]
    if paths is not None:
        p = np.asarray(paths, dtype=object)
        frame["duplicate_of"] = np.where(dup_of >= 0, p[np.clip(dup_of, 0, None)], "")
    else:
        frame["duplicate_of"] = np.where(dup_of >= 0, dup_of.astype(str), "")
    return frame
