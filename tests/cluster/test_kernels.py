from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster._kernels import cut_merges, knee_index, weighted_ward_merges


@pytest.mark.parametrize("n, d", [(2, 3), (50, 2), (200, 7)])
def test_unit_weight_ward_matches_scipy(n, d):
    X = np.random.RandomState(n).randn(n, d)
    merges, costs = weighted_ward_merges(X, np.ones(n))
    Z = linkage(X, "ward")
    np.testing.assert_allclose(np.sort(np.sqrt(2 * costs)), Z[:, 2], rtol=1e-9, atol=1e-12)
    for k in {1, 2, min(5, n)}:
        cut = cut_merges(merges, n, [k])[k]
        assert len(np.unique(cut)) == k
        assert adjusted_rand_score(cut, fcluster(Z, k, "maxclust")) == pytest.approx(1.0)


def test_weights_equal_duplicated_points():
    """A weight-w point merges like w identical copies of it (Ward's criterion on groups)."""
    rng = np.random.RandomState(1)
    C = rng.randn(30, 3)
    w = rng.randint(1, 4, 30)
    merges, costs = weighted_ward_merges(C, w)
    cut = cut_merges(merges, 30, [4])[4]
    X = np.repeat(C, w, axis=0)
    owner = np.repeat(np.arange(30), w)
    Z = linkage(X, "ward")
    ref = fcluster(Z, 4, "maxclust")
    assert adjusted_rand_score(cut[owner], ref) == pytest.approx(1.0)


def test_single_point_has_no_merges():
    merges, costs = weighted_ward_merges(np.zeros((1, 2)), np.ones(1))
    assert merges.shape == (0, 2) and costs.size == 0


def test_knee_of_hockey_stick():
    curve = np.r_[np.linspace(0, 1, 80), np.linspace(1, 20, 20)]
    assert 75 <= knee_index(curve) <= 82
    assert knee_index(np.ones(10)) == 5
