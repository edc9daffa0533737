"""Near-duplicates in descriptor space (fastdup-style): twins by very high cosine similarity.

The perceptual hash of :mod:`vehiclust.quality` catches byte copies and re-encodings; two
consecutive video frames of one vehicle differ in pixels but not in what a descriptor sees.
Pairs of k-NN neighbours whose cosine similarity in the prepared space reaches
``min_similarity`` are joined into groups; the first row of a group (input order) is kept
and every other row is a duplicate whose twin is its most similar earlier row of the group.
Only rows that are each other's k-NN neighbours can pair, so no all-pairs comparison is made.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vehiclust.exceptions import InputError

#: Cosine similarity in the prepared (PCA, partly whitened) space at or above which two rows are
#: twins. bench/outliers.py twins, EfficientNet-Lite0, 819 GTI frames + 1,000 Zenodo vehicles:
#: 0.95 flags 1.6 % of GTI frames (92 % of twins within 5 frames in the same folder) and 0.0 % of
#: Zenodo vehicles; 0.9 flags 10.7 % of GTI frames but 2.9 % of the demo's vehicle-attributes rows.
DEFAULT_MIN_SIMILARITY = 0.95
#: At most this share of rows may be duplicates: on low-dimensional, saturated descriptors (the 11
#: colour/type probabilities of vehicle-attributes) most rows reach 0.95 with a neighbour (98 % of
#: 4,800 Zenodo vehicles did; raising the cut to the 95 % quantile still named 3.9 %). Such a set
#: cannot tell twins from look-alikes: it names none (EfficientNet-Lite0: 0.5 %, kept).
DEFAULT_MAX_SHARE = 0.05


def neighbour_similarity(X: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row to each of its neighbours ``indices`` (-1 = none: NaN)."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1)
    unit = X / np.where(norms > 0, norms, 1.0)[:, None]
    idx = np.asarray(indices, dtype=np.int64)
    sim = np.full(idx.shape, np.nan, dtype=np.float64)
    ok = idx >= 0
    for j in range(idx.shape[1]):
        rows = np.flatnonzero(ok[:, j])
        sim[rows, j] = np.einsum("ij,ij->i", unit[rows], unit[idx[rows, j]])
    return sim


def descriptor_twins(
    X: np.ndarray,
    indices: np.ndarray,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    max_share: float | None = DEFAULT_MAX_SHARE,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: ``twin_of`` (the row it duplicates, -1 if it is kept or has no twin) and
    ``similarity`` (cosine similarity to its most similar neighbour, NaN if none).

    ``max_share``: when more than this share of rows would be duplicates, the descriptor cannot
    tell twins from look-alikes and none are named (None: no cap)."""
    if max_share is not None and (not isinstance(max_share, numbers.Real) or isinstance(max_share, bool)
                                  or not 0 < max_share <= 1):
        raise InputError(f"The 'max_share' parameter of descriptor_twins must be None or a float in (0, 1]. Got {max_share!r}.")
    twin_of, best = _twins_at(X, indices, min_similarity)
    n = len(twin_of)
    if max_share is None or n == 0 or np.mean(twin_of >= 0) <= max_share:
        return twin_of, best
    return np.full(n, -1, dtype=np.int64), best


def _twins_at(X: np.ndarray, indices: np.ndarray, min_similarity: float) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(min_similarity, numbers.Real) or isinstance(min_similarity, bool) or not 0 < min_similarity <= 1:
        raise InputError(f"The 'min_similarity' parameter of descriptor_twins must be a float in (0, 1]. Got {min_similarity!r}.")
    n = len(X)
    twin_of = np.full(n, -1, dtype=np.int64)
    if n < 2 or indices.size == 0:
        return twin_of, np.full(n, np.nan)
    sim = neighbour_similarity(X, indices)
    best = np.nanmax(np.where(np.isfinite(sim), sim, -np.inf), axis=1)
    best[~np.isfinite(best)] = np.nan
    close = np.isfinite(sim) & (sim >= min_similarity)
    a, j = np.nonzero(close)
    if a.size == 0:
        return twin_of, best
    b = indices[a, j]
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    first = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    size = np.bincount(comp)
    dup = (size[comp] > 1) & (np.arange(n) != first[comp])
    # the twin: the most similar earlier neighbour in the group, else the group's first row
    earlier = close & (indices < np.arange(n)[:, None])
    score = np.where(earlier, sim, -np.inf)
    pick = np.argmax(score, axis=1)
    has = np.isfinite(score[np.arange(n), pick])
    twin_of[dup] = np.where(has[dup], indices[np.flatnonzero(dup), pick[dup]], first[comp[dup]])
    return twin_of, best
