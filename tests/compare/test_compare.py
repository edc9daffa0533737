from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust.compare import (
    Candidate,
    agreement_matrices,
    attribute_alignment,
    build_mixes,
    choose_best,
    compare_candidates,
    compare_run,
    correlation_ratio,
    cosine_silhouette,
    make_consensus,
    neighbourhood_overlap,
    rank_candidates,
    sphere_davies_bouldin,
    stability,
)
from vehiclust.compare._agreement import CATEGORICAL, CONTINUOUS
from vehiclust.exceptions import InputError
from vehiclust.pipeline import PreparedSet
from vehiclust.results import RunResults

from .conftest import kmeans_labels


@pytest.fixture(scope="module")
def candidates(two_attribute_data):
    d = two_attribute_data
    n = len(d["A"])
    valid = np.ones(n, bool)
    prepared = {"A": PreparedSet("A", d["A"], valid), "B": PreparedSet("B", d["B"], valid)}
    mix = build_mixes(prepared, ["all"], random_state=0)[0]
    out = [Candidate("A", d["A"], valid, kmeans_labels(d["A"], 3), chosen={"family": "kmeans", "params": "k=3"}),
           Candidate("B", d["B"], valid, kmeans_labels(d["B"], 4), chosen={"family": "kmeans", "params": "k=4"}),
           Candidate(mix.name, mix.X, mix.valid, kmeans_labels(mix.X, 12), kind="mix")]
    out.append(make_consensus(out, lambda X: (kmeans_labels(X, 12), {"family": "kmeans", "params": "k=12"}, None), random_state=0))
    return out


def test_sets_encoding_different_attributes_are_told_apart(two_attribute_data, candidates):
    d = two_attribute_data
    labels = {c.name: c.labels for c in candidates}
    attrs = pd.DataFrame({"colour": d["samples"]["colour"], "type": d["samples"]["type"]})
    table = attribute_alignment(labels, attrs, {"colour": CATEGORICAL, "type": CATEGORICAL})
    assert table.loc["A", "colour"] > 0.95 and table.loc["A", "type"] < 0.05
    assert table.loc["B", "type"] > 0.95 and table.loc["B", "colour"] < 0.05
    assert table.loc["A+B", "colour"] > 0.9 and table.loc["A+B", "type"] > 0.9
    ari, nmi = agreement_matrices(labels)
    assert abs(ari.loc["A", "B"]) < 0.05 and nmi.loc["A", "B"] < 0.05
    assert ari.loc["A", "A"] == 1.0 and np.allclose(ari.to_numpy(), ari.to_numpy().T)
    overlap = neighbourhood_overlap({c.name: (c.X, c.valid) for c in candidates[:3]}, k=10, random_state=0)
    assert overlap.loc["A", "B"] < 0.15
    assert overlap.loc["A", "A+B"] > overlap.loc["A", "B"]


def test_comparison_table(two_attribute_data, candidates):
    truth = two_attribute_data["samples"][["colour", "type"]]
    table = compare_candidates(candidates, truth, n_resamples=3, random_state=0, progress=False)
    assert table["descriptor"].tolist() == ["A", "B", "A+B", "consensus"]
    assert table["n_clusters"].tolist() == [3, 4, 12, 12]
    assert table.loc[0, "configuration"] == "kmeans(k=3)"
    for col in ("silhouette", "davies_bouldin", "silhouette_common", "stability", "nmi_type", "ari_colour"):
        assert table[col].notna().all(), col
    assert (table["stability"] > 0.9).all()
    # the mix beats both single sets on NMI with each attribute it did not encode alone
    by = table.set_index("descriptor")
    assert by.loc["A+B", "nmi_type"] > by.loc["A", "nmi_type"] + 0.5
    assert by.loc["A+B", "nmi_colour"] > by.loc["B", "nmi_colour"] + 0.5
    again = compare_candidates(candidates, truth, n_resamples=3, random_state=0, progress=False)
    pd.testing.assert_frame_equal(table, again)


def test_best_choice_ignores_labels(two_attribute_data, candidates):
    truth = two_attribute_data["samples"][["colour", "type"]]
    with_labels = compare_candidates(candidates, truth, n_resamples=2, random_state=0, progress=False)
    without = compare_candidates(candidates, None, n_resamples=2, random_state=0, progress=False)
    shuffled = truth.sample(frac=1, random_state=1).reset_index(drop=True)
    permuted = compare_candidates(candidates, shuffled, n_resamples=2, random_state=0, progress=False)
    assert not any(c.startswith("nmi_") for c in without.columns)
    choices = {choose_best(t) for t in (with_labels, without, permuted)}
    assert len(choices) == 1
    # rewriting every label score leaves the choice alone
    tampered = with_labels.copy()
    for col in [c for c in tampered if c.startswith(("nmi_", "ari_"))]:
        tampered[col] = np.where(tampered["descriptor"] == "A", 1.0, 0.0)
    assert choose_best(tampered) == choose_best(with_labels)


def _table(**cols):
    base = {"descriptor": ["x", "y", "z"], "n_clusters": [5, 5, 5], "noise_share": [0.0, 0.0, 0.0],
            "silhouette": [0.3, 0.2, 0.1], "davies_bouldin": [1.0, 1.5, 2.0],
            "silhouette_common": [0.3, 0.2, 0.1], "stability": [0.9, 0.8, 0.7]}
    base.update(cols)
    return pd.DataFrame(base)


@pytest.mark.parametrize("cols, best", [
    ({}, "x"),
    ({"n_clusters": [1, 5, 5]}, "y"),  # one cluster: not eligible
    ({"noise_share": [0.6, 0.0, 0.0]}, "y"),  # mostly noise: not eligible
    ({"davies_bouldin": [3.0, 1.5, 2.0], "stability": [0.5, 0.95, 0.7]}, "y"),
    ({"silhouette": [np.nan, 0.2, 0.1], "silhouette_common": [np.nan, 0.2, 0.1]}, "y"),
    ({"silhouette": [0.3, 0.3, 0.1], "davies_bouldin": [1.0, 1.0, 2.0], "silhouette_common": [0.3, 0.3, 0.1], "stability": [0.8, 0.9, 0.7]}, "y"),
])
def test_selection_rule(cols, best):
    name, reason = choose_best(_table(**cols))
    assert name == best
    assert "labels were not used" in reason


def test_selection_rule_fallback_and_errors():
    with pytest.warns(UserWarning, match="No candidate is eligible"):
        name, _ = choose_best(_table(n_clusters=[1, 1, 1]))
    assert name == "x"
    with pytest.raises(InputError, match="lacks the columns"):
        rank_candidates(pd.DataFrame({"descriptor": ["x"]}))
    ranked = rank_candidates(_table(n_clusters=[1, 5, 5]))
    assert ranked["eligible"].tolist() == [False, True, True]
    assert np.isnan(ranked.loc[0, "selection_rank"]) and ranked.loc[1, "selection_rank"] == 1.0


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_internal_scores_are_scale_free(two_attribute_data, scale):
    d = two_attribute_data
    lab = d["type"]
    ref_s = cosine_silhouette(d["B"], lab, random_state=0)
    ref_db = sphere_davies_bouldin(d["B"], lab, random_state=0)
    assert cosine_silhouette(d["B"] * scale, lab, random_state=0) == pytest.approx(ref_s, rel=1e-4)
    assert sphere_davies_bouldin(d["B"] * scale, lab, random_state=0) == pytest.approx(ref_db, rel=1e-4)


def test_scores_edge_cases(two_attribute_data):
    X = two_attribute_data["B"]
    one = np.zeros(len(X), int)
    assert np.isnan(cosine_silhouette(X, one)) and np.isnan(sphere_davies_bouldin(X, one))
    assert np.isnan(stability(X, one))
    assert np.isnan(cosine_silhouette(X[:3], np.array([0, 1, 2])))
    noise = np.full(len(X), -1)
    assert np.isnan(cosine_silhouette(X, noise))
    with pytest.raises(InputError, match="fraction"):
        stability(X, two_attribute_data["type"], fraction=1.5)


def test_stability_separates_stable_from_arbitrary_splits(two_attribute_data):
    X = two_attribute_data["B"]
    assert stability(X, two_attribute_data["type"], random_state=0) > 0.95
    rng = np.random.default_rng(0)
    blob = rng.normal(size=(600, 8)).astype(np.float32)
    assert stability(blob, kmeans_labels(blob, 9), random_state=0) < 0.9


def test_correlation_ratio():
    labels = np.array([0, 0, 1, 1, -1])
    values = np.array([1.0, 1.0, 3.0, 3.0, 100.0])
    assert correlation_ratio(labels, values) == pytest.approx(1.0)
    assert correlation_ratio(labels, np.array([1.0, 3.0, 1.0, 3.0, 0.0])) == pytest.approx(0.0)
    assert np.isnan(correlation_ratio(labels, np.full(5, 2.0)))


def test_candidate_checks(two_attribute_data):
    d = two_attribute_data
    valid = np.ones(len(d["A"]), bool)
    with pytest.raises(InputError, match="unique"):
        compare_candidates([Candidate("A", d["A"], valid, d["colour"])] * 2)
    with pytest.raises(InputError, match="rows are valid"):
        compare_candidates([Candidate("A", d["A"][:10], valid, d["colour"])])
    with pytest.raises(InputError, match="kind"):
        compare_candidates([Candidate("A", d["A"], valid, d["colour"], kind="other")])


def test_compare_run_writes_figures_and_tables(tmp_path, two_attribute_data, candidates):
    samples = two_attribute_data["samples"]
    heads = pd.DataFrame({"path": samples["path"][::-1].to_numpy(),
                          "type_car": (samples["type"] == "car").to_numpy()[::-1].astype(float),
                          "type_bus": (samples["type"] != "car").to_numpy()[::-1].astype(float),
                          "score": np.linspace(0, 1, len(samples))})
    heads.to_csv(tmp_path / "heads.csv", index=False)
    out = compare_run(candidates, samples, tmp_path, heads={"attr": tmp_path / "heads.csv"}, n_resamples=2,
                      random_state=0, progress=False)
    assert out.best in out.comparison["descriptor"].tolist()
    assert list(out.attribute_alignment.columns) == ["label:colour", "label:type", "head:attr:type", "head:attr:score"]
    # the head's type (car vs not car, rows in reverse order, joined by path) follows set B
    assert out.attribute_alignment.loc["B", "head:attr:type"] > 0.5 > out.attribute_alignment.loc["A", "head:attr:type"]
    assert "consensus" not in out.neighbourhood_overlap.index
    for rel in out.artifacts.values():
        assert (tmp_path / rel).is_file() and (tmp_path / rel).stat().st_size > 0
    assert sum(k.startswith("compare_contingency_") for k in out.artifacts) == len(candidates) - 1


def test_common_space_is_a_balanced_mix_on_a_row_subset(candidates):
    from vehiclust.compare import common_space

    X, valid = common_space(candidates, n_components=None, max_rows=100, random_state=0)
    assert valid.sum() == 100 and X.shape == (100, 512 + 16)
    X2, valid2 = common_space(candidates, n_components=None, max_rows=100, random_state=0)
    np.testing.assert_array_equal(valid, valid2)
    assert common_space([c for c in candidates if c.kind != "single"]) is None
    single, v = common_space(candidates[:1])
    assert single is candidates[0].X


def test_overlap_rejects_bad_k(candidates):
    with pytest.raises(InputError, match="'k'"):
        neighbourhood_overlap({c.name: (c.X, c.valid) for c in candidates[:2]}, k=0)
