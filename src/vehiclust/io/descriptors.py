"""Read one descriptor set from any supported format into a float32 2-D array.

Large inputs stay on disk: `.npy` is memory-mapped; so is a large float32 array pickle (the case
format), straight from the pickle file; any other pickle is converted once into a float32 `.npy`
in a cache folder keyed by a content hash, then memory-mapped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from vehiclust.exceptions import InputError
from vehiclust.io._safe_pickle import load_pickle

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".pkl", ".pickle", ".npy", ".npz", ".parquet", ".csv", ".h5", ".hdf5")
_HASH_BLOCK = 1 << 20  # 1 MiB
_HASH_SAMPLES = 64


def content_key(path: str | Path) -> str:
    """A content hash that stays cheap on multi-GB files.

    Files up to 256 MiB are hashed whole; larger ones by their size plus 64 evenly spaced
    1 MiB blocks, first and last included (a changed descriptor matrix changes these).
    """
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    with open(path, "rb") as fh:
        if size <= 256 * _HASH_BLOCK:
            for block in iter(lambda: fh.read(16 * _HASH_BLOCK), b""):
                h.update(block)
        else:
            for offset in np.linspace(0, size - _HASH_BLOCK, _HASH_SAMPLES).astype(np.int64):
                fh.seek(int(offset))
                h.update(fh.read(_HASH_BLOCK))
    return h.hexdigest()


class DescriptorNote(UserWarning):
    """Something done to a descriptor file while loading it (a cast, a dropped index column);
    :func:`~vehiclust.io.load_case` turns each into a line of validation.csv."""

    def __init__(self, message: str, check: str = "load", detail: str = "") -> None:
        super().__init__(message)
        self.check = check
        self.detail = detail or message


def _note(source: Path, check: str, detail: str) -> None:
    warnings.warn(DescriptorNote(f"{source}: {detail}.", check, detail), stacklevel=3)


def _is_index_like(values: np.ndarray) -> bool:
    """Row numbers 0..n-1 (or 1..n) as integers: what ``df.to_csv(path)`` writes first."""
    if values.dtype.kind not in "iu" or len(values) < 2:
        return False
    start = int(values[0])
    return start in (0, 1) and np.array_equal(values, np.arange(start, start + len(values)))


def _frame_matrix(frame, source: Path) -> np.ndarray:
    """The numbers of a DataFrame: index-like columns dropped (noted), text columns refused."""
    import pandas as pd

    names = [str(c) for c in frame.columns]
    drop = [i for i, c in enumerate(names) if c.startswith("Unnamed: ") and c[9:].isdigit()]
    if frame.shape[1] and 0 not in drop and _is_index_like(np.asarray(frame.iloc[:, 0]) if frame.dtypes.iloc[0].kind in "iu" else np.zeros(0)):
        drop.insert(0, 0)
    if drop and len(drop) < frame.shape[1]:
        _note(source, "index_column", f"index-like column {[names[i] for i in drop]} (row numbers, not a feature) dropped")
        frame = frame.iloc[:, [i for i in range(frame.shape[1]) if i not in drop]]
    numeric = [pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in frame.dtypes]
    bad = [str(c) for c, ok in zip(frame.columns, numeric) if not ok]
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InputError(f"{source}: non-numeric columns {bad[:5]}{more}; descriptors must be numbers (drop or encode these columns).")
    if all(isinstance(t, np.dtype) for t in frame.dtypes):
        return frame.to_numpy()
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable pandas dtypes (Int64, Float32...)


def _check_matrix(arr: object, source: Path) -> np.ndarray:
    """A numeric 2-D array with at least one row and column, or a clear error."""
    try:
        import pandas as pd

        if isinstance(arr, pd.DataFrame):
            arr = _frame_matrix(arr, source)
    except ImportError:  # pragma: no cover
        pass
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{source}: expected a 2-D numeric array, got {type(arr).__name__}.")
    if arr.dtype.kind == "c":
        raise InputError(f"{source}: complex descriptors ({arr.dtype}) are not supported; store the real and imaginary parts as separate columns.")
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InputError(f"{source}: expected a numeric array, got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise InputError(f"{source}: expected a 2-D array (rows = images, columns = features), got {arr.ndim}-D with shape {arr.shape}.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{source}: the descriptor array is empty (shape {arr.shape}).")
    return arr


def _note_cast(dtype: np.dtype, source: Path) -> None:
    """A cast to float32 is recorded: floats lose precision, integers above 2**24 lose digits."""
    if dtype == np.float32:
        return
    detail = f"descriptors were {dtype}; cast to float32"
    if dtype.kind in "iu" and dtype.itemsize >= 4:
        detail += " (integers above 16,777,216 lose their last digits)"
    warnings.warn(DescriptorNote(f"{source}: {dtype} descriptors cast to float32.", "dtype", detail), stacklevel=4)


def _to_float32(arr: np.ndarray, source: Path, note_cast: bool = True) -> np.ndarray:
    if arr.dtype != np.float32:
        if note_cast:
            _note_cast(arr.dtype, source)
        return arr.astype(np.float32)
    return arr


def _read_or_fail(source: Path, kind: str, read):  # type: ignore[no-untyped-def]
    """Run a format reader; anything it raises on a corrupt file becomes one line."""
    try:
        return read()
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{source}: not enough memory to read it as {kind}.") from None
    except Exception as exc:  # noqa: BLE001 - zip, arrow, hdf5, numpy and parser errors alike
        reason = " ".join(str(exc).split())[:160]
        raise InputError(f"{source}: cannot read it as {kind} ({type(exc).__name__}: {reason}).") from None


def _write_npy_chunked(arr: np.ndarray, target: Path, chunk_rows: int = 65536) -> None:
    """Write ``arr`` as a float32 .npy without a second full copy; atomic via rename."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=arr.shape)
    for start in range(0, arr.shape[0], chunk_rows):
        out[start:start + chunk_rows] = arr[start:start + chunk_rows]
    out.flush()
    del out
    os.replace(tmp, target)


def load_descriptors(
    path: str | Path,
    *,
    cache_dir: str | Path | None = None,
    trust_pickle: bool = False,
    mmap: bool = True,
) -> np.ndarray:
    """Load a descriptor matrix as float32, memory-mapped where the format allows.

    Formats: pickle of a bare 2-D array or numeric DataFrame (case format), `.npy`, `.npz`
    (first array, or the one named ``descriptors``), `.parquet`, `.csv` (numeric columns,
    header row), `.h5` (first 2-D dataset).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Descriptor file {path} does not exist.")
    if path.is_dir():
        raise InputError(f"Descriptor path {path} is a folder; expected a file.")
    if not os.access(path, os.R_OK):
        raise InputError(f"Descriptor file {path} is not readable (permission denied).")
    if path.stat().st_size == 0:
        raise InputError(f"Descriptor file {path} is empty (0 bytes).")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(f"Descriptor file {path} has an unsupported extension '{suffix}'; supported: {', '.join(SUPPORTED_SUFFIXES)}.")

    if suffix == ".npy":
        arr = _check_matrix(_read_or_fail(path, ".npy", lambda: np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)), path)
        if arr.dtype == np.float32:
            return arr
        if cache_dir is None:
            return _to_float32(np.asarray(arr), path)
        return _cached_npy(path, lambda: arr, cache_dir)

    if suffix in (".pkl", ".pickle"):
        loader = lambda: _check_matrix(load_pickle(path, trust=trust_pickle, mmap=mmap), path)  # noqa: E731
        if mmap and not trust_pickle:
            arr = _read_or_fail(path, "a pickle", loader)
            if isinstance(arr, np.memmap) and arr.dtype == np.float32 and arr.flags.c_contiguous:
                return arr  # a large float32 array: mapped from the pickle itself, no cache copy
            loader = lambda: arr  # noqa: E731 - read once; cast and cached below
        if cache_dir is None:
            return _to_float32(loader(), path)
        return _cached_npy(path, loader, cache_dir)

    if suffix == ".npz":
        def read_npz() -> np.ndarray:
            with np.load(path, allow_pickle=False) as z:
                if not z.files:
                    raise InputError(f"{path}: the .npz archive holds no arrays.")
                return z["descriptors" if "descriptors" in z.files else z.files[0]]

        return _to_float32(_check_matrix(_read_or_fail(path, ".npz", read_npz), path), path)
    if suffix == ".parquet":
        import pandas as pd

        return _to_float32(_check_matrix(_read_or_fail(path, "Parquet", lambda: pd.read_parquet(path)), path), path)
    if suffix == ".csv":
        from vehiclust.io._text import read_text_csv

        frame = read_text_csv(path, "Descriptor file")
        if frame.empty:
            raise InputError(f"Descriptor file {path} holds no data.")
        return _to_float32(_check_matrix(frame, path), path, note_cast=False)  # text has no dtype

    def read_h5() -> np.ndarray:
        import h5py

        with h5py.File(path, "r") as fh:
            datasets: list[str] = []
            fh.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) and obj.ndim == 2 else None)
            if not datasets:
                raise InputError(f"{path}: no 2-D dataset found in the HDF5 file.")
            return fh[datasets[0]][()]

    return _to_float32(_check_matrix(_read_or_fail(path, "HDF5", read_h5), path), path)


def _cache_intact(target: Path) -> bool:
    """A float32 2-D .npy whose size is exactly its header plus its data (a killed or damaged
    write fails this and is rebuilt)."""
    try:
        with open(target, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = header(fh)
            offset = fh.tell()
        if dtype != np.float32 or fortran or len(shape) != 2:
            return False
        return target.stat().st_size == offset + 4 * int(np.prod(shape, dtype=object))
    except Exception:  # noqa: BLE001 - unreadable header: damaged
        return False


def _cached_npy(source: Path, loader, cache_dir: str | Path) -> np.ndarray:  # type: ignore[no-untyped-def]
    cache_dir = Path(cache_dir)
    target = cache_dir / f"{source.stem}-{content_key(source)}.npy"
    if target.exists():
        if _cache_intact(target):
            log.info("%s: memory-mapping cached %s", source, target)
            return np.load(target, mmap_mode="r")
        log.warning("%s: the cached copy %s is damaged; rebuilding it", source, target)
        target.unlink()
    log.info("%s: converting once to float32 .npy cache %s", source, target)
    arr = loader()  # a file that cannot be read leaves no cache folder behind
    _note_cast(arr.dtype, source)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the cache folder {cache_dir} ({exc.strerror}).") from None
    _write_npy_chunked(arr, target)
    del arr
    return np.load(target, mmap_mode="r")
