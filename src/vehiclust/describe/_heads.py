"""Model head tables → per-image evidence words: colour and type, ImageNet class.

A head table has ``path`` plus the model's columns. Columns are recognised by name, so the
tables written by :func:`vehiclust.extract.predict_heads` and user-supplied CSVs both work:
``color_white`` / ``colour:white`` / ``type_van`` style probability columns, and
``imagenet_top1`` (class name) with ``imagenet_top1_prob``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from vehiclust.describe._colour import COLOURS

HEAD_COLUMNS = ["head_colour", "head_colour_prob", "head_type", "head_type_prob",
                "imagenet_class", "imagenet_type", "imagenet_prob", "imagenet_vehicle_prob"]

_COLOUR_SYNONYMS = {"gray": "grey", "silver": "grey"}
_COLOUR_COL = re.compile(r"^(?:.*[_:. -])?colou?r[_:. -]+([a-z]+)(?:[_:. -]prob(?:ability)?)?$")
_TYPE_COL = re.compile(r"^(?:.*[_:. -])?type[_:. -]+([a-z]+)(?:[_:. -]prob(?:ability)?)?$")

# ImageNet classes (first synonym) → the vehicle-type word a description may use.
IMAGENET_TYPES = {
    "sports car": "car", "convertible": "car", "cab": "car", "limousine": "car", "beach wagon": "car",
    "racer": "car", "jeep": "car", "Model T": "car", "car wheel": "car", "grille": "car",
    "golfcart": "car", "go-kart": "car", "police van": "van", "moving van": "van",
    # a minivan (MPV, people carrier) is a passenger car, not a goods van
    "minivan": "car",
    "ambulance": "van", "recreational vehicle": "van", "minibus": "minibus", "pickup": "pickup",
    "tow truck": "truck", "garbage truck": "truck", "fire engine": "truck", "snowplow": "truck",
    "forklift": "truck", "trailer truck": "articulated lorry", "school bus": "bus", "trolleybus": "bus",
    "moped": "motorbike", "motor scooter": "motorbike", "crash helmet": "motorbike",
    "mountain bike": "bicycle", "bicycle-built-for-two": "bicycle", "tricycle": "bicycle",
    "unicycle": "bicycle", "tractor": "tractor", "streetcar": "tram", "half track": "military vehicle",
    "tank": "military vehicle", "amphibian": "military vehicle",
}


def _short(name: object) -> str:
    return str(name).split(",")[0].strip() if isinstance(name, str) and name else ""


def _argmax_word(frame: pd.DataFrame, columns: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    if not columns:
        return pd.Series([""] * len(frame), index=frame.index), pd.Series(np.nan, index=frame.index)
    probs = frame[list(columns)].apply(pd.to_numeric, errors="coerce")
    words = np.array(list(columns.values()), dtype=object)
    ok = probs.notna().any(axis=1).to_numpy()
    arr = probs.fillna(-np.inf).to_numpy(dtype=float)
    best = arr.argmax(axis=1)
    word = np.where(ok, words[best], "")
    prob = np.where(ok, arr[np.arange(len(arr)), best], np.nan)
    return pd.Series(word, index=frame.index), pd.Series(prob, index=frame.index)


def head_evidence(table: pd.DataFrame) -> pd.DataFrame:
    """Per-image evidence words from a head table (same rows, ``path`` kept)."""
    colour_cols: dict[str, str] = {}
    type_cols: dict[str, str] = {}
    for col in table.columns:
        key = str(col).lower()
        m = _COLOUR_COL.match(key)
        if m and _COLOUR_SYNONYMS.get(m.group(1), m.group(1)) in COLOURS:
            colour_cols[col] = _COLOUR_SYNONYMS.get(m.group(1), m.group(1))
            continue
        m = _TYPE_COL.match(key)
        if m:
            type_cols[col] = m.group(1)
    out = pd.DataFrame({"path": table["path"].astype(str).to_numpy()} if "path" in table else {}, index=table.index)
    out["head_colour"], out["head_colour_prob"] = _argmax_word(table, colour_cols)
    out["head_type"], out["head_type_prob"] = _argmax_word(table, type_cols)
    if "imagenet_top1" in table:
        cls = table["imagenet_top1"].map(_short)
        out["imagenet_class"] = cls
        out["imagenet_type"] = cls.map(lambda c: IMAGENET_TYPES.get(c, ""))
        out["imagenet_prob"] = pd.to_numeric(table.get("imagenet_top1_prob"), errors="coerce") if "imagenet_top1_prob" in table else np.nan
    else:
        out["imagenet_class"] = ""
        out["imagenet_type"] = ""
        out["imagenet_prob"] = np.nan
    out["imagenet_vehicle_prob"] = pd.to_numeric(table["imagenet_vehicle_prob"], errors="coerce") if "imagenet_vehicle_prob" in table else np.nan
    return out.reset_index(drop=True)


def merge_head_tables(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Combine the evidence of several head tables on ``path`` (first non-empty value wins)."""
    merged: pd.DataFrame | None = None
    for t in tables:
        ev = head_evidence(t).drop_duplicates("path").set_index("path")
        if merged is None:
            merged = ev
            continue
        merged = merged.reindex(merged.index.union(ev.index))
        ev = ev.reindex(merged.index)
        for col in HEAD_COLUMNS:
            if not pd.api.types.is_numeric_dtype(merged[col]):
                merged[col] = merged[col].where(merged[col].fillna("").astype(str) != "", ev[col])
            else:
                merged[col] = merged[col].fillna(ev[col])
    if merged is None:
        return pd.DataFrame(columns=["path"] + HEAD_COLUMNS)
    return merged.reset_index().rename(columns={"index": "path"})
