"""Atomic writes: a reader never sees a half-written output, even if the run is killed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600


def _tmp_beside(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _FILE_MODE)
    os.close(fd)
    return Path(tmp)


def atomic_write_text(text: str, path: str | Path, encoding: str = "utf-8") -> Path:
    path = Path(path)
    tmp = _tmp_beside(path)
    try:
        tmp.write_text(text, encoding=encoding)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    path = Path(path)
    tmp = _tmp_beside(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_copy(source: str | Path, path: str | Path) -> Path:
    """Copy the file ``source`` to ``path`` atomically (an output written once, needed twice)."""
    import shutil

    path = Path(path)
    tmp = _tmp_beside(path)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


#: First characters a spreadsheet reads as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _safe_strings(values: pd.Series) -> pd.Series:
    """Text cells that a spreadsheet would run as a formula get a leading ``'``; numbers never."""
    if values.dtype != object and pd.api.types.is_string_dtype(values.dtype):
        risky = values.str.match(r"[=+\-@\t\r]").fillna(False).to_numpy(bool)
    else:
        starts = set(FORMULA_STARTS)
        risky = np.fromiter((isinstance(v, str) and v[:1] in starts for v in values.to_numpy()), bool, len(values))
    if not risky.any():
        return values
    text = values.astype(object)
    out = text.copy()
    out[risky] = "'" + text[risky].astype(str)
    return out


def formula_safe(frame: pd.DataFrame, index: bool = False) -> pd.DataFrame:
    """``frame`` with every text cell (and header, and index label when written) that starts
    with ``= + - @``, tab or CR prefixed with ``'``; the frame itself is not changed."""
    out = frame
    for i, (name, dtype) in enumerate(zip(frame.columns, frame.dtypes)):
        if dtype == object or pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
            column = frame.iloc[:, i]
            safe = _safe_strings(column)
            if safe is not column:
                if out is frame:
                    out = frame.copy()
                out.isetitem(i, safe)
    names = [_safe_text(c) for c in frame.columns]
    if names != list(frame.columns):
        out = out.set_axis(names, axis=1) if out is not frame else frame.set_axis(names, axis=1)
    if index and not isinstance(frame.index, pd.MultiIndex) and (frame.index.dtype == object
                                                                 or pd.api.types.is_string_dtype(frame.index.dtype)):
        safe_index = [_safe_text(v) for v in frame.index]
        if safe_index != list(frame.index):
            out = out.set_axis(pd.Index(safe_index, name=_safe_text(frame.index.name)), axis=0)
    return out


def atomic_write_csv(frame: pd.DataFrame, path: str | Path, index: bool = False, **kwargs: Any) -> Path:
    """Write ``frame`` as CSV atomically; text that a spreadsheet would run as a formula is
    prefixed with ``'`` (:func:`formula_safe`)."""
    path = Path(path)
    tmp = _tmp_beside(path)
    try:
        formula_safe(frame, index=index).to_csv(tmp, index=index, **kwargs)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_save_npy(array: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    tmp = _tmp_beside(path)
    try:
        with open(tmp, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
