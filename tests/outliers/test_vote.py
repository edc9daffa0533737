"""The consensus clustering's outlier table: the same columns and meaning as every set's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import MiniBatchKMeans

from vehiclust.outliers import OutlierEnsemble, majority_outliers, outlier_table
from vehiclust.results import DescriptorRun

from .test_kinds import _prepared

SETS = ("efficientnet-lite0", "osnet", "vehicle-attributes")


@pytest.fixture(scope="module")
def demo_tables() -> tuple[list[pd.DataFrame], pd.DataFrame]:
    tables = []
    for name in SETS:
        X, samples = _prepared(name)
        labels = MiniBatchKMeans(8, n_init=3, random_state=0).fit_predict(X)
        ens = OutlierEnsemble(random_state=0).fit(X, labels)
        tables.append(outlier_table(len(X), np.ones(len(X), bool), ens, paths=samples["path_given"]))
    return tables, samples


def test_consensus_has_every_sets_columns_and_kinds(demo_tables):
    tables, samples = demo_tables
    valid = np.ones(len(samples), bool)
    valid[5] = False  # a row no set assigned
    vote = majority_outliers(tables, valid)
    for col in ("is_outlier", "outlier_kind", "outlier_score", "outlier_reasons", "duplicate_of", "twin_similarity",
                "descriptor_outlierness"):
        assert col in vote, col
    flags = np.column_stack([t["is_outlier"] for t in tables])
    assert np.array_equal(vote["is_outlier"].to_numpy(), ~valid | (flags.sum(axis=1) >= 2))
    assert ((vote["outlier_kind"] != "") == vote["is_outlier"]).all()
    assert vote.loc[5, "outlier_kind"] == "problem" and vote.loc[5, "outlier_score"] == 1.0
    assert vote.loc[5, "outlier_reasons"].startswith("unassigned_in_every_set")
    # the byte-identical copy of the demo is a problem with its twin's path as given
    copy = samples["path"].tolist().index("images/truck/truck653.jpg")
    assert vote.loc[copy, "outlier_kind"] == "problem"
    assert vote.loc[copy, "duplicate_of"] == samples["path_given"].iloc[samples["path"].tolist().index("images/truck/truck1.jpg")]
    assert "near_duplicate" in vote.loc[copy, "outlier_reasons"].split(";")
    # rare: flagged by most sets, only as rare; the score passes 0.5 where most sets' scores do
    rare = (vote["outlier_kind"] == "rare").to_numpy()
    assert rare.any()
    scores = np.column_stack([t["outlier_score"] for t in tables])
    assert np.array_equal(vote.loc[valid, "outlier_score"].to_numpy() > 0.5, ((scores > 0.5).sum(axis=1) >= 2)[valid])
    # descriptor flags plus image problems stay within 5 % of these clean vehicles
    assert vote["is_outlier"].mean() <= 0.05


def test_consensus_table_writes_like_a_set(demo_tables):
    tables, samples = demo_tables
    vote = majority_outliers(tables, np.ones(len(samples), bool))
    run = DescriptorRun(name="consensus", labels=np.zeros(len(samples), np.int64), selection=pd.DataFrame(), chosen={},
                        outliers=vote)
    table = run.table(samples["path_given"], samples["path"])
    dup = table["duplicate_of"] != ""
    assert dup.any() and set(table.loc[dup, "duplicate_of"]) <= set(samples["path_given"])


def test_saturated_probabilities_name_no_twins():
    """11 colour/type probabilities, mostly one-hot: nearly every row has a 0.95-similar
    neighbour, so similarity cannot tell twins from look-alikes; a real set keeps its twins."""
    from vehiclust.neighbors import knn_graph
    from vehiclust.outliers import descriptor_twins

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(11, 0.05), 2000).astype(np.float32)
    ind = knn_graph(probs, 10, random_state=0).indices
    assert (descriptor_twins(probs, ind, 0.95, None)[0] >= 0).mean() > 0.5
    assert (descriptor_twins(probs, ind)[0] < 0).all()
    X, _ = _prepared("efficientnet-lite0")
    twins, _ = descriptor_twins(X, knn_graph(X, 10, random_state=0).indices)
    assert 0 < (twins >= 0).sum() <= 0.05 * len(X)
