"""Galleries: which images show a cluster (typical, random, border cases) and the montages.

Typical = nearest the cluster centroid; border = smallest margin between the distance to the
own centroid and to the nearest other centroid, i.e. the images the clustering hesitated over.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from vehiclust.io.atomic import atomic_write_bytes
from vehiclust.io.images import ImageReadError, load_thumbnail

log = logging.getLogger(__name__)

THUMB = 80
PER_ROW = 8
_LABEL_H = 18
_BG = (255, 255, 255)
_MISSING = (220, 220, 220)


def gallery_rows(X: np.ndarray, x_labels: np.ndarray, centroids: dict[int, np.ndarray], cluster: int,
                 usable: np.ndarray, n: int = PER_ROW, random_state: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Indices into ``X`` of typical, random and border members of ``cluster``.

    ``usable`` (len(X) bool) restricts picks to rows whose image can be shown.
    """
    rng = random_state if random_state is not None else np.random.default_rng(0)
    members = np.flatnonzero((x_labels == cluster) & usable)
    if members.size == 0:
        return {"typical": members, "random": members, "border": members}
    Xm = X[members].astype(np.float64)
    own = ((Xm - centroids[cluster]) ** 2).sum(1)
    typical = members[np.argsort(own, kind="stable")[:n]]
    rand = np.sort(rng.choice(members, size=min(n, members.size), replace=False))
    others = [c for c in centroids if c != cluster]
    if others:
        d_other = np.min(np.stack([((Xm - centroids[c]) ** 2).sum(1) for c in others]), axis=0)
        border = members[np.argsort(np.sqrt(d_other) - np.sqrt(own), kind="stable")[:n]]
    else:
        border = members[:0]
    return {"typical": typical, "random": rand, "border": border}


def _thumb(path: str) -> Image.Image:
    try:
        im = load_thumbnail(path, THUMB)
    except ImageReadError:
        return Image.new("RGB", (THUMB, THUMB), _MISSING)
    canvas = Image.new("RGB", (THUMB, THUMB), _BG)
    canvas.paste(im, ((THUMB - im.width) // 2, (THUMB - im.height) // 2))
    return canvas


def montage(sections: Sequence[tuple[str, Sequence[str]]], path: str | Path, title: str = "") -> Path:
    """One PNG: a title line, then per section a caption and a row of thumbnails."""
    width = PER_ROW * (THUMB + 4) + 4
    heights = [_LABEL_H + ((len(p) + PER_ROW - 1) // PER_ROW) * (THUMB + 4) for _, p in sections]
    height = (_LABEL_H + 4 if title else 0) + sum(heights) + 4
    sheet = Image.new("RGB", (width, max(height, _LABEL_H)), _BG)
    draw = ImageDraw.Draw(sheet)
    y = 2
    if title:
        draw.text((4, y), title[:110], fill=(0, 0, 0))
        y += _LABEL_H + 4
    for (caption, paths), h in zip(sections, heights):
        draw.text((4, y + 2), caption[:110], fill=(60, 60, 60))
        for i, p in enumerate(paths):
            r, c = divmod(i, PER_ROW)
            sheet.paste(_thumb(p), (4 + c * (THUMB + 4), y + _LABEL_H + r * (THUMB + 4)))
        y += h
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(buf.getvalue(), path)
    return path


def outlier_sections(outliers: pd.DataFrame, resolved: np.ndarray, n: int = PER_ROW, max_reasons: int = 8) -> list[tuple[str, list[str]]]:
    """Highest-scoring outliers with a readable image, grouped by their first reason."""
    flagged = outliers[outliers["is_outlier"].astype(bool)].copy()
    if flagged.empty:
        return []
    flagged["_path"] = resolved[flagged.index.to_numpy()]
    flagged = flagged[flagged["_path"].astype(str) != ""]
    reasons = flagged["outlier_reasons"].fillna("").astype(str).map(lambda r: re.split(r"[;,|]", r)[0].strip() or "unspecified")
    flagged["_reason"] = reasons
    sections = []
    counts = flagged["_reason"].value_counts()
    for reason in counts.index[:max_reasons]:
        g = flagged[flagged["_reason"] == reason].sort_values("outlier_score", ascending=False)
        sections.append((f"{reason} ({counts[reason]:,} rows)", g["_path"].head(n).tolist()))
    return sections
