"""Gaussian mixture fitted on a sample, every row assigned by its most likely component."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_array, check_random_state

from vehiclust.exceptions import InputError


class SampledGaussianMixture(ClusterMixin, BaseEstimator):
    """A scikit-learn `GaussianMixture` fitted on at most `max_fit_samples` rows.

    EM costs grow with n * k * d (diagonal) or n * k * d^2 (full) per iteration and the sweep
    fits ~40 mixtures (plus stability refits); a random sample of 5,000 rows (125 per component
    at k = 40) pins diagonal components well, and predicting every row is cheap.
    """

    def __init__(
        self,
        n_components: int = 8,
        *,
        covariance_type: str = "diag",
        max_fit_samples: int = 5_000,
        max_iter: int = 100,
        reg_covar: float = 1e-5,
        random_state=None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_fit_samples = max_fit_samples
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> "SampledGaussianMixture":
        X = check_array(X, dtype=np.float32, order="C", copy=False)
        allowed = ("diag", "full", "spherical", "tied")
        if self.covariance_type not in allowed:
            raise InputError(f"The 'covariance_type' parameter of SampledGaussianMixture must be one of {list(allowed)}. Got {self.covariance_type!r}.")
        if self.n_components > X.shape[0]:
            raise InputError(f"SampledGaussianMixture got n_components={self.n_components} but only {X.shape[0]} rows.")
        rng = check_random_state(self.random_state)
        n = X.shape[0]
        idx = np.sort(rng.choice(n, self.max_fit_samples, replace=False)) if n > self.max_fit_samples else None
        sample = X if idx is None else X[idx]
        self.mixture_ = GaussianMixture(
            n_components=int(self.n_components),
            covariance_type=self.covariance_type,
            max_iter=int(self.max_iter),
            reg_covar=float(self.reg_covar),
            init_params="k-means++",
            random_state=int(rng.randint(0, 2**31 - 1)),
        )
        with warnings.catch_warnings():
            # non-convergence is recorded in `converged_` and the selection table instead
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.mixture_.fit(sample.astype(np.float64))
        self.bic_ = float(self.mixture_.bic(sample.astype(np.float64)))
        self.converged_ = bool(self.mixture_.converged_)
        self.labels_ = self.predict(X)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray, chunk: int = 65_536) -> np.ndarray:
        out = np.empty(X.shape[0], dtype=np.int64)
        for a in range(0, X.shape[0], chunk):
            out[a: a + chunk] = self.mixture_.predict(np.asarray(X[a: a + chunk], dtype=np.float64))
        return out
