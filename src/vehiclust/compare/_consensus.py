"""Consensus of several clusterings: a spectral embedding of their co-association matrix.

The co-association of rows i and j is the share of clusterings that put them together.
With ``H`` the one-hot matrix of all clusterings side by side (rows x all clusters),
co-association is ``H @ H.T / S``, so it never has to be formed: the normalised spectral
embedding (Ng, Jordan & Weiss) comes from a truncated SVD of ``D^-1/2 H``, sparse and linear
in the number of rows. Rows with the same label in every clustering (the micro-clusters of
the co-association) get the same embedding, so this is exact, not a sample. The embedding is
then clustered and scored like any descriptor set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.utils import check_random_state

from vehiclust.exceptions import InputError

CONSENSUS = "consensus"


def coassociation_onehot(label_sets: Mapping[str, np.ndarray]) -> sp.csr_matrix:
    """The rows x clusters one-hot matrix ``H``; unassigned rows (-1) get no entry for that set."""
    if len(label_sets) < 2:
        raise InputError(f"A consensus needs at least 2 clusterings; got {len(label_sets)}: {list(label_sets)}.")
    lengths = {len(np.asarray(v)) for v in label_sets.values()}
    if len(lengths) != 1:
        raise InputError(f"Clusterings to combine must cover the same rows; got lengths {sorted(lengths)}.")
    n = lengths.pop()
    blocks = []
    for labels in label_sets.values():
        labels = np.asarray(labels, dtype=np.int64)
        rows = np.flatnonzero(labels >= 0)
        _, cols = np.unique(labels[rows], return_inverse=True)
        k = int(cols.max()) + 1 if len(cols) else 0
        blocks.append(sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, k)))
    return sp.hstack(blocks, format="csr")


def consensus_embedding(label_sets: Mapping[str, np.ndarray], n_components: int | None = None,
                        random_state: Any = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Spectral embedding of the co-association of ``label_sets`` (name -> full-length labels).

    Returns ``(X, valid, summary)``: ``X`` holds the rows assigned in at least one clustering
    (``valid``), L2-normalised. ``n_components`` defaults to ``min(2 * max k, total clusters - 1, 64)``.
    """
    H = coassociation_onehot(label_sets)
    valid = np.asarray(H.getnnz(axis=1) > 0)
    H = H[valid]
    n_clusters = [int(len(np.unique(np.asarray(v)[np.asarray(v) >= 0]))) for v in label_sets.values()]
    total = H.shape[1]
    if total < 3 or H.shape[0] < 3:
        raise InputError(f"A consensus needs at least 3 clusters and 3 assigned rows in all; got {total} clusters and {H.shape[0]} rows.")
    if n_components is None:
        n_components = min(2 * max(n_clusters), total - 1, 64)
    n_components = int(max(1, min(n_components, total - 1, H.shape[0] - 1)))
    # degree of row i in the co-association graph: sum of the sizes of its clusters
    sizes = np.asarray(H.sum(axis=0)).ravel()
    degree = H @ sizes
    Hn = sp.diags(1.0 / np.sqrt(np.maximum(degree, 1e-12))) @ H
    svd = TruncatedSVD(n_components=n_components + 1, algorithm="randomized", n_iter=7,
                       random_state=check_random_state(random_state))
    U = svd.fit_transform(Hn)[:, 1:]  # drop the trivial leading component
    U /= np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-12)
    summary = {
        "kind": "consensus",
        "clusterings": list(label_sets),
        "n_clusters_in": n_clusters,
        "n_components": n_components,
        "n_micro_clusters": int(len(np.unique(_row_keys(H)))),
        "n_valid": int(valid.sum()),
    }
    return U.astype(np.float32), valid, summary


def _row_keys(H: sp.csr_matrix) -> np.ndarray:
    """One hashable key per row: its set of clusters (rows with equal keys are one micro-cluster)."""
    return np.array([hash(tuple(H.indices[H.indptr[i]:H.indptr[i + 1]])) for i in range(H.shape[0])])


# Families the consensus embedding is clustered with: it is a set of discrete points (one per
# micro-cluster), where density families would return the micro-clusters themselves.
CONSENSUS_FAMILIES = ("kmeans", "gmm", "ward")


def consensus_applies(label_sets: Mapping[str, np.ndarray], n_rows: int) -> bool:
    """Whether a consensus is worth building: 2+ clusterings, 3+ clusters in all, 10+ rows."""
    n_clusters = sum(len(np.unique(np.asarray(v)[np.asarray(v) >= 0])) for v in label_sets.values())
    return len(label_sets) >= 2 and n_clusters >= 3 and n_rows >= 10


def consensus_set(runs: Mapping[str, Any], prepared: Mapping[str, Any], *, families: Sequence[str] = CONSENSUS_FAMILIES,
                  k_min: int = 2, k_max: int = 20, random_state: int | None = None,
                  progress: bool | None = None) -> tuple[Any, Any] | None:
    """The consensus of the single-set clusterings as one more descriptor set: its
    ``(PreparedSet, DescriptorRun)`` with labels, selection and outlier table (the single sets'
    majority vote), or ``None`` when :func:`consensus_applies` says no.

    ``runs`` / ``prepared``: the run's descriptor runs and prepared sets (name → object); mixes
    (``preparation["kind"] == "mix"``) take no part. The maps and descriptions of the consensus
    come from the same stages as any set's."""
    from vehiclust.cluster import ClusterSelector, sweep_params
    from vehiclust.outliers import majority_outliers
    from vehiclust.prepare import PreparedSet
    from vehiclust.results import DescriptorRun

    singles = [n for n in runs if prepared[n].preparation.get("kind") != "mix"]
    label_sets = {n: runs[n].labels for n in singles}
    n_rows = len(next(iter(label_sets.values()))) if label_sets else 0
    if not consensus_applies(label_sets, n_rows):
        return None
    name = CONSENSUS
    while name in runs:  # a user's descriptor set may already be called "consensus"
        name = f"{name}-of-sets"
    X, valid, summary = consensus_embedding(label_sets, random_state=random_state)
    ps = PreparedSet(name=name, X=X, valid=valid, preparation=summary)
    selector = ClusterSelector(families=tuple(f for f in families if f in CONSENSUS_FAMILIES) or ("kmeans",),
                               k_min=k_min, k_max=k_max, random_state=random_state, progress=progress,
                               **sweep_params(len(X)))
    selector.fit(X)
    labels = np.full(n_rows, -1, dtype=np.int64)
    labels[valid] = selector.labels_
    run_ = DescriptorRun(name=name, labels=labels, selection=selector.selection_, chosen=selector.best_,
                         preparation=summary, best_params=dict(selector.best_params_),
                         cluster_centers=selector.cluster_centers_)
    run_.selector = selector
    # outliers: unassigned rows, and rows flagged by most single sets (same columns as a set's)
    run_.outliers = majority_outliers([runs[n].outliers for n in singles if runs[n].outliers is not None], valid)
    return ps, run_
