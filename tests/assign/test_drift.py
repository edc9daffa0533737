"""The drift report: a fresh draw of the same data shows none; a new kind of image is named."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from tests.assign.conftest import load_part
from vehiclust.assign import RunAssigner, drift_summary, drift_table, write_drift_report


def _drift(run_dir, descriptors, out=None):
    assigner = RunAssigner(run_dir)
    placement = assigner.predict(descriptors)
    table = assigner.clusters_table(placement, pd.Series(range(len(placement.labels))))
    drift = drift_table(assigner.models[assigner.name_], table, assigner.results_.descriptors[assigner.name_].cluster_names())
    summary = write_drift_report(drift, out, set_name=assigner.name_) if out else drift_summary(drift)
    return table, drift, summary


def test_fresh_draw_of_the_same_data_reports_no_drift(any_demo_run, tmp_path):
    demo_run = any_demo_run
    test = load_part(demo_run["split"], "test")
    _, drift, summary = _drift(demo_run["run_dir"], test, tmp_path)
    assert summary["psi"] < 0.1 and summary["shift"] == "none"
    assert not summary["new_kind"] and summary["new_kind_share"] < 0.05
    assert summary["sentence"].startswith("No drift")
    assert (drift["cluster"] == -1).sum() == 1
    assert np.isclose(drift["run_share"][drift["cluster"] >= 0].sum(), 1.0)
    on_disk = pd.read_csv(tmp_path / "drift.csv")
    assert list(on_disk.columns[:4]) == ["cluster", "cluster_name", "run_rows", "run_share"]
    assert "No drift" in (tmp_path / "drift.html").read_text()


def test_a_new_kind_of_image_is_named(any_demo_run, tmp_path):
    """Held-out rows plus 25 % rows unlike any vehicle (descriptors of another kind of input:
    the run's rows with their features shuffled across columns, so every marginal value is
    realistic but the pattern is not)."""
    demo_run = any_demo_run
    test = load_part(demo_run["split"], "test")
    rng = np.random.default_rng(1)
    n_new = len(test["osnet"]) // 3
    pick = rng.choice(len(test["osnet"]), n_new, replace=False)
    mixed = {}
    for name, X in test.items():
        odd = np.array([rng.permutation(row) for row in X[pick]], dtype=np.float32)
        mixed[name] = np.vstack([X, odd])
    table, drift, summary = _drift(demo_run["run_dir"], mixed, tmp_path)
    is_new = np.r_[np.zeros(len(test["osnet"]), bool), np.ones(n_new, bool)]
    found = table["new_kind"].to_numpy()
    assert summary["new_kind"]
    assert abs(summary["new_kind_share"] - is_new.mean()) < 0.1
    assert found[is_new].mean() > 0.8 and found[~is_new].mean() < 0.05
    # the affected clusters are where the new rows landed
    landed = pd.Series(table["cluster"][is_new & found]).value_counts()
    assert summary["affected_clusters"] and summary["affected_clusters"][0] == int(landed.index[0])
    assert "fit no cluster" in summary["sentence"]
    assert json.loads((tmp_path / "drift.json").read_text())["new_kind"] is True


def test_one_kind_only_shifts_the_shares(demo_run):
    """A day with only one vehicle type (like a night-only camera): PSI names the shift."""
    test = load_part(demo_run["split"], "test")
    types = demo_run["types"][demo_run["masks"]["test"]]
    only = types == "bike"
    _, drift, summary = _drift(demo_run["run_dir"], {n: X[only] for n, X in test.items()})
    assert summary["psi"] > 0.25 and summary["shift"] == "major"
    top = drift[drift["cluster"] >= 0].sort_values("new_share").iloc[-1]
    assert int(top["cluster"]) in summary["shifted_clusters"]
    assert f"cluster {int(top['cluster'])}" in summary["sentence"].lower()  # first in the sentence: "Cluster"


@pytest.fixture(scope="module")
def road_scenes(models_dir, shared_dir, tmp_path_factory) -> dict[str, np.ndarray]:
    """60 real road-scene crops with no vehicle (Udacity non-vehicles), described by the same
    extractors as the demo."""
    from typer.testing import CliRunner

    from vehiclust.cli import app

    tmp = tmp_path_factory.mktemp("road")
    root = shared_dir / "data" / "vehicles-udacity" / "non-vehicles" / "Extras"
    names = sorted(p.name for p in root.glob("*.png"))[:60]
    pd.DataFrame({"paths": names}).to_csv(tmp / "paths.csv", index=False)
    road = {}
    patch = pytest.MonkeyPatch()
    patch.setenv("VEHICLUST_MODELS", str(models_dir))  # as the with_models fixture, once per module
    for model in ("osnet", "vehicle-attributes"):
        res = CliRunner().invoke(app, ["-q", "extract", "--paths", str(tmp / "paths.csv"), "--images", str(root),
                                       "--model", model, "--out", str(tmp / f"{model}.pkl")])
        assert res.exit_code == 0, res.output
        with open(tmp / f"{model}.pkl", "rb") as fh:
            road[model] = np.asarray(pickle.load(fh), np.float32)
    patch.undo()
    return road


@pytest.mark.shared
def test_real_road_scenes_are_a_new_kind(any_demo_run, road_scenes):
    """The road scenes mixed into the held-out vehicles (two splits, two sets of families): most
    are named a new kind (far from the clusters, from the run's rows, or off the run's PCA
    subspace), the affected clusters are named, and most are outliers."""
    test = load_part(any_demo_run["split"], "test")
    mixed = {n: np.vstack([X, road_scenes[n]]) for n, X in test.items()}
    is_road = np.r_[np.zeros(len(test["osnet"]), bool), np.ones(len(road_scenes["osnet"]), bool)]
    table, drift, summary = _drift(any_demo_run["run_dir"], mixed)
    found = table["new_kind"].to_numpy()
    # far from every cluster alone: 47-67 %; with the distance to the run's rows and off the
    # run's PCA subspace: 66-100 % on every set of the demo splits (vehicle-attributes 66-88 %,
    # the others 87-100 %) with cuts that call ~1 % of fresh vehicles a new kind (docs/assign.md)
    assert found[is_road].mean() >= 0.7 and found[~is_road].mean() <= 0.05
    assert summary["new_kind"] and summary["affected_clusters"]
    assert summary["new_kind_share"] >= 5 * 0.01  # the run's own rows: 1 % by construction
    assert "fit no cluster" in summary["sentence"] and "outliers rose" in summary["sentence"]
    assert table["is_outlier"].to_numpy()[is_road].mean() >= 0.6
