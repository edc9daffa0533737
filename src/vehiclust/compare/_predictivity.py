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

**Redundant sets count as one view.** A set derived from another (a network's own class
probabilities beside its features, a projection or a copy of another set) keeps its source's
clusters by construction: as a reference it would reward its source for its own information,
and it would count that information twice against every other candidate. On the sample, each
set's space is regressed on each other set's 10-NN graph (the mean of the neighbours' rows,
R², relative to the same regression on the set's own graph, :func:`redundancy`); a pair with
a relative R² of at least :data:`REDUNDANT` in either direction is one view
(:func:`admissible_references`): a candidate is not scored by a set redundant with one of its
own, and of two redundant references only the one that explains the other more counts.
Measured on 4,800 Zenodo crops: vehicle-attributes explains its own 11 class probabilities at
0.82 (0.79 on the demo), the two ImageNet networks each other at 0.75-0.77, every other pair
of real sets at most 0.69 (EfficientNet-Lite0 its ImageNet class masses) and mostly under 0.55.
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
REDUNDANT = 0.7  # relative neighbour R² from which two sets count as one view
REFINES = 0.03  # refinement within this of a view's best is a tie (spread over row samples: about 0.01)


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


def neighbour_r2(neighbours: np.ndarray, Y: np.ndarray) -> float:
    """Share of the variance of ``Y`` (rows) explained by the mean of each row's neighbours' rows."""
    Y = np.asarray(Y, dtype=np.float64)
    total = float(np.sum((Y - Y.mean(axis=0)) ** 2))
    if total <= 0:
        return float("nan")
    return 1.0 - float(np.sum((Y - Y[neighbours].mean(axis=1)) ** 2)) / total


def redundancy(spaces: Mapping[str, np.ndarray], graphs: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Set x set: how much of the column set's space the row set's k-NN graph reproduces.

    ``neighbour_r2`` of the column's rows on the row's graph, divided by the same on the column's
    own graph (the most a graph of that size reproduces). Near 1: the column set is (nearly) a
    function of the row set; two sets that merely agree reach 0.5-0.77 on real descriptors.
    """
    names = list(spaces)
    own = {b: neighbour_r2(graphs[b], spaces[b]) for b in names}
    table = pd.DataFrame(np.nan, index=pd.Index(names, name="explains"), columns=names)
    for a in names:
        for b in names:
            if a != b and np.isfinite(own[b]) and own[b] > 0:
                table.loc[a, b] = neighbour_r2(graphs[a], spaces[b]) / own[b]
    return table


def _value(table: pd.DataFrame, a: str, b: str) -> float:
    v = table.at[a, b] if a in table.index and b in table.columns else np.nan
    return float(v) if np.isfinite(v) else 0.0


def linked(table: pd.DataFrame | None, a: str, b: str, threshold: float = REDUNDANT) -> bool:
    """Whether sets ``a`` and ``b`` count as one view: either explains the other at ``threshold``."""
    if table is None:
        return False
    return max(_value(table, a, b), _value(table, b, a)) >= threshold


def one_view_note(table: pd.DataFrame | None, threshold: float = REDUNDANT) -> str:
    """Words for the pairs of sets counted as one view ("va-probs is nearly a function of ...")."""
    if table is None or table.empty:
        return ""
    names = list(table.index)
    parts = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if linked(table, a, b, threshold):
                src, dst = (a, b) if _value(table, a, b) >= _value(table, b, a) else (b, a)
                parts.append(f"{dst} is nearly a function of {src}'s neighbourhoods ({_value(table, src, dst):.2f})")
    return ("counted as one view: " + "; ".join(parts)) if parts else ""


def view_groups(table: pd.DataFrame | None, names: Sequence[str], threshold: float = REDUNDANT) -> list[list[str]]:
    """The sets ``names`` grouped into views, in ``names`` order: a set joins the first group whose
    every member it is :func:`linked` with (a blend of two independent sets, linked with both,
    does not make them one view), else starts its own."""
    groups: list[list[str]] = []
    for name in names:
        home = next((g for g in groups if all(linked(table, name, m, threshold) for m in g)), None)
        if home is None:
            groups.append([name])
        else:
            home.append(name)
    return groups


def view_representatives(table: pd.DataFrame | None, names: Sequence[str], validity: Mapping[str, float],
                         threshold: float = REDUNDANT, scores: Mapping[str, float] | None = None,
                         margin: float = 0.0) -> dict[str, str]:
    """Each set -> the set that represents its view (:func:`view_groups`); a lone set represents itself.

    Within a view, the set with the highest ``validity`` represents it: the sets of one view
    carry one information, so they are compared as codes of one space are, not by
    predictivity (they are scored by the same other views, and the code that also keeps more of
    the others' colour and light splits, MobileNet, is not the better code of the view they
    share). :func:`candidate_predictivity` passes :func:`refinement` with ``margin``
    :data:`REFINES` and, as ``scores``, the silhouette excess of each set's chosen clustering
    over structureless data. Refinement separates EfficientNet-Lite0 from MobileNet by +0.04 to
    +0.07 on the demo and the Zenodo crops (seeds 0 and 1), the way their clusters follow the
    type (NMI 0.61-0.70 against 0.59-0.62), where the silhouette excess is a near-tie
    (0.031-0.040 against 0.030-0.038) that chose MobileNet twice. Sets
    whose validity is within ``margin`` of the best are tied: the higher ``scores`` decides
    among them (then the first name). The direction of the redundancy does not choose: noise
    added to a set makes it look like the source of its clean original (nothing explains
    noise). Missing validity counts as the lowest.
    """
    out: dict[str, str] = {}
    for group in view_groups(table, names, threshold):
        values = {m: _number(validity.get(m)) for m in group}
        values = {m: v if np.isfinite(v) else -np.inf for m, v in values.items()}
        top = max(values.values())
        tied = [m for m in group if values[m] >= top - margin] if np.isfinite(top) else list(group)

        def key(m: str) -> tuple[float, float, int]:
            p = _number((scores or {}).get(m))
            return (p if np.isfinite(p) else -np.inf, values[m], -group.index(m))

        rep = max(tied, key=key)
        out.update({m: rep for m in group})
    return out


def refinement(spaces: Mapping[str, np.ndarray], graphs: Mapping[str, np.ndarray], groups: Sequence[Sequence[str]],
               ks: Sequence[int] = (4, 8, 16), random_state: Any = None) -> dict[str, float]:
    """How far each set of a view refines the view's other sets (sets alone in their view: NaN).

    Each member is cut by k-means into each k of ``ks``; ``keeps(a, b)`` is how much of b's cuts
    a's k-NN graph keeps, relative to b's own graph (as in :func:`predictivity`).
    ``refinement[a]`` is the mean over the other members ``b`` of ``keeps(a, b) - keeps(b, a)``:
    positive when a keeps what b separates better than b keeps what a separates — a's
    neighbourhoods carry b's and more (the richer code of the view). Cuts of equal size on
    both sides: neither set's chosen number of clusters decides.
    """
    from sklearn.cluster import KMeans

    seed = int(check_random_state(random_state).randint(2**31 - 1))
    out = {name: float("nan") for name in spaces}
    shared = [list(g) for g in groups if len(g) > 1]
    members = [m for g in shared for m in g]
    cuts = {m: [KMeans(n_clusters=k, n_init=2, random_state=seed).fit_predict(spaces[m]) for k in ks if k < len(spaces[m])]
            for m in members}
    own = {m: [assortativity(graphs[m], c) for c in cuts[m]] for m in members}

    def keeps(a: str, b: str) -> float:
        values = [assortativity(graphs[a], c) / top for c, top in zip(cuts[b], own[b]) if np.isfinite(top) and top > 0]
        return float(np.mean(values)) if values else float("nan")

    for group in shared:
        for a in group:
            diffs = [keeps(a, b) - keeps(b, a) for b in group if b != a]
            out[a] = float(np.nanmean(diffs)) if diffs else float("nan")
    return out


def admissible_references(candidate_sets: Sequence[str], references: Sequence[str],
                          table: pd.DataFrame | None, threshold: float = REDUNDANT) -> list[str]:
    """The references that are independent evidence for a candidate built from ``candidate_sets``.

    ``table`` is :func:`redundancy`; ``a`` *derives* ``b`` when ``table[a, b] >= threshold`` (b's
    space is nearly a function of a's graph). A reference that derives, or is derived from, one
    of the candidate's own sets is the candidate's own information (its own blocks stay: a mix or
    the consensus scores them leave-one-out). Among the others, one derived from another kept
    reference counts once (the one that explains the other more stays; ties: the first name).
    When nothing independent is left (every other set derives from the candidate), the
    references are kept as they were: a set that contains all the others is still scored.
    """
    own = list(candidate_sets)
    refs = list(references)
    if table is None or table.empty:
        return refs

    def value(x: str, y: str) -> float:
        return _value(table, x, y)

    keep = [r for r in refs if r in own or not any(linked(table, r, o, threshold) for o in own)]
    out = []
    for r in keep:
        if r in own:
            out.append(r)
            continue
        covered = any(s != r and s not in own and linked(table, s, r, threshold)
                      and (value(s, r), -keep.index(s)) > (value(r, s), -keep.index(r)) for s in keep)
        if not covered:
            out.append(r)
    others = [r for r in out if r not in own]
    if not others and any(r not in own for r in refs):
        return refs
    return out


def predictivity(spaces: Mapping[str, np.ndarray], partitions: Mapping[str, np.ndarray],
                 sources: Mapping[str, Sequence[str]], loo_spaces: Mapping[tuple[str, str], np.ndarray],
                 k: int = DEFAULT_K, relative: bool = True, redundant: pd.DataFrame | None = None,
                 graphs: Mapping[Any, np.ndarray] | None = None) -> pd.DataFrame:
    """Candidate x reference assortativity, on one row sample already drawn.

    ``spaces`` maps a candidate to its rows on the sample; ``partitions`` a reference set to its
    labels on the sample; ``sources`` a candidate to the reference sets it is built from;
    ``loo_spaces[(candidate, reference)]`` is the candidate rebuilt without that reference
    (missing: that reference is not scored for that candidate). With ``relative`` (default) each
    value is divided by the reference's assortativity on its own graph (its ceiling), so that a
    crisp or coarse reference clustering, easy for any graph to keep, does not outweigh a finer one.
    ``redundant`` (:func:`redundancy` of the reference sets): each candidate is scored only on its
    :func:`admissible_references`.
    """
    table = pd.DataFrame(np.nan, index=pd.Index(list(spaces), name="descriptor"), columns=list(partitions))
    graphs: dict[Any, np.ndarray] = dict(graphs or {})

    def graph(key: Any, X: np.ndarray) -> np.ndarray:
        if key not in graphs:
            graphs[key] = knn_indices(X, k)
        return graphs[key]

    # each reference's assortativity on its own graph: the most any graph keeps of that clustering
    ceiling = {ref: assortativity(graph(ref, spaces[ref]), labels) if ref in spaces else float("nan")
               for ref, labels in partitions.items()}
    for name, X in spaces.items():
        own = set(sources.get(name, ()))
        allowed = set(admissible_references(list(sources.get(name, ())), list(partitions), redundant))
        for ref, labels in partitions.items():
            if ref not in allowed:
                continue  # the candidate's own information, or a set that counts once with another
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
    from vehiclust.prepare.mixer import DescriptorMixer

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
    graphs = {name: knn_indices(X, k) for name, X in single_X.items()}
    redundant = redundancy(single_X, graphs) if len(single_X) > 1 else None

    def twins(ref: str) -> set[str]:
        """``ref`` and the sets redundant with it: left out together when a composite predicts ``ref``."""
        return {ref} | {m for m in single_X if m != ref and linked(redundant, ref, m)}

    spaces: dict[str, np.ndarray] = {}
    sources: dict[str, list[str]] = {}
    loo: dict[tuple[str, str], np.ndarray] = {}
    for c in candidates:
        spaces[c.name] = single_X[c.name] if c.kind == "single" else rows_of(c.X, c.valid, rows)
        prep = dict(getattr(c, "preparation", None) or {})
        if c.kind == "single":
            sources[c.name] = [c.name]
        elif c.kind == "mix" and prep.get("passthrough") in single_X:  # the mix is that block: scored as it is
            sources[c.name] = [prep["passthrough"]]
        elif c.kind == "mix":
            blocks = [b for b in prep.get("blocks", []) if b in single_X]
            sources[c.name] = blocks
            weights = dict(zip(prep.get("blocks", []), prep.get("weights", [])))
            for ref in blocks:  # without the mix's PCA: only neighbourhoods are needed
                rest = {b: single_X[b] for b in blocks if b not in twins(ref)}
                if rest:
                    loo[(c.name, ref)] = _loo_mix(rest, weights, None, seed)
        else:  # consensus
            members = [m for m in prep.get("clusterings", list(partitions)) if m in partitions]
            sources[c.name] = members
            for ref in members:
                rest = {m: partitions[m] for m in members if m not in twins(ref)}
                if rest:
                    loo[(c.name, ref)] = _loo_consensus(rest, single_X, seed)
    table = predictivity(spaces, partitions, sources, loo, k=k, relative=relative, redundant=redundant, graphs=graphs)
    if redundant is not None:
        table.attrs["redundancy"] = redundant
    groups = view_groups(redundant, list(single_X))
    excess = {c.name: _number(dict(getattr(c, "chosen", None) or {}).get("silhouette_excess")) for c in singles}
    refines = refinement(single_X, graphs, groups, random_state=seed)
    table.attrs["refinement"] = {n: v for n, v in refines.items() if np.isfinite(v)}
    table.attrs["views"] = view_representatives(redundant, list(single_X), refines, scores=excess, margin=REFINES)
    return table


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
