from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster import FAMILIES, FaissKMeans
from vehiclust.cluster._families import make_family
from vehiclust.cluster.dbscan import AutoEpsDBSCAN
from vehiclust.cluster.evidence import EvidenceAccumulation
from vehiclust.cluster.gmm import SampledGaussianMixture
from vehiclust.cluster.hdbscan import SampledHDBSCAN
from vehiclust.cluster.ward import MicroWard
from vehiclust.exceptions import InputError


def _params(family, k):
    fam = make_family(family)
    return fam, (fam.configs(600, [k])[1] if not fam.uses_k else {"k": k})


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_recovers_planted_clusters(family, blobs5):
    X, y = blobs5
    fam = make_family(family)
    configs = fam.configs(len(X), [5])
    best = max(adjusted_rand_score(y, fam.fit(X, p, 0).labels) for p in configs)
    assert best >= 0.95, f"{family} ARI {best:.3f}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_same_seed_same_labels(family, blobs5):
    X, _ = blobs5
    fam = make_family(family)
    params = fam.configs(len(X), [5])[0]
    a = fam.fit(X, params, 11).labels
    b = make_family(family).fit(X, params, 11).labels
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and a.shape == (len(X),) and (a >= 0).all()


@pytest.mark.parametrize("estimator", [
    lambda: FaissKMeans(5, random_state=0),
    lambda: SampledGaussianMixture(5, random_state=0, max_fit_samples=200),
    lambda: MicroWard(5, n_micro=100, random_state=0),
    lambda: EvidenceAccumulation(5, n_micro=100, random_state=0),
    lambda: SampledHDBSCAN(20, max_fit_samples=300, random_state=0),
    lambda: AutoEpsDBSCAN(10, max_fit_samples=300, random_state=0),
])
def test_sampled_fits_label_every_row(estimator, blobs5):
    """Fitting on a sample / on micro-clusters still labels every row consistently."""
    X, y = blobs5
    est = estimator().fit(X)
    assert est.labels_.shape == (len(X),)
    assert (est.labels_ >= 0).all()
    assert adjusted_rand_score(y, est.labels_) >= 0.95


def test_kmeans_predict_matches_labels_and_params_untouched(blobs5):
    X, _ = blobs5
    km = FaissKMeans(5, n_init=2, random_state=0)
    km.fit(X)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    assert km.n_clusters == 5 and km.cluster_centers_.shape == (5, 8) and km.inertia_ > 0


def test_microward_cut_at_every_k(blobs5):
    X, _ = blobs5
    mw = MicroWard(5, n_micro=60, random_state=0).fit(X)
    cuts = mw.labels_for_many([2, 5, 60])
    assert sorted(cuts) == [2, 5, 60]
    with pytest.raises(InputError, match="60 micro-clusters, so it cannot be cut into 61"):
        mw.labels_for_many([2, 61])  # a k the tree cannot give is an error, never silently dropped
    for k in (2, 5, 60):
        assert len(np.unique(cuts[k])) == k
    # nested: each k=5 cluster lies inside one k=2 cluster
    for c in np.unique(cuts[5]):
        assert len(np.unique(cuts[2][cuts[5] == c])) == 1


def test_evidence_accumulation_cuts_exactly_k_and_records_its_runs(blobs5):
    X, y = blobs5
    eac = EvidenceAccumulation(5, n_micro=80, base_k=(2, 12), runs_per_k=2, random_state=0).fit(X)
    assert eac.n_base_runs_ == 22
    C = eac.coassociation_
    assert C.shape == (80, 80) and np.allclose(np.diag(C), 1.0) and np.allclose(C, C.T)
    # micro-clusters of one planted blob are put together by most runs, of two blobs by few
    blob = np.array([np.bincount(y[eac.micro_labels_ == m]).argmax() for m in range(80)])
    same = blob[:, None] == blob[None, :]
    assert C[same].mean() > 0.6 > 0.2 > C[~same].mean()
    assert [len(np.unique(eac.tree_cuts_[:, j])) for j in (0, 40, 79)] == [80, 40, 1]
    cuts = eac.labels_for_many([2, 5, 40])
    assert sorted(cuts) == [2, 5, 40]
    with pytest.raises(InputError, match="cannot be cut into 81"):
        eac.labels_for_many([81])
    for k in (2, 5, 40):
        assert len(np.unique(cuts[k])) == k and cuts[k].shape == (len(X),)
    assert adjusted_rand_score(y, cuts[5]) >= 0.95


def test_evidence_accumulation_does_not_spend_a_cluster_on_outliers():
    """40 far rows form micro-clusters no base run puts with anything; a plain cut of the
    average-linkage tree at k = 5 keeps them as a cluster and merges two real blobs."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(2000, n_features=8, centers=5, cluster_std=1.0, center_box=(-6, 6), random_state=0)
    far = np.random.RandomState(0).randn(40, 8) * 8 + 30
    eac = EvidenceAccumulation(5, n_micro=200, random_state=0).fit(np.r_[X, far].astype(np.float32))
    m = eac.coassociation_.shape[0]
    plain = np.unique(eac.tree_cuts_[:, m - 5], return_inverse=True)[1][eac.micro_labels_]
    assert np.bincount(plain).min() == 40 and adjusted_rand_score(y, plain[:2000]) < 0.8
    assert adjusted_rand_score(y, eac.labels_[:2000]) >= 0.99
    assert len(np.unique(eac.labels_)) == 5 and np.bincount(eac.labels_).min() >= 400


def test_density_noise_is_flagged_and_assigned():
    rng = np.random.RandomState(0)
    X = np.r_[rng.randn(300, 4) * 0.2, rng.randn(300, 4) * 0.2 + 5, rng.uniform(-20, 20, (30, 4))].astype(np.float32)
    for est in (SampledHDBSCAN(20, random_state=0), AutoEpsDBSCAN(10, random_state=0)):
        est.fit(X)
        assert (est.labels_ >= 0).all()
        assert est.noise_mask_[600:].mean() > 0.8, type(est).__name__
        assert est.noise_mask_[:600].mean() < 0.1, type(est).__name__


@pytest.mark.parametrize("make, message", [
    (lambda: FaissKMeans(0), "n_clusters"),
    (lambda: FaissKMeans(1000), "n_clusters=1000"),
    (lambda: FaissKMeans(3, init="nope"), "init"),
    (lambda: SampledGaussianMixture(3, covariance_type="nope"), "covariance_type"),
    (lambda: MicroWard(3, n_micro=1), "n_micro"),
    (lambda: EvidenceAccumulation(3, n_micro=1), "n_micro"),
    (lambda: EvidenceAccumulation(3, base_k=(1, 10)), "base_k"),
    (lambda: EvidenceAccumulation(5000), "n_clusters=5000"),
    (lambda: SampledHDBSCAN(1), "min_cluster_size"),
    (lambda: AutoEpsDBSCAN(0), "min_samples"),
    (lambda: AutoEpsDBSCAN(5, eps=-1.0), "eps"),
])
def test_bad_parameters_raise_input_error(make, message, blobs5):
    X, _ = blobs5
    with pytest.raises(InputError, match=message):
        make().fit(X)


def test_kmeans_on_identical_points_does_not_crash():
    X = np.ones((50, 3), dtype=np.float32)
    km = FaissKMeans(3, random_state=0).fit(X)
    assert km.labels_.shape == (50,)


def test_evidence_accumulation_on_identical_points_is_quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eac = EvidenceAccumulation(2, random_state=0).fit(np.ones((50, 3), dtype=np.float32))
    assert eac.labels_.shape == (50,) and len(np.unique(eac.labels_)) == 2
