"""The descriptor mixer: row-aligned descriptor blocks as one weighted space (a mix's preparation).

Which blocks a mix holds and with which weights is compare's business
(:mod:`vehiclust.compare`: ``build_mixes``, ``auto_weights``); this module only builds the space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from vehiclust.defaults import PCA_COMPONENTS
from vehiclust.exceptions import InputError

_EPS = 1e-12


class DescriptorMixer(TransformerMixin, BaseEstimator):
    """Weighted concatenation of row-aligned descriptor blocks, each scaled to equal variance.

    Parameters
    ----------
    weights : sequence of float or None
        One positive weight per block; None means equal weights. Block ``b`` contributes the
        share ``weights[b] / sum(weights)`` of the total variance of the mix.
    n_components : int, float or None
        PCA of the concatenation down to this many dimensions when the concatenation is wider,
        or (a float in (0, 1)) to as many as explain that share of its variance, as
        ``pca_components`` does for each set; None keeps the concatenation as is.
    random_state : int, RandomState or None
        Seed of the randomised PCA solver.
    passthrough_share : float
        When the blocks other than the heaviest hold less than this share of the weights
        together, the mix is the heaviest block, passed through unchanged (no centring, scaling
        or PCA): ``passthrough_`` is its index (None otherwise). 0 (default): never.
    """

    def __init__(self, weights: Sequence[float] | None = None, n_components: int | None = PCA_COMPONENTS,
                 random_state: Any = None, passthrough_share: float = 0.0) -> None:
        self.weights = weights
        self.n_components = n_components
        self.random_state = random_state
        self.passthrough_share = passthrough_share

    def _check_blocks(self, blocks: Sequence[np.ndarray], fitted: bool) -> list[np.ndarray]:
        if isinstance(blocks, np.ndarray) or len(blocks) < 2:
            raise InputError(
                "DescriptorMixer needs a list of at least 2 descriptor blocks; "
                f"got {1 if isinstance(blocks, np.ndarray) else len(blocks)}."
            )
        arrays = [check_array(b, dtype=np.float32, ensure_min_samples=1) for b in blocks]
        n = {a.shape[0] for a in arrays}
        if len(n) != 1:
            raise InputError(f"All blocks of a mix must have the same rows; got row counts {[a.shape[0] for a in arrays]}.")
        if fitted and [a.shape[1] for a in arrays] != list(self.block_dims_):
            raise InputError(f"Blocks have dimensions {[a.shape[1] for a in arrays]}; the mixer was fitted on {list(self.block_dims_)}.")
        return arrays

    def fit(self, blocks: Sequence[np.ndarray], y: Any = None) -> "DescriptorMixer":
        self._fit(blocks)
        return self

    def _fit(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        arrays = self._check_blocks(blocks, fitted=False)
        n_blocks = len(arrays)
        if self.weights is None:
            w = np.ones(n_blocks)
        else:
            w = np.asarray(list(self.weights), dtype=float)
            if w.shape != (n_blocks,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise InputError(
                    f"The 'weights' parameter of DescriptorMixer must hold {n_blocks} positive finite "
                    f"numbers, one per block. Got {list(self.weights)}."
                )
        nc = self.n_components
        share = isinstance(nc, (float, np.floating)) and not isinstance(nc, bool)
        if nc is not None and not ((share and 0 < nc < 1) or (isinstance(nc, (int, np.integer)) and nc >= 1)):
            raise InputError("The 'n_components' parameter of DescriptorMixer must be an int in [1, inf), a float "
                             f"in (0, 1) (explained-variance share) or None. Got {nc!r}.")
        share_out = self.passthrough_share
        if not (isinstance(share_out, (int, float, np.floating)) and not isinstance(share_out, bool) and 0 <= share_out < 1):
            raise InputError("The 'passthrough_share' parameter of DescriptorMixer must be a number in [0, 1). "
                             f"Got {share_out!r}.")
        self.weights_ = w / w.sum()
        heaviest = int(np.argmax(self.weights_))
        self.passthrough_ = heaviest if 1.0 - self.weights_[heaviest] < share_out else None
        self.block_dims_ = np.array([a.shape[1] for a in arrays])
        self.means_ = [a.mean(axis=0, dtype=np.float64).astype(np.float32) for a in arrays]
        # total variance = mean squared norm of the centred block
        variances = [float(np.mean(np.sum((a - m) ** 2, axis=1, dtype=np.float64))) for a, m in zip(arrays, self.means_)]
        self.block_variance_ = np.array(variances)
        self.scales_ = np.array([math.sqrt(wb) / math.sqrt(max(v, _EPS)) for wb, v in zip(self.weights_, variances)])
        self.pca_ = None
        if self.passthrough_ is not None:
            Z = arrays[self.passthrough_]
            self.n_features_out_ = Z.shape[1]
            return Z
        Z = self._concat(arrays)
        width = Z.shape[1]
        if share and Z.shape[0] > 1:  # as many components as explain that share (exact, from the covariance)
            self.pca_ = PCA(n_components=float(nc), svd_solver="covariance_eigh")
            Z = self.pca_.fit_transform(Z).astype(np.float32, copy=False)
        elif nc is not None and not share and width > nc and Z.shape[0] > nc:
            self.pca_ = PCA(n_components=int(nc), svd_solver="randomized",
                            random_state=check_random_state(self.random_state))
            # fit, then transform: the randomized solver's fit_transform (U * S) is not exactly
            # transform(), and new rows mixed later must land where the fitted rows did
            Z = self.pca_.fit(Z).transform(Z).astype(np.float32, copy=False)
        self.n_features_out_ = Z.shape[1]
        return Z

    def _concat(self, arrays: list[np.ndarray]) -> np.ndarray:
        out = np.empty((arrays[0].shape[0], int(self.block_dims_.sum())), dtype=np.float32)
        start = 0
        for a, m, s in zip(arrays, self.means_, self.scales_):
            stop = start + a.shape[1]
            np.subtract(a, m, out=out[:, start:stop])
            out[:, start:stop] *= np.float32(s)
            start = stop
        return out

    def transform(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        check_is_fitted(self, "scales_")
        arrays = self._check_blocks(blocks, fitted=True)
        if getattr(self, "passthrough_", None) is not None:
            return arrays[self.passthrough_]
        Z = self._concat(arrays)
        if self.pca_ is not None:
            Z = self.pca_.transform(Z).astype(np.float32, copy=False)
        return Z

    def fit_transform(self, blocks: Sequence[np.ndarray], y: Any = None, **fit_params: Any) -> np.ndarray:
        return self._fit(blocks)

    def summary(self) -> dict[str, Any]:
        """What the mix did, for the results' preparation record."""
        check_is_fitted(self, "scales_")
        return {
            "block_dims": [int(d) for d in self.block_dims_],
            "weights": [float(w) for w in self.weights_],
            "block_scales": [float(s) for s in self.scales_],
            "n_features_out": int(self.n_features_out_),
            "passthrough_block": self.passthrough_,
            "pca_explained_variance": (float(self.pca_.explained_variance_ratio_.sum()) if self.pca_ is not None else 1.0),
        }
