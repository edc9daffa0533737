"""Small helpers the analysis notebook calls, so its cells stay short and readable.

They take a :class:`~vehiclust.results.RunResults` (or one of its descriptor runs) and
return tables, figures or text built from it — never numbers typed in by hand.
"""

from __future__ import annotations

import html
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
    thumbnail,
)
from vehiclust.report._media import images_root as _images_root
from vehiclust.report._outlier_gallery import twin_rows
from vehiclust.results import DescriptorRun, RunResults

__all__ = [
    "FAMILY_WORDS", "md", "md_code", "chosen_text", "cluster_ids", "first_sentence", "follows_table", "label_columns", "plural",
    "cluster_label", "cluster_summary", "comparison_figures", "conclusion",
    "comparison_text", "heatmap", "images_root", "interpret_set", "pretty_name", "map_3d", "map_figure", "outlier_frame",
    "outlier_rows_by_reason", "reason_counts",
    "selection_curves", "show_gallery", "show_rows",
]

_X_COLUMNS = ("k", "n_clusters", "k_found")
# Columns of the samples table that the pipeline adds itself; the rest are the user's labels.
_NOT_LABELS = ("path", "path_given", "resolved", "path_error")


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


_COUNT_KEYS = ("k", "n_clusters", "k_found")
# The clustering families in plain words (a family not listed shows its own name).
FAMILY_WORDS = {
    "kmeans": "k-means", "gmm": "Gaussian mixture", "ward": "Ward hierarchical",
    "eac": "consensus of k-means runs (evidence accumulation)", "hdbscan": "HDBSCAN density", "dbscan": "DBSCAN density",
}


def chosen_text(chosen: dict[str, Any], count: bool = True, words: bool = False) -> str:
    """The chosen configuration in words, the cluster count said once: 'kmeans, 12 clusters',
    'hdbscan (min_cluster_size=20), 9 clusters'; `count=False` leaves the count out (for a
    table that has it in a column of its own); `words=True` names the family in plain words."""
    family = next((str(chosen[k]) for k in ("family", "algorithm", "method") if chosen.get(k) not in (None, "")), "")
    n_clusters = None
    for key in _COUNT_KEYS:
        try:
            value = float(chosen.get(key))
        except (TypeError, ValueError):
            continue
        if np.isfinite(value):
            n_clusters = int(value)
            break
    params = [f"{k}={v}" for k, v in _params(chosen.get("params")) if not (k in _COUNT_KEYS and _same(v, n_clusters))]
    if words:
        family = FAMILY_WORDS.get(family, family)
    text = family + (f" ({', '.join(params)})" if params else "")
    if n_clusters is not None and count:
        text += (", " if text else "") + plural(n_clusters, "cluster")
    if not text:
        keys = [k for k, v in chosen.items() if not isinstance(v, (dict, list))][:4]
        text = ", ".join(f"{k} {chosen[k]}" for k in keys)
    return text or "no configuration recorded"


def _params(params: Any) -> list[tuple[str, str]]:
    """A configuration's parameters as (name, value) pairs, from a dict or a 'k=12, seed=3' string."""
    if isinstance(params, dict):
        return [(str(k), str(v)) for k, v in params.items()]
    if not isinstance(params, str) or not params.strip():
        return []
    pairs = []
    for part in params.replace(";", ",").split(","):
        key, sep, value = part.partition("=")
        if sep:
            pairs.append((key.strip(), value.strip()))
        elif part.strip():
            pairs.append((part.strip(), ""))
    return pairs


def _same(value: Any, count: int | None) -> bool:
    try:
        return count is not None and float(value) == count
    except (TypeError, ValueError):
        return False


def first_sentence(text: Any, max_chars: int = 160) -> str:
    """The first sentence of a description ('' for none): what a cluster card shows unfolded.

    A sentence longer than `max_chars` stops at its first ';' (the rest is in the card's numbers)."""
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    sentence = text
    for i, ch in enumerate(text):
        if ch in ".!?" and (i + 1 == len(text) or text[i + 1] == " ") and not text[:i].lower().endswith(("e.g", "i.e", "vs", "etc")):
            sentence = text[: i + 1]
            break
    if len(sentence) > max_chars:  # keep the words, drop the evidence in brackets, stop at the first ';'
        sentence = _without_brackets(sentence)
        sentence = sentence.split("; ")[0].rstrip(" .,;") + "."
    return sentence


def _without_brackets(text: str) -> str:
    out, depth = [], 0
    for ch in text:
        depth += ch == "("
        if depth == 0:
            out.append(ch)
        depth -= ch == ")" and depth > 0
    return " ".join("".join(out).replace(" ,", ",").replace(" ;", ";").replace(" .", ".").split())


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
    """A matplotlib map of one descriptor set: clusters in the report's colours, outliers as small crosses."""
    import matplotlib.pyplot as plt

    from vehiclust.report._mapfig import MAX_CENTRE_LABELS, colours
    from vehiclust.report._media import map_sample

    xy = np.asarray(run.coords_2d, dtype=np.float32)
    rows = map_sample(run, xy, max_points, random_state)
    labels = np.asarray(run.labels)[rows]
    flagged = outlier_frame(run)["is_outlier"].to_numpy(bool)[rows]
    fig, ax = plt.subplots(figsize=(7, 5.5))
    palette = colours(run)  # the report's colours
    sizes = {int(c): int(n) for c, n in zip(*np.unique(np.asarray(run.labels)[np.asarray(run.labels) >= 0], return_counts=True))}
    size = 4 if len(rows) > 5000 else 10
    for c in cluster_ids(run):
        sel = (labels == c) & ~flagged
        ax.scatter(xy[rows[sel], 0], xy[rows[sel], 1], s=size, color=palette.get(c, "#b0b0b0"),
                   label=f"{cluster_label(run, c)} ({int(sizes.get(c, 0)):,})", alpha=0.8, linewidths=0, rasterized=True)
    unassigned = (labels < 0) & ~flagged
    if unassigned.any():
        ax.scatter(xy[rows[unassigned], 0], xy[rows[unassigned], 1], s=size, color="#b0b0b0", label="unassigned", linewidths=0)
    if flagged.any():
        ax.scatter(xy[rows[flagged], 0], xy[rows[flagged], 1], s=size * 1.5, marker="x", color="#111111",
                   linewidths=0.6, alpha=0.75, label=f"outliers ({int(outlier_frame(run)['is_outlier'].sum()):,})")
    all_labels = np.asarray(run.labels)
    finite = np.isfinite(xy).all(axis=1)
    for c in sorted(sizes, key=lambda c: -sizes[c])[:MAX_CENTRE_LABELS]:  # names at the centres, as in the report
        members = xy[(all_labels == c) & finite]
        if len(members):
            cx, cy = np.median(members, axis=0)
            ax.text(cx, cy, cluster_label(run, int(c)), fontsize=7, ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=palette.get(int(c), "#b0b0b0"), alpha=0.8))
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
        data = thumbnail(resolve_image(root, paths[row]), size)
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


def interpret_set(results: RunResults, name: str, max_clusters: int = 25) -> str:
    """A paragraph on one descriptor set's clusters, written from their names and descriptions.

    Largest clusters first; each with its size, share, first sentence of description and, when
    labels were given, the label that dominates it (reported, never used to fit)."""
    run = results.descriptors[name]
    summary = cluster_summary(run).sort_values("size", ascending=False, kind="stable")
    flagged = int(outlier_frame(run)["is_outlier"].sum())
    n = max(results.n_rows, 1)
    head = (f"**{md_code(name)}** ({md(chosen_text(run.chosen))}) splits {results.n_rows:,} images into "
            f"**{plural(len(summary), 'cluster')}** and flags {plural(flagged, 'outlier')} ({flagged / n:.1%}).")
    if not len(summary):
        return head
    top = summary.iloc[0]
    sizes = summary["size"].to_numpy()
    balance = ("one cluster dominates" if top["share"] >= 0.5 else
               "the clusters are of similar size" if sizes.min() >= 0.5 * sizes.max() else
               f"sizes range from {int(sizes.min()):,} to {int(sizes.max()):,} images")
    lines = [head + f" {balance[0].upper() + balance[1:]}.", ""]
    labels = label_columns(results)
    for _, row in summary.head(max_clusters).iterrows():
        c = int(row["cluster"])
        text = f"- **{md(cluster_label(run, c))}**: {int(row['size']):,} images ({row['share']:.1%})"
        sentence = first_sentence(row.get("description"))
        if sentence:
            text += f" — {md(sentence)}"
        for column in labels[:1]:
            values = results.samples.loc[np.asarray(run.labels) == c, column].astype(object).dropna()
            if len(values):
                share = values.value_counts(normalize=True)
                text += f" (given {md_code(column)}: mostly {md(share.index[0])}, {share.iloc[0]:.0%})"
        lines.append(text)
    if len(summary) > max_clusters:
        lines.append(f"- … and {len(summary) - max_clusters} smaller clusters.")
    return "\n".join(lines)


def comparison_text(results: RunResults) -> str:
    """The descriptor sets compared in words: cluster counts, the internal scores, how much the
    clusterings agree with each other and (reported only) with the given labels."""
    names = list(results.descriptors)
    if len(names) < 2:
        return f"Only one descriptor set ({md_code(names[0])}) was run, so there is nothing to compare."
    counts = {n: len(cluster_ids(r)) for n, r in results.descriptors.items()}
    lo, hi = min(counts.values()), max(counts.values())
    text = [f"The {len(names)} descriptor sets find " + (f"{lo} clusters each" if lo == hi else f"between {lo} and {hi} clusters")
            + " (" + ", ".join(f"{md_code(n)} {c}" for n, c in counts.items()) + ")."]
    comp = results.comparison
    key = next((c for c in ("descriptor", "name") if comp is not None and c in comp.columns), None)
    if comp is not None and key:
        for column, better, meaning in (("silhouette", max, "the most separated clusters (silhouette"),
                                        ("stability", max, "the most stable clustering under resampling (stability"),
                                        ("silhouette_common", max, "the best separation in the shared space (silhouette")):
            if column in comp:
                values = pd.to_numeric(comp[column], errors="coerce")
                if values.notna().any():
                    i = values.idxmax() if better is max else values.idxmin()
                    text.append(f"{md_code(comp.loc[i, key])} has {meaning} {values[i]:.3f}).")
    if results.agreement is not None and results.agreement.shape[0] >= 2:
        ari = results.agreement.apply(pd.to_numeric, errors="coerce")
        pairs = [(ari.index[i], ari.columns[j], ari.iat[i, j]) for i in range(ari.shape[0]) for j in range(i + 1, ari.shape[1])
                 if np.isfinite(ari.iat[i, j])]
        if pairs:
            close = max(pairs, key=lambda p: p[2])
            far = min(pairs, key=lambda p: p[2])
            text.append(f"The clusterings of {md_code(close[0])} and {md_code(close[1])} agree most (ARI {close[2]:.2f}); "
                        f"{md_code(far[0])} and {md_code(far[1])} least (ARI {far[2]:.2f})"
                        + (": they group the images by different properties." if far[2] < 0.3 else "."))
    follows = _follows_words(results)
    if follows:
        text.append("What each clustering follows most: " + "; ".join(follows) + ".")
    if comp is not None and key:
        nmi = [c for c in comp.columns if c.lower().startswith("nmi_")]
        for column in nmi:
            values = pd.to_numeric(comp[column], errors="coerce")
            if values.notna().any():
                i = values.idxmax()
                text.append(f"Against the given label {md_code(column[4:])} (reported only, never used to choose), "
                            f"{md_code(comp.loc[i, key])} matches best (NMI {values[i]:.2f}).")
    if results.best_reason:
        text.append(f"The run chose **{md_code(results.best)}**: {md(results.best_reason.rstrip('.'))}.")
    else:
        text.append(f"The run chose **{md_code(results.best)}**.")
    return " ".join(text)


def follows_table(results: RunResults) -> pd.DataFrame | None:
    """What each clustering follows, when the run says (the compare stage's `follows`): one row per
    set, a `descriptor` column first, then its `follows` sentence and the shares behind it."""
    follows = getattr(results, "follows", None)
    if follows is None:
        follows = results.metadata.get("follows")
    if isinstance(follows, dict):
        follows = pd.DataFrame({"descriptor": list(follows), "follows": [str(v) for v in follows.values()]})
    if not isinstance(follows, pd.DataFrame) or follows.empty:
        return None
    if "descriptor" not in follows.columns:
        follows = follows.rename_axis("descriptor").reset_index()
    front = ["descriptor"] + (["follows"] if "follows" in follows.columns else [])
    return follows[front + [c for c in follows.columns if c not in front]]


def _follows_words(results: RunResults) -> list[str]:
    """'`osnet` → vehicle type' per set: the run's own 'follows' sentences when it has them, else the
    attribute its clusters align with most (attribute_alignment)."""
    follows = follows_table(results)
    if follows is not None and "follows" in follows.columns:
        return [f"{md_code(row['descriptor'])} → {md(row['follows'])}" for _, row in follows.iterrows() if str(row["follows"]).strip()]
    table = results.attribute_alignment
    if table is None or table.empty:
        return []
    values = table.apply(pd.to_numeric, errors="coerce")
    words = []
    for name, row in values.iterrows():
        if row.notna().any():
            words.append(f"{md_code(name)} → {md_code(row.idxmax())} ({row.max():.2f})")
    return words


def map_3d(run: DescriptorRun, results: RunResults, max_points: int = 5_000, random_state: int = 0):
    """An interactive plotly 3-D map of one set: the report's figure (same colours, names at the
    cluster centres, outliers as small crosses), with each point's path on hover. None without 3-D coordinates."""
    from vehiclust.report._mapfig import map_figure as plotly_map
    from vehiclust.report._media import map_sample

    if run.coords_3d is None:
        return None
    coords = np.asarray(run.coords_3d, dtype=np.float32)
    rows = map_sample(run, coords, max_points, random_state)
    paths = results.samples["path"].astype(str).to_numpy()

    def hover(sel: np.ndarray) -> list[str]:  # the cluster is the trace's name, shown beside the path
        return [html.escape(paths[r]) for r in sel.tolist()]

    return plotly_map(run, coords, rows, three_d=True, hovertext=hover, escape=html.escape,
                      title=f"{run.name}: 3-D map (drag to turn, scroll to zoom)", height=600)


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
                    text.append(f" Against the given labels (reported only), its {md_code(col)} is {value:.3f}")
                    scores = pd.to_numeric(row[col], errors="coerce")
                    top = int(scores.idxmax()) if scores.notna().any() else None
                    if top is not None and scores[top] > value + 0.05:
                        text.append(f", while {md_code(row.loc[top, key])} reaches {scores[top]:.3f}: the chosen set groups the "
                                    f"images by other properties than {md_code(col[4:])}, and the choice never looks at labels")
                    text.append(".")
    return "".join(text)


def outliers_by_kind(results: RunResults, run: DescriptorRun, n: int = 20) -> list[tuple[str, pd.DataFrame, list[int]]]:
    """Image problems first, then rare-looking images: (title, worst rows as a table, rows to show,
    each duplicate followed by its twin). Empty when the run has no ``outlier_kind`` column."""
    table = run.outliers
    if table is None or "outlier_kind" not in table or len(table) != len(run.labels):
        return []
    table = table.reset_index(drop=True)
    paths = results.samples["path"].astype(str).reset_index(drop=True)
    twin_of = twin_rows(table["duplicate_of"], paths) if "duplicate_of" in table else np.full(len(table), -1)
    out = []
    for kind, title in (("problem", "Image problems"), ("rare", "Rare-looking images")):
        part = table[table["outlier_kind"].fillna("").astype(str) == kind].sort_values("outlier_score", ascending=False)
        cols = [c for c in ("outlier_score", "outlier_reasons", "duplicate_of") if c in part]
        shown = part[cols].head(n).copy()
        shown.insert(0, "path", paths.iloc[shown.index].to_numpy())
        rows: list[int] = []
        for i in part.index[:8]:
            rows.append(int(i))
            if twin_of[i] >= 0:
                rows.append(int(twin_of[i]))
        out.append((f"{title}: {len(part):,}", shown, rows))
    return out
