"""The user's label columns: the one definition that describe and compare read.

Labels only ever score and describe; nothing the tool decides reads them.
"""

from __future__ import annotations

import pandas as pd

from vehiclust.io.labels import RESERVED


def label_columns(samples: pd.DataFrame) -> pd.DataFrame:
    """The user's label columns of a samples table (every column but the ones vehiclust adds:
    ``path``, ``path_given``, ``resolved``, ``path_error``), as strings with NaN for empty."""
    cols = [c for c in samples.columns if c not in RESERVED]
    out = samples[cols].copy()
    for c in cols:
        s = out[c]
        out[c] = s.where(s.notna() & (s.astype(str).str.len() > 0)).astype(object)
        out[c] = out[c].map(lambda v: v if pd.isna(v) else str(v))
    return out
