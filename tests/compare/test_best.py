"""The best clustering chosen by meaning: predictivity, what each clustering follows, auto weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust.compare import (
    Candidate,
    DescriptorMixer,
    assortativity,
    auto_weights,
    candidate_predictivity,
    check_best_name,
    choose_best,
    compare_candidates,
    identity_from_paths,
    knn_indices,
    label_disagreement,
    one_view_note,
    pairs_together,
    rank_candidates,
    what_follows,
)
from vehiclust.compare._agreement import CATEGORICAL, CONTINUOUS
from vehiclust.exceptions import InputError

from .conftest import kmeans_labels


def _single(name, X, k, seed=0):
    valid = np.ones(len(X), bool)
    return Candidate(name, X, valid, kmeans_labels(X, k, seed))


@pytest.fixture(scope="module")
def views(two_attribute_data):
    """A knows colour, B knows type, AB (one descriptor set) knows both."""
    d = two_attribute_data
    A, B = d["A"], d["B"]
    AB = DescriptorMixer(n_components=None, random_state=0).fit_transform([A, B])
    return [_single("A", A, 3), _single("B", B, 4), _single("AB", AB, 12)]


def test_assortativity_is_chance_corrected():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    X = np.eye(4)[labels] + 0.05 * rng.normal(size=(200, 4))
    graph = knn_indices(X, 10)
    assert assortativity(graph, labels) > 0.95
    assert abs(assortativity(graph, rng.permutation(labels))) < 0.05
    unassigned = labels.copy()
    unassigned[:100] = -1
    assert assortativity(graph, unassigned) > 0.95
    assert np.isnan(assortativity(graph, np.zeros(200, int)))


def test_predictivity_prefers_the_space_that_knows_more(views, two_attribute_data):
    table = candidate_predictivity(views, random_state=0)
    score = table.mean(axis=1)
    assert score["AB"] > score["A"] + 0.2 and score["AB"] > score["B"] + 0.2
    assert np.isnan(table.loc["A", "A"])  # never scored by its own partition
    # the compact single-attribute sets have the better silhouette, the rule still picks AB
    comparison = compare_candidates(views, n_resamples=2, random_state=0, progress=False, predictivity=table)
    by = comparison.set_index("descriptor")
    assert by.loc["A", "silhouette"] > by.loc["AB", "silhouette"]
    name, reason = choose_best(comparison)
    assert name == "AB" and "predictivity" in reason and "labels were not used" in reason


def test_a_mix_is_not_scored_by_its_own_blocks(two_attribute_data):
    d = two_attribute_data
    A, B = _single("A", d["A"], 3), _single("B", d["B"], 4)
    mixed = DescriptorMixer(n_components=None, random_state=0).fit_transform([d["A"], d["B"]])
    mix = Candidate("A+B", mixed, np.ones(len(mixed), bool), kmeans_labels(mixed, 12), kind="mix",
                    preparation={"blocks": ["A", "B"], "weights": [0.5, 0.5]})
    table = candidate_predictivity([A, B, mix], random_state=0)
    # predicting A from the mix without A (= B alone): chance level, not the ~1 of its own block
    assert abs(table.loc["A+B", "A"]) < 0.1 and abs(table.loc["A+B", "B"]) < 0.1
    assert table.loc["A+B", "A"] == pytest.approx(table.loc["B", "A"], abs=1e-9)


def test_what_follows_says_it_in_words(views, two_attribute_data):
    d = two_attribute_data
    labels = {c.name: c.labels for c in views}
    rng = np.random.default_rng(1)
    attributes = pd.DataFrame({
        "head:attr:color": d["samples"]["colour"], "head:attr:type": d["samples"]["type"],
        "pixels:brightness": rng.random(len(d["colour"])), "label:type": d["samples"]["type"]})
    kinds = {"head:attr:color": CATEGORICAL, "head:attr:type": CATEGORICAL, "pixels:brightness": CONTINUOUS,
             "label:type": CATEGORICAL}
    table = what_follows(labels, attributes, kinds, random_state=0)
    assert list(table.columns) == ["type", "colour", "brightness", "follows"]  # labels are not evidence
    assert table.loc["A", "colour"] > 0.9 and table.loc["A", "type"] < 0.05
    assert table.loc["B", "type"] > 0.9 and table.loc["B", "colour"] < 0.05
    assert (table["brightness"] < 0.05).all()  # chance-corrected: 12 clusters explain no noise
    assert table.loc["A", "follows"] == "colour" and table.loc["B", "follows"] == "type"
    assert table.loc["AB", "follows"] in ("type and colour", "colour and type")


def test_same_vehicle_pairs_from_veriwild_paths():
    ids = np.repeat(np.arange(50), 4)
    paths = pd.Series([f"veriwild\\part1\\{i:05d}\\img{j}.jpg" for j, i in enumerate(ids)])
    found = identity_from_paths(paths)
    assert found is not None and found.nunique() == 50
    assert identity_from_paths(pd.Series(["a/b/c.jpg"] * 10)) is None
    assert pairs_together(ids % 10, found.to_numpy()) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert abs(pairs_together(rng.integers(0, 10, 200), found.to_numpy())) < 0.1


def test_auto_weights_give_an_uninformative_block_a_small_share(two_attribute_data):
    d = two_attribute_data
    AB = DescriptorMixer(n_components=None, random_state=0).fit_transform([d["A"], d["B"]])
    noise = np.random.default_rng(3).normal(size=(len(AB), 32)).astype(np.float32)
    w = auto_weights([d["B"], AB, noise], random_state=0)
    assert w.sum() == pytest.approx(1.0)
    # the set that knows both anchors; B (a part of it) and noise add nothing and stay small
    assert w[1] > 0.9 and w[2] < 0.05 and w[0] < 0.05
    again = auto_weights([d["B"], AB, noise], random_state=0)
    np.testing.assert_array_equal(w, again)


def test_label_note_and_best_name():
    table = pd.DataFrame({"descriptor": ["x", "y"], "nmi_type": [0.3, 0.6]})
    note = label_disagreement(table, "x")
    assert note.startswith("NOTE") and "y agrees best" in note and "not used" in note
    assert label_disagreement(table, "y") == ""
    assert label_disagreement(table.drop(columns="nmi_type"), "x") == ""
    check_best_name("x", ["x", "y"])
    with pytest.raises(InputError, match="allowed"):
        check_best_name("z", ["x", "y"])


def test_a_wrong_best_name_fails_before_clustering(demo_dir, tmp_path, monkeypatch):
    from vehiclust import pipeline
    from vehiclust.config import RunConfig

    def never(ctx):
        raise AssertionError("the cluster stage ran")

    monkeypatch.setattr(pipeline, "_stage_cluster", never)
    cfg = RunConfig(descriptors={n: demo_dir / "descriptors" / f"{n}.pkl" for n in ("color-hist", "hog")},
                    paths=demo_dir / "images_paths.csv", out=tmp_path, mixes=["all"], best="efficientnet",
                    progress=False, notebook=False, html=False)
    with pytest.raises(InputError, match="--best 'efficientnet'.*color-hist\\+hog.*consensus"):
        pipeline.run(cfg)


def test_predictivity_is_relative_to_the_reference_own_graph(two_attribute_data):
    from vehiclust.compare._predictivity import predictivity

    d = two_attribute_data
    A, B = _single("A", d["A"], 9), _single("B", d["B"], 4)  # A over-split: its own graph crosses its clusters
    spaces = {"A": d["A"], "B": d["B"], "A-copy": d["A"].copy()}
    partitions = {"A": A.labels, "B": B.labels}
    sources = {"A": ["A"], "B": ["B"]}
    table = predictivity(spaces, partitions, sources, {})
    # the same space keeps exactly as much of A's clustering as A's own graph does
    assert table.loc["A-copy", "A"] == pytest.approx(1.0)
    raw = predictivity(spaces, partitions, sources, {}, relative=False)
    assert raw.loc["A-copy", "A"] < 1.0 and table.loc["B", "A"] == pytest.approx(raw.loc["B", "A"] / raw.loc["A-copy", "A"])
    # among candidates, an exact copy is A's own information: neither scores the other
    copy = Candidate("A-copy", d["A"].copy(), np.ones(len(d["A"]), bool), kmeans_labels(d["A"], 6, seed=1))
    both = candidate_predictivity([A, B, copy], random_state=0)
    assert np.isnan(both.loc["A-copy", "A"]) and np.isnan(both.loc["A", "A-copy"])
    assert both.attrs["redundancy"].loc["A", "A-copy"] > 0.99


def test_single_sets_are_ranked_before_mixes_and_the_consensus():
    table = pd.DataFrame({
        "descriptor": ["a", "b", "a+b", "consensus"], "kind": ["single", "single", "mix", "consensus"],
        "n_clusters": [5, 6, 6, 6], "noise_share": 0.0, "silhouette": 0.1, "davies_bouldin": 2.0,
        "silhouette_common": 0.1, "stability": 0.8, "predictivity": [0.50, 0.55, 0.70, 0.65]})
    name, reason = choose_best(table)
    assert name == "b" and "not ranked against them" in reason  # a mix's leave-one-out score is not comparable
    ranked = rank_candidates(table).set_index("descriptor")["selection_rank"]
    assert ranked["b"] == 1 and ranked["a"] == 2 and ranked["a+b"] == 3 and ranked["consensus"] == 4
    none_single = table.assign(n_clusters=[1, 1, 6, 6])  # no single set is eligible: the composites compete
    assert choose_best(none_single)[0] == "a+b"


def test_mix_all_is_weighted_from_the_data_unless_weights_are_given(two_attribute_data):
    from vehiclust.compare import build_mixes
    from vehiclust.prepare import PreparedSet

    d = two_attribute_data
    noise = np.random.default_rng(3).normal(size=(len(d["A"]), 16)).astype(np.float32)
    valid = np.ones(len(noise), bool)
    AB = DescriptorMixer(n_components=None, random_state=0).fit_transform([d["A"], d["B"]])
    prepared = {n: PreparedSet(name=n, X=X, valid=valid, preparation={}) for n, X in
                (("AB", AB), ("B", d["B"]), ("noise", noise))}
    auto = build_mixes(prepared, ["all"], n_components=None, random_state=0)[0]
    w = dict(zip(auto.preparation["blocks"], auto.preparation["weights"]))
    assert w["AB"] > 0.9 and w["noise"] < 0.05
    given = build_mixes(prepared, ["all"], weights={"B": 1.0}, n_components=None, random_state=0)[0]
    np.testing.assert_allclose(given.preparation["weights"], [1 / 3] * 3)


def _planted_views(n=600, seed=11):
    """'deep' knows the type (6) and some colour (4); three other sets follow colour and agree."""
    rng = np.random.default_rng(seed)
    vtype, colour = rng.integers(0, 6, n), rng.integers(0, 4, n)

    def block(d, parts, noise):
        X = noise * rng.normal(size=(n, d))
        for lab, k, scale in parts:
            X += scale * rng.normal(size=(k, d))[lab]
        return X.astype(np.float32)

    sets = {"deep": block(64, [(vtype, 6, 1.0), (colour, 4, 0.7)], 1.4),
            "reid": block(32, [(colour, 4, 1.0), (vtype, 6, 0.35)], 0.9),
            "attr": block(16, [(colour, 4, 1.0), (vtype, 6, 0.25)], 0.9),
            "hist": block(24, [(colour, 4, 1.0)], 1.0)}
    return sets, vtype


def test_mix_all_keeps_its_best_block_when_the_others_follow_something_else():
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from vehiclust.compare import build_mixes
    from vehiclust.prepare import PreparedSet

    sets, vtype = _planted_views()
    valid = np.ones(len(vtype), bool)
    prepared = {n: PreparedSet(name=n, X=X, valid=valid, preparation={}) for n, X in sets.items()}

    def type_nmi(X):
        return normalized_mutual_info_score(vtype, KMeans(6, n_init=4, random_state=0).fit_predict(X))

    best_block = max(type_nmi(X) for X in sets.values())
    auto = build_mixes(prepared, ["all"], n_components=None, random_state=0)[0]
    w = dict(zip(auto.preparation["blocks"], auto.preparation["weights"]))
    assert max(w, key=w.get) == "deep" and w["deep"] > 0.9  # the colour sets keep less than half of its cuts
    assert type_nmi(auto.X) >= best_block - 0.02
    # the others keep only the floor: the mix is deep itself, so the sweep finds deep's clusters
    assert auto.preparation["passthrough"] == "deep"
    np.testing.assert_array_equal(auto.X, sets["deep"])
    # a fixed anchor share of 2/3 (the former rule) lets the three colour sets pull the clusters to colour
    fixed = build_mixes(prepared, ["all"], weights={"deep": 2.0, "reid": 1 / 3, "attr": 1 / 3, "hist": 1 / 3},
                        n_components=None, random_state=0)[0]
    assert type_nmi(fixed.X) < best_block - 0.3


@pytest.fixture(scope="module")
def demo_twin_views(demo_dir):
    """The demo's sets prepared and cut by k-means, plus vehicle-attributes' own 11 class probabilities."""
    from vehiclust.io import load_case
    from vehiclust.prepare import DescriptorPreparer

    names = ("efficientnet-lite0", "osnet", "vehicle-attributes")
    heads = demo_dir / "heads" / "vehicle-attributes.csv"
    missing = [n for n in names if not (demo_dir / "descriptors" / f"{n}.pkl").exists()]
    if missing or not heads.exists():
        pytest.skip(f"the demo lacks {missing or [heads.name]}")
    case = load_case({n: demo_dir / "descriptors" / f"{n}.pkl" for n in names}, demo_dir / "images_paths.csv")
    raw = {n: np.asarray(v, np.float32) for n, v in case.descriptors.items()}
    probs = pd.read_csv(heads)
    assert [p.replace("\\", "/") for p in probs["path"]] == list(case.samples["path"])
    raw["va-probs"] = probs.drop(columns="path").to_numpy(np.float32)
    views = {}
    for name, X in raw.items():
        Z = DescriptorPreparer(n_components=32, whiten=False, random_state=0).fit_transform(X)
        views[name] = Candidate(name, Z, np.ones(len(Z), bool), kmeans_labels(Z, 8))
    return views


def test_a_derived_twin_does_not_lift_its_source(demo_twin_views):
    v = demo_twin_views
    alone = candidate_predictivity([v["efficientnet-lite0"], v["osnet"], v["vehicle-attributes"]], random_state=0)
    twin = candidate_predictivity(list(v.values()), random_state=0)
    # the probabilities are nearly a function of vehicle-attributes' neighbourhoods, not the reverse
    red = twin.attrs["redundancy"]
    assert red.loc["vehicle-attributes", "va-probs"] >= 0.7 > red.loc["va-probs", "vehicle-attributes"]
    pair = ["vehicle-attributes", "va-probs"]
    assert red.drop(index=pair, columns=pair).max().max() < 0.7
    assert np.isnan(twin.loc["vehicle-attributes", "va-probs"]) and np.isnan(twin.loc["va-probs", "vehicle-attributes"])
    score, before = twin.mean(axis=1), alone.mean(axis=1)
    # the twin adds no vote: every set keeps the score it had without it, and vehicle-attributes stays last
    for name in before.index:
        assert score[name] == pytest.approx(before[name], abs=1e-9)
    assert score["vehicle-attributes"] < min(score["efficientnet-lite0"], score["osnet"]) - 0.05
    assert one_view_note(red).startswith("counted as one view: va-probs is nearly a function of vehicle-attributes")


def test_sets_linked_to_a_blend_of_two_views_stay_two_views():
    from vehiclust.compare._predictivity import view_groups, view_representatives

    names = ["a", "b", "blend"]
    table = pd.DataFrame([[np.nan, 0.4, 0.9], [0.45, np.nan, 0.75], [0.95, 0.7, np.nan]], index=names, columns=names)
    assert view_groups(table, names) == [["a", "blend"], ["b"]]
    reps = view_representatives(table, names, {"a": 0.03, "b": 0.02, "blend": 0.05})
    assert reps == {"a": "blend", "blend": "blend", "b": "b"}
    assert view_representatives(table, names, {"a": 0.03, "blend": np.nan})["blend"] == "a"  # missing: the lowest


@pytest.fixture(scope="module")
def demo_poorer_twin(demo_dir):
    """The demo's four sets (32 components, k-means 8) plus a poorer twin of efficientnet-lite0:
    the same features blended with some osnet and noise, as a weaker network of the same view
    that also keeps more of the other views' splits."""
    from sklearn.cluster import KMeans

    from vehiclust.cluster import NullReference
    from vehiclust.cluster.metrics import silhouette_values
    from vehiclust.io import load_case
    from vehiclust.prepare import DescriptorPreparer

    names = ("efficientnet-lite0", "osnet", "vehicle-attributes", "color-hist")
    files = {n: demo_dir / "descriptors" / f"{n}.pkl" for n in names}
    if not all(f.exists() for f in files.values()) or not (demo_dir / "labels.csv").exists():
        pytest.skip("the demo lacks its descriptor sets or labels")
    case = load_case(files, demo_dir / "images_paths.csv")
    Z = {n: DescriptorPreparer(n_components=32, whiten=False, random_state=0).fit_transform(np.asarray(v, np.float32))
         for n, v in case.descriptors.items()}
    E = Z["efficientnet-lite0"]
    noise = np.random.default_rng(0).standard_normal(E.shape).astype(np.float32)
    Z["twin"] = DescriptorMixer(weights=[0.55, 0.15, 0.3], n_components=None).fit_transform([E, Z["osnet"], noise])
    cands = []
    for name, X in Z.items():
        labels = KMeans(8, n_init=4, random_state=0).fit_predict(X)
        excess = float(silhouette_values(X, labels).mean()) - NullReference(X, random_state=0).metrics(8)[0]
        cands.append(Candidate(name, X, np.ones(len(X), bool), labels, chosen={"silhouette_excess": excess}))
    truth = pd.read_csv(demo_dir / "labels.csv")[["type"]]
    return cands, truth


def test_the_poorer_twin_does_not_represent_the_view(demo_poorer_twin):
    cands, truth = demo_poorer_twin
    table = candidate_predictivity(cands, random_state=0)
    red = table.attrs["redundancy"]
    assert min(red.loc["efficientnet-lite0", "twin"], red.loc["twin", "efficientnet-lite0"]) >= 0.7
    others = [n for n in red.index if n not in ("efficientnet-lite0", "twin")]
    assert red.loc[others, others].max().max() < 0.7
    score = table.mean(axis=1)
    # the failure mode: the twin keeps more of the other views' splits, so it scores higher ...
    assert score["twin"] > score["efficientnet-lite0"] + 0.03
    # ... but its own clusters stand out less, and efficientnet-lite0 represents the view
    assert table.attrs["views"] == {"efficientnet-lite0": "efficientnet-lite0", "twin": "efficientnet-lite0",
                                    "osnet": "osnet", "vehicle-attributes": "vehicle-attributes", "color-hist": "color-hist"}
    comp = compare_candidates(cands, truth, random_state=0, n_resamples=2, sample_size=1000, predictivity=table)
    comp["stability"] = 0.9  # both members pass every gate: only the view rule separates them
    ranked = rank_candidates(comp).set_index("descriptor")
    rows = comp.set_index("descriptor")
    assert rows.loc["efficientnet-lite0", "view_predictivity"] == pytest.approx(score[["twin", "efficientnet-lite0"]].max())
    assert ranked.loc["efficientnet-lite0", "selection_rank"] < ranked.loc["twin", "selection_rank"]
    best, reason = choose_best(comp)
    assert best != "twin"
    assert rows.loc["efficientnet-lite0", "refinement"] > 0.03 > -0.03 > rows.loc["twin", "refinement"]
    if best == "efficientnet-lite0":
        assert "efficientnet-lite0 represents the view: it refines the other" in reason
    # labels only score the test: the twin is the poorer clustering of the type
    assert rows.loc["twin", "nmi_type"] < rows.loc["efficientnet-lite0", "nmi_type"]


def test_mix_all_anchors_on_the_clearer_twin_and_leaves_its_twin_out():
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    sets, vtype = _planted_views()
    rng = np.random.default_rng(5)
    deep = sets["deep"]
    # a weaker code of the same view: deep blended with reid's colour and noise (linked with deep)
    twin = DescriptorMixer(weights=[0.6, 0.2, 0.2], n_components=None).fit_transform(
        [deep, sets["reid"], rng.normal(size=deep.shape).astype(np.float32)])
    blocks = {"twin": twin, **sets}

    def type_nmi(X):
        return normalized_mutual_info_score(vtype, KMeans(6, n_init=4, random_state=0).fit_predict(X))

    w = dict(zip(blocks, auto_weights(list(blocks.values()), random_state=0)))
    assert max(w, key=w.get) == "deep" and w["twin"] < 0.01
    mixed = DescriptorMixer(weights=list(w.values()), n_components=None).fit_transform(list(blocks.values()))
    assert type_nmi(mixed) >= max(type_nmi(X) for X in blocks.values()) - 0.02


def test_the_auto_mix_is_anchored_on_the_sets_the_rule_picks(demo_dir, tmp_path):
    """Real demo descriptors: ``--mix all`` is built once the single sets are clustered, anchored
    on the rule's pick among them, which the compare stage then delivers; a mix that passes its
    anchor through is that set's clustering, not a second sweep; a mix with given weights is
    clustered beside the single sets."""
    from vehiclust import pipeline
    from vehiclust.compare import choose_single, compare_run
    from vehiclust.config import RunConfig

    sets = ("efficientnet-lite0", "osnet", "vehicle-attributes", "color-hist")
    cfg = RunConfig(descriptors={n: demo_dir / "descriptors" / f"{n}.pkl" for n in sets},
                    paths=demo_dir / "images_paths.csv", out=tmp_path, mixes=["osnet+color-hist", "all"],
                    progress=False, cache_dir=tmp_path / "cache")
    ctx = pipeline._stage_load(cfg)
    for stage in (pipeline._stage_prepare, pipeline._stage_mix, pipeline._stage_cluster):
        stage(ctx)
    mix = ctx.prepared["+".join(sets)].preparation
    anchor = choose_single(pipeline._candidates(ctx), random_state=ctx.seeds["compare"])
    weights = dict(zip(mix["blocks"], mix["weights"]))
    assert mix["anchor"] == anchor == max(weights, key=weights.get)
    if mix.get("passthrough") == anchor:
        np.testing.assert_array_equal(ctx.runs["+".join(sets)].labels, ctx.runs[anchor].labels)
    assert ctx.prepared["osnet+color-hist"].preparation["weights"] == [0.5, 0.5]  # given (equal) weights
    out = compare_run(pipeline._candidates(ctx), ctx.samples, measure_pixels=False, random_state=ctx.seeds["compare"])
    assert out.best == anchor and set(out.comparison["descriptor"]) == {*sets, "osnet+color-hist", "+".join(sets)}

