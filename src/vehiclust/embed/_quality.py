"""How much of each row's neighbourhood a map keeps: the number to trade map speed against."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from vehiclust.neighbors import knn
from vehiclust.exceptions import InputError


def _neighbours_without_self(base: np.ndarray, queries: np.ndarray, query_idx: np.ndarray, k: int) -> np.ndarray:
    _, idx = knn(base, queries, k + 1)
    out = np.empty((len(query_idx), k), dtype=np.int64)
    for i, row in enumerate(idx):
        row = row[row != query_idx[i]]
        out[i] = row[:k]
    return out


def neighbourhood_preservation(X_high, Y_low, k: int = 10, n_samples: int | None = 2_000,
                               random_state=0) -> float:
    """Mean share of each row's ``k`` nearest neighbours in ``X_high`` that are also among its
    ``k`` nearest in ``Y_low`` (1 = every neighbourhood kept, ~k/n = random map).

    Neighbours are searched exactly over all rows; only ``n_samples`` seeded query rows are
    scored (``None`` = all), which keeps it cheap on 416,314 rows.
    """
    X = check_array(X_high, dtype=np.float32, order="C")
    Y = check_array(Y_low, dtype=np.float32, order="C")
    if X.shape[0] != Y.shape[0]:
        raise InputError(f"X_high has {X.shape[0]} rows but Y_low has {Y.shape[0]}; they must match.")
    n = X.shape[0]
    if not isinstance(k, Integral) or k < 1 or k >= n:
        raise InputError(f"The 'k' parameter of neighbourhood_preservation must be an int in [1, {n - 1}]. Got {k!r}.")
    if n_samples is None or n_samples >= n:
        queries = np.arange(n)
    else:
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise InputError(f"The 'n_samples' parameter of neighbourhood_preservation must be a positive int or None. Got {n_samples!r}.")
        queries = np.sort(check_random_state(random_state).choice(n, size=n_samples, replace=False))
    high = _neighbours_without_self(X, np.ascontiguousarray(X[queries]), queries, k)
    low = _neighbours_without_self(Y, np.ascontiguousarray(Y[queries]), queries, k)
    kept = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(high, low)]
    return float(np.mean(kept) / k)
