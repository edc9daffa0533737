"""`vehiclust extract`: in-process through typer, plus one real subprocess."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vehiclust.cli import app
from vehiclust.extract import extract_descriptors

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["extract", *args])
    return res.exit_code, res.output


def test_walk_folder_writes_paths_and_pkl(broken_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "ch.pkl"
    code, text = _run("--images", str(broken_dir), "--model", "color-hist", "--out", str(out))
    assert code == 0, text
    paths = pd.read_csv(out.parent / "images_paths.csv")["paths"].tolist()
    assert paths == sorted(["empty.png", "good0.jpg", "good1.jpg", "good2.jpg", "notanimage.jpg", "truncated.jpg"])
    with open(out, "rb") as fh:
        X = pickle.load(fh)
    assert isinstance(X, np.ndarray) and X.dtype == np.float32 and X.shape == (6, 128)
    assert np.isnan(X).any(axis=1).tolist() == [True, False, False, False, True, True]
    errors = pd.read_csv(out.parent / "ch.errors.csv")
    assert errors.path.tolist() == ["empty.png", "notanimage.jpg", "truncated.jpg"]
    assert "3 unreadable" in text
    assert not (out.parent / "ch.pkl.checkpoint").exists()


def test_paths_file_with_backslashes_and_heads(demo_dir: Path, demo_paths: list[str], tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    models = demo_dir.parents[1].parent / "shared" / "models"
    if not models.is_dir():
        pytest.skip("../shared/models is not present")
    pd.DataFrame({"paths": demo_paths[::100]}).to_csv(tmp_path / "images_paths.csv", index=False)
    out, heads = tmp_path / "va.npy", tmp_path / "va.csv"
    code, text = _run("--images", str(demo_dir), "--paths", str(tmp_path / "images_paths.csv"), "--model",
                      "vehicle-attributes", "--weights", str(models), "--out", str(out), "--heads-out", str(heads))
    assert code == 0, text
    X = np.load(out)
    assert X.shape == (12, 128) and np.isfinite(X).all()
    table = pd.read_csv(heads)
    assert table.path.tolist() == demo_paths[::100]  # keyed as the user wrote them
    assert table.shape == (12, 12)


def test_npy_matches_library(demo_dir: Path, demo_paths: list[str], tmp_path: Path) -> None:
    paths_file = tmp_path / "p.csv"
    pd.DataFrame({"path": demo_paths[:7]}).to_csv(paths_file, index=False)
    code, text = _run("--images", str(demo_dir), "--paths", str(paths_file), "--model", "hog", "--out", str(tmp_path / "h.npy"))
    assert code == 0, text
    ref = extract_descriptors(demo_paths[:7], "hog", root=demo_dir, progress=False)
    np.testing.assert_array_equal(np.load(tmp_path / "h.npy"), ref.features)


@pytest.mark.parametrize("args,message", [
    (["--model", "color-hist", "--out", "x.csv", "--images", "."], "must end in"),
    (["--model", "nosuch", "--out", "x.pkl", "--images", "."], "Unknown model"),
    (["--model", "color-hist", "--out", "x.pkl"], "--images ROOT"),
    (["--out", "x.pkl", "--images", "."], "needs --model"),
    (["--model", "hog", "--out", "x.pkl", "--images", ".", "--heads-out", "h.csv"], "--heads-out needs"),
    (["--model", "hog", "--out", "x.pkl", "--images", ".", "--input-size", "3"], "only to --model onnx"),
    (["--model", "onnx", "--out", "x.pkl", "--images", ".", "--mean", "a,b"], "--mean expects"),
    (["--model", "hog", "--out", "x.pkl", "--images", "/no/such/folder"], "not a folder"),
])
def test_errors_are_one_line(args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = _run(*args)
    assert code == 2
    assert message in text and "Traceback" not in text
    assert not (tmp_path / "x.pkl").exists()


def test_list_models() -> None:
    code, text = _run("--list-models")
    assert code == 0 and "vehicle-attributes" in text and "color-hist" in text


def test_subprocess_smoke(broken_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.pkl"
    proc = subprocess.run([sys.executable, "-m", "vehiclust", "-q", "extract", "--images", str(broken_dir), "--model", "hog",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with open(out, "rb") as fh:
        assert pickle.load(fh).shape == (6, 324)


def test_generic_onnx_from_the_command_line(demo_dir: Path, demo_paths: list[str], tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    onnx_file = demo_dir.parents[1].parent / "shared" / "models" / "onnx" / "osnet_x0_25_msmt17.onnx"
    if not onnx_file.is_file():
        pytest.skip("../shared/models is not present")
    paths_file = tmp_path / "p.csv"
    pd.DataFrame({"paths": demo_paths[:4]}).to_csv(paths_file, index=False)
    base = ["--images", str(demo_dir), "--paths", str(paths_file), "--model", "onnx", "--weights", str(onnx_file)]
    code, text = _run(*base, "--input-size", "224", "--out", str(tmp_path / "bad.npy"))
    assert code == 2 and "rejected a 224x224" in text and "HEIGHTxWIDTH" in text
    code, text = _run(*base, "--input-size", "256x128", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225",
                      "--out", str(tmp_path / "g.npy"))
    assert code == 0, text
    ref = extract_descriptors(demo_paths[:4], "osnet", weights=onnx_file, root=demo_dir, progress=False)
    np.testing.assert_allclose(np.load(tmp_path / "g.npy"), ref.features, rtol=1e-5, atol=1e-5)
    code, text = _run(*base, "--input-size", "big", "--out", str(tmp_path / "x.npy"))
    assert code == 2 and "--input-size expects" in text


def test_existing_out_and_paths_file_never_replaced_without_overwrite(broken_dir: Path, tmp_path: Path) -> None:
    """The case's other pickles are aligned to images_paths.csv: a folder walk must not re-sort it."""
    out = tmp_path / "out" / "ch.pkl"
    out.parent.mkdir()
    theirs = out.parent / "images_paths.csv"
    theirs.write_text("paths\ntruncated.jpg\ngood0.jpg\n")  # the user's own order
    before = theirs.read_bytes()
    code, text = _run("--images", str(broken_dir), "--model", "color-hist", "--out", str(out))
    assert code == 2 and "--overwrite" in text and len(text.strip().splitlines()) == 1, text
    assert theirs.read_bytes() == before and not out.exists()

    out.write_bytes(b"precious")
    code, text = _run("--images", str(broken_dir), "--paths", str(theirs), "--model", "color-hist", "--out", str(out))
    assert code == 2 and "already exists" in text and "--overwrite" in text, text
    assert out.read_bytes() == b"precious"

    code, text = _run("--images", str(broken_dir), "--paths", str(theirs), "--model", "color-hist", "--out", str(out),
                      "--overwrite")
    assert code == 0, text
    assert pickle.loads(out.read_bytes()).shape == (2, 128)
    assert theirs.read_bytes() == before  # --paths is read, never written

    code, text = _run("--images", str(broken_dir), "--model", "color-hist", "--out", str(out), "--overwrite")
    assert code == 0, text
    assert pd.read_csv(theirs)["paths"].tolist()[0] == "empty.png"  # replaced only when asked


def test_walk_keeps_an_identical_paths_file(broken_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.pkl", tmp_path / "b.npy"
    assert _run("--images", str(broken_dir), "--model", "color-hist", "--out", str(first))[0] == 0
    listing = (tmp_path / "images_paths.csv").read_bytes()
    code, text = _run("--images", str(broken_dir), "--model", "color-hist", "--out", str(second))
    assert code == 0, text
    assert (tmp_path / "images_paths.csv").read_bytes() == listing
