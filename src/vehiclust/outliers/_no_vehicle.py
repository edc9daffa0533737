"""One calibrated "no vehicle in this image" score from several kinds of evidence, with a
threshold set from this run's data.

The vehicle detector alone (``vehicle_confidence``, :mod:`vehiclust.quality`) ranks road
scenes well (AUROC 0.96 on Udacity road crops among Zenodo vehicles) but its confidence on a
road scene is often 0.6-0.9, so no cut on it finds most of them without flagging vehicles.

Evidence, each a log-odds of "no vehicle" on the detector's scale: the detector's own, its
mean over the row's k nearest descriptor-space neighbours (road scenes neighbour road scenes),
and ImageNet's vehicle mass when the run was given it; their weighted mean is the *detector
score* (the neighbourhood counts ``neighbourhood_weight`` = 5 times).

The descriptor space then decides which rows look like the images the detector is sure hold
no vehicle: a logistic regression is fitted on this run's own rows, the detector's sure ones
as pseudo-labels (confidence < ``sure_empty`` = 0.5: no vehicle; > ``sure_vehicle`` = 0.95:
vehicle; never the labels), and its decision value is turned into a robust z-score over all
rows (median, MAD): the *descriptor z*. It ranks road scenes almost perfectly (AUROC 0.997-1.0
with EfficientNet-Lite0 on ../shared, 2-15 % road scenes), where the detector's
neighbourhood alone fails when road scenes are few (at 2 % their neighbours are vehicles).

A row is flagged when the descriptor z is high and the detector does not contradict it:
z > ``z_cut`` (3) with detector score > ``support`` (-2.5, a vehicle confidence below 0.92), or
z > ``z_cut + 1`` with detector score > ``floor`` (-4, confidence below 0.98). The z-score cut
moves with the data (its median and spread); the two fixed detector bounds are only sanity
bounds. With fewer than ``min_sure`` (3) sure-empty rows there is no group to learn: only the
``detector_alone`` rule flags. Without descriptors (``X``) there is nothing to learn on: then
the detector score alone is cut at the fixed ``fallback_cut`` (-2.0, measured last: recall 0.4-0.9 with the neighbourhood, less on
small sets). A row whose detector confidence is
below ``detector_alone`` (0.3) is flagged on that alone. bench/outliers.py (EfficientNet-Lite0,
1,000 Zenodo vehicles, 3 seeds): 0 % road scenes: 0 flagged; 2 %: recall >= 0.90, precision
>= 0.95; 6 %: 0.94 / 0.97; 15 %: 0.94 / 1.00; 500 vehicles + 400 GTI frames + 6 %: 0.89 / 0.95;
240 vehicles + 10 %: 0.78 / 1.00. ``score_`` is calibrated to [0, 1] with 0.5 on the cut.
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
    detector's scale), ``detector_score_`` (their weighted mean), ``descriptor_z_`` (robust
    z-score of the descriptor-space classifier, or of the detector score without one),
    ``decision_scores_`` (margin past the flagging rule; > 0 = flagged), ``threshold_`` (0),
    ``labels_`` (1 = no vehicle) and ``score_`` (calibrated, 0.5 at the threshold)."""

    def __init__(self, *, neighbourhood_weight: float = 5.0, reference_confidence: float = 0.9,
                 detector_alone: float = 0.3, sure_empty: float = 0.5, sure_vehicle: float = 0.95,
                 z_cut: float = 3.0, support: float = -2.5, floor: float = -4.0, min_sure: int = 3,
                 fallback_cut: float = -2.0, random_state: int | None = 0) -> None:
        self.neighbourhood_weight = neighbourhood_weight
        self.reference_confidence = reference_confidence
        self.detector_alone = detector_alone
        self.sure_empty = sure_empty
        self.sure_vehicle = sure_vehicle
        self.z_cut = z_cut
        self.support = support
        self.floor = floor
        self.min_sure = min_sure
        self.fallback_cut = fallback_cut
        self.random_state = random_state

    def _check_params(self) -> None:
        for name, low, high in (("neighbourhood_weight", 0.0, np.inf), ("reference_confidence", 0.0, 1.0),
                                ("detector_alone", 0.0, 1.0), ("sure_empty", 0.0, 1.0), ("sure_vehicle", 0.0, 1.0),
                                ("z_cut", 0.0, np.inf), ("support", -np.inf, np.inf), ("floor", -np.inf, np.inf),
                                ("fallback_cut", -np.inf, np.inf)):
            v = getattr(self, name)
            strict = name in ("reference_confidence", "sure_empty", "sure_vehicle")
            if (not isinstance(v, numbers.Real) or isinstance(v, bool) or not np.isfinite(v) or v < low
                    or v > high or (strict and v <= low) or (name != "neighbourhood_weight" and v >= high)):
                raise InputError(f"The '{name}' parameter of NoVehicleScorer must be a finite float in "
                                 f"{'(' if strict else '['}{low:g}, {high:g}). Got {v!r}.")
        if not self.sure_empty < self.sure_vehicle:
            raise InputError("NoVehicleScorer: 'sure_empty' must be below 'sure_vehicle'. "
                             f"Got {self.sure_empty!r} and {self.sure_vehicle!r}.")
        if not isinstance(self.min_sure, numbers.Integral) or isinstance(self.min_sure, bool) or self.min_sure < 1:
            raise InputError(f"The 'min_sure' parameter of NoVehicleScorer must be an int >= 1. Got {self.min_sure!r}.")

    def fit(self, confidence: np.ndarray, neighbors: np.ndarray | None = None,
            vehicle_prob: np.ndarray | None = None, X: np.ndarray | None = None) -> "NoVehicleScorer":
        """``confidence``: the detector's vehicle confidence per row (NaN: not measured);
        ``neighbors``: each row's k-NN rows (-1: none); ``vehicle_prob``: ImageNet vehicle mass;
        ``X``: the rows' prepared descriptors (the descriptor-space classifier learns on them)."""
        self._check_params()
        conf = np.asarray(confidence, dtype=np.float64)
        n = len(conf)
        det = no_vehicle_log_odds(conf)
        evidence = {"detector": det}
        weights = {"detector": 1.0}
        if neighbors is not None and np.asarray(neighbors).size:
            if len(neighbors) != n:
                raise InputError(f"NoVehicleScorer.fit: 'neighbors' has {len(neighbors)} rows, 'confidence' has {n}.")
            evidence["detector_neighbourhood"] = neighbourhood_mean(det, neighbors)
            weights["detector_neighbourhood"] = float(self.neighbourhood_weight)
        if vehicle_prob is not None:
            vp = np.asarray(vehicle_prob, dtype=np.float64)
            if vp.shape != (n,):
                raise InputError(f"NoVehicleScorer.fit: 'vehicle_prob' has shape {vp.shape}, expected ({n},).")
            mapped = _onto_detector_scale(no_vehicle_log_odds(vp), det, conf >= self.reference_confidence)
            if mapped is not None:
                evidence["imagenet"] = mapped
                weights["imagenet"] = 1.0
        self.evidence_ = evidence
        stack = np.vstack(list(evidence.values()))
        wts = np.array([weights[k] for k in evidence])[:, None] * np.isfinite(stack)
        total = wts.sum(axis=0)
        with np.errstate(invalid="ignore"):
            d = np.where(total > 0, np.nansum(stack * wts, axis=0) / np.where(total > 0, total, 1.0), np.nan)
        self.detector_score_ = d
        if X is not None and len(X) != n:
            raise InputError(f"NoVehicleScorer.fit: 'X' has {len(X)} rows, 'confidence' has {n}.")
        z = self._descriptor_z(np.asarray(X, dtype=np.float32), det) if X is not None else None
        self.uses_descriptors_ = z is not None
        self.descriptor_z_ = z if z is not None else np.full(n, np.nan)
        # the flagging rule as one margin (> 0 = flagged): high z with some detector support, or
        # higher z with no strong contradiction, or a detector sure there is no vehicle
        lo = lambda p: float(no_vehicle_log_odds(np.array([p]))[0])  # noqa: E731
        if z is not None:
            margin = np.fmax(np.fmin(z - self.z_cut, d - self.support), np.fmin(z - self.z_cut - 1.0, d - self.floor))
        elif X is not None:  # too few sure-empty rows to form a group: no road scenes to find but those
            margin = np.fmin(d - self.support, -1.0)  # the detector alone is sure of (ranked, never cut)
        else:  # no descriptors to learn on: the detector score's fixed cut
            margin = d - self.fallback_cut
        if self.detector_alone > 0:
            margin = np.where(np.isfinite(det), np.fmax(margin, det - lo(self.detector_alone)), margin)
        self.decision_scores_ = margin
        self.threshold_ = 0.0
        finite = np.isfinite(margin)
        self.labels_ = (finite & (margin > 0)).astype(np.int64)
        out = np.full(n, np.nan)
        out[finite] = calibrate(margin[finite], 0.0, 1.0)
        self.score_ = out
        return self

    def _descriptor_z(self, X: np.ndarray, det: np.ndarray) -> np.ndarray | None:
        """Robust z-score of a logistic regression on the detector's sure rows (pseudo-labels)."""
        from sklearn.linear_model import LogisticRegression

        ok = np.isfinite(X).all(axis=1) & np.isfinite(det)
        empty = ok & (det > no_vehicle_log_odds(np.array([self.sure_empty]))[0])
        full = ok & (det < no_vehicle_log_odds(np.array([self.sure_vehicle]))[0])
        if empty.sum() < self.min_sure or full.sum() < self.min_sure:
            return None
        sel = empty | full
        clf = LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000, random_state=self.random_state)
        clf.fit(X[sel], empty[sel])
        value = np.full(len(X), np.nan)
        value[ok] = clf.decision_function(X[ok])
        return _robust_z(value)


def _robust_z(values: np.ndarray) -> np.ndarray:
    med, spread = robust_location_scale(values)
    return (np.asarray(values, dtype=np.float64) - med) / (spread if spread > 0 else 1.0)


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
    from vehiclust.evidence import read_head_table
    from vehiclust.io import normalise_path

    for file in (head_files or {}).values():
        head = read_head_table(file)  # the evidence layer's reading: paths normalised, one clear line if broken
        if "imagenet_vehicle_prob" not in head:
            continue
        prob = pd.to_numeric(head["imagenet_vehicle_prob"], errors="coerce")
        lookup = pd.Series(prob.to_numpy(), index=head["path"])
        lookup = lookup[~lookup.index.duplicated()]
        return lookup.reindex(paths.map(normalise_path)).to_numpy(np.float64)
    return None
