"""`PreparedSet`: one descriptor set (or mix) ready for clustering.

A stage-neutral type: the prepare and mix steps make it, the cluster, outlier, map and
compare steps read it. It lives here (not in ``pipeline``) so that no stage imports back
from the orchestration module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class PreparedSet:
    """One descriptor set (or mix) ready for clustering."""

    name: str
    X: np.ndarray  # (n_valid, d) float32, prepared (normalised, reduced)
    valid: np.ndarray  # (n_rows,) bool: rows that entered fitting
    preparation: dict[str, Any] = field(default_factory=dict)
    graph: Any = None  # vehiclust.neighbors.KNNGraph of X: built by the outlier stage, reused by the maps
    model: dict[str, Any] = field(default_factory=dict)  # for new rows: prep_* arrays or {"mixer": ...} (vehiclust.assign)
