"""The shared detector contract (pyod-style) and the data-driven threshold.

A detector's ``fit`` sets ``decision_scores_`` (higher = more abnormal); the one shared step
:meth:`BaseDetector._process_decision_scores` turns them into ``threshold_``, ``labels_`` and
a calibrated ``outlierness_`` in [0, 1] where 0.5 sits exactly on the threshold, so scores of
different detectors (distances, densities, path lengths) can be compared and averaged.
"""

from __future__ import annotations

import numbers
from abc import abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_array, check_is_fitted

from vehiclust.exceptions import InputError

# Consistency constant: MAD * 1.4826 estimates the standard deviation of a normal sample.
_MAD_TO_SD = 1.4826


def robust_threshold(
    scores: np.ndarray,
    cut: float = 3.5,
    contamination: float | None = None,
) -> float:
    """The score above which a row is abnormal.

    With ``contamination=None`` the cut comes from the data: median + ``cut`` robust standard
    deviations (MAD), the modified z-score rule, so a clean set flags few rows and a set with
    a real tail flags that tail. A float ``contamination`` in (0, 0.5] forces that share.
    """
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return float("inf")
    if contamination is not None:
        return float(np.quantile(s, 1.0 - contamination, method="higher")) - 1e-12
    med, spread = robust_location_scale(s)
    if spread == 0.0:
        # All (or most) scores identical: only rows strictly above the bulk are abnormal.
        return float(med)
    return float(med + cut * spread)


def robust_location_scale(s: np.ndarray) -> tuple[float, float]:
    """Median and a robust spread (MAD, else IQR, else std); 0 when all values are equal."""
    s = np.asarray(s, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return 0.0, 0.0
    med = float(np.median(s))
    mad = float(np.median(np.abs(s - med))) * _MAD_TO_SD
    if mad > 0:
        return med, mad
    q75, q25 = np.percentile(s, [75, 25])
    if q75 > q25:
        return med, float(q75 - q25) / 1.349
    sd = float(s.std())
    return med, sd


def check_contamination(contamination: float | None, owner: str) -> None:
    if contamination is None:
        return
    if (
        not isinstance(contamination, numbers.Real)
        or isinstance(contamination, bool)
        or not 0.0 < float(contamination) <= 0.5
    ):
        raise InputError(
            f"The 'contamination' parameter of {owner} must be None (threshold from the data) "
            f"or a float in (0, 0.5]. Got {contamination!r}."
        )


class BaseDetector(OutlierMixin, BaseEstimator):
    """Fit on the prepared space; sets ``decision_scores_``, ``threshold_``, ``labels_``.

    ``labels_`` uses pyod's convention (1 = outlier, 0 = inlier). Subclasses implement
    :meth:`_decision_scores` and set a class attribute ``reason`` (the code reported for the
    rows they flag) and ``name`` (the column prefix).
    """

    name: str = "detector"
    reason: str = "outlier"

    def __init__(self, *, cut: float = 3.5, contamination: float | None = None) -> None:
        self.cut = cut
        self.contamination = contamination

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> "BaseDetector":
        X = check_array(X, dtype=np.float32, ensure_min_samples=1)
        self._validate_common()
        self._validate_params_extra(X)
        self.n_features_in_ = X.shape[1]
        scores = np.asarray(self._decision_scores(X, y), dtype=np.float64)
        self.decision_scores_ = scores
        self._process_decision_scores()
        return self

    def _validate_common(self) -> None:
        owner = type(self).__name__
        check_contamination(self.contamination, owner)
        if not isinstance(self.cut, numbers.Real) or isinstance(self.cut, bool) or not self.cut > 0:
            raise InputError(f"The 'cut' parameter of {owner} must be a float in (0, inf). Got {self.cut!r}.")

    def _validate_params_extra(self, X: np.ndarray) -> None:
        """Subclass hook for parameter checks that depend on the data."""

    @abstractmethod
    def _decision_scores(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        """Raw scores of the training rows, higher = more abnormal."""

    def _process_decision_scores(self) -> None:
        """The shared step: threshold, binary labels and calibrated outlierness."""
        s = self.decision_scores_
        self.threshold_ = robust_threshold(s, cut=self.cut, contamination=self.contamination)
        self.labels_ = (s > self.threshold_).astype(np.int64)
        self.outlierness_ = calibrate(s, self.threshold_)

    def fit_predict(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:  # type: ignore[override]
        return self.fit(X, y).labels_

    def outlier_mask(self) -> np.ndarray:
        check_is_fitted(self, "labels_")
        return self.labels_.astype(bool)


def calibrate(scores: np.ndarray, threshold: float, spread: float | None = None) -> np.ndarray:
    """Map raw scores to [0, 1] with 0.5 exactly at ``threshold``.

    A logistic in units of the robust spread: rows at the median land near
    1 / (1 + e^cut) and rows far past the cut approach 1. Non-finite thresholds give 0.
    ``spread``: the training scores' robust spread, to score new rows on the same scale
    (default: the spread of ``scores``).
    """
    s = np.asarray(scores, dtype=np.float64)
    out = np.zeros(s.shape, dtype=np.float64)
    if s.size == 0 or not np.isfinite(threshold):
        return out
    if spread is None:
        spread = robust_location_scale(s)[1]
    if spread == 0.0:
        spread = max(abs(threshold), 1.0) * 1e-6
    z = (s - threshold) / spread
    finite = np.isfinite(z)
    out[finite] = 1.0 / (1.0 + np.exp(-np.clip(z[finite], -50, 50)))
    out[np.isposinf(s)] = 1.0
    return out
