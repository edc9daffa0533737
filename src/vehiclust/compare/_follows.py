"""What each clustering follows: the chance-corrected share of each kind of evidence its clusters explain.

The evidence is the run's own, never the user's labels: model heads (type, colour), pixel
statistics and image checks (brightness, saturation, image quality), the registered evidence
sources (:data:`vehiclust.evidence.SOURCES`, each in the group it names) — see
:mod:`vehiclust.compare._evidence` — and, when the paths carry a vehicle identity (VeRi-Wild's
``veriwild/<part>/<vehicle id>/<image>``), the share of same-vehicle image pairs kept in one
cluster: high = the clusters follow what a vehicle is (type, colour, model), low = how it
was seen (view, camera, light).

Every share is corrected for chance, so more clusters do not mean more explained:
``(observed - expected) / (1 - expected)`` with the expectation under clusters that ignore the
evidence (the same cluster sizes, rows shuffled). 0 = the clusters say nothing about it,
1 = they determine it; negative values are shown as 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from vehiclust.compare._agreement import correlation_ratio, explained_uncertainty
from vehiclust.evidence import ATTRIBUTE_PREFIX, CONTINUOUS, attribute_group, source_groups

IDENTITY = "same vehicle"
# evidence group -> pattern on the attribute's name (label columns are never evidence)
GROUPS: dict[str, str] = {
    "type": r"(^|:)type$|imagenet_top1$",
    "colour": r"(^|:)colou?r$",
    "brightness": r"bright|dark|night",
    "saturation": r"satur",
    "image quality": r"blur|sharp|contrast|quality|noise",
}
THRESHOLD = 0.1  # a share below this is not said in words
MAX_ROWS = 50_000
N_SHUFFLES = 3


def identity_from_paths(paths: pd.Series) -> pd.Series | None:
    """The vehicle id of VeRi-Wild style paths (``veriwild/<part>/<id>/<image>``), else None."""
    parts = paths.fillna("").astype(str).str.replace("\\", "/", regex=False).str.split("/")

    def vid(p: list[str]) -> Any:
        low = [x.lower() for x in p]
        if "veriwild" in low:
            i = low.index("veriwild")
            if len(p) > i + 3:
                return f"{p[i + 1]}/{p[i + 2]}"
        return np.nan

    ids = parts.map(vid)
    return ids if ids.notna().mean() >= 0.5 else None


def pairs_together(labels: np.ndarray, identity: np.ndarray) -> float:
    """Chance-corrected share of same-identity pairs of assigned rows that share a cluster."""
    labels = np.asarray(labels)
    keep = labels >= 0
    if keep.sum() < 2:
        return float("nan")
    lab = labels[keep]
    _, ident = np.unique(np.asarray(identity, dtype=object)[keep].astype(str), return_inverse=True)
    frame = pd.DataFrame({"g": ident, "c": lab})
    ng = frame.groupby("g").size().to_numpy(float)
    ngc = frame.groupby(["g", "c"]).size().to_numpy(float)
    pairs = float(np.sum(ng * (ng - 1)))
    if pairs <= 0:
        return float("nan")
    observed = float(np.sum(ngc * (ngc - 1))) / pairs
    nc = np.bincount(np.unique(lab, return_inverse=True)[1]).astype(float)
    n = float(len(lab))
    expected = float(np.sum(nc * (nc - 1))) / (n * (n - 1))
    return (observed - expected) / (1.0 - expected) if expected < 1 else float("nan")


def _corrected_share(labels: np.ndarray, values: pd.Series, continuous: bool, rng: np.random.RandomState) -> float:
    labels = np.asarray(labels)
    if continuous:
        v = values.to_numpy(float)
        eta = correlation_ratio(labels, v)
        keep = (labels >= 0) & np.isfinite(v)
        n, k = int(keep.sum()), len(np.unique(labels[keep]))
        if not np.isfinite(eta) or n <= k:
            return float("nan")
        expected = (k - 1) / (n - 1)  # E[eta^2] for clusters blind to the value
        return (eta - expected) / (1 - expected)
    h = explained_uncertainty(labels, values)
    if not np.isfinite(h):
        return float("nan")
    known = values.notna().to_numpy() & (labels >= 0)
    null = []
    for _ in range(N_SHUFFLES):
        shuffled = labels.copy()
        shuffled[known] = rng.permutation(labels[known])
        null.append(explained_uncertainty(shuffled, values))
    expected = float(np.nanmean(null))
    return (h - expected) / (1 - expected) if expected < 1 else float("nan")


def evidence_group(column: str) -> str | None:
    """The evidence group of an attribute column; None for labels and unmatched columns."""
    if column.startswith("label:"):
        return None
    if column.startswith(ATTRIBUTE_PREFIX):  # a registered evidence source says its own group
        return attribute_group(column)
    for group, pattern in GROUPS.items():
        if re.search(pattern, column.lower()):
            return group
    return None


def what_follows(labels: Mapping[str, np.ndarray], attributes: pd.DataFrame, kinds: Mapping[str, str],
                 paths: pd.Series | None = None, random_state: Any = None) -> pd.DataFrame:
    """Candidate x evidence group: chance-corrected explained share, plus a ``follows`` sentence.

    A group with several attributes (two type heads) takes its best-explained one. Computed on
    at most 50,000 seeded rows.
    """
    rng = check_random_state(random_state)
    n = len(attributes) if len(attributes.columns) else (len(paths) if paths is not None else 0)
    rows = np.arange(n)
    if n > MAX_ROWS:
        rows = np.sort(rng.choice(n, MAX_ROWS, replace=False))
    columns = {c: evidence_group(c) for c in attributes.columns}
    groups = [g for g in dict.fromkeys([*GROUPS, *source_groups()]) if g in columns.values()]
    identity = identity_from_paths(paths) if paths is not None else None
    if identity is not None:
        groups.append(IDENTITY)
    table = pd.DataFrame(np.nan, index=pd.Index(list(labels), name="descriptor"), columns=groups)
    for name, lab in labels.items():
        lab = np.asarray(lab)[rows]
        for col, group in columns.items():
            if group is None:
                continue
            values = attributes[col].iloc[rows].reset_index(drop=True)
            share = _corrected_share(lab, values, kinds.get(col) == CONTINUOUS, rng)
            if np.isfinite(share):
                old = table.loc[name, group]
                table.loc[name, group] = share if not np.isfinite(old) else max(old, share)
        if identity is not None:
            table.loc[name, IDENTITY] = pairs_together(lab, identity.to_numpy()[rows])
    table = table.clip(lower=0.0)
    table["follows"] = [_words(table.loc[name, groups]) for name in table.index]
    return table


def _words(row: pd.Series) -> str:
    strong = row[row >= THRESHOLD].sort_values(ascending=False)
    if strong.empty:
        return "none of the measured evidence"
    names = [str(g) for g in strong.index[:3]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def follows_sentence(table: pd.DataFrame) -> str:
    """``"efficientnet: type and brightness; vdc_color: colour"`` from a :func:`what_follows` table."""
    if table is None or table.empty or "follows" not in table:
        return ""
    return "; ".join(f"{name}: {text}" for name, text in table["follows"].items())
