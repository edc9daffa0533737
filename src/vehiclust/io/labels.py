"""Optional labels (type, colour, viewpoint...) joined to the rows by normalised path.

Labels are only ever reported (external agreement, description scoring), never used to fit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.io._text import read_text_csv
from vehiclust.io.paths import PATH_COLUMNS, normalise_path

RESERVED = {"path", "path_given", "resolved", "path_error"}  # the samples columns vehiclust adds itself


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a labels file: one path column (``path`` or ``paths``) + attribute columns."""
    path = Path(path)
    frame = read_text_csv(path, "Labels file", dtype=str, keep_default_na=False)
    column = next((c for c in PATH_COLUMNS if c in frame.columns), None)
    if column is None:
        raise InputError(f"Labels file {path} needs a 'path' column; it has {list(frame.columns)}.")
    frame = frame.rename(columns={column: "path"})
    frame["path"] = frame["path"].map(normalise_path)
    clash = [c for c in frame.columns if c in RESERVED - {"path"}]
    if clash:
        raise InputError(f"Labels file {path} uses reserved column names {clash}.")
    if len(frame.columns) < 2:
        raise InputError(f"Labels file {path} has no attribute columns besides 'path'.")
    dup = frame["path"].duplicated()
    if dup.any():
        warnings.warn(f"{path}: {int(dup.sum())} duplicate paths; the first label of each is used.", stacklevel=2)
        frame = frame[~dup]
    return frame.replace({"": pd.NA})


def join_labels(paths: pd.Series, labels: pd.DataFrame) -> pd.DataFrame:
    """Attribute columns aligned to ``paths`` (row order kept; missing labels are NA)."""
    joined = pd.DataFrame({"path": paths.to_numpy()}).merge(labels, on="path", how="left", sort=False)
    return joined.drop(columns=["path"])
