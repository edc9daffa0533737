"""neighbourhood_preservation against a slow reference and at its extremes."""

from __future__ import annotations

import numpy as np
import pytest

from vehiclust.embed import neighbourhood_preservation
from vehiclust.exceptions import InputError


def reference(X: np.ndarray, Y: np.ndarray, k: int) -> float:
    def knn(A):
        d = ((A[:, None, :] - A[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        return np.argsort(d, axis=1, kind="stable")[:, :k]
    a, b = knn(X.astype(np.float64)), knn(Y.astype(np.float64))
    return float(np.mean([len(set(r) & set(s)) / k for r, s in zip(a, b)]))


@pytest.mark.parametrize("k", [1, 5, 10])
def test_matches_reference(k):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 12)).astype(np.float32)
    Y = (X[:, :2] + rng.normal(0, 0.3, (200, 2))).astype(np.float32)
    assert neighbourhood_preservation(X, Y, k=k, n_samples=None) == pytest.approx(reference(X, Y, k), abs=1e-9)


def test_identity_is_one_and_shuffle_is_low():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3)).astype(np.float32)
    assert neighbourhood_preservation(X, X, k=10) == pytest.approx(1.0)
    assert neighbourhood_preservation(X, rng.permutation(X), k=10) < 0.1


def test_sampled_queries_are_seeded():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 8)).astype(np.float32)
    Y = X[:, :2].copy()
    a = neighbourhood_preservation(X, Y, n_samples=50, random_state=4)
    assert a == neighbourhood_preservation(X, Y, n_samples=50, random_state=4)


@pytest.mark.parametrize("kwargs, match", [({"k": 0}, "'k'"), ({"k": 10}, "'k'"), ({"k": 3, "n_samples": 0}, "'n_samples'")])
def test_bad_arguments(kwargs, match):
    X = np.zeros((10, 3), dtype=np.float32)
    with pytest.raises(InputError, match=match):
        neighbourhood_preservation(X, X[:, :2], **kwargs)


def test_row_mismatch():
    with pytest.raises(InputError, match="rows"):
        neighbourhood_preservation(np.zeros((10, 3)), np.zeros((9, 2)))
