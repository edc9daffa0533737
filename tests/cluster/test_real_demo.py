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
