"""Small helpers the analysis notebook calls, so its cells stay short and readable.

They take a :class:`~vehiclust.results.RunResults` (or one of its descriptor runs) and
return tables, figures or text built from it — never numbers typed in by hand.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust.report._media import (
    cluster_ids,
    cluster_label,
    gallery_rows,
    outlier_frame,
    outlier_rows_by_reason,
    reason_counts,
    resolve_image,
    selection_axes,
    thumbnail_jpeg,
)
from vehiclust.report._media import images_root as _images_root
from vehiclust.results import DescriptorRun, RunResults

__all__ = [
    "md", "md_code", "chosen_text", "cluster_ids", "label_columns", "plural", "cluster_label", "cluster_summary", "comparison_figures", "conclusion",
    "heatmap", "images_root", "pretty_name", "map_figure", "outlier_frame", "outlier_rows_by_reason", "reason_counts",
    "selection_curves", "show_gallery", "show_rows",
]

_X_COLUMNS = ("k", "n_clusters", "k_found")
# Columns of the samples table that the pipeline adds itself; the rest are the user's labels.
_NOT_LABELS = ("path", "resolved", "path_error")


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|~")


def md(value: Any) -> str:
    """A data value (label, name, path, description) as Markdown text that stays text: every
    Markdown punctuation mark escaped, line breaks flattened. ``<``, ``>`` and ``&`` are left to
    the notebook's ``show_md``, which HTML-escapes the whole line."""
    text = " ".join(str(value).split())
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text)


def md_code(value: Any) -> str:
    """A data value as an inline code span that no backtick inside it can close early."""
    import re

    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    pad = " " if longest else ""
    return f"{'`' * (longest + 1)}{pad}{text}{pad}{'`' * (longest + 1)}"


def label_columns(results: RunResults) -> list[str]:
    """The label columns the user gave (`--labels`), reported but never used to fit."""
    return [c for c in results.samples.columns if c not in _NOT_LABELS]


def plural(n: int, noun: str) -> str:
    """'1 descriptor set', '3 descriptor sets'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
_GROUP_COLUMNS = ("family", "algorithm", "method")


def images_root(results: RunResults, run_dir: str | Path = ".", override: str | Path | None = None) -> Path | None:
    """The images root: `override` (the notebook's parameter cell) when it exists, else the run's."""
    if override and Path(override).is_dir():
        return Path(override)
    return _images_root(results, run_dir)


def chosen_text(chosen: dict[str, Any]) -> str:
    """The chosen configuration in words, e.g. 'family kmeans, k 6'."""
    keys = [k for k in ("family", "k", "n_clusters", "params", "note") if k in chosen and chosen[k] not in (None, "")]
    if not keys:
        keys = [k for k, v in chosen.items() if not isinstance(v, (dict, list))][:4]
    parts = []
    for k in keys:
        v = chosen[k]
        parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
    return ", ".join(parts) or "no configuration recorded"


def selection_curves(selection: pd.DataFrame, title: str = "", chosen: dict[str, Any] | None = None):
    """Metric curves against the number of clusters, one line per family; None if nothing to plot."""
    import matplotlib.pyplot as plt

    axes_spec = selection_axes(selection)
    if axes_spec is None:
        return None
    x, group, metrics = axes_spec
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.8), squeeze=False)
    groups = selection.groupby(group, sort=True) if group else [("all", selection)]
    for ax, metric in zip(axes[0], metrics):
        for name, part in groups:
            part = part.assign(_x=pd.to_numeric(part[x], errors="coerce")).dropna(subset=["_x", metric])
            part = part.groupby("_x", as_index=False)[metric].mean().sort_values("_x")
            if len(part):
                ax.plot(part["_x"], part[metric], marker=".", label=str(name))
        if chosen and x in chosen and metric in chosen:
            try:
                ax.scatter([float(chosen[x])], [float(chosen[metric])], s=90, facecolors="none", edgecolors="red", zorder=5)
            except (TypeError, ValueError):
                pass
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel(x, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def map_figure(run: DescriptorRun, title: str = "", max_points: int = 50_000, random_state: int = 0):
    """A matplotlib map of one descriptor set: clusters coloured, outliers ringed in red."""
    import matplotlib.pyplot as plt

    from vehiclust.report._media import map_sample

    xy = np.asarray(run.coords_2d, dtype=np.float32)
    rows = map_sample(run, xy, max_points, random_state)
    labels = np.asarray(run.labels)[rows]
    flagged = outlier_frame(run)["is_outlier"].to_numpy(bool)[rows]
    fig, ax = plt.subplots(figsize=(7, 5.5))
    cmap = plt.get_cmap("tab20")
    size = 4 if len(rows) > 5000 else 10
    for i, c in enumerate(cluster_ids(run)):
        sel = labels == c
        ax.scatter(xy[rows[sel], 0], xy[rows[sel], 1], s=size, color=cmap(i % 20), label=cluster_label(run, c),
                   alpha=0.8, linewidths=0, rasterized=True)
    unassigned = labels < 0
    if unassigned.any():
        ax.scatter(xy[rows[unassigned], 0], xy[rows[unassigned], 1], s=size, color="#bbbbbb", label="unassigned", linewidths=0)
    if flagged.any():
        ax.scatter(xy[rows[flagged], 0], xy[rows[flagged], 1], s=size * 4, facecolors="none", edgecolors="red",
                   linewidths=0.8, label="outliers")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2, frameon=False)
    fig.tight_layout()
    return fig


def cluster_summary(run: DescriptorRun) -> pd.DataFrame:
    """One row per cluster: size, share, and the name/description/strength when described."""
    labels = np.asarray(run.labels)
    ids = cluster_ids(run)
    sizes = [int((labels == c).sum()) for c in ids]
    frame = pd.DataFrame({"cluster": ids, "size": sizes})
    frame["share"] = frame["size"] / max(len(labels), 1)
    if run.clusters is not None and "cluster" in run.clusters:
        extra = [c for c in ("cluster_name", "strength", "description") if c in run.clusters]
        info = run.clusters[["cluster", *extra]].copy()
        info["cluster"] = info["cluster"].astype(int)
        frame = frame.merge(info, on="cluster", how="left")
    return frame


def _thumb_strip(results: RunResults, rows: np.ndarray, root: Path | None, size: int = 96):
    """A matplotlib strip of thumbnails (with their paths); None when no image can be read."""
    import matplotlib.pyplot as plt
    from PIL import Image as PILImage

    paths = results.samples["path"].astype(str).to_numpy()
    pictures = []
    for row in np.asarray(rows, dtype=np.int64).tolist():
        data = thumbnail_jpeg(resolve_image(root, paths[row]), size)
        if data is not None:
            pictures.append((paths[row], np.asarray(PILImage.open(io.BytesIO(data)))))
    if not pictures:
        return None
    cols = min(len(pictures), 8)
    nrows = int(np.ceil(len(pictures) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(1.4 * cols, 1.6 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (path, pixels) in zip(axes.ravel(), pictures):
        ax.imshow(pixels)
        ax.set_title(Path(path).name[:18], fontsize=6)
    fig.tight_layout()
    return fig


def show_rows(results: RunResults, rows: np.ndarray, root: Path | None = None) -> bool:
    """Display thumbnails of these rows; False when none could be shown."""
    import matplotlib.pyplot as plt

    fig = _thumb_strip(results, rows, root)
    if fig is None:
        return False
    plt.show()
    return True


def show_gallery(results: RunResults, run: DescriptorRun, cluster: int, root: Path | None = None, n: int = 8) -> bool:
    """The cluster's gallery montage written by the describe stage, else thumbnails of its core."""
    from IPython.display import Image, display

    for name in (f"gallery_cluster_{cluster}", f"gallery_cluster_{cluster}_medoids"):
        rel = run.artifacts.get(name)
        if rel and Path(rel).is_file():
            display(Image(data=_as_jpeg(Path(rel)), format="jpeg"))
            return True
    return show_rows(results, gallery_rows(run, cluster, n), root)


def _as_jpeg(path: Path, quality: int = 82) -> bytes:
    """A photo montage as JPEG: a fifth of the PNG's bytes, so big runs keep a light notebook."""
    from PIL import Image as PILImage

    with PILImage.open(path) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def pretty_name(key: str) -> str:
    """'compare_agreement_ari_png' → 'agreement ari'."""
    key = key.removeprefix("compare_").removesuffix("_png").removesuffix(".png")
    return key.replace("_", " ")


def heatmap(frame: pd.DataFrame, title: str = ""):
    """An annotated heatmap of a square (descriptor × descriptor) table."""
    import matplotlib.pyplot as plt

    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * values.shape[1], 0.8 + 0.5 * values.shape[0]))
    im = ax.imshow(values, cmap="viridis", vmin=np.nanmin(values) if np.isfinite(values).any() else 0, vmax=1)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in frame.columns], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(values.shape[0]), [str(i) for i in frame.index], fontsize=7)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6, color="white" if v < 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.04)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def comparison_figures(results: RunResults, run_dir: str | Path = ".") -> list[tuple[str, Path]]:
    """PNG figures of the compare stage (in compare/ or registered on the best set)."""
    run_dir = Path(run_dir)
    found: dict[str, tuple[str, Path]] = {}
    best = results.descriptors[results.best]
    for name, rel in best.artifacts.items():
        if not name.startswith(("gallery", "map")) and "selection" not in name and str(rel).endswith(".png"):
            path = run_dir / rel
            if path.is_file():
                found[path.resolve().as_posix()] = (pretty_name(name), path)
    if (run_dir / "compare").is_dir():
        for png in sorted((run_dir / "compare").glob("*.png")):
            found.setdefault(png.resolve().as_posix(), (pretty_name(png.stem), png))
    return list(found.values())


def conclusion(results: RunResults) -> str:
    """A short closing paragraph computed from the results."""
    best = results.descriptors[results.best]
    summary = cluster_summary(best)
    flagged = outlier_frame(best)
    n_out = int(flagged["is_outlier"].sum())
    reasons = reason_counts(best)
    text = [f"The deliverable `clusters.csv` uses **{md(results.best)}** ({md(chosen_text(best.chosen))})"]
    text.append(f", which splits {results.n_rows:,} rows into **{len(summary)} clusters**")
    if len(summary):
        top = summary.sort_values("size", ascending=False).iloc[0]
        name = cluster_label(best, int(top["cluster"]))
        text.append(f"; the largest is {md(name)} with {int(top['size']):,} rows ({top['share']:.1%})")
    text.append(f". {n_out:,} rows ({n_out / max(results.n_rows, 1):.1%}) are flagged as outliers")
    if len(reasons):
        text.append(f", most often for {md_code(reasons.iloc[0]['reason'])} ({int(reasons.iloc[0]['rows']):,} rows)")
    text.append(".")
    if results.best_reason:
        text.append(f" Why this set: {md(results.best_reason.rstrip('.'))}.")
    if len(results.descriptors) > 1:
        others = [n for n in results.descriptors if n != results.best]
        text.append(f" The other sets ({', '.join(md_code(o) for o in others)}) are compared in section 6.")
    if results.comparison is not None:
        label_cols = [c for c in results.comparison.columns if c.lower().startswith(("nmi", "ari"))]
        row = results.comparison
        key = next((c for c in ("descriptor", "name") if c in row.columns), None)
        if label_cols and key:
            best_row = row[row[key].astype(str) == results.best]
            if len(best_row):
                col = label_cols[0]
                value = pd.to_numeric(best_row[col], errors="coerce").iloc[0]
                if np.isfinite(value):
                    text.append(f" Against the given labels (reported only), its {md_code(col)} is {value:.3f}.")
    return "".join(text)
