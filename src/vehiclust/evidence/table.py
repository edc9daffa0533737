"""The per-image evidence table: every registered source measured once per image.

:class:`EvidenceCache` holds what a run has measured, per source and path, so the descriptor
sets, the consensus and the comparison of one run read each image once; with a cache folder
the measurements also persist between runs (keyed on path, size and modification time, like
the image checks' properties).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.evidence.base import EvidenceSource
from vehiclust.evidence.sources import sources as registered
from vehiclust.quality import PropertyCache, measure_cached

log = logging.getLogger(__name__)


class EvidenceCache:
    """Per-image evidence already measured in this run, shared by its descriptor sets.

    ``measured``: source name → path → that image's record (column → value), for every source
    measured through :func:`measure_sources` (describe's pixels and colour model on the vehicle
    box, the head models, and the registered ones). ``boxes``: the vehicle detector's box per
    path; ``heads_failed``: the models that could not run (not tried again in this run)."""

    def __init__(self) -> None:
        self.measured: dict[str, dict[str, dict]] = {}
        self.boxes: dict[str, np.ndarray] = {}
        self.heads_failed: set[str] = set()


def measure_sources(paths: Sequence[str], sources: Sequence[EvidenceSource] | None = None,
                    cache: EvidenceCache | None = None, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per path (same order), the columns of every source (default: the registered
    ones); a path "" gets NaN. Each image is measured once per source: in ``cache`` for the
    run, and in ``cache_dir`` between runs."""
    paths = [str(p) if p else "" for p in paths]
    cache = cache if cache is not None else EvidenceCache()
    frames = []
    for source in registered() if sources is None else sources:
        done = cache.measured.setdefault(source.name, {})
        todo = sorted({p for p in paths if p and p not in done})
        if todo:
            columns = list(source.columns)

            def measure(batch: list[str], source: EvidenceSource = source, columns: list[str] = columns) -> pd.DataFrame:
                found = source.measure(batch)
                if len(found) != len(batch):
                    raise ValueError(f"Evidence source {source.name!r} returned {len(found)} rows for {len(batch)} images.")
                return found.reindex(columns=columns).reset_index(drop=True)

            if cache_dir is not None:
                disk = PropertyCache(cache_dir, f"evidence-{source.name}-{source.version}")
                found = measure_cached(todo, measure, disk, description=f"evidence {source.name}")
            else:
                found = measure(todo)
            done.update(zip(todo, found[columns].to_dict("records")))
        frames.append(pd.DataFrame([done.get(p, {}) for p in paths], columns=list(source.columns)))
    if not frames:
        return pd.DataFrame(index=range(len(paths)))
    return pd.concat(frames, axis=1)
