import numpy as np
import pandas as pd
import pytest

from vehiclust.exceptions import InputError
from vehiclust.prepare import validate_descriptors


def _samples(n, dup_paths=0):
    paths = [f"img/{i}.jpg" for i in range(n)]
    for i in range(dup_paths):
        paths[-1 - i] = paths[0]
    return pd.DataFrame({"path": paths, "resolved": "", "path_error": ""})


def test_findings_for_nan_rows_dead_columns_duplicates():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 12)).astype(np.float32)
    X[[3, 70]] = np.nan
    X[100, 5] = np.inf
    X[:, 2] = 7.0  # constant
    X[:, 9] = rng.uniform(1e-42, 1e-40, 300).astype(np.float32)  # denormal only
    X[200] = X[201]  # duplicate row
    v = validate_descriptors({"osnet": X}, _samples(300, dup_paths=2), chunk_rows=64, progress=False)
    assert np.flatnonzero(~v.valid_rows["osnet"]).tolist() == [3, 70, 100]
    assert 2 not in v.kept_columns["osnet"] and 9 not in v.kept_columns["osnet"]
    assert len(v.kept_columns["osnet"]) == 10
    checks = dict(zip(v.findings["check"], v.findings["count"]))
    assert checks == {"non_finite_rows": 3, "constant_columns": 1, "denormal_columns": 1,
                      "duplicate_rows": 1, "duplicate_paths": 2}


def test_clean_data_has_no_findings():
    X = np.random.default_rng(0).standard_normal((100, 4)).astype(np.float32)
    v = validate_descriptors({"a": X}, _samples(100), progress=False)
    assert v.findings.empty and v.valid_rows["a"].all()


def test_all_rows_invalid_is_an_error():
    X = np.full((10, 3), np.nan, np.float32)
    with pytest.raises(InputError, match="every row"):
        validate_descriptors({"a": X}, _samples(10), progress=False)


def test_all_columns_dead_is_an_error():
    X = np.ones((10, 3), np.float32)
    with pytest.raises(InputError, match="every column"):
        validate_descriptors({"a": X}, _samples(10), progress=False)
