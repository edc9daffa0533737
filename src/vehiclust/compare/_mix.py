"""Mixes: one space from several descriptor sets, with no block dominating by size or scale.

Each block arrives L2-normalised and PCA-reduced by the preparation stage, but blocks still
differ in dimension (a 512-d block has more total variance than a 16-d one) and in spread.
:class:`~vehiclust.prepare.DescriptorMixer` centres every block and divides it by the square root of its total
variance, so each block has unit mean squared norm; a block weight ``w`` then sets its share
of the mixed variance to ``w / sum(w)``. An optional PCA of the concatenation follows.

A mix whose weights leave all but one block a negligible share (``passthrough_share``; the
auto-weighted mixes use :data:`PASS_THROUGH`) *is* that block: the mixer passes it through
unchanged, so the mix's space, and with it the cluster stage's sweep and choice, are the
block's own. Without it the floored blocks and the mixer's PCA move a few neighbourhoods, and
the sweep's near-ties can then choose another family (the demo's all-mix: 99.97 % EfficientNet,
yet EAC with 12 clusters, NMI 0.576, against EfficientNet's own Leiden with 9, 0.649).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from vehiclust.defaults import PCA_COMPONENTS
from vehiclust.exceptions import InputError
from vehiclust.prepare.mixer import DescriptorMixer

log = logging.getLogger(__name__)

ALL = "all"
AUTO = "auto"  # every set, block weights chosen label-free (auto_weights)
AUTO_NAME = "auto-mix"
SHARED_GROUND = 0.65  # a block that keeps less of the anchor's cuts follows something else (auto_weights)
FLOOR = 1e-4  # the least weight of a block in an auto-weighted mix, relative to the anchor's
PASS_THROUGH = 0.05  # an auto-weighted mix whose other blocks hold less of its variance is its anchor


def auto_weights(blocks: Sequence[np.ndarray], sample_size: int = 2000, ks: Sequence[int] = (4, 8, 16),
                 power: float = 2.0, random_state: Any = None, anchor: int | None = None) -> np.ndarray:
    """Label-free block weights: the most predictive block anchors the mix, the others refine it.

    ``anchor``: the block that anchors the mix, when the caller knows it — the pipeline passes the
    selection rule's pick among the single sets, chosen from their own clusterings, so that the
    mix and the pick agree (:func:`build_mixes`). Without it the anchor is chosen here, from the
    blocks' k-means cuts, as follows.

    On one seeded row sample, each block is cut by k-means into each k of ``ks``. A block's
    predictivity is the mean chance-corrected assortativity of the *other* blocks' cuts on its
    own k-NN graph, each relative to that cut's assortativity on its own block's graph (see
    :mod:`vehiclust.compare._predictivity`). As in the selection rule, redundant blocks are one
    view (:func:`~vehiclust.compare._predictivity.view_groups`), scored by its best block and
    represented by the block whose cuts stand out most from structureless data (mean silhouette
    excess; the selection rule, which gives the pipeline's anchor, lets the set that refines the
    others represent a view, :func:`~vehiclust.compare._predictivity.refinement`); the best
    view's representative is the
    anchor, and its twins keep only the floor
    weight (they repeat its view: on Zenodo an EfficientNet/MobileNet mix at 50/41 % fell to NMI
    0.646 against 0.71 for EfficientNet alone). Every other block ``b`` gets the weight
    ``((q_b - s) / (1 - s)) ** power`` (0 below ``s`` = :data:`SHARED_GROUND`, 0.65) relative to
    the anchor's 1, with ``q_b`` how much of the anchor's cuts ``b``'s graph keeps (relative
    assortativity, in [0, 1]): a block that shares the anchor's ground refines it, one that
    keeps less follows something else (colour beside type: q = 0.3-0.55 on the demo, osnet 0.62
    on Zenodo, where 5.6 % of it cost 0.03 NMI) and keeps the floor (:data:`FLOOR` of the
    anchor's weight; at 1 %, five floored blocks still cost 0.015-0.02), so the mix reduces to
    its anchor when the others add nothing. Returns weights summing to 1.
    """
    from sklearn.cluster import KMeans

    from vehiclust.compare._predictivity import (admissible_references, assortativity, knn_indices, linked,
                                                 redundancy, view_representatives)

    arrays = [np.asarray(b, dtype=np.float32) for b in blocks]
    n = arrays[0].shape[0]
    rng = check_random_state(random_state)
    rows = np.sort(rng.choice(n, sample_size, replace=False)) if n > sample_size else np.arange(n)
    seed = int(rng.randint(2**31 - 1))
    subs = [a[rows] for a in arrays]
    cuts = [[KMeans(n_clusters=k, n_init=2, random_state=seed).fit_predict(x) for k in ks if k < len(rows)] for x in subs]
    graphs = [knn_indices(x) for x in subs]
    keys = [str(b) for b in range(len(subs))]
    redundant = redundancy(dict(zip(keys, subs)), dict(zip(keys, graphs)))
    ceilings = [[assortativity(graphs[b], cut) for cut in block_cuts] for b, block_cuts in enumerate(cuts)]

    def kept(b: int, c: int) -> float:
        """Mean relative assortativity of block c's cuts on block b's graph, clipped to [0, 1]."""
        values = [assortativity(graphs[b], cut) / top for cut, top in zip(cuts[c], ceilings[c])
                  if np.isfinite(top) and top > 0]
        values = [v for v in values if np.isfinite(v)]
        return min(max(float(np.mean(values)), 0.0), 1.0) if values else 0.0

    def scores(table: Any) -> np.ndarray:
        return np.array([np.mean([kept(b, int(c)) for c in admissible_references([keys[b]], keys, table)
                                  if c != keys[b]] or [0.0]) for b in range(len(subs))])

    if anchor is None:
        s = scores(redundant)
        if not np.any(s > 0):  # no independent evidence at all (the others are parts of one block): use it all
            s = scores(None)
        if not np.any(s > 0):
            return np.full(len(arrays), 1.0 / len(arrays))
        # redundant blocks are one view, scored by its best block and represented by the block
        # whose cuts stand out most from structureless data (the pipeline passes the anchor: the
        # selection rule's pick, whose view representative is the set that refines the others)
        reps = view_representatives(redundant, keys, _clearness(subs, cuts, redundant, keys, seed))
        view_score = {r: max(s[b] for b in range(len(subs)) if reps[keys[b]] == r) for r in set(reps.values())}
        anchor = keys.index(max(view_score, key=lambda r: (view_score[r], -keys.index(r))))
        twins = [b for b in range(len(subs)) if b != anchor and reps[keys[b]] == keys[anchor]]
        log.info("auto weights: view scores %s, anchor block %d", np.round(s, 3).tolist(), anchor)
    else:
        if not 0 <= anchor < len(subs):
            raise InputError(f"auto_weights: anchor {anchor} is not one of the {len(subs)} blocks.")
        twins = [b for b in range(len(subs)) if b != anchor and linked(redundant, keys[b], keys[anchor])]
    q = np.array([kept(b, anchor) for b in range(len(subs))])
    w = np.clip((q - SHARED_GROUND) / (1.0 - SHARED_GROUND), 0.0, 1.0) ** power
    w[twins] = 0.0  # the anchor's twins repeat its view
    w[anchor] = 1.0
    log.info("auto weights: anchor block %d, anchor's cuts kept %s", anchor, np.round(q, 3).tolist())
    w = np.maximum(w, FLOOR * w.max())
    return w / w.sum()


def _clearness(subs: Sequence[np.ndarray], cuts: Sequence[Sequence[np.ndarray]], redundant: Any,
               keys: Sequence[str], seed: int) -> dict[str, float]:
    """Mean silhouette excess of each block's k-means cuts over a structureless reference (a
    same-covariance Gaussian cut alike), only for blocks that have a twin (others: NaN)."""
    from vehiclust.cluster import NullReference
    from vehiclust.cluster.metrics import silhouette_values
    from vehiclust.compare._predictivity import linked

    out = {}
    for b, key in enumerate(keys):
        if not any(linked(redundant, key, other) for other in keys if other != key):
            out[key] = float("nan")
            continue
        ref = NullReference(subs[b], random_state=seed)
        excess = [float(silhouette_values(subs[b], cut).mean()) - ref.metrics(len(np.unique(cut)))[0]
                  for cut in cuts[b] if len(np.unique(cut)) > 1]
        out[key] = float(np.mean(excess)) if excess else float("nan")
    return out


def parse_mix_spec(spec: str, available: Sequence[str]) -> list[str]:
    """``"a+b"`` → ``["a", "b"]``; ``"all"`` and ``"auto"`` → every available set, in the given order."""
    available = list(available)
    text = str(spec).strip()
    if text.lower() in (ALL, AUTO):
        names = available
    else:
        names = [part.strip() for part in text.split("+")]
        unknown = [p for p in names if p not in available]
        if unknown or any(not p for p in names):
            raise InputError(
                f"Mix {spec!r} names descriptor sets {unknown or ['(empty)']} that are not loaded; "
                f"allowed: {available} joined with '+', 'all', or 'auto' (all, weights chosen from the data)."
            )
        if len(set(names)) != len(names):
            raise InputError(f"Mix {spec!r} names a descriptor set twice.")
    if len(names) < 2:
        raise InputError(f"Mix {spec!r} needs at least 2 descriptor sets; available: {available}.")
    return names


def is_auto(spec: str, available: Sequence[str], weights: Mapping[str, float] | None = None) -> bool:
    """Whether the mix ``spec`` chooses its weights from the data: ``auto``, and ``all`` unless
    ``--mix-weight`` sets a weight for one of its sets."""
    word = str(spec).strip().lower()
    return word == AUTO or (word == ALL and not any(n in (weights or {}) for n in parse_mix_spec(spec, available)))


def mix_name(names: Sequence[str]) -> str:
    """The name a mix gets in the results: its sets joined with '+' (also for 'all')."""
    return "+".join(names)


def build_mixes(prepared: Mapping[str, Any], specs: Sequence[str], weights: Mapping[str, float] | None = None,
                n_components: int | float | None = PCA_COMPONENTS, random_state: Any = None,
                anchor: str | None = None) -> list[Any]:
    """One :class:`~vehiclust.pipeline.PreparedSet` per mix spec.

    ``prepared`` maps names to prepared sets (``X`` holds only the set's valid rows, ``valid``
    marks them among all rows). A mix keeps the rows valid in every block. ``weights`` maps a
    set name to its weight (default 1). ``auto``, and ``all`` when no weight is given, choose the
    weights from the data (:func:`auto_weights`). Specs that resolve to the same sets (or name)
    are built once. ``anchor``: the set that anchors the auto-weighted mixes that hold it (the
    pipeline passes the selection rule's pick among the single sets, chosen from their clusterings:
    the mix then refines the set the rule delivers instead of another one); None: each auto mix
    chooses its anchor from its blocks (:func:`auto_weights`).
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
    seen: set[Any] = set()
    for spec in specs:
        names = parse_mix_spec(spec, available)
        auto = is_auto(spec, available, weights)
        name = AUTO_NAME if str(spec).strip().lower() == AUTO else mix_name(names)
        if (auto, tuple(names)) in seen or name in seen:  # one mix per name: the first spec wins
            continue
        seen.update([(auto, tuple(names)), name])
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
        seed = rng.randint(2**31 - 1)
        if auto:
            block_weights = auto_weights(blocks, random_state=seed,
                                         anchor=names.index(anchor) if anchor in names else None)
        else:
            block_weights = [weights.get(n, 1.0) for n in names]
        mixer = DescriptorMixer(weights=block_weights, n_components=n_components, random_state=seed,
                                passthrough_share=PASS_THROUGH if auto else 0.0)
        X = mixer.fit_transform(blocks)
        del blocks
        summary = {"kind": "mix", "spec": spec, "blocks": names, **mixer.summary(), "n_valid": int(valid.sum())}
        if mixer.passthrough_ is not None:
            summary["passthrough"] = names[mixer.passthrough_]
        if auto and anchor in names:
            summary["anchor"] = anchor
        log.info("mix %s: %d rows, %d dims from %s, weights %s%s", name, X.shape[0], X.shape[1], names,
                 np.round(mixer.weights_, 3).tolist(), "" if mixer.passthrough_ is None else
                 f" (= {names[mixer.passthrough_]}: the others hold less than {PASS_THROUGH:.0%})")
        out.append(PreparedSet(name=name, X=X, valid=valid, preparation=summary, model={"mixer": mixer}))
    return out
