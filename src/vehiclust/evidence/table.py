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
from vehiclust.evidence.properties import PropertyCache, file_key, measure_cached

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


def disk_cache(source: EvidenceSource, cache_dir: str | Path | None) -> PropertyCache:
    """Where ``source``'s measurements persist between runs (one file per source and version;
    rows keyed on image path, size and modification time)."""
    return PropertyCache(cache_dir, f"evidence-{source.cache_name()}")


def measure_source(paths: Sequence[str], source: EvidenceSource, cache_dir: str | Path | None = None,
                   description: str | None = None) -> pd.DataFrame:
    """``source`` measured on every path (an empty one too), one row each, in order; only the
    images not in ``cache_dir`` yet are read. The image checks measure their properties here."""
    columns = list(source.columns)

    def measure(batch: list[str]) -> pd.DataFrame:
        found = source.measure(batch)
        if len(found) != len(batch):
            raise ValueError(f"Evidence source {source.name!r} returned {len(found)} rows for {len(batch)} images.")
        return found.reindex(columns=columns).reset_index(drop=True)

    paths = [str(p) if p else "" for p in paths]
    if cache_dir is None:
        return measure(paths)
    return measure_cached(paths, measure, disk_cache(source, cache_dir), description=description or f"evidence {source.name}",
                          keep=source.ran)[columns].reset_index(drop=True)


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
            found = measure_source(todo, source, cache_dir)
            done.update(zip(todo, found.to_dict("records")))
        frames.append(pd.DataFrame([done.get(p, {}) for p in paths], columns=list(source.columns)))
    if not frames:
        return pd.DataFrame(index=range(len(paths)))
    return pd.concat(frames, axis=1)


def recall_measured(paths: Sequence[str], source: EvidenceSource, cache: EvidenceCache,
                    cache_dir: str | Path | None) -> None:
    """Put into ``cache`` what ``cache_dir`` already holds of ``source`` for ``paths`` (for a
    caller that measures the rest itself, in worker processes, then calls :func:`keep_measured`)."""
    if cache_dir is None:
        return
    stored = disk_cache(source, cache_dir).load()
    if not len(stored) or "key" not in stored:
        return
    stored = stored.drop_duplicates("key", keep="last").set_index("key")
    done = cache.measured.setdefault(source.name, {})
    columns = [c for c in source.columns if c in stored.columns]
    for p in paths:
        if p and p not in done:
            key = file_key(str(p))
            if key in stored.index:
                done[str(p)] = stored.loc[key, columns].to_dict()


def keep_measured(paths: Sequence[str], source: EvidenceSource, cache: EvidenceCache,
                  cache_dir: str | Path | None) -> None:
    """Write ``cache``'s records of ``source`` for ``paths`` to ``cache_dir`` (the counterpart of
    :func:`recall_measured`; nothing without a cache folder or when the source did not run)."""
    done = cache.measured.get(source.name, {})
    paths = sorted({str(p) for p in paths if p and str(p) in done})
    if cache_dir is None or not paths or not source.ran():
        return
    fresh = pd.DataFrame([done[p] for p in paths], columns=list(source.columns))
    measure_cached(paths, lambda batch: fresh.set_index(pd.Index(paths)).loc[batch].reset_index(drop=True),
                   disk_cache(source, cache_dir), description=f"evidence {source.name}")
