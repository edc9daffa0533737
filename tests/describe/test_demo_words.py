"""Names on the real embedded demo: unique, short, hedged where they cover little, and the
colour word agrees with the colour model read inside the vehicle box."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from vehiclust.describe import ClusterDescriber, read_head_table
from vehiclust.io import load_descriptors, read_paths
from vehiclust.prepare import DescriptorPreparer

HEDGES = ("mostly ", "probably ")


@pytest.fixture(scope="module")
def demo_words(demo_dir):
    pytest.importorskip("openvino")
    keys = read_paths(demo_dir / "images_paths.csv").tolist()
    paths = [str(demo_dir / k) for k in keys]
    X = np.asarray(load_descriptors(demo_dir / "descriptors" / "vehicle-attributes.pkl", mmap=False), dtype=np.float32)
    Z = DescriptorPreparer(whiten=False, n_components=32, random_state=0).fit_transform(X)
    labels = KMeans(n_clusters=10, n_init=4, random_state=0).fit_predict(Z).astype(np.int64)
    heads = {n: read_head_table(demo_dir / "heads" / f"{n}.csv") for n in ("vehicle-attributes", "imagenet")}
    d = ClusterDescriber(n_images=48, run_heads=False, random_state=0, progress=False)
    d.fit(labels, Z, paths=paths, keys=keys, head_tables=heads)
    d.test_labels = labels
    return d


def test_names_are_unique_and_short(demo_words):
    names = demo_words.clusters_["cluster_name"].tolist()
    assert len(set(names)) == len(names), names
    assert all(len(n.split()) <= 4 for n in names), names
    assert not any(w.isdigit() for n in names for w in n.split()), names  # traits, never numbers


def test_names_covering_under_half_are_hedged(demo_words):
    t = demo_words.clusters_
    weak = t[t["strength"] < 0.5]
    for name in weak["cluster_name"]:
        assert name.startswith(HEDGES) or name.startswith("mixed") or "mixed" in name, name
    # strength is a measured share of the sampled images, and every description is one sentence
    assert t["strength"].between(0, 1).all()
    assert all(d.count(". ") == 0 and d.endswith(".") for d in t["description"])
    assert not t["description"].str.contains(r"\d\.\d|\d%").any()


def test_colour_word_agrees_with_the_colour_models_majority(demo_words):
    """Where the colour model (inside the vehicle box) says one colour for >= 60 % of a
    cluster's sampled images, the name's colour word is that colour."""
    ev = demo_words.image_evidence_
    assert ev["boxed"].mean() > 0.9  # the detector found the vehicle in nearly every crop
    t = demo_words.clusters_.set_index("cluster")
    checked = 0
    for c, g in ev.assign(cluster=lambda f: demo_words.test_labels[f["row"]]).groupby("cluster"):
        shares = g["box_colour"].value_counts(normalize=True)
        if shares.iloc[0] >= 0.6:
            checked += 1
            assert t.loc[c, "colour"] == shares.index[0], (c, t.loc[c, "cluster_name"], shares.head(3).to_dict())
            assert shares.index[0] in t.loc[c, "cluster_name"].split()
    assert checked >= 2


def test_details_keep_the_numbers(demo_words):
    t = demo_words.clusters_
    assert t["details"].str.contains("%").all()
    assert {"details", "name_traits", "colour_hedged", "pixel_colours", "model_colours"} <= set(t.columns)
    assert pd.api.types.is_bool_dtype(t["colour_hedged"])
