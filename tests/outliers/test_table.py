"""The per-row outlier table: invalid rows, image reasons merged, one score scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust.exceptions import InputError
from vehiclust.outliers import OutlierEnsemble, outlier_table


def _ensemble(n_valid: int, seed: int = 0) -> tuple[OutlierEnsemble, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n_valid, 6)).astype(np.float32)
    X[0] += 25.0  # one far row
    return OutlierEnsemble(random_state=0).fit(X), X


def test_invalid_rows_and_image_reasons_are_merged():
    n = 60
    valid = np.ones(n, bool)
    valid[[5, 9]] = False
    ens, _ = _ensemble(int(valid.sum()))
    checks = pd.DataFrame({
        "blurry_quality": np.where(np.arange(n) == 3, 0.1, 0.9),
        "image_quality": np.where(np.arange(n) == 3, 0.1, 0.9),
        "image_outlierness": np.where(np.arange(n) == 3, 0.9, 0.1),
        "image_reasons": np.where(np.arange(n) == 3, "blurry", ""),
    })
    table = outlier_table(n, valid, ens, checks)
    assert len(table) == n
    assert table.loc[[5, 9], "outlier_reasons"].tolist() == ["invalid_descriptor"] * 2
    assert table.loc[[5, 9], "outlier_score"].tolist() == [1.0, 1.0]
    assert table.loc[[5, 9], "knn_outlierness"].isna().all()
    assert table.loc[3, "outlier_reasons"].startswith("blurry")
    assert table.loc[3, "is_outlier"] and table.loc[3, "outlier_score"] >= 0.9
    # row 0 of the valid rows is the far one; it is input row 0
    assert table.loc[0, "is_outlier"] and "far_from_data" in table.loc[0, "outlier_reasons"]
    # flags and scores agree: every flagged row scores above 0.5, every other below or at it
    assert (table.loc[table["is_outlier"], "outlier_score"] > 0.5).all()
    assert (table.loc[~table["is_outlier"], "outlier_score"] <= 0.5).all()
    assert (table.loc[~table["is_outlier"], "outlier_reasons"] == "").all()
    assert "blurry_quality" in table


def test_no_valid_rows_and_no_image_checks():
    table = outlier_table(4, np.zeros(4, bool), None)
    assert table["is_outlier"].all()
    assert set(table["outlier_reasons"]) == {"invalid_descriptor"}


def test_row_count_mismatch_is_an_input_error():
    ens, _ = _ensemble(10)
    with pytest.raises(InputError, match="image-check table has 3 rows"):
        outlier_table(10, np.ones(10, bool), ens, pd.DataFrame({"image_reasons": ["", "", ""], "image_outlierness": [0, 0, 0]}))
    with pytest.raises(InputError, match="valid"):
        outlier_table(10, np.ones(9, bool), ens)
