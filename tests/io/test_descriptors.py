import os
import pickle
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from vehiclust.exceptions import InputError, UnsafePickleError
from vehiclust.io import content_key, load_descriptors
from vehiclust.io._safe_pickle import load_pickle


@pytest.fixture()
def matrix() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)


def _write(fmt: str, arr: np.ndarray, path):
    if fmt == "pickle":
        path.write_bytes(pickle.dumps(arr))
    elif fmt == "pickle-frame":
        path.write_bytes(pickle.dumps(pd.DataFrame(arr, columns=[f"f{i}" for i in range(arr.shape[1])])))
    elif fmt == "npy":
        np.save(path, arr)
    elif fmt == "npz":
        np.savez(path, descriptors=arr)
    elif fmt == "parquet":
        pd.DataFrame(arr, columns=[f"f{i}" for i in range(arr.shape[1])]).to_parquet(path)
    elif fmt == "csv":
        pd.DataFrame(arr, columns=[f"f{i}" for i in range(arr.shape[1])]).to_csv(path, index=False)
    elif fmt == "h5":
        with h5py.File(path, "w") as fh:
            fh.create_dataset("group/descriptors", data=arr)


@pytest.mark.parametrize(
    "fmt,suffix",
    [("pickle", ".pickle"), ("pickle-frame", ".pkl"), ("npy", ".npy"), ("npz", ".npz"),
     ("parquet", ".parquet"), ("csv", ".csv"), ("h5", ".h5")],
)
def test_every_format_round_trips_as_float32(tmp_path, matrix, fmt, suffix):
    path = tmp_path / f"desc{suffix}"
    _write(fmt, matrix, path)
    # a DataFrame pickle is read only when trusted (see test_dataframe_pickle_refused_by_default)
    loaded = load_descriptors(path, cache_dir=tmp_path / "cache", trust_pickle=fmt == "pickle-frame")
    assert loaded.dtype == np.float32
    assert loaded.shape == matrix.shape
    np.testing.assert_allclose(np.asarray(loaded), matrix, rtol=1e-6)


def test_dataframe_pickle_refused_by_default(tmp_path, matrix):
    path = tmp_path / "frame.pkl"
    _write("pickle-frame", matrix, path)
    with pytest.raises(UnsafePickleError, match=r"DataFrame pickle is not read by default.*\.npy.*\.parquet.*--trust-pickle"):
        load_descriptors(path, cache_dir=tmp_path / "cache")


def test_npy_is_memory_mapped_not_read(tmp_path, matrix):
    np.save(tmp_path / "a.npy", matrix)
    loaded = load_descriptors(tmp_path / "a.npy")
    assert isinstance(loaded, np.memmap)


def test_pickle_converted_once_then_memory_mapped(tmp_path, matrix):
    src = tmp_path / "osnet.pickle"
    src.write_bytes(pickle.dumps(matrix))
    cache = tmp_path / "cache"
    first = load_descriptors(src, cache_dir=cache)
    cached = list(cache.glob("*.npy"))
    assert len(cached) == 1 and isinstance(first, np.memmap)
    mtime = cached[0].stat().st_mtime_ns
    second = load_descriptors(src, cache_dir=cache)
    assert cached[0].stat().st_mtime_ns == mtime  # not rewritten
    np.testing.assert_array_equal(np.asarray(second), matrix)
    # Changing the content changes the key: a new cache file, never stale data.
    src.write_bytes(pickle.dumps(matrix * 2))
    third = load_descriptors(src, cache_dir=cache)
    np.testing.assert_array_equal(np.asarray(third), matrix * 2)
    assert len(list(cache.glob("*.npy"))) == 2


def test_float64_cast_with_warning(tmp_path, matrix):
    src = tmp_path / "a.pkl"
    src.write_bytes(pickle.dumps(matrix.astype(np.float64)))
    with pytest.warns(UserWarning, match="float64"):
        loaded = load_descriptors(src, cache_dir=tmp_path / "c")
    assert loaded.dtype == np.float32


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    src = tmp_path / "evil.pickle"
    src.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(UnsafePickleError, match=r"evil\.pickle.*(posix|os)\.system"):
        load_descriptors(src, cache_dir=tmp_path / "c")
    assert not marker.exists()


def test_trust_pickle_opt_in_loads_other_objects(tmp_path, matrix):
    src = tmp_path / "wrapped.pkl"
    src.write_bytes(pickle.dumps(np.ma.masked_array(matrix)))
    with pytest.raises(UnsafePickleError):
        load_pickle(src)
    assert load_pickle(src, trust=True).shape == matrix.shape


@pytest.mark.parametrize(
    "payload,match",
    [
        (np.zeros(5, np.float32), "2-D"),
        (np.zeros((2, 3, 4), np.float32), "2-D"),
        (np.array([["a", "b"]], dtype=object), "numeric"),
        (np.zeros((0, 4), np.float32), "empty"),
        ({"not": "an array"}, "not read|expected"),
    ],
)
def test_bad_arrays_give_clear_errors(tmp_path, payload, match):
    src = tmp_path / "bad.pkl"
    src.write_bytes(pickle.dumps(payload))
    with pytest.raises(InputError, match=match):
        load_descriptors(src, cache_dir=tmp_path / "c")


def test_empty_missing_and_unknown_files(tmp_path):
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_descriptors(tmp_path / "empty.pkl")
    with pytest.raises(InputError, match="does not exist"):
        load_descriptors(tmp_path / "nope.npy")
    (tmp_path / "x.txt").write_text("1,2")
    with pytest.raises(InputError, match="unsupported extension"):
        load_descriptors(tmp_path / "x.txt")
    (tmp_path / "garbage.pkl").write_bytes(b"\x00\x01garbage")
    with pytest.raises(InputError, match="garbage.pkl"):
        load_descriptors(tmp_path / "garbage.pkl")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path, matrix):
    src = tmp_path / "locked.npy"
    np.save(src, matrix)
    src.chmod(0)
    with pytest.raises(InputError, match="not readable"):
        load_descriptors(src)


def test_content_key_sees_changes_in_large_files(tmp_path):
    big = tmp_path / "big.bin"
    data = np.zeros(300 * (1 << 20) // 4, dtype=np.float32)
    data.tofile(big)
    key1 = content_key(big)
    with open(big, "r+b") as fh:  # change the last block
        fh.seek(-8, 2)
        fh.write(b"\x01" * 8)
    assert content_key(big) != key1


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_large_pickle_is_memory_mapped_from_the_file(tmp_path, matrix, monkeypatch, protocol):
    """A large float32 array pickle is mapped straight from the pickle: same numbers, no cache
    copy; a float64 one is cast and cached as before (the threshold is lowered to 1 byte here)."""
    from vehiclust.io import _safe_pickle

    monkeypatch.setattr(_safe_pickle, "MMAP_MIN_BYTES", 1)
    src = tmp_path / "big.pickle"
    src.write_bytes(pickle.dumps(matrix, protocol=protocol))
    loaded = load_descriptors(src, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(np.asarray(loaded), matrix)
    if protocol >= 4:  # protocol 2 stores the bytes as latin-1 text: read, then cached
        assert isinstance(loaded, np.memmap) and os.path.samefile(loaded.filename, src)
        assert not (tmp_path / "cache").exists()
    src64 = tmp_path / "big64.pickle"
    src64.write_bytes(pickle.dumps(matrix.astype(np.float64), protocol=protocol))
    with pytest.warns(UserWarning, match="float64"):
        cast = load_descriptors(src64, cache_dir=tmp_path / "cache")
    assert cast.dtype == np.float32 and len(list((tmp_path / "cache").glob("big64-*.npy"))) == 1
    np.testing.assert_allclose(np.asarray(cast), matrix, rtol=1e-6)
    src.write_bytes(pickle.dumps(matrix, protocol=protocol)[:-20])  # truncated: one clear line
    with pytest.raises(InputError, match="not a readable pickle"):
        load_descriptors(src, cache_dir=tmp_path / "cache")
