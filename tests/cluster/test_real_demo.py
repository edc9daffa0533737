"""The selector on the embedded demo's real descriptors (1,200 Zenodo images, 6 types)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import normalize

from vehiclust.cluster import ClusterSelector, FaissKMeans, external_agreement
from vehiclust.io._safe_pickle import load_pickle


def _demo(demo_dir, name):
    X = np.asarray(load_pickle(demo_dir / "descriptors" / f"{name}.pkl"), dtype=np.float32)
    labels = pd.read_csv(demo_dir / "labels.csv")
    paths = pd.read_csv(demo_dir / "images_paths.csv")["paths"]
    y = labels.set_index("path").loc[paths, "type"].to_numpy()
    X = PCA(32, random_state=0).fit_transform(normalize(X)).astype(np.float32)
    return X, y


@pytest.mark.slow
def test_selector_on_real_demo_beats_raw_index_choice(demo_dir):
    """The rule does not follow the raw indices to k = 2-3, and its clustering follows the
    vehicle type at least as well as the k the raw silhouette would pick."""
    X, y = _demo(demo_dir, "mobilenet")
    sel = ClusterSelector(families=("kmeans", "ward"), k_min=2, k_max=20, n_stability=2, random_state=0,
                          progress=False).fit(X)
    t = sel.selection_
    raw_pick = t.loc[t["silhouette_sample"].idxmax()]
    assert sel.best_["n_clusters"] > 3
    assert "boundary" not in sel.best_["note"]
    nmi = external_agreement(y, sel.labels_)["nmi"]
    raw = FaissKMeans(int(raw_pick["n_clusters"]), random_state=0).fit(X).labels_
    assert nmi >= external_agreement(y, raw)["nmi"]
    assert nmi > 0.35


@pytest.mark.slow
def test_consensus_follows_vehicle_type_better_than_one_kmeans_run(demo_dir):
    """At the k the rule picks, the consensus of the k-means sweep (evidence accumulation)
    agrees with the real vehicle types better than the single k-means run at that k.
    Labels only score the outcome; the selector never sees them."""
    from vehiclust.prepare import DescriptorPreparer

    X = np.asarray(load_pickle(demo_dir / "descriptors" / "efficientnet-lite0.pkl"), dtype=np.float32)
    paths = pd.read_csv(demo_dir / "images_paths.csv")["paths"]
    y = pd.read_csv(demo_dir / "labels.csv").set_index("path").loc[paths, "type"].to_numpy()
    gains = []
    for seed in (0, 1, 2):
        Z = DescriptorPreparer(n_components=32, whiten=0.5, random_state=seed).fit_transform(X)
        sel = ClusterSelector(families=("kmeans", "eac"), n_stability=2, keep_labels=True, random_state=seed,
                              progress=False).fit(Z)
        assert sel.best_["family"] == "eac" and "consensus" in sel.best_["note"]
        t = sel.selection_
        single = t.loc[(t["family"] == "kmeans") & (t["k"] == sel.best_["k"]), "config_id"].item()
        nmi = external_agreement(y, sel.labels_)["nmi"]
        gains.append(nmi - external_agreement(y, sel.labels_by_config_[single])["nmi"])
        assert nmi > 0.57
    assert np.mean(gains) > 0.02
