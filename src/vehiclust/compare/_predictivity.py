"""Cross-view neighbourhood predictivity: how much of what the other descriptor sets see a space keeps.

Internal indices (silhouette, Davies-Bouldin) compare partitions of the *same* space; across
spaces they reward low intrinsic dimension, so a compact but shallow code (11 colour and type
probabilities) beats a rich one. Predictivity asks another question, one whose answer does not
depend on a space's scale or dimension: on one seeded row sample, build the candidate's k-NN
graph and measure how well it keeps together the rows that each *other* descriptor set's
clustering puts together — Newman's assortativity of that partition on the graph (2003, "Mixing
patterns in networks"): ``r = (sum_i e_ii - sum_i a_i^2) / (1 - sum_i a_i^2)``, with ``e`` the
share of edges joining cluster i to cluster j. It is chance-corrected (0 for a graph blind to
the partition, 1 when no edge crosses clusters) and uses only neighbour ranks, so it is
scale-free. Each value is then divided by the reference's assortativity on *its own* graph (the
most any graph keeps of that clustering): a coarse or crisp reference clustering (5 clusters)
is easy for any graph to keep and would otherwise outweigh a finer one (12 clusters), so the
score of a candidate depended on how the *other* sets happened to be cut. A space that is rich — it knows the type *and* the colour *and* the view — keeps
together what every other view keeps together; a shallow one keeps only its own few attributes.

No candidate is scored by its own information: a single set never by its own partition; a mix
(or the consensus) predicts each of its own blocks from the mix (the consensus) rebuilt
without that block — leave-one-out — and every other set from its full space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from vehiclust.exceptions import InputError

DEFAULT_K = 10
DEFAULT_SAMPLE = 2000


def knn_indices(X: np.ndarray, k: int = DEFAULT_K) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows by cosine similarity (exact, small n)."""
    Z = np.array(X, dtype=np.float32)
    Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    n = Z.shape[0]
    k = int(min(k, n - 1))
    if k < 1:
        raise InputError(f"knn_indices needs at least 2 rows; got {n}.")
    out = np.empty((n, k), dtype=np.int64)
    for s in range(0, n, 2048):
        sim = Z[s:s + 2048] @ Z.T
        sim[np.arange(sim.shape[0]), np.arange(s, s + sim.shape[0])] = -np.inf  # not its own neighbour
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, part, axis=1), axis=1, kind="stable")
        out[s:s + sim.shape[0]] = np.take_along_axis(part, order, axis=1)
    return out


def assortativity(neighbours: np.ndarray, labels: np.ndarray) -> float:
    """Newman's assortativity of the partition ``labels`` on the (symmetrised) k-NN graph.

    Edges with an unassigned end (label < 0) are dropped. NaN when fewer than 2 clusters remain.
    """
    labels = np.asarray(labels)
    n, k = neighbours.shape
    src = np.repeat(np.arange(n), k)
    dst = neighbours.ravel()
    a, b = labels[src], labels[dst]
    keep = (a >= 0) & (b >= 0)
    a, b = a[keep], b[keep]
    if a.size == 0:
        return float("nan")
    _, inv = np.unique(np.r_[a, b], return_inverse=True)
    ia, ib = inv[: a.size], inv[a.size:]
    m = int(inv.max()) + 1
    if m < 2:
        return float("nan")
    same = float(np.mean(ia == ib))  # trace of the symmetrised mixing matrix
    share = np.bincount(np.r_[ia, ib], minlength=m) / (2.0 * a.size)  # a_i = b_i once symmetrised
    expected = float(np.sum(share ** 2))
    if expected >= 1.0:
        return float("nan")
    return (same - expected) / (1.0 - expected)


def predictivity(spaces: Mapping[str, np.ndarray], partitions: Mapping[str, np.ndarray],
                 sources: Mapping[str, Sequence[str]], loo_spaces: Mapping[tuple[str, str], np.ndarray],
                 k: int = DEFAULT_K, relative: bool = True) -> pd.DataFrame:
    """Candidate x reference assortativity, on one row sample already drawn.

    ``spaces`` maps a candidate to its rows on the sample; ``partitions`` a reference set to its
    labels on the sample; ``sources`` a candidate to the reference sets it is built from;
    ``loo_spaces[(candidate, reference)]`` is the candidate rebuilt without that reference
    (missing: that reference is not scored for that candidate). With ``relative`` (default) each
    value is divided by the reference's assortativity on its own graph (its ceiling), so that a
    crisp or coarse reference clustering, easy for any graph to keep, does not outweigh a finer one.
    """
    table = pd.DataFrame(np.nan, index=pd.Index(list(spaces), name="descriptor"), columns=list(partitions))
    graphs: dict[Any, np.ndarray] = {}

    def graph(key: Any, X: np.ndarray) -> np.ndarray:
        if key not in graphs:
            graphs[key] = knn_indices(X, k)
        return graphs[key]

    # each reference's assortativity on its own graph: the most any graph keeps of that clustering
    ceiling = {ref: assortativity(graph(ref, spaces[ref]), labels) if ref in spaces else float("nan")
               for ref, labels in partitions.items()}
    for name, X in spaces.items():
        own = set(sources.get(name, ()))
        for ref, labels in partitions.items():
            if ref in own:
                if (name, ref) not in loo_spaces:
                    continue
                g = graph((name, ref), loo_spaces[(name, ref)])
            else:
                g = graph(name, X)
            value = assortativity(g, labels)
            if relative:
                top = ceiling[ref]
                value = value / top if np.isfinite(top) and top > 0 else float("nan")
            table.loc[name, ref] = value
    return table


def sample_rows(valid: np.ndarray, size: int = DEFAULT_SAMPLE, random_state: Any = None) -> np.ndarray:
    """Sorted indices of ``size`` random rows among ``valid`` (all of them when fewer)."""
    rows = np.flatnonzero(np.asarray(valid, bool))
    if len(rows) > size:
        rows = np.sort(check_random_state(random_state).choice(rows, size, replace=False))
    return rows


def rows_of(X: np.ndarray, valid: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The rows ``rows`` (indices among all rows) of ``X``, which holds only the ``valid`` rows."""
    pos = np.cumsum(np.asarray(valid, bool)) - 1
    return np.asarray(np.asarray(X)[pos[rows]], dtype=np.float32)


def _loo_mix(blocks: Mapping[str, np.ndarray], weights: Mapping[str, float], n_components: int | None,
             seed: int) -> np.ndarray:
    """The mix of ``blocks`` (name -> sample rows) rebuilt as the mixer builds it; one block: itself."""
    from vehiclust.compare._mix import DescriptorMixer

    if len(blocks) == 1:
        return next(iter(blocks.values()))
    mixer = DescriptorMixer(weights=[weights.get(n, 1.0) for n in blocks], n_components=n_components,
                            random_state=seed)
    return mixer.fit_transform(list(blocks.values()))


def _loo_consensus(partitions: Mapping[str, np.ndarray], spaces: Mapping[str, np.ndarray], seed: int) -> np.ndarray:
    """The consensus embedding of ``partitions`` on the sample; one partition: that set's space."""
    from vehiclust.compare._consensus import consensus_embedding

    if len(partitions) == 1:
        return spaces[next(iter(partitions))]
    n = len(next(iter(partitions.values())))
    try:
        X, valid, _ = consensus_embedding(partitions, random_state=seed)
    except InputError:
        return np.zeros((n, 1), dtype=np.float32)
    out = np.zeros((n, X.shape[1]), dtype=np.float32)  # rows unassigned everywhere: no direction
    out[valid] = X
    return out


def candidate_predictivity(candidates: Sequence[Any], sample_size: int = DEFAULT_SAMPLE, k: int = DEFAULT_K,
                           random_state: Any = None, relative: bool = True) -> pd.DataFrame:
    """Candidate x single-set predictivity table for :class:`~vehiclust.compare.Candidate` objects.

    The references are the clusterings of the single sets. A mix's own blocks are read from its
    ``preparation`` (``blocks``, ``weights``), the consensus's from ``clusterings`` (default:
    every single set); each is predicted by the candidate rebuilt without it, on the same sample.
    ``relative``: each value divided by the reference's assortativity on its own graph.
    """
    singles = [c for c in candidates if c.kind == "single"]
    if not singles:
        return pd.DataFrame(index=pd.Index([c.name for c in candidates], name="descriptor"))
    rng = check_random_state(random_state)
    valid = np.logical_and.reduce([np.asarray(c.valid, bool) for c in candidates])
    rows = sample_rows(valid, sample_size, rng)
    if len(rows) <= k + 1:
        return pd.DataFrame(np.nan, index=pd.Index([c.name for c in candidates], name="descriptor"),
                            columns=[c.name for c in singles])
    seed = int(rng.randint(2**31 - 1))
    single_X = {c.name: rows_of(c.X, c.valid, rows) for c in singles}
    partitions = {c.name: np.asarray(c.labels)[rows] for c in singles}
    spaces: dict[str, np.ndarray] = {}
    sources: dict[str, list[str]] = {}
    loo: dict[tuple[str, str], np.ndarray] = {}
    for c in candidates:
        spaces[c.name] = single_X[c.name] if c.kind == "single" else rows_of(c.X, c.valid, rows)
        prep = dict(getattr(c, "preparation", None) or {})
        if c.kind == "single":
            sources[c.name] = [c.name]
        elif c.kind == "mix":
            blocks = [b for b in prep.get("blocks", []) if b in single_X]
            sources[c.name] = blocks
            weights = dict(zip(prep.get("blocks", []), prep.get("weights", [])))
            for ref in blocks:  # without the mix's PCA: only neighbourhoods are needed
                rest = {b: single_X[b] for b in blocks if b != ref}
                if rest:
                    loo[(c.name, ref)] = _loo_mix(rest, weights, None, seed)
        else:  # consensus
            members = [m for m in prep.get("clusterings", list(partitions)) if m in partitions]
            sources[c.name] = members
            for ref in members:
                rest = {m: partitions[m] for m in members if m != ref}
                if rest:
                    loo[(c.name, ref)] = _loo_consensus(rest, single_X, seed)
    return predictivity(spaces, partitions, sources, loo, k=k, relative=relative)
