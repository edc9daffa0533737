"""Validation of loaded descriptors: what is kept, what is dropped, what is reported.

Fatal problems (shape, row counts) are raised while loading; here everything is recoverable:
NaN/inf rows are kept but excluded from fitting (reported later as outliers with reason
``invalid_descriptor``), dead columns are dropped, duplicates are reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vehiclust.progress import track

log = logging.getLogger(__name__)

FINDING_COLUMNS = ["descriptor", "check", "severity", "count", "detail"]
_TINY = np.finfo(np.float32).tiny
SCAN_THREADS = 2  # sets scanned side by side (a full-size case: 6 GB of memory maps, read once)
SCAN_THREADS_FROM = 50_000_000  # values over all sets; below, one set after another


@dataclass
class Validation:
    valid_rows: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n,) bool
    kept_columns: dict[str, np.ndarray] = field(default_factory=dict)  # name -> column indices
    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FINDING_COLUMNS))

    def summary(self) -> dict[str, object]:
        return {
            name: {"valid_rows": int(v.sum()), "kept_columns": int(len(self.kept_columns[name]))}
            for name, v in self.valid_rows.items()
        }


def _row_fingerprints(chunk: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """Two float64 projections per row: equal rows give equal fingerprints."""
    return np.ascontiguousarray(chunk, dtype=np.float64) @ projection


def _scan(name: str, X: np.ndarray, chunk_rows: int, progress: bool | None) -> tuple:
    """One chunked pass over a set: (rows, finite rows, column min, max, any normal value, row
    fingerprints)."""
    n, d = X.shape
    finite = np.ones(n, dtype=bool)
    col_min = np.full(d, np.inf, dtype=np.float64)
    col_max = np.full(d, -np.inf, dtype=np.float64)
    col_big = np.zeros(d, dtype=bool)  # any |value| >= smallest normal float32
    projection = np.random.default_rng(0).standard_normal((d, 2))
    fingerprints = np.empty((n, 2), dtype=np.float64)
    for start in track(range(0, n, chunk_rows), f"validating {name}", disable=None if progress is None else not progress):
        chunk = np.asarray(X[start:start + chunk_rows])
        ok = np.isfinite(chunk).all(axis=1)
        finite[start:start + len(chunk)] = ok
        good = chunk[ok]
        if len(good):
            col_min = np.minimum(col_min, good.min(axis=0))
            col_max = np.maximum(col_max, good.max(axis=0))
            col_big |= (np.abs(good) >= _TINY).any(axis=0)
        fp = np.full((len(chunk), 2), np.nan)
        if len(good):
            fp[ok] = _row_fingerprints(good, projection)
        fingerprints[start:start + len(chunk)] = fp
    return n, finite, col_min, col_max, col_big, fingerprints


def validate_descriptors(
    descriptors: dict[str, np.ndarray],
    samples: pd.DataFrame,
    *,
    chunk_rows: int = 32768,
    progress: bool | None = None,
    notes: list[tuple[str, str, str]] | None = None,
) -> Validation:
    """One chunked pass per descriptor set; never loads a whole matrix into memory.

    ``notes`` are findings made while loading (e.g. a float64 cast), added to the table.
    """
    result = Validation()
    rows: list[dict[str, object]] = [
        {"descriptor": name, "check": check, "severity": "info", "count": 1, "detail": detail}
        for name, check, detail in (notes or [])
    ]

    def note(name: str, check: str, severity: str, count: int, detail: str) -> None:
        rows.append({"descriptor": name, "check": check, "severity": severity, "count": int(count), "detail": detail})
        log.log(logging.WARNING if severity == "warning" else logging.INFO, "%s: %s", name, detail)

    names = list(descriptors)
    big = sum(int(np.prod(descriptors[name].shape)) for name in names) >= SCAN_THREADS_FROM
    threads = min(SCAN_THREADS, len(names)) if big else 1
    show = (None if progress is None else progress) if threads == 1 else False  # no bars from threads

    def scan(name: str) -> tuple:
        return _scan(name, descriptors[name], chunk_rows, show)

    if threads > 1:  # the sets side by side: numpy and the page faults of their memory maps let go of the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            scans = list(pool.map(scan, names))
    else:
        scans = [scan(name) for name in names]
    for name, (n, finite, col_min, col_max, col_big, fingerprints) in zip(names, scans):
        n_bad = int((~finite).sum())
        if n_bad == n:
            from vehiclust.exceptions import InputError

            raise InputError(f"{name}: every row holds NaN or inf; nothing to cluster.")
        if n_bad:
            note(name, "non_finite_rows", "warning", n_bad,
                 f"{n_bad:,} of {n:,} rows hold NaN or inf; kept in the output, excluded from fitting, flagged invalid_descriptor")
        constant = col_max <= col_min
        denormal_only = ~col_big & ~constant
        dropped = constant | denormal_only
        if constant.any():
            note(name, "constant_columns", "warning", int(constant.sum()),
                 f"{int(constant.sum())} constant columns dropped (e.g. {np.flatnonzero(constant)[:5].tolist()})")
        if denormal_only.any():
            note(name, "denormal_columns", "warning", int(denormal_only.sum()),
                 f"{int(denormal_only.sum())} columns hold only denormal or zero values; dropped")
        if dropped.all():
            from vehiclust.exceptions import InputError

            raise InputError(f"{name}: every column is constant or denormal; nothing to cluster.")
        fp = pd.DataFrame(fingerprints[finite])
        dup_rows = int(fp.duplicated().sum())
        if dup_rows:
            note(name, "duplicate_rows", "info", dup_rows, f"{dup_rows:,} rows repeat an earlier row exactly")
        result.valid_rows[name] = finite
        result.kept_columns[name] = np.flatnonzero(~dropped)
    dup_paths = int(samples["path"].duplicated().sum())
    if dup_paths:
        note("*", "duplicate_paths", "warning", dup_paths, f"{dup_paths:,} paths appear more than once")
    empty = int((samples["path"] == "").sum())
    if empty:
        note("*", "empty_paths", "warning", empty, f"{empty:,} rows have an empty path")
    if "path_error" in samples:
        refused = int((samples["path_error"] != "").sum())
        if refused:
            note("*", "refused_paths", "warning", refused,
                 f"{refused:,} paths were refused (outside the images root, absolute or empty); their images are not read")
    result.findings = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return result
