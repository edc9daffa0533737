"""Careless inputs the loaders read correctly, and damage they recover from."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from vehiclust.exceptions import InputError
from vehiclust.io import load_case, load_descriptors, read_labels, read_paths
from vehiclust.io.descriptors import DescriptorNote


@pytest.fixture()
def matrix() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((40, 6)).astype(np.float32)


def test_damaged_descriptor_cache_is_detected_and_rebuilt(tmp_path, matrix):
    src = tmp_path / "a.pkl"
    src.write_bytes(pickle.dumps(matrix))
    cache = tmp_path / "cache"
    load_descriptors(src, cache_dir=cache)
    (entry,) = cache.glob("*.npy")
    for damage in (lambda b: b[: len(b) // 2], lambda b: b"garbage" + b[7:], lambda b: b"", lambda b: b + b"\0" * 4):
        entry.write_bytes(damage(entry.read_bytes()) if entry.exists() else b"")
        again = load_descriptors(src, cache_dir=cache)
        np.testing.assert_array_equal(np.asarray(again), matrix)
        assert entry.stat().st_size == 128 + matrix.nbytes


@pytest.mark.parametrize("dtype,words", [(np.int64, "int64"), (np.uint8, "uint8"), (np.float16, "float16"),
                                         (np.bool_, "bool")])
def test_every_cast_is_recorded(tmp_path, matrix, dtype, words):
    src = tmp_path / "a.npy"
    np.save(src, (matrix * 10).astype(dtype))
    pd.DataFrame({"paths": [f"{i}.jpg" for i in range(len(matrix))]}).to_csv(tmp_path / "p.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = load_case({"a": src}, tmp_path / "p.csv", cache_dir=tmp_path / "c")
    assert ("a", "dtype") == case.notes[0][:2] and words in case.notes[0][2]
    if dtype == np.int64:
        assert "16,777,216" in case.notes[0][2]


def test_complex_is_refused_not_truncated(tmp_path, matrix):
    src = tmp_path / "c.pkl"
    src.write_bytes(pickle.dumps(matrix.astype(np.complex128) * 1j))
    with pytest.raises(InputError, match="complex descriptors .complex128. are not supported"):
        load_descriptors(src)


@pytest.mark.parametrize("start", [0, 1])
def test_row_number_first_column_dropped_with_a_note(tmp_path, matrix, start):
    frame = pd.DataFrame(matrix).add_prefix("f")
    frame.insert(0, "id", np.arange(start, start + len(frame)))
    frame.to_parquet(tmp_path / "a.parquet")
    with pytest.warns(DescriptorNote, match=r"index-like column \['id'\]"):
        arr = load_descriptors(tmp_path / "a.parquet")
    np.testing.assert_array_equal(arr, matrix)


def test_integer_feature_that_is_not_row_numbers_is_kept(tmp_path, matrix):
    frame = pd.DataFrame(matrix).add_prefix("f")
    frame.insert(0, "count", np.arange(len(frame))[::-1])
    frame.to_csv(tmp_path / "a.csv", index=False)
    assert load_descriptors(tmp_path / "a.csv").shape == (len(matrix), 7)


def test_nullable_and_text_columns(tmp_path, matrix):
    frame = pd.DataFrame(matrix).add_prefix("f")
    frame["n"] = pd.array([1, None] * 20, dtype="Int64")
    frame.to_parquet(tmp_path / "a.parquet")
    arr = load_descriptors(tmp_path / "a.parquet")
    assert arr.shape == (40, 7) and np.isnan(arr[1, 6])
    frame["kind"] = pd.array(["x", "y"] * 20, dtype="string")
    frame["other"] = "z"
    frame.to_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"non-numeric columns \['kind', 'other'\]"):
        load_descriptors(tmp_path / "b.parquet")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "latin-1", "utf-8-sig", "cp1252"])
def test_paths_and_labels_in_other_encodings(tmp_path, encoding):
    rows = ["veriwild\\1\\caf\u00e9.jpg", "x/na\u00efve.jpg"]
    (tmp_path / "p.csv").write_bytes(("paths\n" + "\n".join(rows) + "\n").encode(encoding))
    assert read_paths(tmp_path / "p.csv").tolist() == ["veriwild/1/caf\u00e9.jpg", "x/na\u00efve.jpg"]
    (tmp_path / "l.csv").write_bytes(("path,colour\n" + "\n".join(f"{r},r\u00f6t" for r in rows) + "\n").encode(encoding))
    assert read_labels(tmp_path / "l.csv")["colour"].tolist() == ["r\u00f6t", "r\u00f6t"]


@pytest.mark.parametrize("data,match", [
    (b"\x00\x01\x02\x03binary\x00", "binary"),
    (b"\xff\xfe\x00\xd8", "not valid utf-16"),
    (b'paths\n"unclosed\n', "not a readable CSV|no rows"),
])
def test_unreadable_paths_file_is_one_line(tmp_path, data, match):
    (tmp_path / "p.csv").write_bytes(data)
    with pytest.raises(InputError, match=match) as info:
        read_paths(tmp_path / "p.csv")
    assert "\n" not in str(info.value)
