"""Read one descriptor set from any supported format into a float32 2-D array.

Large inputs stay on disk: `.npy` is memory-mapped; a pickle (the case format) is converted
once into a float32 `.npy` in a cache folder keyed by a content hash, then memory-mapped.
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


def _check_matrix(arr: object, source: Path) -> np.ndarray:
    """A numeric 2-D array with at least one row and column, or a clear error."""
    try:
        import pandas as pd

        if isinstance(arr, pd.DataFrame):
            non_numeric = [c for c in arr.columns if not np.issubdtype(arr[c].dtype, np.number)]
            if non_numeric:
                raise InputError(f"{source}: the DataFrame has non-numeric columns {non_numeric[:5]}; descriptors must be numbers.")
            arr = arr.to_numpy()
    except ImportError:  # pragma: no cover
        pass
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{source}: expected a 2-D numeric array, got {type(arr).__name__}.")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{source}: expected a numeric array, got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise InputError(f"{source}: expected a 2-D array (rows = images, columns = features), got {arr.ndim}-D with shape {arr.shape}.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{source}: the descriptor array is empty (shape {arr.shape}).")
    return arr


def _to_float32(arr: np.ndarray, source: Path, note_cast: bool = True) -> np.ndarray:
    if arr.dtype != np.float32:
        if note_cast and np.issubdtype(arr.dtype, np.floating):
            warnings.warn(f"{source}: {arr.dtype} descriptors cast to float32.", stacklevel=3)
        return arr.astype(np.float32)
    return arr


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
        try:
            arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except ValueError as exc:
            raise InputError(f"{path}: cannot read as .npy ({exc}).") from None
        arr = _check_matrix(arr, path)
        if arr.dtype == np.float32:
            return arr
        if cache_dir is None:
            return _to_float32(np.asarray(arr), path)
        return _cached_npy(path, lambda: _check_matrix(np.load(path, mmap_mode="r"), path), cache_dir)

    if suffix in (".pkl", ".pickle"):
        loader = lambda: _check_matrix(load_pickle(path, trust=trust_pickle), path)  # noqa: E731
        if cache_dir is None:
            return _to_float32(loader(), path)
        return _cached_npy(path, loader, cache_dir)

    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            if not z.files:
                raise InputError(f"{path}: the .npz archive holds no arrays.")
            key = "descriptors" if "descriptors" in z.files else z.files[0]
            return _to_float32(_check_matrix(z[key], path), path)
    if suffix == ".parquet":
        import pandas as pd

        return _to_float32(_check_matrix(pd.read_parquet(path), path), path)
    if suffix == ".csv":
        import pandas as pd

        try:
            frame = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise InputError(f"Descriptor file {path} holds no data.") from None
        return _to_float32(_check_matrix(frame, path), path, note_cast=False)  # text has no dtype
    # .h5 / .hdf5
    import h5py

    with h5py.File(path, "r") as fh:
        datasets: list[str] = []
        fh.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) and obj.ndim == 2 else None)
        if not datasets:
            raise InputError(f"{path}: no 2-D dataset found in the HDF5 file.")
        return _to_float32(_check_matrix(fh[datasets[0]][()], path), path)


def _cached_npy(source: Path, loader, cache_dir: str | Path) -> np.ndarray:  # type: ignore[no-untyped-def]
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{source.stem}-{content_key(source)}.npy"
    if target.exists():
        log.info("%s: memory-mapping cached %s", source, target)
        return np.load(target, mmap_mode="r")
    log.info("%s: converting once to float32 .npy cache %s", source, target)
    arr = loader()
    if arr.dtype != np.float32 and np.issubdtype(arr.dtype, np.floating):
        warnings.warn(f"{source}: {arr.dtype} descriptors cast to float32.", stacklevel=3)
    _write_npy_chunked(arr, target)
    del arr
    return np.load(target, mmap_mode="r")
