"""The saved state reproduces the fitted objects it was taken from (no pipeline needed)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from vehiclust.assign import psi
from vehiclust.assign._forest import export_forest, forest_scores
from vehiclust.assign.assign import combination_labels
from vehiclust.assign.model import mixer_from_state, mixer_state, preparation_state, preparer_from_state
from vehiclust.compare import DescriptorMixer
from vehiclust.prepare import DescriptorPreparer


@pytest.mark.parametrize("max_samples", [7, 64, 256])
def test_exported_forest_scores_like_scikit_learn(max_samples):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(400, 12)), rng.normal(6, 1, size=(10, 12))]).astype(np.float32)
    forest = IsolationForest(n_estimators=40, max_samples=max_samples, random_state=0).fit(X)
    new = rng.normal(size=(300, 12)).astype(np.float32) * 2
    np.testing.assert_allclose(forest_scores(export_forest(forest), new), -forest.score_samples(new), rtol=1e-10)


def test_preparer_state_round_trip():
    rng = np.random.default_rng(1)
    X = np.abs(rng.normal(size=(500, 40))).astype(np.float32)
    prep = DescriptorPreparer(n_components=8, whiten=0.5, columns=np.arange(1, 40), random_state=0).fit(X)
    back = preparer_from_state(preparation_state(prep))
    np.testing.assert_array_equal(back.transform(X), prep.transform(X))


def test_mixer_state_places_fitted_rows_where_the_fit_put_them():
    rng = np.random.default_rng(2)
    blocks = [rng.normal(size=(300, 30)).astype(np.float32), rng.normal(size=(300, 20)).astype(np.float32)]
    mixer = DescriptorMixer(n_components=16, random_state=0)
    Z = mixer.fit_transform(blocks)
    np.testing.assert_allclose(mixer_from_state(mixer_state(mixer)).transform(blocks), Z, atol=1e-5)


def test_unseen_label_combination_takes_the_closest_seen_one():
    combos = np.array([[0, 0, 0], [1, 1, 1], [0, 1, 1]])
    labels = combination_labels(combos, np.array([5, 6, 7]), np.array([10, 10, 1]),
                                np.array([[0, 0, 0], [1, 1, 0], [0, 1, 1], [2, 2, 2]]))
    assert labels[:3].tolist() == [5, 6, 7]
    assert labels[3] == 5  # no set agrees: the largest micro-cluster first


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    then = np.array([0.25, 0.25, 0.5])
    assert psi(then, then).sum() == 0
    assert 0 < psi(then, np.array([0.3, 0.2, 0.5])).sum() < psi(then, np.array([0.6, 0.1, 0.3])).sum()


@pytest.mark.parametrize("family", ["eac", "ward"])
def test_micro_cluster_families_place_rows_by_their_micro_clusters(family):
    """Above 1,000 rows EAC and Ward label micro-clusters: the model finds them again with the
    family's tree seed and a new row takes its nearest micro-cluster's cluster."""
    from vehiclust.assign.assign import place_in_space
    from vehiclust.assign.model import build_set_model, tree_seed
    from vehiclust.cluster import FAMILIES

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, size=(5, 8))
    X = (centres[rng.integers(0, 5, 2500)] + rng.normal(size=(2500, 8))).astype(np.float32)
    selector = type("Sel", (), {"random_state": 11})()
    seed = tree_seed(family, selector)
    fam = FAMILIES[family]()
    labels = np.asarray(fam.fit(X, {"k": 5}, seed).labels, np.int64)
    model = build_set_model("s", "mix", X, np.ones(len(X), bool), labels, family, None, None, tree_seed=seed)
    assert model.info["rule"] == "micro" and len(model.arrays["micro_centres"]) == 1000
    near = X + rng.normal(0, 0.01, X.shape).astype(np.float32)  # not the rows themselves
    placed = place_in_space(model, near, np.ones(len(X), bool))
    assert np.mean(placed.labels == labels) >= 0.99
    # an unknown seed (a resumed run): the family's fallback rule, still close
    other = build_set_model("s", "mix", X, np.ones(len(X), bool), labels, family, None, None, tree_seed=None)
    assert other.info["rule"] == {"eac": "centre", "ward": "ward"}[family]


def test_small_eac_runs_place_rows_by_their_base_runs():
    """Up to 1,000 rows every row is its own EAC micro-cluster: the model draws the EAC base
    k-means runs again with the tree seed, checks their tree cuts to the run's labels, and a new
    row joins the cluster of the run row those runs put it with most often. Near copies of the
    rows come back to their clusters; an unknown seed falls back to the nearest centre."""
    from vehiclust.assign.assign import place_in_space
    from vehiclust.assign.model import build_set_model, tree_seed
    from vehiclust.cluster import FAMILIES

    rng = np.random.default_rng(3)
    centres = rng.normal(0, 3, size=(4, 6))
    X = (centres[rng.integers(0, 4, 300)] + rng.normal(size=(300, 6))).astype(np.float32)
    seed = tree_seed("eac", type("Sel", (), {"random_state": 5})())
    labels = np.asarray(FAMILIES["eac"]().fit(X, {"k": 4}, seed).labels, np.int64)
    model = build_set_model("s", "mix", X, np.ones(len(X), bool), labels, "eac", None, None, tree_seed=seed)
    assert model.info["rule"] == "coassoc"
    assert model.arrays["coassoc_labels"].shape == (300, 39)  # k = 2..40 base runs
    near = X + rng.normal(0, 0.01, X.shape).astype(np.float32)
    placed = place_in_space(model, near, np.ones(len(X), bool))
    assert np.mean(placed.labels == labels) >= 0.98
    unknown = build_set_model("s", "mix", X, np.ones(len(X), bool), labels, "eac", None, None, tree_seed=None)
    assert unknown.info["rule"] == "centre"


def test_rows_off_the_runs_pca_subspace_are_a_new_kind():
    """The residual cut is measured on rows the PCA was not fitted on: fresh rows of the run's
    kind stay under it (about 1 %), rows of another kind (other directions) are past it."""
    from vehiclust.assign.model import preparation_state, residual_norms
    from vehiclust.prepare import DescriptorPreparer

    rng = np.random.default_rng(4)
    basis = np.linalg.qr(rng.normal(size=(96, 96)))[0]

    def draw(n, dims):  # strong signal in `dims` directions, weak noise everywhere
        return ((rng.normal(size=(n, 12)) * 3) @ basis[dims] + rng.normal(0, 0.3, (n, 96))).astype(np.float32)
    run = draw(2000, slice(0, 12))
    prep = DescriptorPreparer(whiten=False, n_components=16, l2_normalize=False, random_state=0).fit(run)
    state = preparation_state(prep, run, np.ones(len(run), bool), seed=0)
    cut = float(state["prep_residual_cut"][0])
    in_sample = residual_norms(state, run) / cut
    fresh = residual_norms(state, draw(2000, slice(0, 12))) / cut
    other = residual_norms(state, draw(200, slice(40, 52))) / cut
    assert np.mean(in_sample > 1) < 0.01  # the run's own rows sit closer to its own PCA
    assert np.mean(fresh > 1) < 0.025
    assert np.mean(other > 1) > 0.95


def test_fresh_rows_are_a_new_kind_about_one_time_in_a_hundred():
    """The new-kind cuts are the 99th percentile of rows the preparation was not fitted on
    (cross-fitted): about 1 % of a fresh draw of the run's kind is past them, rows of another
    kind nearly all."""
    from sklearn.cluster import KMeans

    from vehiclust.assign.assign import place_in_space
    from vehiclust.assign.model import build_set_model, residual_norms

    rng = np.random.default_rng(5)
    centres = rng.normal(0, 1.5, (6, 200))

    def draw(n, shift=0.0):  # six kinds, heavy-tailed spread, most of it in the first directions
        X = centres[rng.integers(0, 6, n)] + rng.standard_t(4, size=(n, 200)) * np.linspace(1.0, 0.2, 200)
        return (X + shift * rng.normal(size=200)).astype(np.float32)

    run = draw(600)
    prep = DescriptorPreparer(n_components=48, whiten=0.5, l2_normalize=False, random_state=0)
    X = prep.fit_transform(run)
    state = preparation_state(prep, run, np.ones(len(run), bool), seed=0)
    assert {"prep_far_factor", "prep_residual_cut"} <= set(state)
    labels = KMeans(6, n_init=3, random_state=0).fit_predict(X)
    model = build_set_model("s", "single", X, np.ones(len(X), bool), labels, "kmeans", None, None, prep_state=state)

    def new_kind(rows):
        off = residual_norms(state, rows) / float(state["prep_residual_cut"][0])
        return place_in_space(model, preparer_from_state(state).transform(rows), np.ones(len(rows), bool),
                              off_space=off, far_factor=float(state["prep_far_factor"][0])).far.mean()

    assert 0.003 <= new_kind(draw(3000)) <= 0.02
    assert new_kind(draw(200, shift=4.0)) >= 0.95


def test_consensus_embedding_is_found_again_and_places_unseen_combinations():
    """The saved co-association vectors put the run's rows where the consensus embedding put them
    (same cosines), and a combination the run never saw takes the cluster of the nearest seen one."""
    from vehiclust.assign.model import consensus_embed, consensus_vectors
    from vehiclust.compare import consensus_embedding

    rng = np.random.default_rng(0)
    base = rng.integers(0, 6, 2000)
    singles = {f"s{i}": np.where(rng.random(2000) < 0.85, base * (i + 1) % 7, rng.integers(0, 7, 2000)) for i in range(4)}
    singles["s0"][:5] = -1
    U, valid, _ = consensus_embedding(singles, random_state=3)
    arrays = consensus_vectors(singles, seed=8)
    combos = np.stack(list(singles.values()), axis=1)
    E = consensus_embed(arrays, combos[valid])
    assert np.abs(U @ U.T - E @ E.T).max() < 1e-3
    seen = np.unique(combos, axis=0)
    kind = np.array([np.bincount(base[(combos == c).all(axis=1)]).argmax() for c in seen])  # the rows' base kind
    unseen = np.array([[b * (i + 1) % 7 for i in range(4)] for b in range(6)])
    unseen[:, 0] = -1  # one set says nothing: still placed with its base kind's rows
    unseen = np.array([u for u in unseen if not (seen == u).all(axis=1).any()])
    got = combination_labels(seen, kind, np.ones(len(seen), np.int64), unseen, arrays)
    want = [next(b for b in range(6) if all(u[1:] == [b * (i + 1) % 7 for i in range(1, 4)])) for u in unseen]
    assert got.tolist() == want
