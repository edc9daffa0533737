"""Hostile and careless inputs through the command line: each gives exit code 2 and one line,
no traceback, no file outside --out, no input file changed, and no output folder at all (every
setting and every input is checked before it is made). The few that are not errors (a UTF-16 paths file, an index column) are read."""

from __future__ import annotations

import csv as csv_module
import hashlib
import io
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from typer.testing import CliRunner

from vehiclust.cli import app

runner = CliRunner()
N = 90


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    X, _ = make_blobs(n_samples=N, centers=3, n_features=6, cluster_std=0.5, random_state=1)
    rng = np.random.default_rng(1)
    a = (X @ rng.standard_normal((6, 12))).astype(np.float32)
    (d / "a.pkl").write_bytes(pickle.dumps(a))
    (d / "b.pkl").write_bytes(pickle.dumps((X @ rng.standard_normal((6, 8))).astype(np.float32)))
    paths = [f"img/{i:03d}.jpg" for i in range(N)]
    pd.DataFrame({"paths": paths}).to_csv(d / "images_paths.csv", index=False)
    return d


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def _hostile(tmp_path: Path, case: Path, args: list[str], *, out: Path | None = None) -> str:
    """Run the CLI; assert exit 2, one `error:` line, no traceback, nothing written outside
    --out, inputs unchanged; return the line."""
    out = out if out is not None else tmp_path / "out"
    before_case, before_tmp = _tree(case), {k: v for k, v in _tree(tmp_path).items()}
    res = runner.invoke(app, [*args, "--out", str(out)] if "--out" not in args else args)
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert res.exit_code == 2, res.output
    assert len(errors) == 1 and lines[-1] == errors[0], res.output
    assert "Traceback" not in res.output
    assert _tree(case) == before_case
    after_tmp = {k: v for k, v in _tree(tmp_path).items() if not (tmp_path / k).is_relative_to(out)}
    assert after_tmp == {k: v for k, v in before_tmp.items() if not (tmp_path / k).is_relative_to(out)}
    # a bad setting or an unreadable input stops the run before the output folder is made
    assert not out.exists() or out.is_file(), "the output folder was created"
    return errors[0]


def _run_args(case: Path, *extra: str, descriptors: tuple[str, ...] | None = None) -> list[str]:
    args = ["run"]
    for item in descriptors or (f"a={case / 'a.pkl'}",):
        args += ["-d", item]
    return args + ["--paths", str(case / "images_paths.csv"), "--families", "kmeans", "--k-max", "4",
                   "--no-notebook", "--no-html", *extra]


# ---- settings: refused before any work, no output folder -----------------------------------
@pytest.mark.parametrize("extra,match", [
    (["--seed", "-1"], "'seed' setting must be an int"),
    (["--seed", "abc"], "Invalid value for '--seed'"),
    (["--map-method", "foo"], "'map_method' setting must be one of"),
    (["--k-min", "1"], "'k_min' setting"),
    (["--k-min", "9", "--k-max", "4"], "must not exceed"),
    (["--jobs", "0"], "'n_jobs' setting"),
    (["--pca", "0"], "'pca_components' setting"),
    (["--whiten", "1.5"], "'whiten' setting must be a float in [0, 1]"),
    (["--whiten", "-0.5"], "'whiten' setting must be a float in [0, 1]"),
    (["--contamination", "2"], "'contamination' setting"),
    (["--engine", "spark"], "'engine' setting"),
    (["--mix", "a+nope"], "not loaded"),
    (["--mix-weight", "a=-1"], "'mix_weights.a' setting"),
    (["--bogus-flag"], "No such option"),
])
def test_bad_settings_are_one_line_before_any_work(case, tmp_path, extra, match):
    args = _run_args(case, *extra)
    if "--families" in extra:
        args.remove("kmeans")
    line = _hostile(tmp_path, case, args)
    assert match in line


def test_unknown_family_is_one_line(case, tmp_path):
    args = _run_args(case)
    args[args.index("kmeans")] = "kmeans,nope"
    assert "'families' setting" in _hostile(tmp_path, case, args)


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", ".hidden", "x y", "a\\b"])
def test_descriptor_names_cannot_leave_the_output_folder(case, tmp_path, name):
    line = _hostile(tmp_path, case, _run_args(case, descriptors=(f"{name}={case / 'a.pkl'}",)))
    assert "is not allowed" in line


@pytest.mark.parametrize("toml,match", [
    ('seed = "abc"\n', "'seed' setting must be an int"),
    ('descriptors = "file.pkl"\n', "'descriptors' setting must be a table"),
    ('[descriptors]\n"../../up" = "a.pkl"\n', "is not allowed"),
    ('[descriptors]\na = 3\n', "'descriptors' setting must be a table"),
    ('families = 3\n', "'families' setting"),
    ('out = 5\n', "'out' setting must be a path"),
    ('k_max = "many"\n', "'k_max' setting"),
    ('map_3d = "yes"\n', "'map_3d' setting"),
])
def test_bad_toml_is_one_line(case, tmp_path, toml, match):
    cfg = tmp_path / "run.toml"
    body = toml if "descriptors" in toml else toml + f'[descriptors]\na = "{case / "a.pkl"}"\n'
    cfg.write_text(f'paths = "{case / "images_paths.csv"}"\n' + body)
    line = _hostile(tmp_path, case, ["run", "--config", str(cfg), "--no-notebook", "--no-html"])
    assert match in line


def test_out_that_is_a_file_or_under_a_file(case, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    assert "is a file" in _hostile(tmp_path, case, _run_args(case), out=blocker)
    assert blocker.read_text() == "mine"
    assert "is a file" in _hostile(tmp_path, case, _run_args(case), out=blocker / "sub")


@pytest.mark.skipif(hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
                    reason="root can write anywhere")
def test_out_not_writable(case, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert "not writable" in _hostile(tmp_path, case, _run_args(case), out=locked / "out")


# ---- hostile files: one line, exit 2 ----------------------------------------------------------
def _frame(tmp_path: Path) -> pd.DataFrame:
    f = pd.DataFrame(np.random.default_rng(0).standard_normal((N, 4)), columns=list("wxyz"))
    f["colour"] = "red"
    return f


@pytest.mark.parametrize("kind", ["pickle-frame", "parquet", "csv"])
def test_string_column_is_one_line_naming_it(case, tmp_path, kind):
    src = tmp_path / "in" / {"pickle-frame": "s.pkl", "parquet": "s.parquet", "csv": "s.csv"}[kind]
    src.parent.mkdir()
    frame = _frame(tmp_path)
    if kind == "pickle-frame":
        src.write_bytes(pickle.dumps(frame))
    elif kind == "parquet":
        frame.to_parquet(src)
    else:
        frame.to_csv(src, index=False)
    extra = ["--trust-pickle"] if kind == "pickle-frame" else []
    line = _hostile(tmp_path, case, _run_args(case, *extra, descriptors=(f"s={src}",)))
    assert "non-numeric columns ['colour']" in line


def test_dataframe_pickle_refused_by_default_names_the_ways_out(case, tmp_path):
    src = tmp_path / "in" / "f.pkl"
    src.parent.mkdir()
    src.write_bytes(pickle.dumps(_frame(tmp_path).drop(columns="colour")))
    line = _hostile(tmp_path, case, _run_args(case, descriptors=(f"f={src}",)))
    assert "--trust-pickle" in line and ".npy" in line and ".parquet" in line


@pytest.mark.parametrize("suffix", [".npz", ".parquet", ".h5", ".npy", ".pkl", ".csv"])
def test_corrupt_files_are_one_line(case, tmp_path, suffix):
    src = tmp_path / "in" / f"bad{suffix}"
    src.parent.mkdir()
    src.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 3 if suffix == ".npz" else b"\x89HDF\r\n\x1a\n" + b"\x00" * 500
                    if suffix == ".h5" else b"PAR1garbagegarbagePAR1" if suffix == ".parquet" else b"\x93NUMPY\x01\x00v\x00{'descr"
                    if suffix == ".npy" else b"\x80\x04\x95garbage" if suffix == ".pkl" else b"\x00\xff\xfe\x00binary")
    line = _hostile(tmp_path, case, _run_args(case, descriptors=(f"bad={src}",)))
    assert str(src) in line


def test_issue_dataframe_pickle_that_crashed_pandas_is_one_line_in_a_real_process(case, tmp_path):
    """The issue's crash (rc 139): block placement slice(50_000_000, 50_000_004) in a protocol-2
    DataFrame pickle. It is refused before pandas is ever asked to build it."""
    frame = pickle.dumps(pd.DataFrame(np.ones((N, 1), np.float32)), protocol=2)
    crafted = frame.replace(b"K\x00K\x01K\x01\x87", b"J\x80\xf0\xfa\x02J\x84\xf0\xfa\x02K\x01\x87")
    assert crafted != frame
    src = tmp_path / "crash.pkl"
    src.write_bytes(crafted)
    proc = subprocess.run([sys.executable, "-m", "vehiclust", "run", "-d", f"x={src}", "--paths",
                           str(case / "images_paths.csv"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "pandas" in proc.stderr and "Traceback" not in proc.stderr


def test_tiny_pickle_calling_ndarray_allocates_nothing(case, tmp_path):
    """36 bytes that called numpy.ndarray((10_000, 1000)) made a 40 MB cache file before."""
    src = tmp_path / "tiny.pkl"
    src.write_bytes(b"\x80\x04\x8c\x05numpy\x8c\x07ndarray\x93(M\x10'M\xe8\x03t\x85R.")
    line = _hostile(tmp_path, case, _run_args(case, descriptors=(f"t={src}",)))
    assert "ndarray cannot be called" in line
    assert not any(p.stat().st_size > 10_000 for p in (tmp_path / "out").rglob("*") if p.is_file())


def test_complex_descriptors_are_one_line(case, tmp_path):
    src = tmp_path / "c.npy"
    np.save(src, np.ones((N, 3), np.complex64))
    assert "complex descriptors" in _hostile(tmp_path, case, _run_args(case, descriptors=(f"c={src}",)))


def test_trust_pickle_in_a_toml_is_ignored_with_a_warning(case, tmp_path):
    src = tmp_path / "in" / "f.pkl"
    src.parent.mkdir()
    src.write_bytes(pickle.dumps(_frame(tmp_path).drop(columns="colour")))
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'trust_pickle = true\npaths = "{case / "images_paths.csv"}"\n[descriptors]\nf = "{src}"\n')
    with pytest.warns(UserWarning, match="'trust_pickle' is ignored in a config file"):
        res = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1].startswith("error:") and "--trust-pickle" in res.output


def test_trust_pickle_on_the_command_line_warns(case, tmp_path):
    res = runner.invoke(app, ["validate", "-d", f"a={case / 'a.pkl'}", "--paths", str(case / "images_paths.csv"),
                              "--trust-pickle"])
    assert res.exit_code == 0, res.output
    assert "warning: --trust-pickle" in res.output


# ---- read, not refused -------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "latin-1", "utf-8-sig"])
def test_paths_file_in_other_encodings_is_read(case, tmp_path, encoding):
    paths = tmp_path / "images_paths.csv"
    text = "paths\n" + "\n".join(f"img/caf\u00e9-{i:03d}.jpg" for i in range(N)) + "\n"
    paths.write_bytes(text.encode(encoding))
    res = runner.invoke(app, ["validate", "-d", f"a={case / 'a.pkl'}", "--paths", str(paths)])
    assert res.exit_code == 0, res.output
    from vehiclust.io import read_paths

    assert read_paths(paths).iloc[3] == "img/caf\u00e9-003.jpg"


def test_index_column_is_dropped_and_reported(case, tmp_path):
    src = tmp_path / "indexed.csv"
    pd.DataFrame(pickle.loads((case / "a.pkl").read_bytes())).add_prefix("f").to_csv(src)  # 'Unnamed: 0'
    out = tmp_path / "findings.csv"
    res = runner.invoke(app, ["validate", "-d", f"a={src}", "--paths", str(case / "images_paths.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "12 columns kept" in res.output
    findings = pd.read_csv(out)
    assert (findings["check"] == "index_column").sum() == 1
    assert "Unnamed: 0" in findings.loc[findings["check"] == "index_column", "detail"].iloc[0]


# ---- whole runs: formula cells, cached rerun ---------------------------------------------------
def test_formula_cells_escaped_and_cached_rerun_identical(case, tmp_path, monkeypatch):
    """Every CSV the run writes: text that starts with = + - @ gets a leading ', numbers stay
    numbers; a rerun resumed from the cache writes the very same files (outlier_score included):
    the outlier stage gets the same cluster centres (the issue: 64 of 2,000 scores off by 2e-6)."""
    from vehiclust import pipeline

    centres: list[np.ndarray | None] = []

    def recording(X, labels, centers, *rest):
        centres.append(None if centers is None else np.array(centers))
        return fit_outliers(X, labels, centers, *rest)

    fit_outliers = pipeline._fit_outliers
    monkeypatch.setattr(pipeline, "_fit_outliers", recording)
    paths = tmp_path / "images_paths.csv"
    names = [f"=HYPERLINK(\"http://x\",\"{i}\")" if i % 3 == 0 else f"@{i}.jpg" if i % 3 == 1 else f"img/{i}.jpg"
             for i in range(N)]
    pd.DataFrame({"paths": names}).to_csv(paths, index=False)
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"path": names, "-type": ["+car", "-bus", "=cmd|' /C calc'!A0"] * (N // 3)}).to_csv(labels, index=False)
    args = ["-q", "run", "-d", f"a={case / 'a.pkl'}", "-d", f"b={case / 'b.pkl'}", "--paths", str(paths),
            "--labels", str(labels), "--families", "kmeans,ward", "--k-max", "5", "--pca", "4", "--no-notebook",
            "--no-html", "--map-method", "pca", "--jobs", "1"]
    clean = runner.invoke(app, [*args, "--out", str(tmp_path / "o1")])
    assert clean.exit_code == 0, clean.output
    first = {p: p.read_text() for p in sorted((tmp_path / "o1").rglob("*.csv"))}
    again = runner.invoke(app, [*args, "--out", str(tmp_path / "o1")])  # resumed from the cache
    assert again.exit_code == 0, again.output
    assert "outlier_score" in first[tmp_path / "o1" / "clusters.csv"]
    assert len(centres) == 4 and all(c is not None for c in centres)  # 2 sets x (clean, resumed)
    for clean_c, resumed_c in zip(centres[:2], centres[2:]):
        np.testing.assert_array_equal(resumed_c, clean_c)
    for csv, text in first.items():  # every value but the timings
        before, after = (pd.read_csv(io.StringIO(t)).drop(columns="fit_seconds", errors="ignore")
                         for t in (text, csv.read_text()))
        pd.testing.assert_frame_equal(after, before, obj=str(csv.relative_to(tmp_path)))
        for row in csv_module.reader(io.StringIO(text)):
            for cell in row:
                if cell.startswith(("=", "+", "-", "@")):
                    float(cell)  # only numbers may start so; text gets a leading '
    clusters = pd.read_csv(tmp_path / "o1" / "clusters.csv")
    assert clusters["path"].iloc[0].startswith("'=HYPERLINK") and clusters["path"].iloc[1] == "'@1.jpg"
    samples = pd.read_csv(tmp_path / "o1" / "samples.csv")
    assert "'-type" in samples.columns and samples["'-type"].iloc[0] == "'+car"
    assert pd.api.types.is_float_dtype(clusters["outlier_score"])  # numbers untouched
