"""A configuration a family cannot give is recorded in the selection table; the sweep goes on."""

from __future__ import annotations

import numpy as np
import pytest

from vehiclust.cluster import ClusterSelector
from vehiclust.cluster.evidence import EvidenceAccumulation
from vehiclust.cluster.ward import MicroWard
from vehiclust.exceptions import InputError


def _few_points(n: int = 900, distinct: int = 12, d: int = 6, seed: int = 0) -> np.ndarray:
    """Rows that repeat a few points, like the consensus embedding (one point per micro-cluster)."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(distinct, d)).astype(np.float32) * 4
    return points[rng.integers(0, distinct, n)]


@pytest.mark.parametrize("tree", [MicroWard, EvidenceAccumulation])
def test_tree_gives_every_k_or_says_it_cannot(tree):
    X = _few_points(distinct=12)
    est = tree(2, n_micro=50, random_state=0).fit(X)
    m = int(est.micro_labels_.max()) + 1
    cuts = est.labels_for_many(list(range(1, m + 1)))
    assert sorted(cuts) == list(range(1, m + 1))
    for k, labels in cuts.items():
        assert len(np.unique(labels)) == k
    with pytest.raises(InputError, match=f"cannot be cut into {m + 1} clusters"):
        est.labels_for_many([2, m + 1])


def test_default_families_on_subsamples_short_of_micro_clusters():
    """Past 1,000 rows the trees stand on k-means micro-clusters; rows that repeat 10 points leave
    only ~10 non-empty ones, so k > 10 cannot be cut: those rows record the error."""
    X = _few_points(n=2400, distinct=10)
    sel = ClusterSelector(k_min=2, k_max=14, n_stability=2, stability_sample=1200, random_state=0, progress=False)
    sel.fit(X)
    table = sel.selection_
    assert "error" in table.columns
    failed = table[table["error"] != ""]
    assert len(failed) > 0
    assert set(failed["family"]) <= {"ward", "eac", "kmeans", "gmm", "hdbscan", "dbscan"}
    assert failed["error"].str.contains("cannot be cut into").any()
    assert not failed["chosen"].any() and not failed["eligible"].any()
    # the sweep went on: every family still has rows without error, one configuration chosen
    assert table["chosen"].sum() == 1
    assert table.loc[table["chosen"], "error"].iloc[0] == ""
    assert set(table.loc[table["error"] == "", "family"]) == set(table["family"])
    assert sel.labels_.shape == (len(X),) and (sel.labels_ >= 0).all()
    assert table["config_id"].tolist() == list(range(len(table)))


def test_every_configuration_failing_is_one_clear_error(monkeypatch):
    from vehiclust.cluster import _families

    def broken(self, X, params, seed):
        raise RuntimeError("boom")

    monkeypatch.setattr(_families.KMeansFamily, "fit", broken)
    with pytest.raises(InputError, match="every configuration failed; the first: RuntimeError: boom"):
        ClusterSelector(families=("kmeans",), k_min=2, k_max=4, random_state=0, progress=False).fit(_few_points())


def test_compare_stability_is_unknown_when_a_refit_fails():
    from vehiclust.compare import stability

    X = _few_points(n=600, distinct=10)
    labels = np.arange(600) % 3

    def refit(X, k):
        raise InputError("the tree has 2 micro-clusters")

    assert np.isnan(stability(X, labels, refit, n_resamples=2, random_state=0))
