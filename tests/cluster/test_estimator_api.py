"""The family estimators are scikit-learn estimators: params stored unchanged, learned state with
a trailing underscore, `clone` + `get_params` round trip, a clone fits to the same labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster.dbscan import AutoEpsDBSCAN
from vehiclust.cluster.evidence import EvidenceAccumulation
from vehiclust.cluster.gmm import SampledGaussianMixture
from vehiclust.cluster.hdbscan import SampledHDBSCAN
from vehiclust.cluster.kmeans import FaissKMeans
from vehiclust.cluster.ward import MicroWard

# every estimator with parameters off their defaults (so a round trip that dropped one shows)
ESTIMATORS = [
    FaissKMeans(5, n_init=2, max_iter=15, max_train=400, init="random", random_state=3),
    SampledGaussianMixture(5, covariance_type="spherical", max_fit_samples=400, max_iter=50, reg_covar=1e-4,
                           random_state=3),
    SampledHDBSCAN(20, min_samples=5, max_fit_samples=500, n_components=4, random_state=3),
    AutoEpsDBSCAN(8, eps_scale=1.1, max_fit_samples=500, max_assign_cores=300, random_state=3),
    MicroWard(5, n_micro=60, micro_max_train=500, random_state=3),
    EvidenceAccumulation(5, n_micro=60, base_k=(2, 12), runs_per_k=2, micro_max_train=500, random_state=3),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_family_estimator_clones_and_refits_alike(est, blobs5):
    X, y = blobs5
    assert isinstance(est, BaseEstimator) and isinstance(est, ClusterMixin)
    params = est.get_params()
    assert vars(est) == params  # __init__ stores its parameters unchanged, nothing else
    twin = clone(est)
    assert type(twin) is type(est) and twin is not est
    assert twin.get_params() == params
    assert clone(twin.set_params(**params)).get_params() == params
    a = est.fit_predict(X)
    b = twin.fit(X).labels_
    np.testing.assert_array_equal(a, b)  # same parameters, same seed: the same labels
    assert adjusted_rand_score(y, a) > 0.9  # and they find the planted clusters
    learned = set(vars(est)) - set(params)
    assert learned and all(name.endswith("_") for name in learned), sorted(learned)
    assert est.get_params() == params  # fitting leaves the parameters as given
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(clone(est)))
