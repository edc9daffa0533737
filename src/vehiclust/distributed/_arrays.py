"""Row-chunked Dask arrays over descriptor matrices, read by the workers themselves.

A memory-mapped ``.npy`` (what ``vehiclust.io.load_case`` returns) is described by its file
name and offset, so each worker maps its own rows and nothing of the matrix travels through
the scheduler. An in-memory array is cut into blocks that travel once with the graph.
"""

from __future__ import annotations

import math
import mmap
import os
from dataclasses import dataclass

import numpy as np

from vehiclust.prepare.preprocess import l2_normalize as _l2_normalize

# A block of the raw matrix holds about this many bytes (float32).
BLOCK_BYTES = 1 << 26


@dataclass(frozen=True)
class MappedFile:
    """Where a worker finds a memory-mapped matrix."""

    filename: str
    offset: int
    shape: tuple[int, int]
    dtype: str
    fortran: bool

    def open(self) -> np.ndarray:
        return np.memmap(self.filename, dtype=np.dtype(self.dtype), mode="r", offset=self.offset,
                         shape=self.shape, order="F" if self.fortran else "C")


def mapped_file(X: np.ndarray) -> MappedFile | None:
    """The file behind ``X`` when ``X`` maps a whole file region (not a slice of one)."""
    if not isinstance(X, np.memmap) or not getattr(X, "filename", None):
        return None
    fortran = bool(X.flags.f_contiguous and not X.flags.c_contiguous)
    if not (X.flags.c_contiguous or X.flags.f_contiguous):
        return None
    try:
        size = os.path.getsize(X.filename)
    except OSError:
        return None
    offset = int(getattr(X, "offset", 0))
    # A slice of a memmap inherits its parent's offset; only trust an exact whole-file fit, or a
    # map made by numpy.memmap itself (its base is the mmap: e.g. the array inside a pickle).
    if offset + X.nbytes != size and not (isinstance(X.base, mmap.mmap) and offset + X.nbytes <= size):
        return None
    return MappedFile(str(X.filename), offset, tuple(int(s) for s in X.shape), X.dtype.str, fortran)


def load_block(source, lo: int, hi: int, local_rows: np.ndarray | None, columns: np.ndarray | None,
               l2: bool) -> np.ndarray:
    """Rows ``lo:hi`` (then ``local_rows`` of them) of the kept columns, float32, normalised."""
    arr = source.open() if isinstance(source, MappedFile) else source
    part = arr[lo:hi] if isinstance(source, MappedFile) else arr
    block = np.array(part if local_rows is None else part[local_rows], dtype=np.float32)
    if columns is not None and len(columns) != block.shape[1]:
        block = np.ascontiguousarray(block[:, columns])
    if l2:
        _l2_normalize(block)
    return block


def auto_chunk_rows(n_rows: int, n_cols: int, n_workers: int = 2) -> int:
    """Rows per block: at most ~64 MB of float32, and at least two blocks per worker."""
    by_bytes = max(256, BLOCK_BYTES // max(4 * n_cols, 1))
    by_workers = math.ceil(n_rows / max(2 * n_workers, 1))
    return int(max(1, min(by_bytes, by_workers)))


def row_chunked(
    X: np.ndarray,
    rows: np.ndarray | None = None,
    columns: np.ndarray | None = None,
    *,
    l2: bool = False,
    chunk_rows: int | None = None,
    n_workers: int = 2,
):
    """``X[rows][:, columns]`` (L2-normalised if asked) as a float32 Dask array chunked by rows.

    ``rows`` are sorted row indices (None = all). Nothing is read until the array is computed.
    """
    import dask
    import dask.array as da

    n = X.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    n_cols = len(columns) if columns is not None else X.shape[1]
    step = chunk_rows or auto_chunk_rows(len(rows), X.shape[1], n_workers)
    source = mapped_file(X)
    blocks = []
    for start in range(0, len(rows), step):
        sel = rows[start:start + step]
        lo, hi = int(sel[0]), int(sel[-1]) + 1
        local = None if (hi - lo == len(sel)) else sel - lo
        if source is not None:
            task = dask.delayed(load_block, pure=True)(source, lo, hi, local, columns, l2)
        else:
            # Only this block's rows go into the graph (a copy of the slice, not of X).
            part = np.asarray(X[lo:hi] if local is None else X[sel])
            task = dask.delayed(load_block, pure=False)(part, 0, len(sel), None, columns, l2)
        blocks.append(da.from_delayed(task, shape=(len(sel), n_cols), dtype=np.float32))
    if not blocks:
        return da.zeros((0, n_cols), dtype=np.float32)
    return da.concatenate(blocks, axis=0)


def n_workers(client) -> int:
    """Workers of a ``distributed.Client`` (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


def scatter_rows(client, X: np.ndarray, chunk_rows: int | None = None) -> tuple[list, list[int]]:
    """Row blocks of an in-memory matrix as futures spread over the workers, and their first rows."""
    step = int(chunk_rows or auto_chunk_rows(len(X), X.shape[1], n_workers(client)))
    starts = list(range(0, len(X), step))
    return client.scatter([np.ascontiguousarray(X[a:a + step]) for a in starts], hash=False), starts
