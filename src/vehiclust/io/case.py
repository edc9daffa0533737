"""Load a whole case: descriptor sets + paths (+ images root, labels), row-aligned."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.io.descriptors import DescriptorNote, load_descriptors
from vehiclust.io.labels import RESERVED, join_labels, read_labels
from vehiclust.io.paths import check_folder_name, normalise_path, read_given_paths, resolve_all

log = logging.getLogger(__name__)


@dataclass
class Case:
    """Row i of every descriptor array is row i of ``samples``."""

    samples: pd.DataFrame  # path, path_given, resolved ("" without an images root), path_error, label columns
    descriptors: dict[str, np.ndarray]  # name -> (n, d) float32, memory-mapped when possible
    sources: dict[str, Path] = field(default_factory=dict)
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (descriptor, check, detail)

    @property
    def label_columns(self) -> list[str]:
        return [c for c in self.samples.columns if c not in RESERVED]


def parse_named_paths(items: list[str] | tuple[str, ...]) -> dict[str, Path]:
    """``["osnet=a.pkl", "b.npy"]`` → ``{"osnet": a.pkl, "b": b.npy}``."""
    named: dict[str, Path] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            value, name = item, re.sub(r"[^A-Za-z0-9._+-]", "_", Path(item).stem).lstrip(".") or "descriptors"
        name = name.strip()
        if not name or not value:
            raise InputError(f"Expected NAME=PATH, got '{item}'.")
        check_folder_name(name)
        if name in named:
            raise InputError(f"The descriptor name '{name}' is given twice.")
        named[name] = Path(value)
    return named


def load_case(
    descriptors: dict[str, str | Path],
    paths: str | Path,
    *,
    images: str | Path | None = None,
    labels: str | Path | None = None,
    trust_pickle: bool = False,
    cache_dir: str | Path | None = None,
) -> Case:
    """Load and row-align everything; fatal mismatches raise :class:`InputError`."""
    if not descriptors:
        raise InputError("At least one descriptor set is needed.")
    given = read_given_paths(paths)  # outputs give these back, so that they join to the file
    path_series = given.map(normalise_path).rename("path")
    n = len(path_series)
    if n == 0:
        raise InputError(f"Paths file {paths} has no rows.")
    arrays: dict[str, np.ndarray] = {}
    sources: dict[str, Path] = {}
    notes: list[tuple[str, str, str]] = []
    for name, src in descriptors.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            arr = load_descriptors(src, cache_dir=cache_dir, trust_pickle=trust_pickle)
        for w in caught:  # pass them on, and keep them for the validation table
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if isinstance(w.message, DescriptorNote):
                notes.append((name, w.message.check, w.message.detail))
        if arr.shape[0] != n:
            raise InputError(f"{Path(paths).name} has {n:,} rows but {Path(src).name} has {arr.shape[0]:,}.")
        arrays[name] = arr
        sources[name] = Path(src)
        log.info("loaded %s: %s x %s from %s", name, f"{arr.shape[0]:,}", arr.shape[1], src)
    samples = pd.DataFrame({"path": path_series.to_numpy(), "path_given": given.to_numpy()})
    if images is not None:
        resolved, refused = resolve_all(images, path_series)
        samples["resolved"] = resolved.to_numpy()
        samples["path_error"] = refused.to_numpy()
    else:
        samples["resolved"] = ""
        samples["path_error"] = ""
    if labels is not None:
        label_frame = join_labels(path_series, read_labels(labels))
        matched = int(label_frame.notna().any(axis=1).sum())
        if matched == 0:
            raise InputError(f"Labels file {labels} matches none of the {n:,} paths (joined on the normalised path).")
        for col in label_frame.columns:
            samples[col] = label_frame[col].to_numpy()
    return Case(samples=samples, descriptors=arrays, sources=sources, notes=notes)
