"""Mixes: one space from several descriptor sets, with no block dominating by size or scale.

Each block arrives L2-normalised and PCA-reduced by the preparation stage, but blocks still
differ in dimension (a 512-d block has more total variance than a 16-d one) and in spread.
:class:`DescriptorMixer` centres every block and divides it by the square root of its total
variance, so each block has unit mean squared norm; a block weight ``w`` then sets its share
of the mixed variance to ``w / sum(w)``. An optional PCA of the concatenation follows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

ALL = "all"
_EPS = 1e-12


class DescriptorMixer(TransformerMixin, BaseEstimator):
    """Weighted concatenation of row-aligned descriptor blocks, each scaled to equal variance.

    Parameters
    ----------
    weights : sequence of float or None
        One positive weight per block; None means equal weights. Block ``b`` contributes the
        share ``weights[b] / sum(weights)`` of the total variance of the mix.
    n_components : int or None
        PCA of the concatenation down to this many dimensions when the concatenation is wider;
        None keeps the concatenation as is.
    random_state : int, RandomState or None
        Seed of the randomised PCA solver.
    """

    def __init__(self, weights: Sequence[float] | None = None, n_components: int | None = 64,
                 random_state: Any = None) -> None:
        self.weights = weights
        self.n_components = n_components
        self.random_state = random_state

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
        if self.n_components is not None and (not isinstance(self.n_components, (int, np.integer)) or self.n_components < 1):
            raise InputError(f"The 'n_components' parameter of DescriptorMixer must be an int in [1, inf) or None. Got {self.n_components!r}.")
        self.weights_ = w / w.sum()
        self.block_dims_ = np.array([a.shape[1] for a in arrays])
        self.means_ = [a.mean(axis=0, dtype=np.float64).astype(np.float32) for a in arrays]
        # total variance = mean squared norm of the centred block
        variances = [float(np.mean(np.sum((a - m) ** 2, axis=1, dtype=np.float64))) for a, m in zip(arrays, self.means_)]
        self.block_variance_ = np.array(variances)
        self.scales_ = np.array([math.sqrt(wb) / math.sqrt(max(v, _EPS)) for wb, v in zip(self.weights_, variances)])
        Z = self._concat(arrays)
        width = Z.shape[1]
        self.pca_ = None
        if self.n_components is not None and width > self.n_components and Z.shape[0] > self.n_components:
            self.pca_ = PCA(n_components=int(self.n_components), svd_solver="randomized",
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
        Z = self._concat(self._check_blocks(blocks, fitted=True))
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
            "pca_explained_variance": (float(self.pca_.explained_variance_ratio_.sum()) if self.pca_ is not None else 1.0),
        }


def parse_mix_spec(spec: str, available: Sequence[str]) -> list[str]:
    """``"a+b"`` → ``["a", "b"]``; ``"all"`` → every available set, in the given order."""
    available = list(available)
    text = str(spec).strip()
    if text.lower() == ALL:
        names = available
    else:
        names = [part.strip() for part in text.split("+")]
        unknown = [p for p in names if p not in available]
        if unknown or any(not p for p in names):
            raise InputError(
                f"Mix {spec!r} names descriptor sets {unknown or ['(empty)']} that are not loaded; "
                f"allowed: {available} joined with '+', or 'all'."
            )
        if len(set(names)) != len(names):
            raise InputError(f"Mix {spec!r} names a descriptor set twice.")
    if len(names) < 2:
        raise InputError(f"Mix {spec!r} needs at least 2 descriptor sets; available: {available}.")
    return names


def mix_name(names: Sequence[str]) -> str:
    """The name a mix gets in the results: its sets joined with '+' (also for 'all')."""
    return "+".join(names)


def build_mixes(prepared: Mapping[str, Any], specs: Sequence[str], weights: Mapping[str, float] | None = None,
                n_components: int | None = 64, random_state: Any = None) -> list[Any]:
    """One :class:`~vehiclust.pipeline.PreparedSet` per mix spec.

    ``prepared`` maps names to prepared sets (``X`` holds only the set's valid rows, ``valid``
    marks them among all rows). A mix keeps the rows valid in every block. ``weights`` maps a
    set name to its weight (default 1). Specs that resolve to the same sets are built once.
    """
    from vehiclust.prepare import PreparedSet

    weights = dict(weights or {})
    available = list(prepared)
    unknown = sorted(set(weights) - set(available))
    if unknown:
        raise InputError(f"--mix-weight names {unknown}, which are not loaded descriptor sets; allowed: {available}.")
    for name, w in weights.items():
        if not (isinstance(w, (int, float)) and math.isfinite(w) and w > 0):
            raise InputError(f"--mix-weight {name}={w!r}: a weight must be a positive number.")
    rng = check_random_state(random_state)
    out = []
    seen: set[tuple[str, ...]] = set()
    for spec in specs:
        names = parse_mix_spec(spec, available)
        if tuple(names) in seen:
            continue
        seen.add(tuple(names))
        sets = [prepared[n] for n in names]
        n_rows = {len(s.valid) for s in sets}
        if len(n_rows) != 1:
            raise InputError(f"Mix {spec!r}: the sets cover different row counts {sorted(n_rows)}.")
        valid = np.logical_and.reduce([np.asarray(s.valid, bool) for s in sets])
        if valid.sum() < 2:
            raise InputError(f"Mix {spec!r}: only {int(valid.sum())} rows are valid in every set {names}; need at least 2.")
        blocks = []
        for s in sets:
            s_valid = np.asarray(s.valid, bool)
            pos = np.cumsum(s_valid) - 1  # row index in s.X of each valid row
            blocks.append(np.asarray(s.X)[pos[valid]])
        mixer = DescriptorMixer(weights=[weights.get(n, 1.0) for n in names], n_components=n_components,
                                random_state=rng.randint(2**31 - 1))
        X = mixer.fit_transform(blocks)
        del blocks
        summary = {"kind": "mix", "spec": spec, "blocks": names, **mixer.summary(), "n_valid": int(valid.sum())}
        log.info("mix %s: %d rows, %d dims from %s", mix_name(names), X.shape[0], X.shape[1], names)
        out.append(PreparedSet(name=mix_name(names), X=X, valid=valid, preparation=summary, model={"mixer": mixer}))
    return out
