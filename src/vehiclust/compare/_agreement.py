"""How candidates relate: label agreement, shared neighbours, alignment with attributes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, homogeneity_score, normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

from vehiclust.evidence import CATEGORICAL, CONTINUOUS
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)


def agreement_matrices(labels: Mapping[str, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate x candidate ARI and NMI, each pair on the rows both assign to a cluster."""
    names = list(labels)
    ari = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    nmi = ari.copy()
    for a, b in combinations(names, 2):
        la, lb = np.asarray(labels[a]), np.asarray(labels[b])
        both = (la >= 0) & (lb >= 0)
        if both.sum() < 2:
            ari.loc[a, b] = ari.loc[b, a] = nmi.loc[a, b] = nmi.loc[b, a] = np.nan
            continue
        ari.loc[a, b] = ari.loc[b, a] = adjusted_rand_score(la[both], lb[both])
        nmi.loc[a, b] = nmi.loc[b, a] = normalized_mutual_info_score(la[both], lb[both])
    ari.index.name = nmi.index.name = "descriptor"
    return ari, nmi


def label_scores(labels: np.ndarray, truth: pd.Series) -> tuple[float, float]:
    """(NMI, ARI) of a clustering with a label column, on assigned rows with a known label."""
    labels = np.asarray(labels)
    known = truth.notna().to_numpy() & (truth.astype(str).str.len() > 0).to_numpy()
    keep = (labels >= 0) & known
    if keep.sum() < 2:
        return float("nan"), float("nan")
    t = truth.astype(str).to_numpy()[keep]
    return (float(normalized_mutual_info_score(t, labels[keep])), float(adjusted_rand_score(t, labels[keep])))


def explained_uncertainty(labels: np.ndarray, attribute: pd.Series) -> float:
    """1 - H(attribute | cluster) / H(attribute), on assigned rows with a known attribute."""
    labels = np.asarray(labels)
    known = attribute.notna().to_numpy() & (attribute.astype(str).str.len() > 0).to_numpy()
    keep = (labels >= 0) & known
    if keep.sum() < 2:
        return float("nan")
    values = attribute.astype(str).to_numpy()[keep]
    if len(np.unique(values)) < 2:
        return float("nan")
    return float(homogeneity_score(values, labels[keep]))


def correlation_ratio(labels: np.ndarray, values: np.ndarray) -> float:
    """eta squared: the share of a continuous value's variance explained by the clusters."""
    labels = np.asarray(labels)
    values = np.asarray(values, dtype=float)
    keep = (labels >= 0) & np.isfinite(values)
    if keep.sum() < 2:
        return float("nan")
    lab, v = labels[keep], values[keep]
    total = float(np.sum((v - v.mean()) ** 2))
    if total <= 0:
        return float("nan")
    _, inv, counts = np.unique(lab, return_inverse=True, return_counts=True)
    means = np.bincount(inv, weights=v) / counts
    between = float(np.sum(counts * (means - v.mean()) ** 2))
    return between / total


def attribute_alignment(labels: Mapping[str, np.ndarray], attributes: pd.DataFrame,
                        kinds: Mapping[str, str]) -> pd.DataFrame:
    """Candidate x attribute: the share of each attribute explained by the clusters.

    Categorical attributes: :func:`explained_uncertainty`; continuous ones:
    :func:`correlation_ratio`. Both are in [0, 1]: 0 = the clusters say nothing about the
    attribute, 1 = they determine it. Unlike NMI, a clustering that splits along colour AND
    type scores fully on both. ``attributes`` has one row per input row (NaN where unknown).
    """
    table = pd.DataFrame(index=pd.Index(list(labels), name="descriptor"), columns=list(attributes.columns), dtype=float)
    for name, lab in labels.items():
        for col in attributes.columns:
            if kinds.get(col, CATEGORICAL) == CONTINUOUS:
                table.loc[name, col] = correlation_ratio(lab, attributes[col].to_numpy(float))
            else:
                table.loc[name, col] = explained_uncertainty(lab, attributes[col])
    return table


def neighbourhood_overlap(spaces: Mapping[str, tuple[np.ndarray, np.ndarray]], k: int = 10, n_queries: int = 1000,
                          pool_size: int = 20000, random_state: Any = None) -> pd.DataFrame:
    """Space x space: mean share of the k nearest (cosine) neighbours two spaces have in common.

    Neighbours are searched within a random pool of rows valid in every space; ``n_queries``
    pool rows are the queries. 1 = identical neighbourhoods; about ``k / pool`` = unrelated.
    """
    if k < 1:
        raise InputError(f"The 'k' parameter of neighbourhood_overlap must be an int in [1, inf). Got {k}.")
    names = list(spaces)
    common = np.logical_and.reduce([np.asarray(v, bool) for _, v in spaces.values()])
    rows = np.flatnonzero(common)
    rng = check_random_state(random_state)
    if len(rows) > pool_size:
        rows = np.sort(rng.choice(rows, pool_size, replace=False))
    if len(rows) <= k + 1:
        return pd.DataFrame(np.nan, index=names, columns=names)
    queries = np.sort(rng.choice(len(rows), min(n_queries, len(rows)), replace=False))
    neighbours = {}
    for name, (X, valid) in spaces.items():
        pos = np.cumsum(np.asarray(valid, bool)) - 1
        Z = np.asarray(X, dtype=np.float32)[pos[rows]]
        nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(Z)
        idx = nn.kneighbors(Z[queries], return_distance=False)
        # drop each query itself (or the farthest neighbour when duplicates hide it)
        out = np.empty((len(queries), k), dtype=np.int64)
        for i, (q, row) in enumerate(zip(queries, idx)):
            row = row[row != q]
            out[i] = row[:k]
        neighbours[name] = out
    overlap = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for a, b in combinations(names, 2):
        na, nb = neighbours[a], neighbours[b]
        shared = [len(np.intersect1d(x, y, assume_unique=True)) for x, y in zip(na, nb)]
        overlap.loc[a, b] = overlap.loc[b, a] = float(np.mean(shared)) / k
    overlap.index.name = "descriptor"
    return overlap
