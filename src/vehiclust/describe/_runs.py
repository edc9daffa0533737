"""Descriptions and galleries for one descriptor run, as the pipeline's describe stage needs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.describe._describer import ClusterDescriber
from vehiclust.evidence import EvidenceCache, label_columns, read_head_table

log = logging.getLogger(__name__)


def describe_run(run_, X: np.ndarray, valid: np.ndarray, samples: pd.DataFrame, run_dir: str | Path, *,
                 images: bool, head_files: Mapping[str, str | Path] | None = None, random_state: int = 0,
                 cache: EvidenceCache | None = None, progress: bool | None = None,
                 weights: str | Path | None = None, run_heads: bool = True,
                 cache_dir: str | Path | None = None) -> ClusterDescriber:
    """Set ``run_.clusters`` and write + register galleries (when images are available).

    ``cache_dir``: where the vehicle detector's boxes are cached per image."""
    paths = samples["resolved"].fillna("").astype(str).tolist() if images and "resolved" in samples else None
    labels = label_columns(samples)
    head_tables = {name: read_head_table(f) for name, f in (head_files or {}).items()}
    describer = ClusterDescriber(random_state=random_state, progress=progress, weights=weights, run_heads=run_heads,
                                 cache_dir=cache_dir)
    describer.fit(
        np.asarray(run_.labels, dtype=np.int64), X, rows=np.flatnonzero(valid), paths=paths,
        label_table=labels.reset_index(drop=True) if len(labels.columns) else None,
        head_tables=head_tables or None, keys=samples["path"].astype(str).tolist(), cache=cache,
    )
    run_.clusters = describer.clusters_
    if paths is not None:
        rel = Path("descriptors") / run_.name / "galleries"
        written = describer.write_galleries(Path(run_dir) / rel, outliers=run_.outliers)
        for key, p in written.items():
            run_.artifacts[key] = str(rel / Path(p).name)
    return describer
