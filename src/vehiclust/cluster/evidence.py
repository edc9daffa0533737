"""Evidence accumulation: a consensus of many k-means runs, cut at any k.

One k-means run at one k is a noisy answer: its NMI with the real groups swings by ±0.05 from
seed to seed, and no internal metric can tell the lucky runs apart. Evidence accumulation
(Fred & Jain 2005) runs k-means many times over a wide range of k and counts, for every pair
of points, how often they land together; the co-association matrix keeps what the runs agree
on. Average linkage on 1 - co-association then gives one tree that serves every k.

The n x n co-association matrix is out of reach at 416k rows, so the points are k-means
micro-clusters (as for :class:`~vehiclust.cluster.ward.MicroWard`): the base runs are
size-weighted k-means of the micro-cluster centres, and every row inherits its micro-cluster's
label, so all rows are labelled consistently. On the Zenodo EfficientNet-Lite0 descriptors
(4,800 images, 6 types) the cut at k = 12 reaches NMI 0.59-0.61 where one k-means run at the
same k gets 0.54-0.57 (``bench/cluster.py --real``).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.cluster.hierarchy import cut_tree, linkage
from scipy.spatial.distance import squareform
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state

from vehiclust.cluster.ward import MicroClusterTree, micro_clusters
from vehiclust.exceptions import InputError
from vehiclust.seeds import draw_seed


class EvidenceAccumulation(MicroClusterTree):
    """Average-linkage tree on the co-association of k-means runs; `labels_for(k)` cuts it.

    Parameters
    ----------
    n_clusters : the cut used for ``labels_``.
    n_micro : micro-clusters that stand in for the rows (rows themselves up to this many).
    base_k : (low, high) range of k for the base k-means runs; high is capped at the number
        of micro-clusters - 1.
    runs_per_k : base runs at each k (different seeds).
    """

    def __init__(self, n_clusters: int = 8, *, n_micro: int = 1000, base_k: tuple[int, int] = (2, 40),
                 runs_per_k: int = 1, micro_max_train: int = 50_000, random_state=None) -> None:
        self.n_clusters = n_clusters
        self.n_micro = n_micro
        self.base_k = base_k
        self.runs_per_k = runs_per_k
        self.micro_max_train = micro_max_train
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> "EvidenceAccumulation":
        X = check_array(X, dtype=np.float32, order="C", copy=False)
        if self.n_clusters > X.shape[0]:
            raise InputError(f"EvidenceAccumulation got n_clusters={self.n_clusters} but only {X.shape[0]} rows.")
        low, high = (int(v) for v in self.base_k)
        if low < 2 or high < low:
            raise InputError(f"The 'base_k' parameter of EvidenceAccumulation must be (low, high) with 2 <= low <= high. Got {self.base_k!r}.")
        rng = check_random_state(self.random_state)
        self.micro_labels_, centres, weights = micro_clusters(X, self.n_micro, self.micro_max_train, rng)
        self.micro_weights_ = weights
        m = centres.shape[0]
        ks = [k for k in range(low, min(high, m - 1) + 1)] or [min(2, m)]
        together = np.zeros((m, m), dtype=np.float64)
        runs = 0
        for k in ks:
            for _ in range(max(1, int(self.runs_per_k))):
                base = KMeans(k, n_init=1, max_iter=100, random_state=draw_seed(rng))
                with warnings.catch_warnings():
                    # duplicate centres (identical rows) give fewer distinct clusters than k:
                    # such a run simply puts them together, which is what co-association counts
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    lab = base.fit_predict(centres, sample_weight=weights)
                together += lab[:, None] == lab[None, :]
                runs += 1
        self.coassociation_ = (together / runs).astype(np.float32)
        self.n_base_runs_ = runs
        distance = 1.0 - self.coassociation_.astype(np.float64)
        np.fill_diagonal(distance, 0.0)
        self.linkage_ = linkage(squareform(distance, checks=False), method="average") if m > 1 else np.zeros((0, 4))
        # every cut at once (column j holds m - j clusters); cut_tree keeps the merge order,
        # so ties in co-association still give exactly that many clusters
        self.tree_cuts_ = cut_tree(self.linkage_).astype(np.int32) if m > 1 else np.zeros((1, 1), np.int32)
        self.labels_ = self.labels_for(int(self.n_clusters))
        self.n_features_in_ = X.shape[1]
        return self

    def labels_for_many(self, ks: list[int]) -> dict[int, np.ndarray]:
        m = self.coassociation_.shape[0]
        wanted = self._check_cuts(ks, m)
        if m == 1:
            return {1: np.zeros(self.micro_labels_.shape[0], dtype=np.int64)}
        return {k: self._micro_cut(k)[self.micro_labels_] for k in wanted}

    def _micro_cut(self, k: int) -> np.ndarray:
        """k clusters of the micro-clusters, none of them a crumb.

        A group of outlying micro-clusters (planted outliers, junk images) is put with nothing
        by the base runs, so average linkage keeps it apart to the very top of the tree and a
        plain cut at k spends a cluster on it while merging two real ones. Here the tree is cut
        deeper until k clusters hold at least a tenth of the mean cluster size each; the
        micro-clusters of the smaller ones join the cluster they were most often put with.
        """
        m = self.coassociation_.shape[0]
        w = self.micro_weights_
        floor = w.sum() / (10.0 * k)
        for kk in range(k, m + 1):
            cut = self.tree_cuts_[:, m - kk]
            sizes = np.bincount(cut, weights=w, minlength=kk)
            big = np.flatnonzero(sizes >= floor)
            if len(big) == k:
                break
        else:
            return np.unique(self.tree_cuts_[:, m - k], return_inverse=True)[1].astype(np.int64)
        keep = np.isin(cut, big)
        if not keep.all():
            # weighted mean co-association of each crumb micro-cluster with each kept cluster
            member = (cut[keep][:, None] == big[None, :]) * w[keep][:, None]
            affinity = self.coassociation_[~keep][:, keep].astype(np.float64) @ member / member.sum(axis=0)
            cut = cut.copy()
            cut[~keep] = big[affinity.argmax(axis=1)]
        return np.unique(cut, return_inverse=True)[1].astype(np.int64)
