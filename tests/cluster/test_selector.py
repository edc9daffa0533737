from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from vehiclust.cluster import ClusterSelector, plot_selection_curves
from vehiclust.cluster.selector import SELECTION_COLUMNS
from vehiclust.exceptions import InputError

FAST = dict(n_stability=2, stability_sample=400, silhouette_sample=400, progress=False)


@pytest.mark.parametrize("families", [("kmeans",), ("gmm",), ("ward",), ("kmeans", "ward", "hdbscan", "dbscan")])
def test_picks_true_k_inside_grid(families, blobs5):
    X, y = blobs5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no boundary warning expected
        sel = ClusterSelector(families=families, k_min=2, k_max=10, random_state=0, **FAST).fit(X)
    assert sel.n_clusters_ == 5
    assert sel.best_["n_clusters"] == 5
    assert sel.best_["note"] == ""
    assert adjusted_rand_score(y, sel.labels_) >= 0.95


def test_selection_table_contract(blobs5):
    X, _ = blobs5
    sel = ClusterSelector(families=("kmeans", "hdbscan"), k_min=2, k_max=6, random_state=0, **FAST).fit(X)
    t = sel.selection_
    assert list(t.columns[: len(SELECTION_COLUMNS)]) == SELECTION_COLUMNS
    assert {"eligible", "score", "rank", "chosen", "note"} <= set(t.columns)
    assert t["chosen"].sum() == 1 and sorted(t["rank"]) == list(range(1, len(t) + 1))
    assert (t.loc[t.family == "kmeans", "k"].tolist()) == [2, 3, 4, 5, 6]
    ok = t["n_clusters"] >= 2
    assert (t.loc[ok, "silhouette_ci_low"] <= t.loc[ok, "silhouette_sample"]).all()
    assert (t.loc[ok, "silhouette_sample"] <= t.loc[ok, "silhouette_ci_high"]).all()
    assert t["fit_seconds"].ge(0).all()
    pd.testing.assert_series_equal(pd.Series(sel.best_, dtype=object), t[t.chosen].iloc[0].astype(object), check_names=False)
    assert {"eligible", "elbow", "candidate", "explained_variance", "silhouette_excess"} <= set(t.columns)
    assert sel.labels_.dtype == np.int64 and sel.noise_mask_.shape == sel.labels_.shape
    assert sel.cluster_centers_.shape == (sel.n_clusters_, X.shape[1])
    c0 = np.unique(sel.labels_)[0]
    np.testing.assert_allclose(sel.cluster_centers_[0], X[sel.labels_ == c0].mean(0), rtol=1e-5, atol=1e-5)


def test_same_seed_same_labels_and_table(blobs5):
    X, _ = blobs5
    a = ClusterSelector(families=("kmeans", "gmm", "ward"), k_min=3, k_max=7, random_state=7, **FAST).fit(X)
    b = ClusterSelector(families=("kmeans", "gmm", "ward"), k_min=3, k_max=7, random_state=7, **FAST).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    cols = [c for c in a.selection_.columns if c != "fit_seconds"]
    pd.testing.assert_frame_equal(a.selection_[cols], b.selection_[cols])


def test_chosen_labels_reproduce_the_scored_metrics(blobs5):
    """The final refit gives the very labels whose metrics the table holds."""
    from vehiclust.cluster import calinski_harabasz

    X, _ = blobs5
    sel = ClusterSelector(families=("gmm",), k_min=4, k_max=6, random_state=1, **FAST).fit(X)
    assert calinski_harabasz(X, sel.labels_) == pytest.approx(sel.best_["calinski_harabasz"])


def test_boundary_choice_is_noted_and_warned():
    X, _ = make_blobs(500, n_features=6, centers=9, cluster_std=0.4, center_box=(-15, 15), random_state=2)
    with pytest.warns(UserWarning, match="boundary of the k grid"):
        sel = ClusterSelector(families=("kmeans",), k_min=2, k_max=4, random_state=0, **FAST).fit(X.astype(np.float32))
    assert "boundary" in sel.best_["note"]
    assert sel.selection_.loc[sel.selection_.chosen, "note"].str.contains("boundary").all()


def test_tiny_input_cuts_the_grid():
    X = np.random.RandomState(0).randn(6, 3).astype(np.float32)
    with pytest.warns(UserWarning, match="k grid cut to 5"):
        sel = ClusterSelector(families=("kmeans", "ward"), k_min=2, k_max=40, random_state=0, **FAST).fit(X)
    assert sel.selection_["k"].max() == 5 and sel.labels_.shape == (6,)


def test_identical_points_do_not_crash():
    X = np.ones((40, 4), dtype=np.float32)
    with pytest.warns(UserWarning):
        sel = ClusterSelector(families=("kmeans", "dbscan"), k_min=2, k_max=4, random_state=0, **FAST).fit(X)
    assert sel.labels_.shape == (40,)


@pytest.mark.parametrize("kwargs, message", [
    (dict(families=("kmeans", "spectral")), "unknown \\['spectral'\\]"),
    (dict(families=()), "at least one"),
    (dict(k_min=1), "'k_min'"),
    (dict(k_min=8, k_max=4), "k_min <= k_max"),
])
def test_bad_parameters(kwargs, message, blobs5):
    X, _ = blobs5
    with pytest.raises(InputError, match=message):
        ClusterSelector(**{**FAST, **kwargs}).fit(X)


def test_too_few_rows():
    with pytest.raises(InputError, match="at least 3 rows"):
        ClusterSelector(**FAST).fit(np.zeros((2, 3), dtype=np.float32))


def test_params_stored_unchanged():
    sel = ClusterSelector(families=["kmeans"], k_min=3, k_max=9, random_state=4)
    assert sel.families == ["kmeans"] and sel.k_min == 3 and sel.k_max == 9 and sel.random_state == 4


def test_plot_selection_curves(tmp_path, blobs5):
    X, _ = blobs5
    sel = ClusterSelector(families=("kmeans", "hdbscan"), k_min=2, k_max=6, random_state=0, **FAST).fit(X)
    out = plot_selection_curves(sel.selection_, tmp_path / "sub" / "curves.png")
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    with pytest.raises(InputError, match="n_clusters"):
        plot_selection_curves(pd.DataFrame({"family": ["kmeans"]}), tmp_path / "x.png")


def test_stability_refits_only_where_the_rule_can_take_the_configuration(blobs5):
    """Refits are paid for candidates only; each measured value is the one an eager sweep gives."""
    X, y = blobs5
    sel = ClusterSelector(families=("kmeans", "gmm", "leiden"), k_min=2, k_max=10, random_state=0, **FAST).fit(X)
    t = sel.selection_
    assert t.loc[t["candidate"] | t["chosen"], "stability"].notna().all()
    assert t["stability"].notna().sum() < len(t) / 2  # most of the sweep is never put forward
    best = sel.best_
    fam = sel._families([best["family"]], None)[best["family"]]
    params = sel.params_by_config_[int(best["config_id"])]
    eager = sel._stability(np.ascontiguousarray(X, dtype=np.float32), fam, params, sel.labels_, 0)
    assert best["stability"] == pytest.approx(eager)
    assert adjusted_rand_score(y, sel.labels_) >= 0.95
