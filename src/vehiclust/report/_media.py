"""What the report and the notebook show of the data: image thumbnails, gallery picks, map samples.

Everything here reads only a :class:`~vehiclust.results.RunResults` (plus the images root
recorded in its config), so the writers never recompute the analysis.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.results import DescriptorRun, RunResults

log = logging.getLogger(__name__)

# Reasons are ';'-separated codes in the outlier tables; an empty string means none.
REASON_SEPARATOR = ";"


def images_root(results: RunResults, run_dir: str | Path | None = None) -> Path | None:
    """The images root recorded in the run's config, or None when the run had no images.

    A relative root is tried against the current directory first (the pipeline writes the
    report from where the user ran it), then against the run directory.
    """
    config = results.metadata.get("config") or {}
    root = config.get("images")
    if not root:
        return None
    root = Path(root)
    candidates = [root] if root.is_absolute() else [Path.cwd() / root]
    if run_dir is not None and not root.is_absolute():
        candidates.append(Path(run_dir) / root)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    log.warning("Images root %s recorded in the run does not exist here; the report has no thumbnails.", root)
    return None


def resolve_image(root: Path | None, path: str) -> Path | None:
    """The image file of one row, or None when it is absent or escapes the images root."""
    from vehiclust.io import resolve_under_root

    if root is None or not isinstance(path, str) or not path:
        return None
    try:
        candidate = resolve_under_root(root, path.replace("\\", "/"))
    except InputError:
        return None
    return candidate if candidate.is_file() else None


def thumbnail(path: Path | None, size: int = 64, quality: int = 75, fmt: str = "JPEG") -> bytes | None:
    """A small JPEG (or `fmt`: "WEBP") of the image (longest side `size` px), or None when it cannot be read.

    Unreadable images are exactly what the outlier gallery shows, so failures are expected
    and quiet: the caller shows the row without a picture.
    """
    if path is None:
        return None
    from vehiclust.io.images import ImageReadError, load_thumbnail

    try:
        image = load_thumbnail(path, size)
    except ImageReadError as exc:
        log.debug("no thumbnail: %s", exc)
        return None
    buffer = io.BytesIO()
    options = {"optimize": True} if fmt == "JPEG" else {"method": 4}  # WebP: 4 is twice as fast as 6, 7 % larger
    image.convert("RGB").save(buffer, format=fmt, quality=quality, **options)
    return buffer.getvalue()


def data_uri(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def split_reasons(reasons: Any) -> list[str]:
    """';'-separated reason codes → list (empty for none or NaN)."""
    if not isinstance(reasons, str):
        return []
    return [r.strip() for r in reasons.split(REASON_SEPARATOR) if r.strip()]


def outlier_frame(run: DescriptorRun) -> pd.DataFrame:
    """Per-row is_outlier / outlier_score / outlier_reasons; unassigned rows when no table."""
    n = len(run.labels)
    if run.outliers is not None and len(run.outliers) == n:
        frame = run.outliers[["is_outlier", "outlier_score", "outlier_reasons"]].copy()
        frame["is_outlier"] = frame["is_outlier"].astype(bool)
        frame["outlier_score"] = pd.to_numeric(frame["outlier_score"], errors="coerce").fillna(0.0)
        frame["outlier_reasons"] = frame["outlier_reasons"].fillna("").astype(str)
        return frame.reset_index(drop=True)
    labels = np.asarray(run.labels)
    return pd.DataFrame(
        {
            "is_outlier": labels < 0,
            "outlier_score": (labels < 0).astype(float),
            "outlier_reasons": np.where(labels < 0, "unassigned", ""),
        }
    )


def reason_counts(run: DescriptorRun) -> pd.DataFrame:
    """How many outlier rows carry each reason (a row may carry several)."""
    frame = outlier_frame(run)
    flagged = frame.loc[frame["is_outlier"], "outlier_reasons"]
    counts: dict[str, int] = {}
    for reasons in flagged:
        for reason in split_reasons(reasons) or ["unspecified"]:
            counts[reason] = counts.get(reason, 0) + 1
    table = pd.DataFrame({"reason": list(counts), "rows": list(counts.values())}, columns=["reason", "rows"])
    share = table["rows"] / max(len(frame), 1)
    table["share of all images"] = [f"{v:.1%}" if v >= 0.001 or v == 0 else f"{v:.2%}" for v in share]
    return table.sort_values(["rows", "reason"], ascending=[False, True], ignore_index=True)


def cluster_ids(run: DescriptorRun) -> list[int]:
    """Clusters in order: the per-cluster table's order when present, else by label."""
    labels = np.asarray(run.labels)
    present = set(int(c) for c in np.unique(labels) if c >= 0)
    if run.clusters is not None and "cluster" in run.clusters:
        ordered = [int(c) for c in run.clusters["cluster"] if int(c) in present]
        return ordered + sorted(present - set(ordered))
    return sorted(present)


def cluster_label(run: DescriptorRun, cluster: int) -> str:
    name = run.cluster_names().get(int(cluster))
    return f"{cluster}: {name}" if name and name != f"cluster {cluster}" else f"cluster {cluster}"


def gallery_rows(run: DescriptorRun, cluster: int, n: int = 12, random_state: int = 0) -> np.ndarray:
    """Rows to show for one cluster: the most typical ones, else a seeded sample.

    "Typical" = the run's per-row ``typicality`` when it has one (nearest the cluster's centre in
    descriptor space), else closest to the cluster's median position on the 2-D map, so the
    gallery shows the core of the cluster rather than its border.
    """
    labels = np.asarray(run.labels)
    rows = np.flatnonzero(labels == cluster)
    if len(rows) <= n:
        return rows
    typicality = getattr(run, "typicality", None)  # 1 = nearest the centre in descriptor space, when the run has it
    if typicality is not None and len(typicality) == len(labels):
        values = np.asarray(typicality, dtype=np.float64)[rows]
        if np.isfinite(values).sum() >= n:
            order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")
            return rows[order[:n]]
    if run.coords_2d is not None and len(run.coords_2d) == len(labels):
        xy = np.asarray(run.coords_2d, dtype=np.float64)[rows]
        finite = np.isfinite(xy).all(axis=1)
        if finite.sum() >= n:
            rows, xy = rows[finite], xy[finite]
            centre = np.median(xy, axis=0)
            order = np.argsort(((xy - centre) ** 2).sum(axis=1), kind="stable")
            return rows[order[:n]]
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(rows, size=n, replace=False))


def outlier_rows_by_reason(run: DescriptorRun, n: int = 12) -> dict[str, np.ndarray]:
    """For each reason, up to `n` flagged rows with the highest outlier score."""
    frame = outlier_frame(run)
    flagged = frame[frame["is_outlier"]].sort_values("outlier_score", ascending=False, kind="stable")
    by_reason: dict[str, list[int]] = {}
    for row, reasons in zip(flagged.index, flagged["outlier_reasons"]):
        for reason in split_reasons(reasons) or ["unspecified"]:
            picked = by_reason.setdefault(reason, [])
            if len(picked) < n:
                picked.append(int(row))
    order = reason_counts(run)["reason"].tolist()
    return {reason: np.asarray(by_reason[reason], dtype=np.int64) for reason in order if reason in by_reason}


def map_sample(run: DescriptorRun, coords: np.ndarray, max_points: int, random_state: int = 0) -> np.ndarray:
    """Rows to draw as points: all when few, else a seeded per-cluster sample plus outliers.

    Every cluster keeps at least a few points so it still appears in the legend, and
    flagged outliers get up to a fifth of the budget because they are what users look for.
    """
    finite = np.flatnonzero(np.isfinite(coords).all(axis=1))
    if len(finite) <= max_points:
        return finite
    rng = np.random.default_rng(random_state)
    labels = np.asarray(run.labels)[finite]
    flagged = outlier_frame(run)["is_outlier"].to_numpy(bool)[finite]
    outliers = finite[flagged]
    n_out = min(len(outliers), max_points // 5)
    picked = [rng.choice(outliers, size=n_out, replace=False)] if n_out else []
    budget = max_points - n_out
    rest = finite[~flagged]
    rest_labels = labels[~flagged]
    groups, counts = np.unique(rest_labels, return_counts=True)
    quota = np.maximum(np.floor(counts / counts.sum() * budget).astype(int), np.minimum(counts, 5))
    for group, q in zip(groups, quota):
        members = rest[rest_labels == group]
        picked.append(rng.choice(members, size=min(q, len(members)), replace=False))
    return np.sort(np.concatenate(picked))


_X_COLUMNS = ("k", "n_clusters", "k_found")
_GROUP_COLUMNS = ("family", "algorithm", "method")
_PREFERRED_METRICS = ("silhouette_sample", "silhouette", "davies_bouldin", "calinski_harabasz", "stability")


def selection_axes(selection: pd.DataFrame | None, max_metrics: int = 4) -> tuple[str, str | None, list[str]] | None:
    """(x column, family column or None, metric columns) to plot a selection table against k.

    The well-known internal metrics come first; None when the table has nothing to plot.
    """
    if selection is None or selection.empty:
        return None
    x = next((c for c in _X_COLUMNS if c in selection and pd.to_numeric(selection[c], errors="coerce").notna().any()), None)
    if x is None:
        return None
    group = next((c for c in _GROUP_COLUMNS if c in selection), None)
    usable = [c for c in selection.columns if c not in (*_X_COLUMNS, *_GROUP_COLUMNS)
              and pd.api.types.is_numeric_dtype(selection[c]) and selection[c].notna().any() and selection[c].nunique() > 1]
    metrics = [c for c in _PREFERRED_METRICS if c in usable]
    if not metrics:
        skip = {"config_id", "seed", "random_state", "rank", "chosen", "fit_seconds"}
        metrics = [c for c in usable if c not in skip]
    return (x, group, metrics[:max_metrics]) if metrics else None
