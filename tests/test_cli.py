"""The command line as a new user meets it: several values after one option, defaults in --help,
warnings as one line, a log that can be followed, and the closing summary."""

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from typer.testing import CliRunner

from vehiclust.cli import app, spread_values

N = 240


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    X, _ = make_blobs(n_samples=N, centers=3, n_features=12, cluster_std=0.7, random_state=1)
    rng = np.random.default_rng(1)
    (d / "a.pkl").write_bytes(pickle.dumps((X @ rng.standard_normal((12, 32))).astype(np.float32)))
    (d / "b.pkl").write_bytes(pickle.dumps((X @ rng.standard_normal((12, 16))).astype(np.float64)))  # cast: a warning
    pd.DataFrame({"paths": [f"cars\\{i:04d}.jpg" for i in range(N)]}).to_csv(d / "images_paths.csv", index=False)
    return d


def _args(d, out, *descriptors):
    return ["run", *descriptors, "--paths", str(d / "images_paths.csv"), "--out", str(out), "--families", "kmeans",
            "--k-max", "5", "--map-method", "pca", "--no-notebook", "--no-html"]


def test_spread_values_reads_several_values_after_one_option():
    assert spread_values(["run", "-d", "a=x", "b=y", "--paths", "p", "--mix", "a+b", "all", "--seed", "-1"]) == [
        "run", "-d", "a=x", "-d", "b=y", "--paths", "p", "--mix", "a+b", "--mix", "all", "--seed", "-1"]
    assert spread_values(["-d", "a=x", "-d", "b=y"]) == ["-d", "a=x", "-d", "b=y"]
    assert spread_values(["--heads=h=1.csv", "g=2.csv"]) == ["--heads=h=1.csv", "--heads", "g=2.csv"]
    assert spread_values(["-d", "a=x", "--", "b=y"]) == ["-d", "a=x", "--", "b=y"]


@pytest.mark.parametrize("style", ["one option", "repeated"])
def test_both_ways_of_giving_several_sets_run_both(case, tmp_path, style):
    d = case
    sets = [f"a={d / 'a.pkl'}", f"b={d / 'b.pkl'}"]
    descriptors = ["-d", *sets] if style == "one option" else ["-d", sets[0], "-d", sets[1]]
    res = CliRunner().invoke(app, _args(d, tmp_path / "o", *descriptors))
    assert res.exit_code == 0, res.output
    selection = pd.read_csv(tmp_path / "o" / "selection.csv")
    assert {"a", "b"} <= set(selection["descriptor"])
    # the closing summary: one row per set (and the consensus), the best, where to look
    out = res.stdout
    assert "Best:" in out and "clusters.csv" in out
    for name in ("a", "b", "consensus"):
        assert any(line.strip("│ ").startswith(name) for line in out.splitlines()), out


def test_help_shows_defaults_and_required_options():
    res = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "default: (vehiclust-output)" in text and "default: (40)" in text and "default: (0)" in text
    assert "--whiten <float> PCA components / std ** WHITEN" in text and "default: (0.5)" in text
    assert "Output folder ." not in text
    assert "NAME=PATH ..." in text and "Required (or in --config)" in text


def test_a_log_file_gets_one_line_per_stage_and_set_and_no_raw_warnings(case, tmp_path):
    d = case
    proc = subprocess.run([sys.executable, "-m", "vehiclust", *_args(d, tmp_path / "log", "-d", f"a={d / 'a.pkl'}",
                                                                     f"b={d / 'b.pkl'}")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    log = proc.stderr.splitlines()
    for expected in ("cluster a: ", "cluster b: ", "outliers a: ", "map b: ", "describe a: ", "cluster done: "):
        assert any(expected in line for line in log), (expected, proc.stderr)
    assert any("configurations" in line and line.endswith("rows/s)") for line in log if "cluster a:" in line)
    # the float64 cast: one plain line, no source path, no code line, no category name
    cast = [line for line in log if "cast to float32" in line]
    assert len(cast) == 1 and cast[0].startswith("warning: ")
    assert not any("Warning:" in line or "warnings.warn" in line or ".py:" in line for line in log), proc.stderr
    assert "Best:" in proc.stdout


LIBRARY_RUN = """
import sys
from pathlib import Path
import vehiclust
from vehiclust.config import RunConfig
from vehiclust.pipeline import run
d, out = Path(sys.argv[1]), Path(sys.argv[2])
vehiclust.log_to_stderr()
run(RunConfig(descriptors={"a": d / "a.pkl", "b": d / "b.pkl"}, paths=d / "images_paths.csv", out=out,
              families=("kmeans",), k_max=5, map_method="pca", notebook=False, html=False, progress=False))
"""


def test_a_library_run_logs_like_the_cli_after_log_to_stderr(case, tmp_path):
    proc = subprocess.run([sys.executable, "-c", LIBRARY_RUN, str(case), str(tmp_path / "lib")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    log = proc.stderr.splitlines()
    for expected in ("cluster a: ", "outliers b: ", "map a: ", "cluster done: "):
        assert any(expected in line for line in log), (expected, proc.stderr)
    assert any(line.startswith("warning: ") and "cast to float32" in line for line in log), proc.stderr
    assert not any(line.startswith(("WARNING", "INFO")) for line in log), proc.stderr  # log records: plain too
    assert not any("Warning:" in line or "warnings.warn" in line or ".py:" in line for line in log), proc.stderr


def test_whiten_reaches_the_preparation(case, tmp_path):
    """`--whiten 0` prepares without whitening, the default whitens by 0.5 (PCA columns / std ** 0.5):
    the setting is recorded, and the prepared rows differ."""
    import json

    d = case
    metas = {}
    for label, extra in (("default", []), ("none", ["--whiten", "0"])):
        out = tmp_path / label
        res = CliRunner().invoke(app, [*_args(d, out, "-d", f"a={d / 'a.pkl'}"), *extra])
        assert res.exit_code == 0, res.output
        metas[label] = json.loads((out / "metadata.json").read_text())
    assert metas["default"]["config"]["whiten"] == 0.5 and metas["none"]["config"]["whiten"] == 0.0
    assert metas["default"]["descriptors"]["a"]["preparation"]["whiten"] == 0.5
    assert metas["none"]["descriptors"]["a"]["preparation"]["whiten"] == 0.0
