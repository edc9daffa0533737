"""Model head tables (CSV: ``path`` + the model's columns): read once, matched to the run's rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.io import read_text_csv
from vehiclust.io.paths import PATH_COLUMNS, normalise_path


def read_head_table(path: str | Path) -> pd.DataFrame:
    """A model head table with its path column named ``path`` and normalised paths."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Head table {path} does not exist.")
    frame = read_text_csv(path, "Head table", keep_default_na=False, na_values=[""])  # any encoding; one line
    column = next((c for c in PATH_COLUMNS if c in frame.columns), None)
    if column is None:
        raise InputError(f"Head table {path} needs a column named 'path' or 'paths'; it has {list(frame.columns)}.")
    frame = frame.rename(columns={column: "path"})
    frame["path"] = frame["path"].map(normalise_path)
    return frame
