"""Descriptor-space detectors: planted outliers, references, thresholds, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

from vehiclust.exceptions import InputError
from vehiclust.outliers import (
    DETECTORS,
    ClusterDistanceDetector,
    GLOSHDetector,
    IsolationForestDetector,
    KNNDistanceDetector,
    LOFDetector,
    OutlierEnsemble,
    calibrate,
    knn_graph,
    local_outlier_factor,
    robust_threshold,
)
from vehiclust.outliers._glosh import glosh_scores


def blobs_with_outliers(seed: int = 0, n_per: int = 200, d: int = 8, n_out: int = 12):
    rng = np.random.default_rng(seed)
    centres = np.array([np.full(d, c) for c in (0.0, 8.0, 16.0)])
    X = np.vstack([rng.normal(c, 1.0, (n_per, d)) for c in centres])
    labels = np.repeat(np.arange(3), n_per)
    out = rng.uniform(-12, 28, (n_out, d))
    X = np.vstack([X, out]).astype(np.float32)
    y = np.r_[np.zeros(3 * n_per), np.ones(n_out)]
    labels = np.r_[labels, np.full(n_out, -1)]
    return X, y, labels


@pytest.mark.parametrize("cls", [KNNDistanceDetector, LOFDetector, IsolationForestDetector, GLOSHDetector, ClusterDistanceDetector])
def test_detector_finds_planted_outliers(cls):
    X, y, labels = blobs_with_outliers()
    det = cls()
    det.fit(X, labels) if cls is ClusterDistanceDetector else det.fit(X)
    assert det.decision_scores_.shape == (len(X),)
    assert roc_auc_score(y, det.decision_scores_) > 0.97
    flagged = det.labels_.astype(bool)
    # data-driven cut: catches most planted rows, flags few others
    assert flagged[y == 1].mean() >= 0.75
    assert flagged[y == 0].mean() <= 0.03
    # calibrated outlierness: 0.5 exactly separates flagged from not flagged
    assert np.array_equal(det.outlierness_ > 0.5, flagged)
    assert det.outlierness_.min() >= 0 and det.outlierness_.max() <= 1


@pytest.mark.parametrize("cls", [KNNDistanceDetector, LOFDetector, IsolationForestDetector, GLOSHDetector])
def test_same_seed_same_scores(cls):
    X, _, _ = blobs_with_outliers(seed=3)
    a = cls().fit(X).decision_scores_
    b = cls().fit(X).decision_scores_
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("contamination", [0.01, 0.05, 0.2])
def test_contamination_forces_share(contamination):
    X, _, _ = blobs_with_outliers()
    det = KNNDistanceDetector(contamination=contamination).fit(X)
    assert det.labels_.sum() == pytest.approx(contamination * len(X), abs=1.5)


def test_knn_graph_matches_brute_force():
    X, _, _ = blobs_with_outliers(d=5)
    g = knn_graph(X, 7)
    nn = NearestNeighbors(n_neighbors=8).fit(X)
    dist, _ = nn.kneighbors(X)
    np.testing.assert_allclose(g.distances, dist[:, 1:], rtol=1e-4, atol=1e-4)
    assert not (g.indices == np.arange(len(X))[:, None]).any()


def test_knn_graph_reference_path_searches_the_sample_exactly():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 8)).astype(np.float32)
    g = knn_graph(X, 5, exact_max_rows=100, reference_size=400, random_state=3)
    assert g.reference is not None and len(g.reference) == 400
    assert np.isin(g.indices, g.reference).all()
    assert not (g.indices == np.arange(len(X))[:, None]).any()
    # the same neighbours as a brute-force search of the reference rows (self excluded)
    nn = NearestNeighbors(n_neighbors=6).fit(X[g.reference])
    dist, idx = nn.kneighbors(X)
    own = np.isin(np.arange(len(X)), g.reference)
    expected = np.where(own[:, None], dist[:, 1:], dist[:, :5])
    close = np.isclose(g.distances, expected, rtol=1e-4, atol=1e-4).all(axis=1)
    assert close.all()  # an exact search of the sample
    # same seed, same sample and graph
    g2 = knn_graph(X, 5, exact_max_rows=100, reference_size=400, random_state=3)
    np.testing.assert_array_equal(g.indices, g2.indices)


@pytest.mark.parametrize("cls", [KNNDistanceDetector, LOFDetector])
def test_reference_graph_still_finds_planted_outliers(cls):
    X, y, _ = blobs_with_outliers(n_per=400)
    g = knn_graph(X, 10, exact_max_rows=100, reference_size=300, random_state=0)
    det = cls(n_neighbors=10).fit(X, graph=g)
    assert roc_auc_score(y, det.decision_scores_) > 0.97


def test_lof_matches_scikit_learn():
    X, _, _ = blobs_with_outliers(d=4)
    ours = local_outlier_factor(knn_graph(X, 10))
    ref = -LocalOutlierFactor(n_neighbors=10).fit(X).negative_outlier_factor_
    np.testing.assert_allclose(ours, ref, rtol=1e-3)


def test_glosh_scores_on_handmade_tree():
    # root 3 holds points 0,1 at lambda 2 and cluster 4 at lambda 1; cluster 4 holds point 2 at lambda 4
    tree = np.array(
        [(3, 0, 2.0, 1), (3, 1, 1.0, 1), (3, 4, 1.0, 1), (4, 2, 4.0, 1)],
        dtype=[("parent", np.int64), ("child", np.int64), ("lambda_val", np.float64), ("child_size", np.int64)],
    )
    # deaths: cluster 4 = 4, root = max(2, 1, 4) = 4
    np.testing.assert_allclose(glosh_scores(tree, 3), [0.5, 0.75, 0.0])


def test_cluster_distance_uses_given_centres_and_scales_per_cluster():
    rng = np.random.default_rng(0)
    tight = rng.normal(0, 0.1, (100, 2))
    loose = rng.normal(10, 2.0, (100, 2))
    X = np.vstack([tight, loose, [[1.0, 1.0]]]).astype(np.float32)  # 1.0 from the tight centre
    labels = np.r_[np.zeros(100), np.ones(100), [0]].astype(int)
    det = ClusterDistanceDetector(centers=np.array([[0, 0], [10, 10]], np.float32)).fit(X, labels)
    assert det.labels_[-1] == 1  # far for the tight cluster, though closer than loose members
    assert det.labels_[100:200].sum() <= 3


@pytest.mark.parametrize("cls", list(DETECTORS.values()))
def test_edge_cases_one_point_and_identical_points(cls):
    one = np.zeros((1, 4), np.float32)
    same = np.ones((30, 4), np.float32)
    for X in (one, same):
        det = cls().fit(X)
        assert det.labels_.sum() == 0
        assert np.isfinite(det.decision_scores_).all()


def test_bad_parameters_raise_project_errors():
    X = np.zeros((5, 2), np.float32)
    with pytest.raises(InputError, match="n_neighbors"):
        KNNDistanceDetector(n_neighbors=0).fit(X)
    with pytest.raises(InputError, match="contamination"):
        IsolationForestDetector(contamination=0.9).fit(X)
    with pytest.raises(InputError, match="detectors"):
        OutlierEnsemble(detectors=("knn", "nope")).fit(X)


def test_robust_threshold_and_calibrate():
    s = np.r_[np.zeros(50), np.ones(50), [100.0]]
    t = robust_threshold(s)
    assert 1 < t < 100
    o = calibrate(s, t)
    assert o[-1] > 0.99 and (o[:-1] < 0.5).all()
    assert robust_threshold(np.full(10, 3.0)) == 3.0  # nothing strictly above identical scores
    assert robust_threshold(np.array([])) == np.inf


def test_ensemble_dense_abnormal_group_is_found_with_reasons():
    """A small tight group apart from the bulk: neighbourhood scores miss it, the ensemble must not."""
    rng = np.random.default_rng(0)
    bulk = rng.normal(0, 1, (1000, 16))
    group = rng.normal(0, 0.05, (40, 16)) + 4.0  # dense among themselves
    X = np.vstack([bulk, group]).astype(np.float32)
    y = np.r_[np.zeros(1000), np.ones(40)]
    ens = OutlierEnsemble(random_state=0).fit(X, np.zeros(len(X), int))
    assert roc_auc_score(y, ens.decision_scores_) > 0.95
    flagged = ens.labels_.astype(bool)
    assert flagged[y == 1].mean() > 0.8
    assert flagged[y == 0].mean() < 0.05
    reasons = set(";".join(ens.reasons_[flagged]).split(";"))
    assert reasons & {"isolated", "far_from_cluster"}
    assert (ens.reasons_[~flagged] == "").all()
    assert list(ens.scores_.columns) == [f"{n}_outlierness" for n in ("knn", "lof", "iforest", "glosh", "cluster_distance")]


def test_ensemble_same_seed_same_output_and_contamination():
    X, _, labels = blobs_with_outliers(seed=5)
    a = OutlierEnsemble(random_state=7).fit(X, labels)
    b = OutlierEnsemble(random_state=7).fit(X, labels)
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    np.testing.assert_array_equal(a.reasons_, b.reasons_)
    forced = OutlierEnsemble(contamination=0.1, random_state=7).fit(X, labels)
    assert forced.labels_.sum() == pytest.approx(0.1 * len(X), abs=2)
    assert np.array_equal(forced.outlierness_ > 0.5, forced.labels_.astype(bool))


def test_glosh_skipped_above_max_rows():
    X, _, _ = blobs_with_outliers()
    det = GLOSHDetector(max_rows=10).fit(X)
    assert not det.available_
    ens = OutlierEnsemble(glosh_max_rows=10).fit(X)
    assert "glosh_outlierness" not in ens.scores_
