"""One calibrated "no vehicle in this image" score from several kinds of evidence.

The vehicle detector alone (``vehicle_confidence``, :mod:`vehiclust.quality`) ranks road
scenes well (AUROC 0.96 on Udacity road crops among Zenodo vehicles) but its confidence on a
road scene is often 0.6-0.9, so no cut on it finds most of them without flagging vehicles.
Road scenes resemble each other, so their descriptor-space neighbours are road scenes too:
averaging the detector's evidence over a row's k nearest neighbours removes most of its noise
(AUROC 0.99 in EfficientNet-Lite0 space). ImageNet's vehicle mass (``imagenet_vehicle_prob``
of the EfficientNet-Lite0 head table) joins when the run was given it.

Every kind of evidence is a log-odds of "no vehicle" on the detector's scale: the detector's
own, its neighbourhood mean, and the ImageNet log-odds mapped onto the detector's scale by the
data set itself (median and robust spread of both over the rows the detector is sure hold a
vehicle, confidence >= ``reference_confidence``). The score is their weighted mean (the
neighbourhood counts ``neighbourhood_weight`` = 5 times) and the threshold ``cut`` is on that
absolute scale, so it does not move with the share of road scenes in the data (a robust z-score
would: 300 road scenes among 1,000 vehicles shift the median and spread). ``cut`` = -2.0 (a
typical vehicle confidence of 0.88) and the weight were measured on ../shared
(bench/outliers.py): with EfficientNet-Lite0 descriptors, over four seeded draws of 1,000 Zenodo
vehicles + 60 Udacity road scenes, recall 0.85-0.90 at precision >= 0.93, 0.4 % or fewer of
clean vehicles and 1.4 % or fewer of GTI video frames flagged. Weak where the descriptor does
not group road scenes (colour histograms, OSNet: recall 0.3-0.7, precision 1.0) and on small
sets (240 vehicles + 40 scenes: recall 0.4-0.6). ``score_`` is calibrated to [0, 1] with 0.5
at the threshold. A row whose detector confidence is below ``detector_alone`` (0.3: no clean
Zenodo vehicle or GTI frame of ../shared, 12 % of road scenes) is flagged on that alone.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from vehiclust.exceptions import InputError
from vehiclust.outliers._base import calibrate, robust_location_scale

_EPS = 1e-4


def no_vehicle_log_odds(probability: np.ndarray) -> np.ndarray:
    """log((1 - p) / p) of a "there is a vehicle" probability (NaN stays NaN)."""
    p = np.clip(np.asarray(probability, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.log1p(-p) - np.log(p)


def neighbourhood_mean(values: np.ndarray, neighbors: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over each row and its neighbours (NaN and -1 neighbours ignored)."""
    v = np.asarray(values, dtype=np.float64)
    idx = np.asarray(neighbors, dtype=np.int64)
    stack = np.where(idx >= 0, v[np.clip(idx, 0, None)], np.nan) if idx.size else np.empty((len(v), 0))
    stack = np.column_stack([v, stack])
    count = np.isfinite(stack).sum(axis=1)
    total = np.nansum(stack, axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class NoVehicleScorer(BaseEstimator):
    """Fit on one data set's evidence; sets ``evidence_`` (name -> no-vehicle log-odds on the
    detector's scale), ``decision_scores_`` (their weighted mean), ``threshold_``, ``labels_``
    (1 = no vehicle) and ``score_`` (calibrated, 0.5 at the threshold)."""

    def __init__(self, *, cut: float = -2.0, neighbourhood_weight: float = 5.0,
                 reference_confidence: float = 0.9, detector_alone: float = 0.3) -> None:
        self.cut = cut
        self.neighbourhood_weight = neighbourhood_weight
        self.reference_confidence = reference_confidence
        self.detector_alone = detector_alone

    def fit(self, confidence: np.ndarray, neighbors: np.ndarray | None = None,
            vehicle_prob: np.ndarray | None = None) -> "NoVehicleScorer":
        if not isinstance(self.cut, numbers.Real) or isinstance(self.cut, bool) or not np.isfinite(self.cut):
            raise InputError(f"The 'cut' parameter of NoVehicleScorer must be a finite float. Got {self.cut!r}.")
        w = self.neighbourhood_weight
        if not isinstance(w, numbers.Real) or isinstance(w, bool) or not w >= 0:
            raise InputError(f"The 'neighbourhood_weight' parameter of NoVehicleScorer must be a float in [0, inf). Got {w!r}.")
        r = self.reference_confidence
        if not isinstance(r, numbers.Real) or isinstance(r, bool) or not 0 < r < 1:
            raise InputError(f"The 'reference_confidence' parameter of NoVehicleScorer must be a float in (0, 1). Got {r!r}.")
        a = self.detector_alone
        if not isinstance(a, numbers.Real) or isinstance(a, bool) or not 0 <= a < 1:
            raise InputError(f"The 'detector_alone' parameter of NoVehicleScorer must be a float in [0, 1). Got {a!r}.")
        conf = np.asarray(confidence, dtype=np.float64)
        n = len(conf)
        det = no_vehicle_log_odds(conf)
        evidence = {"detector": det}
        weights = {"detector": 1.0}
        if neighbors is not None and np.asarray(neighbors).size:
            if len(neighbors) != n:
                raise InputError(f"NoVehicleScorer.fit: 'neighbors' has {len(neighbors)} rows, 'confidence' has {n}.")
            evidence["detector_neighbourhood"] = neighbourhood_mean(det, neighbors)
            weights["detector_neighbourhood"] = float(w)
        if vehicle_prob is not None:
            vp = np.asarray(vehicle_prob, dtype=np.float64)
            if vp.shape != (n,):
                raise InputError(f"NoVehicleScorer.fit: 'vehicle_prob' has shape {vp.shape}, expected ({n},).")
            mapped = _onto_detector_scale(no_vehicle_log_odds(vp), det, conf >= r)
            if mapped is not None:
                evidence["imagenet"] = mapped
                weights["imagenet"] = 1.0
        self.evidence_ = evidence
        stack = np.vstack(list(evidence.values()))
        wts = np.array([weights[k] for k in evidence])[:, None] * np.isfinite(stack)
        total = wts.sum(axis=0)
        with np.errstate(invalid="ignore"):
            score = np.where(total > 0, np.nansum(stack * wts, axis=0) / np.where(total > 0, total, 1.0), np.nan)
        if a > 0:  # a detector sure there is no vehicle needs no support: shift its cut onto ``cut``
            alone = det + (self.cut - float(no_vehicle_log_odds(np.array([a]))[0]))
            score = np.where(np.isfinite(alone), np.fmax(score, alone), score)
        self.decision_scores_ = score
        self.threshold_ = float(self.cut)
        finite = np.isfinite(score)
        self.labels_ = (finite & (score > self.threshold_)).astype(np.int64)
        out = np.full(n, np.nan)
        out[finite] = calibrate(score[finite], self.threshold_)
        self.score_ = out
        return self


def _onto_detector_scale(values: np.ndarray, det: np.ndarray, reference: np.ndarray) -> np.ndarray | None:
    """``values`` mapped so their median and robust spread over ``reference`` rows match the
    detector's there; None when too few reference rows have both."""
    both = reference & np.isfinite(values) & np.isfinite(det)
    if both.sum() < 10:
        return None
    mv, sv = robust_location_scale(values[both])
    md, sd = robust_location_scale(det[both])
    if sv <= 0 or sd <= 0:
        return None
    return md + (values - mv) * sd / sv


def vehicle_mass(head_files: dict[str, str | Path] | None, paths: pd.Series) -> np.ndarray | None:
    """ImageNet vehicle mass per row (``imagenet_vehicle_prob`` of the first head table that
    has it, matched on the normalised path), NaN for rows it lacks; None when no table has it."""
    from vehiclust.io import normalise_path

    for name, file in (head_files or {}).items():
        try:
            head = pd.read_csv(file, keep_default_na=False, na_values=[""])
        except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise InputError(f"Head table '{name}' ({file}) is not a readable CSV: {exc}") from None
        column = next((c for c in ("path", "paths") if c in head.columns), None)
        if column is None or "imagenet_vehicle_prob" not in head:
            continue
        prob = pd.to_numeric(head["imagenet_vehicle_prob"], errors="coerce")
        lookup = pd.Series(prob.to_numpy(), index=head[column].map(normalise_path))
        lookup = lookup[~lookup.index.duplicated()]
        return lookup.reindex(paths.map(normalise_path)).to_numpy(np.float64)
    return None
