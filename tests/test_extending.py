"""The three extension points of docs/architecture.md ("How to add ..."), each done from this
one module the way the recipe says (a class plus one registry entry) and run through its
stage: a clustering family through ClusterSelector, an image check through ImageChecker, an
evidence source through ClusterDescriber and the compare attributes."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster import FAMILIES, ClusterSelector
from vehiclust.cluster._families import Family, FamilyFit  # the registry's own module, as recipe (a) says
from vehiclust.compare import gather_attributes
from vehiclust.describe import ClusterDescriber
from vehiclust.evidence import CONTINUOUS, EvidenceCache, EvidenceSource, register_source
from vehiclust.quality import CHECKS, ImageCheck, ImageChecker


# ---- (a) a clustering family -------------------------------------------------------------
class FirstAxisBins(ClusterMixin, BaseEstimator):
    """Toy estimator: k equal-count bins along the first coordinate."""

    def __init__(self, n_clusters: int = 2) -> None:
        self.n_clusters = n_clusters

    def fit(self, X, y=None):
        X = np.asarray(X)
        edges = np.quantile(X[:, 0], np.linspace(0, 1, self.n_clusters + 1)[1:-1])
        self.labels_ = np.searchsorted(edges, X[:, 0]).astype(np.int64)
        return self


class FirstAxisFamily(Family):
    name = "toy-bins"
    uses_k = True
    estimator = FirstAxisBins()

    def fit(self, X, params, seed):
        return FamilyFit(clone(self.estimator).set_params(n_clusters=params["k"]).fit(X).labels_)


def test_a_new_family_is_swept_and_can_win(monkeypatch):
    monkeypatch.setitem(FAMILIES, FirstAxisFamily.name, FirstAxisFamily)
    rng = np.random.default_rng(0)
    centres = np.array([[-6.0, 0, 0, 0], [0.0, 0, 0, 0], [6.0, 0, 0, 0]])
    truth = np.repeat(np.arange(3), 200)
    X = (centres[truth] + rng.normal(size=(600, 4))).astype(np.float32)
    sel = ClusterSelector(families=["toy-bins"], k_min=2, k_max=5, n_stability=2, random_state=0,
                          progress=False).fit(X)
    table = sel.selection_
    assert set(table["family"]) == {"toy-bins"} and sorted(table["k"]) == [2, 3, 4, 5]
    k = len(np.unique(sel.labels_))
    assert k in (2, 3, 4, 5)  # the rule's pick among the family's own configurations ...
    own = FirstAxisBins(n_clusters=k).fit(X).labels_  # ... and exactly that configuration's labels
    assert adjusted_rand_score(own, sel.labels_) == 1.0
    assert adjusted_rand_score(truth, FirstAxisBins(3).fit(X).labels_) > 0.95  # the toy does what it says


# ---- (b) an image check --------------------------------------------------------------------
class WideCheck(ImageCheck):
    """Toy check: images much wider than tall (from the measured width and height)."""

    name = "toy_wide"
    reason = "toy_wide"
    properties = ("width", "height")

    def score(self, props):
        aspect = props["width"].to_numpy(float) / props["height"].to_numpy(float)
        return np.clip(1.5 - aspect / 4.0, 0.0, 1.0)  # 0.5 at aspect 4


def test_a_new_image_check_runs_on_the_measured_properties(monkeypatch, tmp_path, demo_dir):
    monkeypatch.setitem(CHECKS, WideCheck.name, WideCheck)
    demo = sorted(str(p) for p in (demo_dir).rglob("*.jpg"))[:5]
    assert demo, "the demo images are part of the repository"
    wide = tmp_path / "wide.png"
    Image.new("RGB", (300, 50), (120, 90, 60)).save(wide)
    paths = demo + [str(wide)]
    checker = ImageChecker(checks=["toy_wide"], cache_dir=tmp_path / "cache", progress=False).fit(paths)
    assert checker.table_["is_toy_wide"].tolist() == [False] * len(demo) + [True]
    assert checker.table_["image_reasons"].iloc[-1] == "toy_wide"
    # measured through the evidence layer, cached on disk like every source
    assert any(f.name.startswith("evidence-properties") for f in (tmp_path / "cache").iterdir())


# ---- (c) an evidence source ----------------------------------------------------------------
class FileSize(EvidenceSource):
    """Toy source: the image file's size in kB (reads no pixels)."""

    name = "toy-size"
    columns = {"toy_kb": CONTINUOUS}
    groups = {"toy_kb": "file size"}

    def measure(self, paths):
        return pd.DataFrame({"toy_kb": [os.path.getsize(p) / 1000.0 if p and os.path.exists(p) else np.nan
                                        for p in paths]})

    def words(self, summary):
        return f"Files of about {summary['toy_kb']:.0f} kB"


def test_a_new_evidence_source_reaches_describe_and_compare(monkeypatch, tmp_path):
    registry = importlib.import_module("vehiclust.evidence.sources")
    monkeypatch.setattr(registry, "SOURCES", list(registry.SOURCES))  # the registry is left as it was
    register_source(FileSize())
    paths = []
    for i in range(12):  # small flat images and large noisy ones: two clusters, two file sizes
        p = tmp_path / f"im{i}.png"
        rng = np.random.default_rng(i)
        pixels = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) if i % 2 else np.full((96, 96, 3), 128, np.uint8)
        Image.fromarray(pixels).save(p)
        paths.append(str(p))
    labels = np.arange(12) % 2
    cache = EvidenceCache()
    d = ClusterDescriber(n_images=64, run_heads=False, boxes=False, random_state=0, progress=False)
    d.fit(labels, paths=paths, cache=cache)
    by_cluster = {ev.cluster: ev for ev in d.evidence_}
    assert by_cluster[1].sources["toy-size"]["toy_kb"] > 10 * by_cluster[0].sources["toy-size"]["toy_kb"]
    assert "kB." in d.clusters_.set_index("cluster").loc[1, "description"]
    samples = pd.DataFrame({"path": paths, "resolved": paths})
    attributes, kinds = gather_attributes(samples, measure_pixels=True, random_state=0, progress=False, cache=cache)
    assert kinds["evidence:toy-size:toy_kb"] == CONTINUOUS
    assert np.corrcoef(attributes["evidence:toy-size:toy_kb"], labels)[0, 1] > 0.9
