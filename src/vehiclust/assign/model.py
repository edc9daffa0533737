"""The fitted state of one descriptor set of a run, saved so that new rows can be placed later.

``descriptors/<NAME>/model.npz`` holds the arrays (preparation, centres, a labelled reference
sample, detector thresholds, the isolation forest as node tables) and ``model.json`` the rest
(kind, rule, format version, widths). Nothing is pickled: loading a model never runs code.

Three kinds:

* ``single``: one descriptor file → :class:`~vehiclust.prepare.DescriptorPreparer` state →
  prepared space, where the clustering and the detectors live;
* ``mix``: the blocks' own single models, then the :class:`~vehiclust.compare.DescriptorMixer`
  state (block means, scales, PCA);
* ``consensus``: the single sets' labels of a row → the consensus cluster of that combination.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vehiclust.exceptions import InputError
from vehiclust.io.atomic import atomic_write_bytes, atomic_write_text
from vehiclust.seeds import draw_seed

log = logging.getLogger(__name__)

FORMAT = "vehiclust-assign-model"
VERSION = 1
MODEL_JSON = "model.json"
MODEL_NPZ = "model.npz"
#: share of the run's own rows beyond the "far from every cluster" cut (its 99th percentile)
FAR_QUANTILE = 0.99
#: the neighbour whose distance says how far a row is from the run's rows (self excluded)
FAR_NEIGHBOURS = 10
# How each family places a row it did not cluster itself (see :func:`placement_rule`):
# "centre": the nearest cluster centre; "micro": the cluster of the nearest micro-cluster centre;
# "majority": Leiden's own rule for the rows outside its graph sample (most of the nearest
# reference rows, the nearer breaking a tie); "neighbours": a distance-weighted vote of the 10
# nearest reference rows (GMM, HDBSCAN, DBSCAN: any cluster shape); "coassoc": EAC with every
# row its own micro-cluster: the cluster of the run row the EAC base k-means runs put the new
# row with most often (the nearer breaking a tie), see :func:`coassoc_state`; "ward": Ward with
# every row its own micro-cluster: the least Ward merge cost n/(n+1)·|x - centre|².
FAMILY_RULES = {"kmeans": "centre", "eac": "micro", "ward": "micro", "leiden": "majority"}
#: the families placed by nearest micro-cluster, and their rule when the micro-clusters are not
#: known (the tree seed unknown, or the tree not found again with it)
MICRO_FALLBACK = {"eac": "centre", "ward": "ward"}  # "ward": the cluster whose Ward merge cost is least
# detectors a saved model can score on new rows (GLOSH as HDBSCAN's approximate_predict_scores)
SCORED = ("knn", "lof", "iforest", "glosh", "cluster_distance")
PREP_PREFIX = "prep_"


@dataclass
class SetModel:
    """One set's saved state: ``info`` (JSON) + ``arrays`` (npz)."""

    name: str
    kind: str
    info: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def save(self, folder: str | Path) -> Path:
        import io

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays)
        atomic_write_bytes(buf.getvalue(), folder / MODEL_NPZ)
        meta = {"format": FORMAT, "version": VERSION, "name": self.name, "kind": self.kind, **self.info}
        atomic_write_text(json.dumps(meta, indent=2, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)), folder / MODEL_JSON)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "SetModel":
        folder = Path(folder)
        meta_path = folder / MODEL_JSON
        if not meta_path.exists() or not (folder / MODEL_NPZ).exists():
            raise InputError(
                f"{folder} holds no assignment model ({MODEL_JSON} + {MODEL_NPZ}): the run was made by an "
                "older vehiclust; run `vehiclust run` again to assign new images to it."
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT or int(meta.get("version", -1)) != VERSION:
            raise InputError(f"{meta_path} is assignment-model format {meta.get('format')!r} version "
                             f"{meta.get('version')!r}; this vehiclust reads version {VERSION} only.")
        with np.load(folder / MODEL_NPZ, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        name, kind = meta.pop("name"), meta.pop("kind")
        meta.pop("format"), meta.pop("version")
        return cls(name=name, kind=kind, info=meta, arrays=arrays)


# ---- preparation -------------------------------------------------------------------------
def preparation_state(prep: Any, raw: Any = None, rows: np.ndarray | None = None,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """A fitted :class:`~vehiclust.prepare.DescriptorPreparer` as ``prep_*`` arrays (cacheable).

    With the raw descriptors it was fitted on (``raw``, valid ``rows`` mask): also the cuts of
    "a new kind" measured on rows the preparation was not fitted on (:func:`novelty_calibration`)."""
    state = {
        "prep_mean": np.asarray(prep.mean_, np.float32),
        "prep_n_features_in": np.asarray([prep.n_features_in_], np.int64),
        "prep_l2_normalize": np.asarray([bool(prep.l2_normalize)]),
    }
    if prep.columns is not None:
        state["prep_columns"] = np.asarray(prep.columns, np.int64)
    for attr in ("scale_", "components_", "whiten_scale_"):
        value = getattr(prep, attr, None)
        if value is not None:
            state[PREP_PREFIX + attr.rstrip("_")] = np.asarray(value, np.float32)
    if raw is not None:
        state.update(novelty_calibration(prep, raw, rows, seed))
    return state


def _unreduced(state: dict[str, np.ndarray]) -> Any:
    """The preparer of ``state`` without its PCA: rows selected, normalised and centred only."""
    return preparer_from_state({k: v for k, v in state.items() if k not in ("prep_components", "prep_whiten_scale")})


def residual_norms(state: dict[str, np.ndarray], raw: Any, rows: np.ndarray | None = None,
                   components: np.ndarray | None = None) -> np.ndarray:
    """Per (valid) row: the length of its part the PCA drops (``components``: default the state's)."""
    C = np.asarray(state["prep_components"] if components is None else components, np.float64)
    prep = _unreduced(state)
    at = np.flatnonzero(np.ones(raw.shape[0], bool) if rows is None else np.asarray(rows, bool))
    out = np.empty(len(at))
    for lo in range(0, len(at), 16_384):  # (rows, all kept columns) float64 at a time
        F = prep.transform(raw, rows=at[lo:lo + 16_384]).astype(np.float64)
        out[lo:lo + len(F)] = np.sqrt(np.maximum((F ** 2).sum(axis=1) - ((F @ C) ** 2).sum(axis=1), 0.0))
    return out


def novelty_calibration(prep: Any, raw: Any, rows: np.ndarray | None, seed: int = 0, max_rows: int = 5_000,
                        folds: int = 5, repeats: int = 2, n_centres: int = 10) -> dict[str, np.ndarray]:
    """The cuts of "a new kind", measured on rows the preparation was not fitted on.

    A run's own rows sit closer to its clusters, its rows and its PCA subspace than fresh rows
    of the same kind (the preparation was fitted on them), so cuts taken on the run's rows call
    1-4 % of fresh draws a new kind. Here the preparation is fitted again on 4/5 of (at most
    ``max_rows``) run rows and the other fifth is scored against it, five times (cross-fitting,
    as conformal prediction does): the distance to the nearest of ``n_centres`` k-means centres
    (in its cluster's spread) and to the ``FAR_NEIGHBOURS``-th nearest fitted row, each over the
    fitted rows' own 99th percentile, the larger of the two over that combined score's own
    99th percentile (as :func:`far_cuts` scores a new row against the run) and the part the PCA
    drops (:func:`residual_norms`); below 2,000 rows ``repeats`` times with other folds (a 99th
    percentile of a few hundred rows is noisy). Returned (``prep_*`` arrays):

    * ``prep_far_factor``: what the distance score of a new row, cut like the run's rows at their
      99th percentile, is divided by: that score's 99th percentile on the held-out rows;
    * ``prep_residual_cut`` (with a PCA only): the held-out rows' 99th percentile of the residual;

    both scaled alike so that 1 % of the held-out rows are past either (``FAR_QUANTILE``), the
    share of the run's rows past the run's own cut. {} with too few rows. The
    refits use fewer rows than the run (4/5 of at most ``max_rows``), so at large sizes the cuts
    are a little loose (a fitted space of more rows overfits less)."""
    from sklearn.base import clone
    from sklearn.cluster import KMeans

    from vehiclust.neighbors import knn

    valid = np.flatnonzero(np.ones(raw.shape[0], bool) if rows is None else np.asarray(rows, bool))
    p = int(getattr(prep, "n_components_", 0) or 0) if getattr(prep, "components_", None) is not None else 0
    if len(valid) < max(10 * folds, 4 * p, 4 * (FAR_NEIGHBOURS + 1) * folds // (folds - 1)):
        return {}
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(valid, min(len(valid), max_rows), replace=False))
    held_far, held_res = [], []
    rounds = folds * (repeats if len(pick) < 2_000 else 1)  # 2,000+ held-out scores: one pass is enough
    for j in range(rounds):
        if j % folds == 0:
            fold = rng.permutation(len(pick)) % folds
        fit_rows, test_rows = pick[fold != j % folds], pick[fold == j % folds]
        part = clone(prep).set_params(random_state=draw_seed(rng)) if "random_state" in prep.get_params() else clone(prep)
        A = part.fit_transform(raw, rows=fit_rows).astype(np.float32)
        T = part.transform(raw, rows=test_rows).astype(np.float32)
        km = KMeans(int(min(n_centres, len(A) // 10)), n_init=1, random_state=draw_seed(rng)).fit(A)
        d_own = np.linalg.norm(A - km.cluster_centers_[km.labels_], axis=1)
        scales = np.array([np.median(d_own[km.labels_ == c]) if (km.labels_ == c).any() else 0.0
                           for c in range(len(km.cluster_centers_))])
        scales = np.where(scales > 0, scales, float(np.median(d_own)) or 1.0)
        centres = km.cluster_centers_.astype(np.float32)
        c_in, c_out = far_scores(A, centres, scales), far_scores(T, centres, scales)
        r_in = own_kth_distance(A, A, None, FAR_NEIGHBOURS)
        r_out = np.sqrt(np.maximum(knn(A, T, FAR_NEIGHBOURS)[0][:, -1], 0.0)).astype(np.float64)
        cut_c, cut_r = (max(float(np.quantile(v, FAR_QUANTILE)), 1e-12) for v in (c_in, r_in))
        both = max(float(np.quantile(np.maximum(c_in / cut_c, r_in / cut_r), FAR_QUANTILE)), 1e-12)
        held_far.append(np.maximum(c_out / cut_c, r_out / cut_r) / both)
        if getattr(part, "components_", None) is not None:
            held_res.append(residual_norms(preparation_state(part), raw, _mask(raw.shape[0], test_rows)))
    far = np.concatenate(held_far)
    far_cut = max(float(np.quantile(far, FAR_QUANTILE)), 1e-12)
    if len(held_res) < len(held_far) or getattr(prep, "components_", None) is None:
        return {"prep_far_factor": np.asarray([far_cut], np.float64)}
    res = np.concatenate(held_res)
    res_cut = max(float(np.quantile(res, FAR_QUANTILE)), 1e-12)
    # both parts scaled alike so that 1 % of the held-out rows are past either
    either = max(float(np.quantile(np.maximum(far / far_cut, res / res_cut), FAR_QUANTILE)), 1e-12)
    return {"prep_far_factor": np.asarray([far_cut * either], np.float64),
            "prep_residual_cut": np.asarray([res_cut * either], np.float64)}


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    out = np.zeros(n, bool)
    out[rows] = True
    return out


def preparer_from_state(state: dict[str, np.ndarray]) -> Any:
    """The fitted preparer back from :func:`preparation_state` arrays (transform only)."""
    from vehiclust.prepare import DescriptorPreparer

    prep = DescriptorPreparer(l2_normalize=bool(state["prep_l2_normalize"][0]),
                              columns=state.get("prep_columns"))
    prep.mean_ = state["prep_mean"]
    prep.n_features_in_ = int(state["prep_n_features_in"][0])
    prep.scale_ = state.get("prep_scale")
    prep.components_ = state.get("prep_components")
    prep.whiten_scale_ = state.get("prep_whiten_scale")
    prep.n_components_ = prep.components_.shape[1] if prep.components_ is not None else len(prep.mean_)
    return prep


def mixer_state(mixer: Any) -> dict[str, np.ndarray]:
    """A fitted :class:`~vehiclust.compare.DescriptorMixer` as ``mix_*`` arrays."""
    state = {
        "mix_block_dims": np.asarray(mixer.block_dims_, np.int64),
        "mix_means": np.concatenate([np.asarray(m, np.float32) for m in mixer.means_]),
        "mix_scales": np.asarray(mixer.scales_, np.float64),
        "mix_weights": np.asarray(mixer.weights_, np.float64),
        # the block the mix passes through unchanged (DescriptorMixer.passthrough_), -1 for none
        "mix_passthrough": np.asarray([-1 if getattr(mixer, "passthrough_", None) is None else mixer.passthrough_],
                                      np.int64),
    }
    if mixer.pca_ is not None:
        state["mix_pca_mean"] = np.asarray(mixer.pca_.mean_, np.float32)
        state["mix_pca_components"] = np.asarray(mixer.pca_.components_, np.float32)
    return state


class _Projection:
    """``(Z - mean) @ components.T``: the transform of a fitted, non-whitening PCA."""

    def __init__(self, mean: np.ndarray, components: np.ndarray) -> None:
        self.mean_, self.components_ = mean, components

    def transform(self, Z: np.ndarray) -> np.ndarray:
        return (Z - self.mean_) @ self.components_.T


def mixer_from_state(state: dict[str, np.ndarray]) -> Any:
    from vehiclust.compare import DescriptorMixer

    mixer = DescriptorMixer()
    dims = state["mix_block_dims"]
    mixer.block_dims_ = dims
    mixer.means_ = np.split(state["mix_means"], np.cumsum(dims)[:-1])
    mixer.scales_ = state["mix_scales"]
    mixer.weights_ = state["mix_weights"]
    through = int(state["mix_passthrough"][0]) if "mix_passthrough" in state else -1  # older models: none
    mixer.passthrough_ = through if through >= 0 else None
    mixer.pca_ = (_Projection(state["mix_pca_mean"], state["mix_pca_components"])
                  if "mix_pca_components" in state else None)
    return mixer


# ---- clustering + outliers of one prepared space ----------------------------------------
def _spread(scores: np.ndarray) -> float:
    from vehiclust.outliers import robust_location_scale

    return float(robust_location_scale(np.asarray(scores, np.float64))[1])


def placement_rule(family: str, micro: tuple[np.ndarray, np.ndarray] | None) -> str:
    """The rule that places new rows for a run clustered by ``family`` (``micro``: the run's
    micro-cluster centres and their cluster ids, when the family used micro-clusters).

    EAC and Ward label every row by its k-means micro-cluster, so a new row takes the cluster
    of its nearest micro-cluster centre. Up to 1,000 rows every row is its own micro-cluster
    and a new row would be one more: EAC's base k-means runs put it with some rows (the
    "coassoc" rule); Ward joins it to the cluster whose merge costs least,
    ``n_c / (n_c + 1) * |x - centre_c|²`` (the "ward" rule; the nearest row instead starves
    Ward's diffuse clusters: PSI 0.13 against 0.04 on a demo split). See docs/assign.md.
    """
    rule = FAMILY_RULES.get(family, "neighbours")
    if rule == "micro" and micro is None:
        return MICRO_FALLBACK[family]
    if rule == "micro" and family == "eac" and len(micro) == 3:  # base runs, not micro-clusters
        return "coassoc"
    return rule


def micro_state(X: np.ndarray, labels: np.ndarray, family: str, seed: int | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(micro-cluster centres, their cluster ids) of an EAC / Ward run on ``X`` with the
    family's tree seed, or None when there are no more rows than micro-clusters, the seed is
    unknown, or the micro-clusters found again do not carry one label each (then the
    family's fallback rule places rows)."""
    if family not in MICRO_FALLBACK or (seed is None and len(X) > 1000):
        return None
    from sklearn.utils import check_random_state

    from vehiclust.cluster.evidence import EvidenceAccumulation
    from vehiclust.cluster.ward import micro_clusters

    tree = EvidenceAccumulation()  # EAC and MicroWard share the micro-cluster defaults
    if len(X) <= tree.n_micro:  # every row its own micro-cluster: see placement_rule
        return coassoc_state(X, labels, seed) if family == "eac" and seed is not None else None
    micro, centres, _ = micro_clusters(np.ascontiguousarray(X, np.float32), tree.n_micro, tree.micro_max_train,
                                       check_random_state(seed))
    ids = np.unique(labels)
    votes = np.zeros((len(centres), len(ids)), np.int64)
    np.add.at(votes, (micro, np.searchsorted(ids, labels)), 1)
    purity = votes.max(axis=1).sum() / max(len(labels), 1)
    if purity < 0.999:
        log.info("assignment model: the %s micro-clusters were not found again (purity %.3f); rows are placed "
                 "by the %s rule", family, purity, MICRO_FALLBACK[family])
        return None
    return centres.astype(np.float32), ids[votes.argmax(axis=1)]


def coassoc_state(X: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(base centres, each base run's first centre, the rows' base labels) of an EAC run on at
    most ``n_micro`` rows, or None when they do not give the run's labels back.

    Every row is its own micro-cluster there, so EAC's clusters are cut from how often its
    k-means base runs (k = 2..40, seeded from ``seed``) put two rows together. A new row is
    placed by the same evidence: its nearest centre in each base run, then the run row it
    shares most base clusters with (:func:`coassoc_positions`). The base runs are those of
    :meth:`EvidenceAccumulation.fit <vehiclust.cluster.evidence.EvidenceAccumulation.fit>`,
    drawn again from the same seed (one EAC fit's cost); their tree must cut to the run's labels.
    """
    import warnings

    from scipy.cluster.hierarchy import cut_tree, linkage
    from scipy.spatial.distance import squareform
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils import check_random_state

    from vehiclust.cluster.evidence import EvidenceAccumulation

    X = np.ascontiguousarray(X, np.float64)
    labels = np.asarray(labels, np.int64)
    tree = EvidenceAccumulation(min(2, len(X)), random_state=seed)
    if len(X) < 3:
        return None
    rng = check_random_state(seed)  # as EvidenceAccumulation.fit: no draw for rows-as-micro-clusters
    low, high = (int(v) for v in tree.base_k)
    centres, starts, base = [], [], []
    for kk in [kk for kk in range(low, min(high, len(X) - 1) + 1)] or [min(2, len(X))]:
        for _ in range(max(1, int(tree.runs_per_k))):
            km = KMeans(kk, n_init=1, max_iter=100, random_state=draw_seed(rng))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                base.append(km.fit_predict(X, sample_weight=np.ones(len(X))))
            starts.append(sum(len(c) for c in centres))
            centres.append(km.cluster_centers_)
    B = np.stack(base, axis=1)
    together = np.zeros((len(X), len(X)))
    for j in range(B.shape[1]):
        together += B[:, j][:, None] == B[:, j][None, :]
    # the tree of these base runs, as EvidenceAccumulation.fit builds it: the run's labels back?
    tree.micro_labels_, tree.micro_weights_ = np.arange(len(X)), np.ones(len(X))
    tree.coassociation_ = (together / B.shape[1]).astype(np.float32)
    distance = 1.0 - tree.coassociation_.astype(np.float64)
    np.fill_diagonal(distance, 0.0)
    tree.linkage_ = linkage(squareform(distance, checks=False), method="average")
    tree.tree_cuts_ = cut_tree(tree.linkage_).astype(np.int32)
    if not _same_partition(tree.labels_for(len(np.unique(labels))), labels):
        log.info("assignment model: the EAC base runs were not found again; rows are placed by the nearest centre")
        return None
    return np.concatenate(centres).astype(np.float32), np.asarray(starts, np.int64), B.astype(np.int16)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two label vectors split the rows the same way (whatever the ids)."""
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def coassoc_positions(arrays: dict[str, np.ndarray], X: np.ndarray, ref_pos: np.ndarray) -> np.ndarray:
    """The cluster position of each new row under the "coassoc" rule: per EAC base run its
    nearest centre, then the reference row sharing the most base clusters with it (the nearer
    breaking a tie)."""
    from vehiclust.neighbors import knn

    centres, starts, B = arrays["coassoc_centres"], arrays["coassoc_starts"], arrays["coassoc_labels"]
    ends = np.r_[starts[1:], len(centres)]
    ref_X = arrays["ref_X"]
    out = np.empty(len(X), np.int64)
    for lo in range(0, len(X), 2048):
        x = X[lo:lo + 2048]
        together = np.zeros((len(x), len(B)), np.int32)
        for j, (a, b) in enumerate(zip(starts, ends)):
            nearest = knn(centres[a:b], x, 1)[1][:, 0]
            together += nearest[:, None] == B[:, j][None, :]
        d2 = knn(ref_X, x, len(ref_X))  # every reference row (at most n_micro of them)
        dist = np.empty((len(x), len(ref_X)))
        np.put_along_axis(dist, d2[1], d2[0], axis=1)
        dist[together < together.max(axis=1, keepdims=True)] = np.inf
        out[lo:lo + len(x)] = ref_pos[dist.argmin(axis=1)]
    return out


def space_state(X: np.ndarray, labels: np.ndarray, family: str, ensemble: Any, graph: Any,
                micro: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[dict, dict]:
    """(info, arrays) to place a row in a prepared space and score it like the run's rows.

    ``X``: the prepared valid rows; ``labels``: their cluster ids (0..k-1); ``ensemble``: the
    fitted :class:`~vehiclust.outliers.OutlierEnsemble`; ``graph``: its k-NN graph of ``X``;
    ``micro``: see :func:`micro_state`.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    ids = np.unique(labels[labels >= 0])
    arrays: dict[str, np.ndarray] = {"cluster_ids": ids}
    det = getattr(ensemble, "detectors_", {}) if ensemble is not None else {}
    cd = det.get("cluster_distance")
    if cd is not None:
        centres = np.asarray(cd.cluster_centers_, np.float32)
    else:
        from vehiclust.cluster.metrics import cluster_centroids

        centres = cluster_centroids(X, np.searchsorted(ids, labels))[0].astype(np.float32)
    arrays["centres"] = centres
    # reference sample: the k-NN graph's (all rows up to its exact size); labelled
    ref = graph.reference if graph is not None and graph.reference is not None else np.arange(len(X))
    arrays["ref_X"] = X[ref]
    arrays["ref_labels"] = labels[ref]
    arrays["ref_index"] = np.asarray(ref, np.int64)  # rows of X; build_set_model makes them run rows
    twin_of = getattr(ensemble, "twin_of_", None)
    if twin_of is not None and getattr(ensemble, "duplicate_similarity", None) is not None:
        arrays["ref_twin"] = np.asarray(twin_of, np.int64)[ref]  # the run's twin of each reference row
    rule = placement_rule(family, micro)
    if rule == "micro":
        arrays["micro_centres"], arrays["micro_labels"] = micro
    elif rule == "coassoc":
        arrays["coassoc_centres"], arrays["coassoc_starts"], arrays["coassoc_labels"] = micro
    # per-cluster spread for the cluster distance: median member distance (as the detector does)
    pos = np.searchsorted(ids, labels)
    d_own = np.linalg.norm(X - centres[pos], axis=1).astype(np.float64)
    scales = np.array([np.median(d_own[pos == j]) if (pos == j).any() else 0.0 for j in range(len(ids))])
    fallback = float(np.median(d_own)) or 1.0
    arrays["cluster_scales"] = np.where(scales > 0, scales, fallback)
    # "a new kind": far from every cluster centre (in units of its spread) or from the run's rows
    # themselves (the distance to the 10th nearest), each against the run's own 99th percentile;
    # the larger of the two, cut at its own 99th percentile (see far_cuts)
    centre_far = far_scores(X, centres, arrays["cluster_scales"])
    k_far = int(min(FAR_NEIGHBOURS, len(arrays["ref_X"]) - 1))
    row_far = own_kth_distance(X, arrays["ref_X"], graph, k_far) if k_far > 0 else None
    info: dict[str, Any] = {
        "rule": rule,
        "family": family,
        "n_features": int(X.shape[1]),
        "n_fit_rows": int(len(X)),
        **far_cuts(centre_far, row_far, k_far),
        "twin_similarity": float(ensemble.duplicate_similarity) if "ref_twin" in arrays else None,
    }
    if ensemble is None:
        info["outliers"] = None
        return info, arrays
    unsupported = [v for v in ensemble.voters_ if v not in SCORED]
    if unsupported:
        log.warning("assignment model: voters %s cannot score new rows; they are left out", unsupported)
    detectors = []
    for name, d in det.items():
        if name not in SCORED:
            continue
        detectors.append(name)
        arrays[f"{name}_threshold"] = np.asarray([d.threshold_], np.float64)
        arrays[f"{name}_spread"] = np.asarray([_spread(d.decision_scores_)], np.float64)
        if name == "iforest" and getattr(d, "forest_", None) is not None:
            from vehiclust.assign._forest import export_forest

            arrays.update({f"forest_{k}": v for k, v in export_forest(d.forest_).items()})
        elif name == "iforest":  # fewer than 2 rows: all scores 0
            detectors.remove(name)
        elif name == "glosh":  # its arrays are per run row: the reference sample must be every row
            state = glosh_state(X, d, graph) if len(arrays["ref_X"]) == len(X) else {}
            arrays.update(state)
            if not state:
                detectors.remove(name)
    k = int(min(ensemble.n_neighbors, max(len(X) - 1, 0)))
    if graph is not None and k > 0 and {"knn", "lof"} & set(detectors):
        g = graph.head(k)
        kdist = g.distances[:, -1].astype(np.float64)
        reach = np.maximum(g.distances.astype(np.float64), kdist[g.indices])
        lrd = 1.0 / (reach.mean(axis=1) + 1e-10)
        arrays["ref_kdist"], arrays["ref_lrd"] = kdist[ref], lrd[ref]
    else:
        detectors = [d for d in detectors if d not in ("knn", "lof")]
    info["outliers"] = {
        "detectors": detectors,
        "voters": [v for v in ensemble.voters_ if v in detectors],
        "n_neighbors": k,
        "strong": float(ensemble.strong),
        "contamination": ensemble.contamination,
        "threshold": float(ensemble.threshold_),
    }
    return info, arrays


def glosh_state(X: np.ndarray, detector: Any, graph: Any) -> dict[str, np.ndarray]:
    """What scores a new row's GLOSH against the run's condensed tree: per run row its core
    distance, the λ it leaves its cluster at, that cluster's largest λ and its own score.

    The tree is built again from the graph the detector used (every row: GLOSH runs only up
    to 30,000 rows); {} when it does not give the run's scores back."""
    from vehiclust.neighbors import knn_graph
    from vehiclust.outliers import condensed_tree, glosh_scores, point_lambdas

    n = len(X)
    k = int(min(detector.min_samples, n - 1))
    g = graph
    if g is None or g.indices.shape[0] != n or g.k < k or g.reference is not None:
        g = knn_graph(X, k, exact_max_rows=max(n, 1), random_state=detector.random_state)
    tree = condensed_tree(g, min_samples=k, min_cluster_size=detector.min_cluster_size)
    scores = glosh_scores(tree, n)
    if not np.allclose(scores, detector.decision_scores_, atol=1e-9):
        log.warning("assignment model: GLOSH not reproduced; new rows get no GLOSH score")
        return {}
    lam_p, lam_max = point_lambdas(tree, n)
    return {"glosh_core": g.distances[:, k - 1].astype(np.float64), "glosh_lambda": lam_p,
            "glosh_max_lambda": lam_max, "glosh_score": scores, "glosh_min_samples": np.asarray([k], np.int64)}


def glosh_new_scores(arrays: dict[str, np.ndarray], neighbours: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """GLOSH of new rows from their nearest run rows (``neighbours``, ``dist``: ascending, the row
    itself excluded), as HDBSCAN's ``approximate_predict_scores``: the run row nearest in mutual
    reachability, the row's λ there (at most that run row's own), 1 - λ / its cluster's largest λ."""
    if not len(neighbours):
        return np.zeros(0)
    k = int(arrays["glosh_min_samples"][0])
    core = dist[:, min(k, dist.shape[1]) - 1]
    reach = np.maximum(np.maximum(arrays["glosh_core"][neighbours], core[:, None]), dist)
    j = reach.argmin(axis=1)
    rows = np.arange(len(neighbours))
    nn = neighbours[rows, j]
    with np.errstate(divide="ignore"):
        lam = np.where(reach[rows, j] > 0, 1.0 / reach[rows, j], np.inf)
    lam = np.minimum(lam, arrays["glosh_lambda"][nn])
    top = arrays["glosh_max_lambda"][nn]
    ok = (top > 0) & np.isfinite(lam)
    out = np.zeros(len(neighbours))
    out[ok] = (top[ok] - lam[ok]) / top[ok]
    return np.clip(out, 0.0, 1.0)


def own_kth_distance(X: np.ndarray, ref_X: np.ndarray, graph: Any, k: int) -> np.ndarray:
    """Per run row: the distance to its k-th nearest reference row, itself excluded (the run's
    k-NN graph when it holds k neighbours, else one search)."""
    from vehiclust.neighbors import knn

    if graph is not None and graph.k >= k and graph.indices.shape[0] == len(X):
        return graph.head(k).distances[:, -1].astype(np.float64)
    d2, idx = knn(ref_X, X, k + 1)
    d = np.sqrt(np.maximum(d2, 0.0)).astype(np.float64)
    self_first = np.isclose(d[:, 0], 0.0)  # a reference row meets itself first
    return np.where(self_first, d[:, k], d[:, k - 1])


def far_cuts(centre_far: np.ndarray, row_far: np.ndarray | None, k: int) -> dict[str, Any]:
    """The cuts of the new-kind score: each part's 99th percentile on the run's rows, then that of
    the larger scaled part, so that 1 % of the run's own rows are past it."""
    if not len(centre_far):
        return {"far_cut": float("inf"), "far_row_cut": None, "far_k": 0, "far_combined_cut": 1.0}
    cut_c = max(float(np.quantile(centre_far, FAR_QUANTILE)), 1e-12)
    if row_far is None:
        return {"far_cut": cut_c, "far_row_cut": None, "far_k": 0, "far_combined_cut": 1.0}
    cut_r = max(float(np.quantile(row_far, FAR_QUANTILE)), 1e-12)
    both = np.maximum(centre_far / cut_c, row_far / cut_r)
    return {"far_cut": cut_c, "far_row_cut": cut_r, "far_k": int(k),
            "far_combined_cut": max(float(np.quantile(both, FAR_QUANTILE)), 1e-12)}


def far_scores(X: np.ndarray, centres: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Per row: the smallest distance to a cluster centre, in units of that cluster's spread."""
    from vehiclust.neighbors import knn

    d2, idx = knn(centres, X, len(centres))
    return (np.sqrt(np.maximum(d2, 0.0)) / scales[idx]).min(axis=1) if len(X) else np.zeros(0)


def build_set_model(name: str, kind: str, X: np.ndarray, valid: np.ndarray, labels: np.ndarray, family: str,
                    ensemble: Any, graph: Any, prep_state: dict[str, np.ndarray] | None = None,
                    blocks: list[str] | None = None, mix: dict[str, np.ndarray] | None = None,
                    outliers: Any = None, tree_seed: int | None = None) -> SetModel:
    """The model of a single set (``prep_state``) or a mix (``blocks`` + ``mix``).

    ``labels`` are the full-length run labels; ``outliers`` the run's per-row outlier table
    (for the drift baseline); ``tree_seed`` the seed of an EAC / Ward family's tree (its
    micro-clusters are found again, see :func:`micro_state`).
    """
    valid = np.asarray(valid, bool)
    lab = np.asarray(labels, np.int64)
    micro = micro_state(X, lab[valid], family, tree_seed) if len(X) else None
    info, arrays = space_state(X, lab[valid], family, ensemble, graph, micro)
    info["n_rows"] = int(len(valid))
    info["n_valid"] = int(valid.sum())
    rows = np.flatnonzero(valid)  # valid-row numbers -> the run's row numbers (duplicate_of names them)
    arrays["ref_index"] = rows[arrays["ref_index"]]
    if "ref_twin" in arrays:
        arrays["ref_twin"] = np.where(arrays["ref_twin"] >= 0, rows[np.clip(arrays["ref_twin"], 0, None)], -1)
    if kind == "single":
        if prep_state is None:
            raise InputError(f"Descriptor set {name!r}: no fitted preparation to save.")
        arrays.update(prep_state)
        info["n_features_in"] = int(prep_state["prep_n_features_in"][0])
    else:
        info["blocks"] = list(blocks or [])
        arrays.update(mix or {})
    arrays.update(baseline_arrays(lab, outliers))
    return SetModel(name=name, kind=kind, info=info, arrays=arrays)


def baseline_arrays(labels: np.ndarray, outliers: Any) -> dict[str, np.ndarray]:
    """The run's own rows per cluster and flagged per cluster: the drift report's "then"."""
    lab = np.asarray(labels, np.int64)
    ids = np.unique(lab[lab >= 0])
    flagged = (np.asarray(outliers["is_outlier"], bool) if outliers is not None else np.zeros(len(lab), bool))
    return {
        "run_cluster_ids": ids,
        "run_counts": np.array([(lab == c).sum() for c in ids], np.int64),
        "run_flagged": np.array([(flagged & (lab == c)).sum() for c in ids], np.int64),
        "run_totals": np.array([len(lab), int(flagged.sum()), int((lab < 0).sum())], np.int64),
    }


def build_consensus_model(name: str, labels: np.ndarray, singles: dict[str, np.ndarray], outliers: Any = None,
                          seed: int = 0) -> SetModel:
    """Consensus: each combination of the single sets' labels → its majority consensus cluster,
    and the co-association embedding that places a combination the run never saw
    (:func:`consensus_vectors`)."""
    lab = np.asarray(labels, np.int64)
    names = list(singles)
    combos = np.stack([np.asarray(singles[n], np.int64) for n in names], axis=1)
    keep = lab >= 0
    uniq, inverse, counts = np.unique(combos[keep], axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    ids = np.unique(lab[keep])
    votes = np.zeros((len(uniq), len(ids)), np.int64)
    np.add.at(votes, (inverse, np.searchsorted(ids, lab[keep])), 1)
    arrays = {
        "combos": uniq.astype(np.int64),
        "combo_labels": ids[votes.argmax(axis=1)],
        "combo_counts": counts.astype(np.int64),
        **baseline_arrays(lab, outliers),
        **consensus_vectors(singles, seed),
    }
    info = {"blocks": names, "n_rows": int(len(lab)), "n_valid": int(keep.sum()), "rule": "label-combination"}
    return SetModel(name=name, kind="consensus", info=info, arrays=arrays)


def consensus_vectors(singles: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    """The spectral embedding of the co-association, as :func:`vehiclust.compare.consensus_embedding`
    builds it (SVD of ``D^-1/2 H``, ``H`` the rows' one-hot clusters; the embedding is
    ``D^-1/2 H V``), kept as one vector per cluster of every set (``V``'s rows, the trivial
    component dropped) and the clusters' sizes: a row whose sets put it in clusters ``c`` sits
    at ``sum(vectors[c]) / sqrt(sum(sizes[c]))``, L2-normalised (the run's rows exactly where the
    embedding put them; a combination the run never saw where the same projection puts it). {} when the
    co-association has too few clusters to embed."""
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD

    from vehiclust.compare import coassociation_onehot

    H = coassociation_onehot(singles)
    H = H[np.asarray(H.getnnz(axis=1) > 0)]
    ks = [len(np.unique(np.asarray(v)[np.asarray(v) >= 0])) for v in singles.values()]
    total = H.shape[1]
    if total < 3 or H.shape[0] < 3:
        return {}
    n_comp = int(max(1, min(2 * max(ks), total - 1, 64, H.shape[0] - 1)))
    sizes = np.asarray(H.sum(axis=0), np.float64).ravel()
    Hn = sp.diags(1.0 / np.sqrt(np.maximum(H @ sizes, 1e-12))) @ H
    svd = TruncatedSVD(n_components=n_comp + 1, algorithm="randomized", n_iter=7, random_state=seed).fit(Hn)
    return {"cons_vectors": svd.components_[1:].T.astype(np.float32), "cons_sizes": sizes,
            "cons_ids": np.concatenate([np.unique(np.asarray(v)[np.asarray(v) >= 0]) for v in singles.values()]),
            "cons_k": np.asarray(ks, np.int64)}


def consensus_embed(arrays: dict[str, np.ndarray], combos: np.ndarray) -> np.ndarray:
    """Rows of single-set labels (one column per set, -1 = none) in the consensus embedding
    (L2-normalised, as the run's): see :func:`consensus_vectors`."""
    starts = np.r_[0, np.cumsum(arrays["cons_k"])[:-1]]
    V, sizes, ids = arrays["cons_vectors"].astype(np.float64), arrays["cons_sizes"], arrays["cons_ids"]
    out = np.zeros((len(combos), V.shape[1]))
    degree = np.zeros(len(combos))
    for j, (a, k) in enumerate(zip(starts, arrays["cons_k"])):
        own = ids[a:a + k]
        at = np.clip(np.searchsorted(own, combos[:, j]), 0, max(k - 1, 0))
        ok = (combos[:, j] >= 0) & (own[at] == combos[:, j]) if k else np.zeros(len(combos), bool)
        out[ok] += V[a + at[ok]]
        degree[ok] += sizes[a + at[ok]]
    out /= np.sqrt(np.maximum(degree, 1e-12))[:, None]
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def model_for_set(prepared: Any, run: Any, ensemble: Any) -> SetModel | None:
    """The model of one set of a pipeline run (a ``PreparedSet`` + its ``DescriptorRun``);
    None when the preparation left no state to save."""
    if not getattr(prepared, "model", None) or not len(prepared.X):
        return None
    kind = "mix" if prepared.preparation.get("kind") == "mix" else "single"
    family = str((run.chosen or {}).get("family", ""))
    return build_set_model(prepared.name, kind, prepared.X, prepared.valid, run.labels, family, ensemble,
                           prepared.graph, prep_state=prepared.model if kind == "single" else None,
                           blocks=prepared.preparation.get("blocks"),
                           mix=mixer_state(prepared.model["mixer"]) if kind == "mix" else None,
                           outliers=run.outliers, tree_seed=tree_seed(family, getattr(run, "selector", None)))


def tree_seed(family: str, selector: Any) -> int | None:
    """The seed the cluster selector gave ``family``'s tree (EAC, Ward), None when unknown
    (a selector without one; a resumed run's keeps the cluster stage's seed)."""
    from vehiclust.cluster import FAMILIES

    state = getattr(selector, "random_state", None)
    if family not in MICRO_FALLBACK or not isinstance(state, (int, np.integer)):
        return None
    return FAMILIES[family]().seed_for(int(state) & 0x7FFFFFFF, {})
