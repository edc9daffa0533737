"""End to end: case-format input → every output of the contract, in-process and via the CLI."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from vehiclust.cli import app
from vehiclust.config import RunConfig
from vehiclust.pipeline import run
from vehiclust.results import CLUSTERS_COLUMNS, RunResults

N = 600


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """Two descriptor sets sharing 4 planted clusters, case format, with 3 NaN rows."""
    d = tmp_path_factory.mktemp("case")
    X, y = make_blobs(n_samples=N, centers=4, n_features=24, cluster_std=0.6, random_state=0)
    rng = np.random.default_rng(0)
    a = (X @ rng.standard_normal((24, 64))).astype(np.float32)
    b = (X @ rng.standard_normal((24, 16))).astype(np.float64)  # float64: cast and noted
    a[[5, 50, 500]] = np.nan
    (d / "a.pickle").write_bytes(pickle.dumps(a))
    (d / "b.pickle").write_bytes(pickle.dumps(b))
    paths = [f"veriwild\\{i // 100}\\{i:05d}.jpg" for i in range(N)]
    pd.DataFrame({"paths": paths}).to_csv(d / "images_paths.csv", index=False)
    pd.DataFrame({"path": [p.replace("\\", "/") for p in paths], "truth": y}).to_csv(d / "labels.csv", index=False)
    return d, y


def _config(d, out, **kw):
    return RunConfig(
        descriptors={"a": d / "a.pickle", "b": d / "b.pickle"}, paths=d / "images_paths.csv",
        labels=d / "labels.csv", out=out, seed=3, families=("kmeans",), k_min=2, k_max=8,
        pca_components=8, progress=False, notebook=False, html=False, **kw,
    )


def test_run_writes_the_output_contract(case, tmp_path):
    d, y = case
    with pytest.warns(UserWarning, match="float64"):
        results = run(_config(d, tmp_path / "out"))
    out = tmp_path / "out"
    clusters = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    assert list(clusters.columns[: len(CLUSTERS_COLUMNS)]) == CLUSTERS_COLUMNS
    assert len(clusters) == N
    assert clusters["path"].iloc[1] == "veriwild\\0\\00001.jpg"  # input order, as written in images_paths.csv
    assert clusters["path_normalised"].iloc[1] == "veriwild/0/00001.jpg"
    assert (clusters["row"] == np.arange(N)).all()
    # description and typicality: every assigned row has its cluster's words and a rank in [0, 1]
    assigned = clusters["cluster"] >= 0
    assert (clusters.loc[assigned, "description"].str.len() > 0).all()
    typ = clusters.loc[assigned, "typicality"].astype(float)
    assert typ.between(0, 1).all() and (clusters.loc[~assigned, "typicality"] == "").all()
    for _, group in clusters[assigned].groupby("cluster"):  # each cluster has its most and least typical row
        assert group["typicality"].astype(float).max() == 1.0 and group["typicality"].astype(float).min() == 0.0
    selection = pd.read_csv(out / "selection.csv")
    assert {"descriptor", "family"} <= set(selection.columns) and {"a", "b"} <= set(selection["descriptor"])
    for name in ("a", "b"):
        per_set = pd.read_csv(out / "descriptors" / name / "clusters.csv", keep_default_na=False)
        assert len(per_set) == N and (per_set["descriptor"] == name).all()
    # NaN rows: kept, not clustered, flagged with the reason.
    a = pd.read_csv(out / "descriptors" / "a" / "clusters.csv", keep_default_na=False)
    bad = a.iloc[[5, 50, 500]]
    assert bad["is_outlier"].all() and (bad["cluster"] == -1).all()
    assert bad["outlier_reasons"].str.contains("invalid_descriptor").all()
    # Every row has a cluster or an outlier flag; the planted structure is found.
    assert ((a["cluster"] >= 0) | a["is_outlier"]).all()
    ok = a["cluster"] >= 0
    assert adjusted_rand_score(y[ok], a.loc[ok, "cluster"]) > 0.9
    validation = pd.read_csv(out / "validation.csv")
    assert "non_finite_rows" in set(validation["check"])
    assert "dtype" in set(validation["check"]) and results.metadata["seed"] == 3


def test_same_seed_same_labels_and_results_reload(case, tmp_path):
    d, _ = case
    r1 = run(_config(d, tmp_path / "r1"))
    r2 = run(_config(d, tmp_path / "r2"))
    for name in ("a", "b"):
        np.testing.assert_array_equal(r1.descriptors[name].labels, r2.descriptors[name].labels)
    loaded = RunResults.load(tmp_path / "r1")
    assert loaded.best == r1.best
    written = pd.read_csv(tmp_path / "r1" / "clusters.csv", keep_default_na=False)
    written["typicality"] = pd.to_numeric(written["typicality"])  # empty = unassigned row
    pd.testing.assert_frame_equal(loaded.clusters_table().reset_index(drop=True), written, check_dtype=False)
    assert loaded.metadata["stage_seeds"] == r1.metadata["stage_seeds"]


def test_cli_in_process_run_and_errors(case, tmp_path):
    d, _ = case
    runner = CliRunner()
    res = runner.invoke(app, ["-q", "run", "-d", f"a={d / 'a.pickle'}", "--paths", str(d / "images_paths.csv"),
                              "--out", str(tmp_path / "cli"), "--families", "kmeans", "--k-max", "6",
                              "--no-notebook", "--no-html"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cli" / "clusters.csv").exists()
    # A mismatched row count: one line, non-zero exit, no traceback.
    short = tmp_path / "short.csv"
    short.write_text("paths\nx.jpg\n")
    res = runner.invoke(app, ["run", "-d", f"a={d / 'a.pickle'}", "--paths", str(short), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "short.csv has 1 rows but a.pickle has 600" in res.output
    assert "Traceback" not in res.output


def test_cli_validate_reports_findings(case, tmp_path):
    d, _ = case
    res = CliRunner().invoke(app, ["validate", "-d", f"a={d / 'a.pickle'}", "--paths", str(d / "images_paths.csv"),
                                   "--out", str(tmp_path / "v.csv")])
    assert res.exit_code == 0, res.output
    assert "3 of 600 rows hold NaN" in res.output
    assert pd.read_csv(tmp_path / "v.csv")["check"].tolist() == ["non_finite_rows"]


def test_malicious_pickle_via_cli_is_one_line(tmp_path):
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Evil()))
    (tmp_path / "p.csv").write_text("paths\na.jpg\n")
    res = CliRunner().invoke(app, ["run", "-d", f"x={tmp_path / 'evil.pkl'}", "--paths", str(tmp_path / "p.csv"),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "names the global" in res.output and "system" in res.output
    assert not (tmp_path / "pwned").exists()


def test_subprocess_smoke(case, tmp_path):
    d, _ = case
    proc = subprocess.run(
        [sys.executable, "-m", "vehiclust", "-q", "run", "-d", f"b={d / 'b.pickle'}", "--paths", str(d / "images_paths.csv"),
         "--out", str(tmp_path / "sp"), "--families", "kmeans", "--k-max", "6", "--no-notebook", "--no-html"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Best: b" in proc.stdout  # the closing summary
    assert len(pd.read_csv(tmp_path / "sp" / "clusters.csv")) == N


def test_maps_laid_out_beside_the_outliers_equal_the_maps_stage(case, tmp_path, monkeypatch):
    """Large runs lay out the sets' maps in the workers while the outliers and the consensus go
    on (`_start_maps`): the same coordinates and labels as when the maps stage lays them out."""
    import vehiclust.parallel
    import vehiclust.pipeline as P

    d, _ = case
    plain = run(_config(d, tmp_path / "plain", n_jobs=2))
    started = []
    start = P._start_maps
    monkeypatch.setattr(vehiclust.parallel, "MIN_ROWS", 100)  # "large" for this test
    monkeypatch.setattr(P, "_start_maps", lambda ctx: (start(ctx), started.append(ctx.mapping is not None)))
    early = run(_config(d, tmp_path / "early", n_jobs=2))
    assert started == [True]
    assert set(early.descriptors) == set(plain.descriptors)
    for name, r in plain.descriptors.items():
        np.testing.assert_array_equal(early.descriptors[name].labels, r.labels)
        np.testing.assert_array_equal(early.descriptors[name].coords_2d, r.coords_2d)
        np.testing.assert_array_equal(early.descriptors[name].coords_3d, r.coords_3d)


def test_sets_folders_written_in_workers_are_the_same_files(case, tmp_path, monkeypatch):
    """`RunResults.save(n_jobs=2)` on a large run writes each set's folder in the worker
    processes: byte for byte the files a save in this process writes."""
    import filecmp

    import vehiclust.parallel

    d, _ = case
    results = run(_config(d, tmp_path / "here"))
    monkeypatch.setattr(vehiclust.parallel, "MIN_ROWS", 100)  # "large" for this test
    results.save(tmp_path / "workers", n_jobs=2)
    written = sorted(p.relative_to(tmp_path / "workers") for p in (tmp_path / "workers").rglob("*") if p.is_file())
    assert {"labels.npy", "outlier_scores.csv", "clusters.csv", "selection.csv"} <= {p.name for p in written}
    assert sum(p.parts[0] == "descriptors" for p in written) >= 2 * len(results.descriptors)
    for rel in written:
        if rel.name == "metadata.json":  # the run's timings gained the report stage after its save
            continue
        assert filecmp.cmp(tmp_path / "here" / rel, tmp_path / "workers" / rel, shallow=False), rel
    here, there = (json.loads((tmp_path / f / "metadata.json").read_text()) for f in ("here", "workers"))
    assert here["descriptors"] == there["descriptors"] and here["best"] == there["best"]
