"""`dask_outlier_scores`: descriptor-space outlier scores computed block by block on Dask.

Two detectors that decompose over row blocks: the distance of each row to its cluster's centre
(divided by that cluster's median distance, so wide and tight clusters are judged alike) and
the mean distance to its k nearest neighbours in a fixed random reference sample (faiss, exact;
a row that is itself in the sample does not count as its own neighbour). Each score gets the
data-driven threshold of :func:`vehiclust.outliers.robust_threshold`; the reason codes are
those of the local detectors (``far_from_cluster``, ``far_from_data``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from vehiclust.distributed import _kernels as K
from vehiclust.distributed._arrays import auto_chunk_rows
from vehiclust.distributed._client import get_client
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)


def _block_scores(block: np.ndarray, start: int, labels: np.ndarray, centres: np.ndarray, reference: np.ndarray,
                  reference_rows: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """(distance to own centre, mean distance to the k nearest reference rows) of one block."""
    import faiss

    faiss.omp_set_num_threads(1)
    lab = labels[start:start + len(block)]
    centre_dist = np.full(len(block), np.nan, dtype=np.float64)
    keep = lab >= 0
    if keep.any():
        diff = block[keep].astype(np.float64) - centres[lab[keep]]
        centre_dist[keep] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    index = faiss.IndexFlatL2(reference.shape[1])
    index.add(reference)
    k = min(n_neighbors + 1, reference.shape[0])
    d2, idx = index.search(np.ascontiguousarray(block, dtype=np.float32), k)
    dist = np.sqrt(np.maximum(d2, 0)).astype(np.float64)
    # Drop the row itself where it is in the reference sample, else the farthest of k+1.
    global_rows = np.arange(start, start + len(block))
    pos = np.searchsorted(reference_rows, global_rows)
    in_ref = (pos < len(reference_rows)) & (reference_rows[np.minimum(pos, len(reference_rows) - 1)] == global_rows)
    is_self = idx == np.where(in_ref, pos, -1)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k - 1)
    mask = np.ones_like(dist, dtype=bool)
    mask[np.arange(len(block)), drop] = False
    knn = (dist * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    return centre_dist, knn


def dask_outlier_scores(
    X,
    labels: np.ndarray,
    centers: np.ndarray | None = None,
    *,
    n_neighbors: int = 10,
    reference_size: int = 20_000,
    cut: float = 3.5,
    contamination: float | None = None,
    chunk_rows: int | None = None,
    random_state=None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Per-row outlier table of a prepared matrix, computed on a Dask cluster.

    Parameters
    ----------
    X : (n, d) prepared matrix (numpy or a row-chunked Dask array).
    labels : (n,) cluster of each row; -1 = unassigned (scored by neighbours only).
    centers : (k, d) cluster centres; None = the mean of each cluster's rows.
    n_neighbors, reference_size : the k-NN detector's k and reference sample size.
    cut, contamination : threshold rule of :func:`vehiclust.outliers.robust_threshold`.

    Returns one row per row of ``X``: ``centroid_distance``, ``knn_distance``,
    ``far_from_cluster_outlierness`` and ``far_from_data_outlierness`` (0.5 = on the threshold),
    ``outlier_score`` (the larger of the two), ``is_outlier`` and ``outlier_reasons``.
    """
    import dask
    import dask.array as da

    from vehiclust.outliers import robust_threshold

    if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
        raise InputError(f"The 'n_neighbors' parameter of dask_outlier_scores must be an int in [1, inf). Got {n_neighbors!r}.")
    n, d = int(X.shape[0]), int(X.shape[1])
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (n,):
        raise InputError(f"dask_outlier_scores got {labels.shape[0]} labels for {n} rows of X.")
    if n < 2:
        raise InputError(f"dask_outlier_scores needs at least 2 rows. Got {n}.")
    client = get_client(scheduler)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    step = chunk_rows or auto_chunk_rows(n, d, n_workers)
    Xd = X.rechunk((step, d)) if hasattr(X, "dask") else da.from_array(np.asarray(X, dtype=np.float32), chunks=(step, d))
    Xd = client.persist(Xd.astype(np.float32))
    blocks = list(Xd.to_delayed().ravel())
    starts = np.r_[0, np.cumsum(Xd.chunks[0])[:-1]].astype(int)
    k_clusters = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if centers is None:
        centers = np.zeros((max(k_clusters, 1), d))
        if k_clusters:
            lab_f = client.scatter(labels, broadcast=True, hash=False)
            parts = client.gather(client.compute([
                dask.delayed(_cluster_sum, pure=False)(b, int(s), lab_f, k_clusters) for b, s in zip(blocks, starts)
            ]))
            sums = sum(p[0] for p in parts)
            counts = sum(p[1] for p in parts)
            centers = sums / np.maximum(counts, 1)[:, None]
    centers = np.asarray(centers, dtype=np.float64)
    if k_clusters > centers.shape[0]:
        raise InputError(f"dask_outlier_scores got labels up to {k_clusters - 1} but only {centers.shape[0]} centres.")
    rng = check_random_state(random_state)
    ref_rows = np.sort(rng.choice(n, min(n, int(reference_size)), replace=False))
    ref = np.ascontiguousarray(X[ref_rows] if not hasattr(X, "dask") else client.compute(Xd[ref_rows], sync=True),
                               dtype=np.float32)
    shared = [client.scatter(a, broadcast=True, hash=False) for a in (labels, centers, ref, ref_rows)]
    parts = client.gather(client.compute([
        dask.delayed(_block_scores, pure=False)(b, int(s), *shared, int(n_neighbors)) for b, s in zip(blocks, starts)
    ]))
    client.cancel(Xd)
    centre_dist = np.concatenate([p[0] for p in parts])
    knn = np.concatenate([p[1] for p in parts])
    # Centre distance relative to the cluster's median distance.
    ratio = np.full(n, np.nan)
    keep = labels >= 0
    if keep.any():
        med = np.zeros(k_clusters)
        for c in np.unique(labels[keep]):
            med[c] = np.median(centre_dist[labels == c])
        ratio[keep] = centre_dist[keep] / np.maximum(med[labels[keep]], 1e-12)
    table = pd.DataFrame({"centroid_distance": centre_dist, "knn_distance": knn})
    reasons = np.full(n, "", dtype=object)
    out = np.zeros(n)
    for name, score in (("far_from_cluster", ratio), ("far_from_data", knn)):
        thr = robust_threshold(score, cut=cut, contamination=contamination)
        with np.errstate(invalid="ignore", divide="ignore"):
            calibrated = np.where(np.isfinite(score), 0.5 * score / thr if thr > 0 else 0.0, 0.0)
        table[f"{name}_outlierness"] = calibrated
        flagged = calibrated > 0.5
        reasons = np.where(flagged, np.where(reasons == "", name, reasons + ";" + name), reasons)
        out = np.maximum(out, calibrated)
    table["outlier_score"] = out
    table["is_outlier"] = out > 0.5
    table["outlier_reasons"] = reasons.astype(str)
    log.info("dask_outlier_scores: %d of %d rows flagged", int(table["is_outlier"].sum()), n)
    return table


def _cluster_sum(block: np.ndarray, start: int, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    lab = labels[start:start + len(block)]
    keep = lab >= 0
    sums = K._cluster_sums(block[keep], lab[keep], k)
    return sums, np.bincount(lab[keep], minlength=k)
