"""Assigning rows to a saved run: the run's own rows come back, held-out rows spread like the run's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from typer.testing import CliRunner

from tests.assign.conftest import load_part
from vehiclust.assign import RunAssigner, SetModel, assign_rows, psi
from vehiclust.exceptions import InputError
from vehiclust.results import RunResults


def _purity(clusters: np.ndarray, types: np.ndarray) -> dict[int, tuple[str, float, int]]:
    """cluster -> (its majority type, that type's share, rows)."""
    out = {}
    for c in np.unique(clusters[clusters >= 0]):
        t, n = np.unique(types[clusters == c], return_counts=True)
        out[int(c)] = (str(t[n.argmax()]), float(n.max() / n.sum()), int(n.sum()))
    return out


def test_every_set_saves_a_versioned_model(demo_run):
    res = RunResults.load(demo_run["run_dir"])
    kinds = {}
    for name in res.descriptors:
        meta = json.loads((demo_run["run_dir"] / "descriptors" / name / "model.json").read_text())
        assert meta["format"] == "vehiclust-assign-model" and meta["version"] == 1
        kinds[name] = meta["kind"]
    assert sorted(kinds.values()) == ["consensus", "mix", "single", "single"]
    assert res.best in kinds


def test_own_rows_come_back_with_their_labels_and_flags(any_demo_run):
    """Every set of the run, whatever its family (k-means, Leiden, EAC, Ward, the consensus)."""
    from vehiclust.assign.model import placement_rule

    demo_run = any_demo_run
    res = RunResults.load(demo_run["run_dir"])
    train = load_part(demo_run["split"], "train")
    for name, run in res.descriptors.items():
        model = SetModel.load(demo_run["run_dir"] / "descriptors" / name)
        if model.kind != "consensus":  # each family's own rule
            a = model.arrays
            micro = ((a["micro_centres"], a["micro_labels"]) if "micro_centres" in a else
                     (a["coassoc_centres"], a["coassoc_starts"], a["coassoc_labels"]) if "coassoc_centres" in a else None)
            assert model.info["rule"] == placement_rule(run.chosen["family"], micro), name
        new = assign_rows(res, train, res.samples["path"], descriptor_set=name)
        old = run.table(res.samples["path"])
        assert (new["cluster"].to_numpy() == old["cluster"].to_numpy()).mean() >= 0.99, name
        assert (new["cluster_name"].to_numpy() == old["cluster_name"].to_numpy()).mean() >= 0.99, name
        assert (new["is_outlier"].to_numpy() == old["is_outlier"].to_numpy()).mean() >= 0.995, name
        same_reason = new["outlier_reasons"].to_numpy() == old["outlier_reasons"].to_numpy()
        assert same_reason.mean() >= 0.99, name


def test_held_out_rows_spread_like_the_run(any_demo_run):
    demo_run = any_demo_run
    res = RunResults.load(demo_run["run_dir"])
    test = load_part(demo_run["split"], "test")
    types = demo_run["types"]
    train_types, test_types = types[demo_run["masks"]["train"]], types[demo_run["masks"]["test"]]
    new = assign_rows(res, test)
    old = res.clusters_table()
    ids = np.unique(old["cluster"][old["cluster"] >= 0])
    then = np.array([(old["cluster"] == c).mean() for c in ids])
    now = np.array([(new["cluster"] == c).mean() for c in ids])
    assert psi(then, now).sum() < 0.1
    # purity scored afterwards with the labels: each cluster's run-majority type, on the new rows
    run_purity = _purity(old["cluster"].to_numpy(), train_types)
    new_clusters = new["cluster"].to_numpy()
    weighted_then = weighted_now = 0.0
    for c, (kind, share, size) in run_purity.items():
        members = test_types[new_clusters == c]
        weighted_then += share * size / len(old)
        weighted_now += np.sum(members == kind) / len(new)
        if len(members) < 10:  # too few held-out rows to measure a share
            continue
        # within 0.1, or a gap a cluster's few held-out rows make by chance (binomial test at 1 %;
        # on this split one cluster goes 0.67 -> 0.51 over 37 rows: p = 0.05)
        hits = int(np.sum(members == kind))
        gap = abs(hits / len(members) - share)
        assert gap <= 0.1 or binomtest(hits, len(members), share).pvalue >= 0.01, (c, kind, share, hits, len(members))
    assert abs(weighted_now - weighted_then) <= 0.05


def test_predict_refuses_mismatched_input(demo_run):
    test = load_part(demo_run["split"], "test")
    assigner = RunAssigner(demo_run["run_dir"], "osnet")
    with pytest.raises(InputError, match="columns but the run's 'osnet' was fitted on 512"):
        assigner.predict({"osnet": test["osnet"][:, :100]})
    with pytest.raises(InputError, match="needs descriptor sets"):
        RunAssigner(demo_run["run_dir"]).predict({"osnet": test["osnet"]})
    with pytest.raises(InputError, match="no descriptor set 'nope'"):
        RunAssigner(demo_run["run_dir"], "nope")


def test_invalid_rows_are_unassigned_outliers(demo_run):
    test = load_part(demo_run["split"], "test")
    X = test["osnet"].copy()
    X[:3, 0] = np.nan
    assigner = RunAssigner(demo_run["run_dir"], "osnet")
    placement = assigner.predict({"osnet": X})
    table = assigner.clusters_table(placement, pd.Series(range(len(X))))
    assert (table["cluster"][:3] == -1).all() and table["is_outlier"][:3].all()
    assert (table["outlier_reasons"][:3] == "invalid_descriptor").all()
    assert (table["cluster"][3:] >= 0).all()


def test_old_run_without_model_is_refused(demo_run, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(demo_run["run_dir"], old, ignore=shutil.ignore_patterns("model.*", ".cache"))
    with pytest.raises(InputError, match="holds no assignment model"):
        RunAssigner(old)
    model = SetModel.load(demo_run["run_dir"] / "descriptors" / "osnet")
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    meta["version"] = 99
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="version 99"):
        SetModel.load(tmp_path / "m")


def test_cli_assign_writes_the_contract_and_errors_in_one_line(demo_run, tmp_path):
    from vehiclust.cli import app
    from vehiclust.results import CLUSTERS_COLUMNS

    split = demo_run["split"]
    args = ["assign", str(demo_run["run_dir"]), "-d", f"osnet={split / 'test-osnet.pkl'}",
            "-d", f"vehicle-attributes={split / 'test-vehicle-attributes.pkl'}", "-p", str(split / "test_paths.csv")]
    res = CliRunner().invoke(app, ["-q", *args, "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "out" / "clusters.csv")
    assert list(table.columns[:len(CLUSTERS_COLUMNS)]) == CLUSTERS_COLUMNS
    assert len(table) == len(pd.read_csv(split / "test_paths.csv"))
    run_names = set(pd.read_csv(demo_run["run_dir"] / "clusters.csv")["cluster_name"])
    assert set(table["cluster_name"]) <= run_names | {"unassigned"}
    for f in ("drift.csv", "drift.json", "drift.html"):
        assert (tmp_path / "out" / f).is_file()
    # --set osnet: the run's own pick may not read osnet at all (the best set is chosen by the rule)
    bad = CliRunner().invoke(app, ["-q", "assign", str(demo_run["run_dir"]), "--set", "osnet",
                                   "-d", f"osnet={split / 'test-vehicle-attributes.pkl'}",
                                   "-d", f"vehicle-attributes={split / 'test-vehicle-attributes.pkl'}",
                                   "-p", str(split / "test_paths.csv"), "-o", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert "fitted on 512" in bad.output and "Traceback" not in bad.output


def test_glosh_and_twins_score_new_rows_like_the_run(demo_run_graph):
    """GLOSH (HDBSCAN's approximate_predict on the run's condensed tree) and descriptor twins
    against the run's rows: the run's own rows get their GLOSH back; a new row that copies a
    run row is a near duplicate of that run image; rows unlike any vehicle score higher."""
    res = RunResults.load(demo_run_graph["run_dir"])
    name = "osnet"
    model = SetModel.load(demo_run_graph["run_dir"] / "descriptors" / name)
    assert "glosh" in model.info["outliers"]["detectors"]
    train = load_part(demo_run_graph["split"], "train")
    assigner = RunAssigner(demo_run_graph["run_dir"], name)
    back = assigner.predict(train).outliers
    own = res.descriptors[name].outliers
    np.testing.assert_allclose(back["glosh_outlierness"].to_numpy(float), own["glosh_outlierness"].to_numpy(float), atol=1e-5)
    test = load_part(demo_run_graph["split"], "test")
    rng = np.random.default_rng(2)
    odd = {n: np.array([rng.permutation(r) for r in X[:60]], np.float32) for n, X in test.items()}
    held = assigner.predict({n: X[:200] for n, X in test.items()}).outliers
    weird = assigner.predict(odd).outliers
    assert weird["glosh_outlierness"].median() > held["glosh_outlierness"].median()
    assert weird["is_outlier"].mean() > 2 * held["is_outlier"].mean()
    # a copy of a run image (a new frame of the same vehicle) is its duplicate
    # (an exact copy is the run's row itself, given back: it keeps that row's flags)
    copy = {n: X[:5] + rng.normal(0, 0.01, X[:5].shape).astype(np.float32) * X.std(axis=0) for n, X in train.items()}
    dup = assigner.predict(copy).outliers
    assert dup["is_outlier"].all() and dup["outlier_reasons"].str.contains("near_duplicate").all()
    assert list(dup["duplicate_of"]) == list(res.samples["path"][:5])


@pytest.mark.shared
def test_cli_assign_with_images_checks_the_new_images(demo_run, shared_dir, tmp_path):
    """--images: the run's image checks on the new images (a truncated file is unreadable, a road
    scene with no vehicle is flagged no_vehicle), in the outlier reasons of clusters.csv."""
    import pickle
    import shutil

    from vehiclust.cli import app

    root = tmp_path / "root"
    shutil.copytree(demo_run["demo"] / "images", root / "images")
    (root / "images" / "truncated.jpg").write_bytes((root / "images" / "bike" / "bike12.jpg").read_bytes()[:2000])
    extra = ["images\\truncated.jpg"]
    road = sorted((shared_dir / "data" / "vehicles-udacity" / "non-vehicles" / "Extras").glob("*.png"))[:1]
    if road:
        shutil.copy(road[0], root / "images" / "road.png")
        extra.append("images\\road.png")
    split = demo_run["split"]
    paths = pd.read_csv(split / "test_paths.csv").iloc[:10]
    col = paths.columns[0]
    pd.concat([paths, pd.DataFrame({col: extra})], ignore_index=True).to_csv(tmp_path / "paths.csv", index=False)
    args = ["-q", "assign", str(demo_run["run_dir"]), "-p", str(tmp_path / "paths.csv"), "--images", str(root),
            "-o", str(tmp_path / "out")]
    for name, X in load_part(split, "test").items():  # descriptors of held-out vehicles for every row
        with open(tmp_path / f"{name}.pkl", "wb") as fh:
            pickle.dump(X[:len(paths) + len(extra)], fh)
        args += ["-d", f"{name}={tmp_path / f'{name}.pkl'}"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "out" / "clusters.csv", keep_default_na=False)
    bad = table.set_index("path").loc[[p.replace("\\", "/") for p in extra]]
    assert bad["is_outlier"].all()
    assert "unreadable" in bad["outlier_reasons"].iloc[0]
    if road:  # its descriptors are a vehicle's here: the image check alone names it a new kind
        assert "no_vehicle" in bad["outlier_reasons"].iloc[1]
        assert bool(bad["new_kind"].iloc[1])
    assert table["outlier_reasons"].iloc[:10].str.contains("unreadable|no_vehicle").sum() == 0
