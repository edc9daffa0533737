"""A registered evidence source reaches the cluster descriptions and the "what each clustering
follows" table, measured once per image (real demo images)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vehiclust.compare import gather_attributes, what_follows
from vehiclust.describe import ClusterDescriber
from vehiclust.evidence import (
    CATEGORICAL,
    CONTINUOUS,
    SOURCES,
    EvidenceCache,
    EvidenceSource,
    check_source,
    measure_sources,
    register_source,
    unregister_source,
)


class Shape(EvidenceSource):
    """Toy source: is the crop light or dim, and its red share (counts the images it reads)."""

    name = "toy-tone"
    columns = {"toy_tone": CATEGORICAL, "toy_red": CONTINUOUS}
    groups = {"toy_tone": "tone", "toy_red": "colour"}

    def __init__(self) -> None:
        self.read: list[str] = []

    def measure(self, paths):
        rows = []
        for p in paths:
            self.read.append(p)
            with Image.open(p) as im:
                rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
            rows.append({"toy_tone": "light" if rgb.mean() >= 110 else "dim",
                         "toy_red": float((rgb[..., 0] > rgb[..., 1:].max(axis=-1) + 20).mean())})
        return pd.DataFrame(rows)

    def words(self, summary):
        word, share = max(summary["toy_tone"].items(), key=lambda kv: kv[1])
        return f"Toy: mostly {word} ({share:.0%})"


@pytest.fixture()
def toy():
    source = register_source(Shape())
    yield source
    unregister_source(source.name)


@pytest.fixture()
def demo_sample(demo_dir):
    """90 demo images of three types, as a samples table (path, resolved, type)."""
    paths = pd.read_csv(demo_dir / "images_paths.csv")["paths"].str.replace("\\", "/", regex=False)
    labels = pd.read_csv(demo_dir / "labels.csv")
    labels["path"] = labels["path"].str.replace("\\", "/", regex=False)
    frame = pd.DataFrame({"path": paths}).merge(labels, on="path")
    types = sorted(frame["type"].unique())[:3]
    frame = pd.concat([frame[frame["type"] == t].head(30) for t in types], ignore_index=True)
    frame["resolved"] = [str(demo_dir / p) for p in frame["path"]]
    return frame


def test_toy_source_reaches_describe_and_follows(toy, demo_sample):
    resolved = demo_sample["resolved"].tolist()
    # the clusters ARE the toy evidence: one cluster per tone
    tone = measure_sources(resolved, [toy])["toy_tone"]
    assert set(tone) == {"light", "dim"}, "the demo sample should hold both tones"
    toy.read.clear()
    clusters = (tone == "dim").to_numpy(np.int64)
    cache = EvidenceCache()
    d = ClusterDescriber(n_images=64, run_heads=False, boxes=False, random_state=0, progress=False)
    d.fit(clusters, paths=resolved, cache=cache)
    by_cluster = {ev.cluster: ev for ev in d.evidence_}
    assert by_cluster[0].sources["toy-tone"]["toy_tone"] == {"light": 1.0}
    assert by_cluster[1].sources["toy-tone"]["toy_tone"] == {"dim": 1.0}
    assert 0.0 <= by_cluster[0].sources["toy-tone"]["toy_red"] <= 1.0
    assert {"toy_tone", "toy_red"} <= set(by_cluster[0].per_image.columns)
    table = d.clusters_.set_index("cluster")
    assert table.loc[1, "toy_tone"] == "dim 100%"
    assert table.loc[0, "description"].endswith("Toy: mostly light (100%).")
    # compare: the same source, read from the run's cache, in the group it names
    attributes, kinds = gather_attributes(demo_sample, measure_pixels=True, pixel_sample=1000, random_state=0,
                                          progress=False, cache=cache)
    assert kinds["evidence:toy-tone:toy_tone"] == CATEGORICAL
    rng = np.random.default_rng(0)
    follows = what_follows({"toy": clusters, "shuffled": rng.permutation(clusters),
                            "type": pd.factorize(demo_sample["type"])[0]}, attributes, kinds, random_state=0)
    assert "tone" in follows.columns and "colour" in follows.columns
    assert follows.loc["toy", "tone"] == pytest.approx(1.0)
    assert follows.loc["shuffled", "tone"] < 0.1
    assert "tone" in follows.loc["toy", "follows"]
    # every image was read once by the source, for describe and compare together
    assert sorted(toy.read) == sorted(set(resolved))


def test_cached_on_disk_between_runs(toy, demo_sample, tmp_path):
    resolved = demo_sample["resolved"].tolist()[:10]
    first = measure_sources(resolved, [toy], cache_dir=tmp_path)
    again = measure_sources(resolved, [toy], cache_dir=tmp_path)  # a new run: a fresh run cache
    assert len(toy.read) == 10
    pd.testing.assert_frame_equal(first, again)
    assert measure_sources(["", resolved[0]], [toy])["toy_red"].isna().tolist() == [True, False]


def test_registry_checks_sources():
    class Measures(EvidenceSource):  # no name: not a source yet
        def measure(self, paths):
            return pd.DataFrame(index=range(len(paths)), columns=list(self.columns))

    class NoKind(Measures):
        name = "bad"
        columns = {"x": "number"}

    class StrayGroup(Measures):
        name = "bad"
        columns = {"x": CONTINUOUS}
        groups = {"y": "light"}

    class NoMeasure(EvidenceSource):
        name = "half"
        columns = {"x": CONTINUOUS}

    for bad in (NoKind(), StrayGroup(), Measures()):
        with pytest.raises(ValueError):
            check_source(bad)
    for abstract in (EvidenceSource, NoMeasure):  # measure is abstract: no instance without it
        with pytest.raises(TypeError):
            abstract()
    before = list(SOURCES)
    register_source(Shape())
    register_source(Shape())  # the same name replaces
    assert [s.name for s in SOURCES] == [*[s.name for s in before], "toy-tone"]
    unregister_source("toy-tone")
    assert SOURCES == before
