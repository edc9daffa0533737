"""End to end on the golden set (real images from ../shared + planted problems), via the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vehiclust.cli import app


def _reasons(text: str) -> set[str]:
    return {t for t in str(text).split(";") if t}


IMAGE_CODES = {"missing_file", "unreadable", "odd_size", "blurry", "dark", "overexposed", "low_information",
               "near_duplicate", "no_vehicle"}


def _check_outputs(frame: pd.DataFrame, flagged: pd.DataFrame, image_checks: pd.DataFrame) -> None:
    # exact image-check flags, image by image
    got = [";".join(sorted(_reasons(r))) for r in image_checks["image_reasons"]]
    want = [";".join(sorted(_reasons(r))) for r in frame["expected"]]
    mismatch = [(p, g, w) for p, g, w in zip(frame["path"], got, want) if g != w]
    assert not mismatch, mismatch
    # every planted problem and every road scene is in outliers.csv with its reason
    by_row = flagged.set_index("row")
    for i, (kind, expected) in enumerate(zip(frame["kind"], frame["expected"])):
        if kind == "clean":
            continue
        assert i in by_row.index, (i, frame["path"][i])
        # the combined no_vehicle score (detector + descriptor neighbourhood) keeps no_vehicle for
        # road scenes; a damaged vehicle image keeps its own reason
        want = _reasons(expected) - (set() if kind == "no_vehicle" else {"no_vehicle"})
        assert want <= _reasons(by_row.loc[i, "outlier_reasons"])
        if kind in ("missing", "truncated"):
            assert "invalid_descriptor" in _reasons(by_row.loc[i, "outlier_reasons"])
    # clean vehicles: no image reason; few descriptor-space flags
    clean_rows = np.flatnonzero(frame["kind"] == "clean")
    clean_flagged = [i for i in clean_rows if i in by_row.index]
    for i in clean_flagged:
        reasons = _reasons(by_row.loc[i, "outlier_reasons"])
        if "duplicate_of" in by_row and by_row.loc[i, "duplicate_of"]:  # a descriptor-space twin (GTI frames)
            reasons -= {"near_duplicate"}
        assert not (reasons & IMAGE_CODES)
    assert len(clean_flagged) <= 0.15 * len(clean_rows)
    # worst first, and every check's score is there
    assert flagged["outlier_score"].is_monotonic_decreasing
    for name in ("blurry", "dark", "overexposed", "odd_size", "no_vehicle", "near_duplicate"):
        assert f"{name}_quality" in flagged.columns


def test_outliers_command_on_golden_set(golden, monkeypatch):
    monkeypatch.setenv("VEHICLUST_MODELS", str(golden["models"]))
    out = golden["dir"] / "out-outliers"
    result = CliRunner().invoke(app, ["outliers", "-d", f"color-hist={golden['desc']}", "-p", str(golden["paths"]),
                                      "--images", str(golden["dir"] / "images"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "rows flagged" in result.output
    flagged = pd.read_csv(out / "outliers.csv", keep_default_na=False)
    image_checks = pd.read_csv(out / "image_checks.csv", keep_default_na=False)
    assert len(image_checks) == len(golden["frame"])
    _check_outputs(golden["frame"], flagged, image_checks)
    # a second run re-reads no image: the cache answers
    import vehiclust.evidence.properties as measure

    monkeypatch.setattr(measure, "measure_image", lambda p: (_ for _ in ()).throw(AssertionError(p)))
    again = CliRunner().invoke(app, ["outliers", "-d", f"color-hist={golden['desc']}", "-p", str(golden["paths"]),
                                     "--images", str(golden["dir"] / "images"), "-o", str(out), "--contamination", "0.3"])
    assert again.exit_code == 0, again.output
    forced = pd.read_csv(out / "outliers.csv", keep_default_na=False)
    assert len(forced) >= len(flagged)


def test_outliers_command_without_weights_skips_no_vehicle(golden, monkeypatch, tmp_path):
    monkeypatch.delenv("VEHICLUST_MODELS", raising=False)
    monkeypatch.setattr("vehiclust.extract._weights.BUNDLED", tmp_path / "no-bundled-weights")
    result = CliRunner().invoke(app, ["outliers", "-d", f"color-hist={golden['desc']}", "-p", str(golden["paths"]),
                                      "--images", str(golden["dir"] / "images"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    validation = pd.read_csv(tmp_path / "validation.csv")
    assert validation["check"].str.contains("image_check_skipped:no_vehicle").any()
    checks = pd.read_csv(tmp_path / "image_checks.csv", keep_default_na=False)
    assert "no_vehicle_quality" not in checks
    assert not checks["image_reasons"].str.contains("no_vehicle").any()


def test_outliers_command_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(app, ["outliers", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "needs --descriptors" in result.output


@pytest.mark.slow
def test_run_command_writes_outliers_csv(golden, monkeypatch):
    monkeypatch.setenv("VEHICLUST_MODELS", str(golden["models"]))
    out = golden["dir"] / "out-run"
    result = CliRunner().invoke(app, ["run", "-d", f"color-hist={golden['desc']}", "-p", str(golden["paths"]),
                                      "--images", str(golden["dir"] / "images"), "-o", str(out),
                                      "--families", "kmeans", "--k-max", "6", "--map-method", "pca", "--no-notebook", "--no-html"])
    assert result.exit_code == 0, result.output
    flagged = pd.read_csv(out / "outliers.csv", keep_default_na=False)
    # `row` and `path` as written in the paths file: the outputs join back to it
    assert list(flagged["path"]) == [golden["frame"]["path"].iloc[r] for r in flagged["row"]]
    image_checks = pd.read_csv(out / "image_checks.csv", keep_default_na=False)
    _check_outputs(golden["frame"], flagged, image_checks)
    clusters = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    assert len(clusters) == len(golden["frame"])
    assert set(clusters.loc[clusters["is_outlier"], "path"]) == set(flagged["path"])
    # a duplicate names its twin as the paths file writes it (backslashes), in both tables
    given = set(golden["frame"]["path"])
    for table in (clusters, flagged):
        twins = set(table.loc[table["duplicate_of"] != "", "duplicate_of"])
        assert twins and twins <= given
