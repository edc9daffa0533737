from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import normalized_mutual_info_score

from vehiclust.compare import DescriptorMixer, build_mixes, mix_name, parse_mix_spec
from vehiclust.exceptions import InputError
from vehiclust.pipeline import PreparedSet

from .conftest import kmeans_labels


def _block_shares(Z: np.ndarray, dims: list[int]) -> np.ndarray:
    Zc = Z - Z.mean(axis=0)
    edges = np.cumsum([0, *dims])
    var = np.array([np.sum(Zc[:, a:b] ** 2) for a, b in zip(edges[:-1], edges[1:])])
    return var / var.sum()


@pytest.mark.parametrize("weights", [None, [1.0, 3.0], [5.0, 1.0]])
def test_blocks_contribute_by_weight_not_by_size(two_attribute_data, weights):
    """A 512-d block and a 16-d block 100x larger each get exactly their weight's share."""
    A, B = two_attribute_data["A"], two_attribute_data["B"]
    Z = DescriptorMixer(weights=weights, n_components=None).fit_transform([A, B])
    w = np.ones(2) if weights is None else np.asarray(weights)
    np.testing.assert_allclose(_block_shares(Z, [512, 16]), w / w.sum(), atol=1e-4)
    assert Z.dtype == np.float32


def test_mix_recovers_both_attributes_where_raw_concatenation_does_not(two_attribute_data):
    d = two_attribute_data
    joint = d["colour"] * 4 + d["type"]
    mixed = DescriptorMixer(n_components=32, random_state=0).fit_transform([d["A"], d["B"]])
    raw = np.hstack([d["A"], d["B"]])
    nmi_mix = normalized_mutual_info_score(joint, kmeans_labels(mixed, 12))
    nmi_raw_colour = normalized_mutual_info_score(d["colour"], kmeans_labels(raw, 12))
    assert nmi_mix > 0.95
    assert nmi_raw_colour < 0.2  # the big-scale 16-d block swamps colour in a raw concatenation


def test_mixer_follows_sklearn_conventions(two_attribute_data):
    A, B = two_attribute_data["A"], two_attribute_data["B"]
    mixer = DescriptorMixer(weights=(1, 2), n_components=16, random_state=3)
    assert mixer.fit([A, B]) is mixer
    assert clone(mixer).get_params() == mixer.get_params()
    np.testing.assert_allclose(mixer.transform([A, B]), DescriptorMixer(weights=(1, 2), n_components=16, random_state=3).fit_transform([A, B]), rtol=1e-4, atol=1e-5)
    assert mixer.summary()["block_dims"] == [512, 16]
    with pytest.raises(InputError, match="dimensions"):
        mixer.transform([B, A])


@pytest.mark.parametrize("weights, match", [([1.0], "2 positive"), ([1.0, 0.0], "positive"), ([1.0, np.nan], "positive")])
def test_mixer_rejects_bad_weights(two_attribute_data, weights, match):
    with pytest.raises(InputError, match=match):
        DescriptorMixer(weights=weights).fit([two_attribute_data["A"], two_attribute_data["B"]])


def test_mixer_edge_cases():
    same = np.ones((5, 3), np.float32)
    Z = DescriptorMixer(n_components=None).fit_transform([same, np.arange(10, dtype=np.float32).reshape(5, 2)])
    assert np.all(np.isfinite(Z)) and np.allclose(Z[:, :3], 0)
    one = DescriptorMixer(n_components=4).fit_transform([np.ones((1, 8), np.float32), np.zeros((1, 2), np.float32)])
    assert one.shape == (1, 10)
    with pytest.raises(InputError, match="at least 2"):
        DescriptorMixer().fit([same])
    with pytest.raises(InputError, match="same rows"):
        DescriptorMixer().fit([same, same[:3]])


@pytest.mark.parametrize("spec, expected", [("a+b", ["a", "b"]), (" b + c ", ["b", "c"]), ("all", ["a", "b", "c"]), ("ALL", ["a", "b", "c"])])
def test_parse_mix_spec(spec, expected):
    assert parse_mix_spec(spec, ["a", "b", "c"]) == expected


@pytest.mark.parametrize("spec, match", [("a+x", "not loaded"), ("a", "at least 2"), ("a+a", "twice"), ("a+", "not loaded")])
def test_parse_mix_spec_errors(spec, match):
    with pytest.raises(InputError, match=match):
        parse_mix_spec(spec, ["a", "b", "c"])


def _prepared(two_attribute_data):
    d = two_attribute_data
    n = len(d["A"])
    valid_b = np.ones(n, bool)
    valid_b[[0, 5, 9]] = False
    return {
        "A": PreparedSet("A", d["A"], np.ones(n, bool)),
        "B": PreparedSet("B", d["B"][valid_b], valid_b),
    }


def test_build_mixes_rows_names_and_determinism(two_attribute_data):
    prepared = _prepared(two_attribute_data)
    mixes = build_mixes(prepared, ["all", "A+B", "B+A"], random_state=0)
    assert [m.name for m in mixes] == ["A+B", "B+A"]  # "all" and "A+B" are the same mix
    m = mixes[0]
    assert m.valid.sum() == len(m.X) == len(two_attribute_data["A"]) - 3
    assert not m.valid[[0, 5, 9]].any()
    assert m.preparation["kind"] == "mix" and m.preparation["blocks"] == ["A", "B"]
    again = build_mixes(prepared, ["all"], random_state=0)[0]
    np.testing.assert_array_equal(m.X, again.X)
    assert mix_name(["A", "B"]) == "A+B"


def test_build_mixes_aligns_rows(two_attribute_data):
    """Input row 10 is row 10 of A but row 7 of B (3 invalid rows before it)."""
    d = two_attribute_data
    m = build_mixes(_prepared(d), ["A+B"], n_components=None)[0]
    keep = m.valid
    A, B = d["A"][keep], d["B"][keep]
    expected = DescriptorMixer(n_components=None).fit_transform([A, B])
    np.testing.assert_allclose(m.X, expected, rtol=1e-5, atol=1e-6)
    row = int(np.flatnonzero(keep).tolist().index(10))
    sA = 1 / np.sqrt(2 * np.mean(np.sum((A - A.mean(0)) ** 2, axis=1)))
    np.testing.assert_allclose(m.X[row, :512], (d["A"][10] - A.mean(0)) * sA, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("weights, match", [({"C": 1.0}, "not loaded"), ({"A": -1.0}, "positive")])
def test_build_mixes_rejects_bad_weights(two_attribute_data, weights, match):
    with pytest.raises(InputError, match=match):
        build_mixes(_prepared(two_attribute_data), ["all"], weights=weights)


def test_build_mix_weight_changes_shares(two_attribute_data):
    prepared = _prepared(two_attribute_data)
    m = build_mixes(prepared, ["all"], weights={"A": 3.0}, n_components=None)[0]
    np.testing.assert_allclose(_block_shares(m.X, [512, 16]), [0.75, 0.25], atol=1e-4)


def test_a_mix_whose_other_blocks_are_negligible_is_its_heaviest_block(two_attribute_data):
    from vehiclust.assign.model import mixer_from_state, mixer_state

    d = two_attribute_data
    blocks = [d["A"], d["B"]]
    through = DescriptorMixer(weights=[0.98, 0.02], n_components=8, random_state=0, passthrough_share=0.05)
    Z = through.fit_transform(blocks)
    assert through.passthrough_ == 0 and through.summary()["passthrough_block"] == 0
    np.testing.assert_array_equal(Z, d["A"])  # unchanged: no centring, scaling or PCA
    np.testing.assert_array_equal(through.transform(blocks), d["A"])
    # saved for `vehiclust assign`: new rows land in the block's own space
    np.testing.assert_array_equal(mixer_from_state(mixer_state(through)).transform(blocks), d["A"])
    # a block above the share, or no share given: a real mix, also after the round trip
    for mixer in (DescriptorMixer(weights=[0.9, 0.1], n_components=8, random_state=0, passthrough_share=0.05),
                  DescriptorMixer(weights=[0.98, 0.02], n_components=8, random_state=0)):
        Z = mixer.fit_transform(blocks)
        assert mixer.passthrough_ is None and Z.shape[1] == 8
        np.testing.assert_allclose(mixer_from_state(mixer_state(mixer)).transform(blocks), Z, atol=1e-4)
    with pytest.raises(InputError, match="passthrough_share"):
        DescriptorMixer(passthrough_share=1.0).fit(blocks)


def test_a_given_anchor_leads_the_auto_mix_and_its_twin_keeps_the_floor(two_attribute_data):
    from vehiclust.compare import auto_weights
    from vehiclust.compare._mix import FLOOR

    d = two_attribute_data
    rng = np.random.default_rng(3)
    twin = d["B"] + rng.normal(0, 1.0, d["B"].shape).astype(np.float32)  # B seen by a second, noisier model
    blocks = [d["A"], d["B"], twin]
    for anchor in (0, 1):
        w = auto_weights(blocks, random_state=0, anchor=anchor)
        assert np.argmax(w) == anchor and np.isclose(w.sum(), 1.0)
    w = auto_weights(blocks, random_state=0, anchor=1)
    assert w[2] <= FLOOR * w[1] * 1.0001  # B's twin repeats B's view: the floor only
    with pytest.raises(InputError, match="anchor"):
        auto_weights(blocks, random_state=0, anchor=3)


def test_build_mixes_anchors_auto_mixes_only_on_a_set_they_hold(two_attribute_data):
    prepared = _prepared(two_attribute_data)
    for anchor in ("A", "B"):
        m = build_mixes(prepared, ["all"], random_state=0, anchor=anchor)[0]
        weights = dict(zip(m.preparation["blocks"], m.preparation["weights"]))
        assert max(weights, key=weights.get) == anchor and m.preparation["anchor"] == anchor
    given = build_mixes(prepared, ["all"], weights={"A": 1.0}, random_state=0, anchor="B")[0]
    assert "anchor" not in given.preparation  # given weights are the user's: never re-anchored
    elsewhere = build_mixes(prepared, ["all"], random_state=0, anchor="C")[0]
    assert "anchor" not in elsewhere.preparation
