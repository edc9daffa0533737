"""`report.html`: one self-contained page that opens from disk, with no server and no network.

plotly.js is inlined; thumbnails are embedded as base64 JPEGs (or, for very large runs,
written beside the page in ``report_files/`` and referenced relatively). Every string that
comes from the data — paths, labels, cluster names, descriptions, reasons — is escaped
wherever it lands: HTML text and attributes, plotly hover text, and JSON inside ``<script>``.
A Content-Security-Policy with a per-page nonce also blocks inline event handlers, so an
escaping slip still could not run an ``onerror=`` hidden in a file name.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust import _progress
from vehiclust.exceptions import InputError
from vehiclust.io.atomic import atomic_write_bytes, atomic_write_text
from vehiclust.report import _media, _outlier_gallery
from vehiclust.report.notebook_helpers import _as_jpeg, label_columns, pretty_name
from vehiclust.results import DescriptorRun, RunResults

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
FILES_DIR = "report_files"
# Embedded figures above this size are linked instead, to keep the page loadable.
MAX_EMBED_FIGURE_BYTES = 4_000_000

_CLUSTER_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#636363", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#969696",
]


def esc(value: Any) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return html.escape(str(value), quote=True)


def script_json(obj: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>', '&' or line separators survive raw."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, default=_json_default)
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _fmt(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return ""
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return str(value)


def table_html(frame: pd.DataFrame | None, *, index: bool = False, highlight: int | None = None,
               max_rows: int = 500) -> str:
    """An escaped HTML table; `highlight` marks one row (the chosen configuration)."""
    if frame is None or frame.empty:
        return "<p class='muted'>Nothing to show.</p>"
    frame = frame.head(max_rows)
    columns = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for pos, (key, row) in enumerate(frame.iterrows()):
        cells = ([_fmt(key)] if index else []) + [_fmt(v) for v in row.tolist()]
        cls = " class='chosen'" if highlight is not None and pos == highlight else ""
        body.append(f"<tr{cls}>" + "".join(
            f"<td class='long'>{esc(c)}</td>" if len(c) > 40 else f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    return f"<div class='table-wrap'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _chosen_position(run: DescriptorRun) -> int | None:
    """Which row of the selection table is the chosen configuration."""
    if run.selection is None or run.selection.empty:
        return None
    if "chosen" in run.selection:
        flags = run.selection["chosen"].astype(str).str.lower().isin(["true", "1", "yes"]).to_numpy()
        if flags.sum() == 1:
            return int(np.flatnonzero(flags)[0])
    if not run.chosen:
        return None
    keys = [k for k in run.chosen if k in run.selection.columns and not isinstance(run.chosen[k], (dict, list))]
    for key_set in (["family", "k"], ["family", "n_clusters"], ["config"], keys):
        usable = [k for k in key_set if k in run.selection.columns and k in run.chosen]
        if not usable:
            continue
        mask = np.ones(len(run.selection), dtype=bool)
        for k in usable:
            col = run.selection[k]
            value = run.chosen[k]
            try:
                mask &= (col.astype(str) == str(value)).to_numpy() | np.isclose(
                    pd.to_numeric(col, errors="coerce").to_numpy(float), float(value), equal_nan=False)
            except (TypeError, ValueError):
                mask &= (col.astype(str) == str(value)).to_numpy()
        if mask.sum() >= 1:
            return int(np.flatnonzero(mask)[0])
    return None


class _Thumbs:
    """Row → thumbnail src (a data URI, or a relative path in report_files/ for big runs)."""

    def __init__(self, results: RunResults, run_dir: Path, size: int, embed_limit: int) -> None:
        self.root = _media.images_root(results, run_dir)
        self.paths = results.samples["path"].astype(str).to_numpy()
        self.run_dir = run_dir
        self.size = size
        self.embed_limit = embed_limit
        self.src: dict[int, str] = {}

    def build(self, rows: np.ndarray) -> None:
        files_dir = self.run_dir / FILES_DIR / "thumbs"
        if files_dir.exists():
            shutil.rmtree(files_dir)
        if self.root is None:
            return
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        embed = len(rows) <= self.embed_limit
        for row in _progress.track(rows.tolist(), "report thumbnails"):
            data = _media.thumbnail_jpeg(_media.resolve_image(self.root, self.paths[row]), self.size)
            if data is None:
                continue
            if embed:
                self.src[row] = _media.data_uri(data)
            else:
                atomic_write_bytes(data, files_dir / f"{row}.jpg")
                self.src[row] = f"{FILES_DIR}/thumbs/{row}.jpg"
        log.info("report: %d thumbnails %s", len(self.src), "embedded" if embed else f"in {FILES_DIR}/")


def write_html_report(
    results: RunResults,
    run_dir: str | Path,
    *,
    max_points: int = 20_000,
    max_points_3d: int = 5_000,
    gallery_size: int = 12,
    thumb_size: int = 96,
    embed_limit: int = 2_500,
    random_state: int | None = None,
) -> Path:
    """Write ``report.html`` into `run_dir` from `results` alone; returns its path.

    Maps draw at most `max_points` (2-D) / `max_points_3d` (3-D) points — a seeded
    per-cluster sample plus outliers — over a density layer of every row when there are more.
    """
    for name, value, low in [("max_points", max_points, 1), ("max_points_3d", max_points_3d, 1),
                             ("gallery_size", gallery_size, 1), ("thumb_size", thumb_size, 8), ("embed_limit", embed_limit, 0)]:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"The '{name}' parameter of write_html_report must be an int in [{low}, inf). Got {value!r}.")
    if results.best not in results.descriptors:
        raise InputError(f"The results name '{results.best}' as best, but their descriptor sets are {sorted(results.descriptors)}.")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if random_state is None:
        random_state = int(results.metadata.get("stage_seeds", {}).get("report", results.metadata.get("seed", 0)))
    best = results.descriptors[results.best]
    thumbs = _Thumbs(results, run_dir, thumb_size, embed_limit)

    rows_2d = _media.map_sample(best, best.coords_2d, max_points, random_state) if best.coords_2d is not None else np.empty(0, np.int64)
    rows_3d = _media.map_sample(best, best.coords_3d, max_points_3d, random_state) if best.coords_3d is not None else np.empty(0, np.int64)
    galleries = {c: _media.gallery_rows(best, c, gallery_size, random_state) for c in _media.cluster_ids(best)}
    outlier_galleries = _media.outlier_rows_by_reason(best, gallery_size)
    by_kind = _outlier_gallery.outlier_gallery(best, results.samples["path"])  # problems, then rare
    needed = [rows_2d, rows_3d, *galleries.values(), *outlier_galleries.values(), _outlier_gallery.gallery_rows(by_kind)]
    thumbs.build(np.concatenate(needed) if needed else np.empty(0, np.int64))

    page = _Page(results, run_dir, thumbs, random_state)
    body = "\n".join(
        [
            page.header(),
            page.map_section(rows_2d, rows_3d),
            page.clusters_section(galleries),
            page.outliers_section(outlier_galleries, by_kind),
            page.selection_section(),
            page.comparison_section(),
            page.validation_section(),
            page.footer(),
        ]
    )
    out = atomic_write_text(page.document(body), run_dir / REPORT_NAME)
    log.info("report written to %s", out)
    return out


class _Page:
    """Builds the sections of the page; every data string goes through `esc`."""

    def __init__(self, results: RunResults, run_dir: Path, thumbs: _Thumbs, random_state: int) -> None:
        self.results = results
        self.run_dir = run_dir
        self.thumbs = thumbs
        self.best = results.descriptors[results.best]
        self.outliers = _media.outlier_frame(self.best)
        self.paths = results.samples["path"].astype(str).to_numpy()
        self.random_state = random_state
        self.clusters = _media.cluster_ids(self.best)
        # per-row lookups done tens of thousands of times: plain arrays and a dict, not pandas
        self.names = {c: _media.cluster_label(self.best, c) for c in self.clusters}
        self.labels = np.asarray(self.best.labels)
        self.reasons = self.outliers["outlier_reasons"].to_numpy(object)
        self.flagged = self.outliers["is_outlier"].to_numpy(bool)
        self.colour = {c: _CLUSTER_COLOURS[i % len(_CLUSTER_COLOURS)] for i, c in enumerate(self.clusters)}

    # ---- pieces -------------------------------------------------------------------------
    def row_label(self, row: int) -> str:
        c = int(self.labels[row])
        return self.names.get(c) or (_media.cluster_label(self.best, c) if c >= 0 else "unassigned")

    def figure(self, row: int) -> str:
        """One thumbnail tile: picture (if any), path, cluster and reasons, all as text."""
        src = self.thumbs.src.get(row)
        path = self.paths[row]
        reasons = self.reasons[row]
        pic = (f"<img src='{esc(src)}' alt='{esc(path)}' title='{esc(path)}' loading='eager'>"
               if src else "<div class='noimg'>no image</div>")
        shown = reasons.replace(_media.REASON_SEPARATOR, "; ")
        why = f"<span class='reasons'>{esc(shown)}</span>" if reasons else ""
        return (f"<figure class='thumb' data-row='{row}'>{pic}<figcaption><span class='path'>{esc(path)}</span>"
                f"<span class='cl'>{esc(self.row_label(row))}</span>{why}</figcaption></figure>")

    def embedded_png(self, rel: str, caption: str, jpeg: bool = False) -> str:
        path = self._inside_run_dir(rel)
        if path is None or path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".svg"}:
            return ""
        if path.stat().st_size > MAX_EMBED_FIGURE_BYTES or path.suffix.lower() == ".svg":
            return f"<p><a href='{esc(path.relative_to(self.run_dir.resolve()).as_posix())}'>{esc(caption)}</a></p>"
        if jpeg:  # photo montages: a fifth of the PNG's bytes
            data, mime = _as_jpeg(path), "image/jpeg"
        else:
            data, mime = path.read_bytes(), "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        return (f"<figure class='artifact'><img src='{esc(_media.data_uri(data, mime))}' alt='{esc(caption)}'>"
                f"<figcaption>{esc(caption)}</figcaption></figure>")

    def _inside_run_dir(self, rel: str) -> Path | None:
        root = self.run_dir.resolve()
        path = (root / str(rel)).resolve()
        try:
            path.relative_to(root)
        except ValueError:
            return None
        return path if path.is_file() else None

    # ---- sections -----------------------------------------------------------------------
    def header(self) -> str:
        r, best = self.results, self.best
        n = r.n_rows
        n_out = int(self.outliers["is_outlier"].sum())
        assigned = int((np.asarray(best.labels) >= 0).sum())
        nav = "".join(f"<a href='#{k}'>{esc(v)}</a>" for k, v in [
            ("map", "Map"), ("clusters", "Clusters"), ("outliers", "Outliers"), ("selection", "Selection"),
            ("comparison", "Comparison"), ("validation", "Validation")])
        summary = (
            f"<p class='lead'><b>{n:,}</b> images, <b>{len(self.clusters)}</b> clusters from the descriptor set "
            f"<b>{esc(r.best)}</b> ({assigned:,} rows assigned), <b>{n_out:,}</b> outliers "
            f"({n_out / max(n, 1):.1%}).</p>"
        )
        reason = f"<p>Why <b>{esc(r.best)}</b>: {esc(r.best_reason)}</p>" if r.best_reason else ""
        sets = "".join(
            f"<li><b>{esc(name)}</b>: {len(_media.cluster_ids(run))} clusters, chosen {esc(_chosen_text(run.chosen))}</li>"
            for name, run in r.descriptors.items())
        return (f"<header><h1>vehiclust report</h1><nav>{nav}</nav></header><main>{summary}{reason}"
                f"<ul class='sets'>{sets}</ul>")

    def map_section(self, rows_2d: np.ndarray, rows_3d: np.ndarray) -> str:
        best = self.best
        if best.coords_2d is None and best.coords_3d is None:
            return ("<section id='map'><h2>Map</h2><p class='muted'>This run has no map coordinates "
                    "(the map stage did not run).</p></section>")
        rowinfo: dict[str, dict[str, str]] = {}
        for row in np.union1d(rows_2d, rows_3d).tolist():
            rowinfo[str(row)] = {
                "p": self.paths[row],
                "c": self.row_label(row),
                "r": self.reasons[row],
                "t": self.thumbs.src.get(row, ""),
            }
        parts = ["<section id='map'><h2>Map</h2>",
                 f"<p>Descriptor set <b>{esc(self.results.best)}</b>. Hover a point to see its image, path, "
                 "cluster and outlier reasons. Click legend entries to hide or show clusters.</p>",
                 "<div class='map-wrap'><div class='maps'>"]
        figures = {}
        if best.coords_2d is not None:
            figures["map2d"] = self._map_figure(np.asarray(best.coords_2d, np.float32), rows_2d, three_d=False)
            parts.append("<div id='map2d' class='plot'></div>")
        if best.coords_3d is not None:
            figures["map3d"] = self._map_figure(np.asarray(best.coords_3d, np.float32), rows_3d, three_d=True)
            parts.append("<div id='map3d' class='plot plot3d'></div>")
        parts.append("</div><aside id='hoverbox'><p class='muted'>Hover a point.</p><img id='hover-img' alt='' hidden>"
                     "<dl><dt>path</dt><dd id='hover-path'></dd><dt>cluster</dt><dd id='hover-cluster'></dd>"
                     "<dt>outlier reasons</dt><dd id='hover-reasons'></dd></dl></aside></div>")
        for div_id, fig in figures.items():
            parts.append(f"<script type='application/json' id='{div_id}-data'>{script_json(fig)}</script>")
        parts.append(f"<script type='application/json' id='rowinfo'>{script_json(rowinfo)}</script>")
        n_points = len(rows_2d) if best.coords_2d is not None else len(rows_3d)
        if n_points < self.results.n_rows:
            parts.append(f"<p class='muted'>{n_points:,} of {self.results.n_rows:,} rows drawn as points "
                         "(a seeded per-cluster sample plus outliers); the grey layer shows the density of all rows.</p>")
        parts.append("</section>")
        return "".join(parts)

    def _map_figure(self, coords: np.ndarray, rows: np.ndarray, three_d: bool) -> dict[str, Any]:
        import plotly.graph_objects as go

        best = self.best
        labels = np.asarray(best.labels)[rows]
        flagged = self.outliers["is_outlier"].to_numpy(bool)[rows]
        traces: list[Any] = []
        many = len(rows) > 3000
        if not three_d:
            finite = np.isfinite(coords).all(axis=1)
            if finite.sum() > len(rows):
                traces.append(self._density(coords[finite]))

        def hover(sel: np.ndarray) -> list[str]:
            return [
                f"{esc(self.paths[r])}<br>{esc(self.row_label(r))}"
                + (f"<br>outlier: {esc(self.reasons[r])}" if self.flagged[r] else "")
                for r in sel.tolist()
            ]

        def scatter(sel: np.ndarray, name: str, marker: dict[str, Any]) -> Any:
            xyz = coords[sel]
            common = dict(name=esc(name), customdata=sel.tolist(), hovertext=hover(sel),
                          hovertemplate="%{hovertext}<extra></extra>", marker=marker)
            if three_d:
                return go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="markers", **common)
            kind = go.Scattergl if many else go.Scatter
            return kind(x=xyz[:, 0], y=xyz[:, 1], mode="markers", **common)

        size = 3 if three_d else (4 if many else 6)
        for c in self.clusters:
            sel = rows[labels == c]
            traces.append(scatter(sel, _media.cluster_label(best, c), dict(color=self.colour[c], size=size, opacity=0.8)))
        unassigned = rows[(labels < 0) & ~flagged]
        if len(unassigned):
            traces.append(scatter(unassigned, "unassigned", dict(color="#bbbbbb", size=size)))
        out_rows = rows[flagged]
        if len(out_rows):
            marker = (dict(color="#d62728", size=size + 5, symbol="circle-open", line=dict(width=1.5)) if not three_d
                      else dict(color="rgba(214,39,40,0.25)", size=size + 4, line=dict(color="#d62728", width=2)))
            traces.append(scatter(out_rows, "outliers", marker))
        layout: dict[str, Any] = dict(
            height=560, margin=dict(l=10, r=10, t=30, b=10), legend=dict(itemsizing="constant"),
            title=dict(text="3-D map" if three_d else "2-D map", font=dict(size=14)), hovermode="closest",
            template="plotly_white",
        )
        if not three_d:
            layout.update(xaxis=dict(showticklabels=False, title=""), yaxis=dict(showticklabels=False, title=""))
        else:
            axis = dict(showticklabels=False, title="")
            layout.update(scene=dict(xaxis=axis, yaxis=axis, zaxis=axis))
        import plotly.io as pio

        return json.loads(pio.to_json(go.Figure(data=traces, layout=layout), validate=True, engine="json"))

    @staticmethod
    def _density(xy: np.ndarray) -> Any:
        import plotly.graph_objects as go

        counts, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=200)
        z = np.log1p(counts.T)
        z[z == 0] = np.nan
        return go.Heatmap(x=(xe[:-1] + xe[1:]) / 2, y=(ye[:-1] + ye[1:]) / 2, z=z, colorscale="Greys",
                          showscale=False, hoverinfo="skip", opacity=0.6, name="density", showlegend=False)

    def clusters_section(self, galleries: dict[int, np.ndarray]) -> str:
        best = self.best
        table = best.clusters
        info = table.set_index(table["cluster"].astype(int)) if table is not None and "cluster" in table else None
        labels = np.asarray(best.labels)
        parts = ["<section id='clusters'><h2>Clusters</h2>"]
        if table is not None:
            shown = [c for c in ["cluster", "cluster_name", "size", "share", "strength", "description"] if c in table]
            parts.append(table_html(table[shown]))
        for c in self.clusters:
            row = info.loc[c] if info is not None and c in info.index else None
            size = int((labels == c).sum())
            name = _media.cluster_label(best, c)
            description = row.get("description") if row is not None else None
            strength = row.get("strength") if row is not None else None
            meta = f"{size:,} images ({size / max(len(labels), 1):.1%})"
            if strength is not None and not (isinstance(strength, float) and np.isnan(strength)):
                meta += f", description strength {esc(_fmt(strength))}"
            meta += self._label_mix(labels == c)
            parts.append(
                f"<section class='cluster' data-cluster='{c}'><h3><span class='swatch' style='background:{self.colour[c]}'></span>"
                f"{esc(name)}</h3><p class='muted'>{meta}</p>"
                + (f"<p class='description'>{esc(description)}</p>" if isinstance(description, str) and description else "")
                + "<div class='gallery'>" + "".join(self.figure(r) for r in galleries.get(c, []).tolist()) + "</div>"
                + self._cluster_artifacts(c) + "</section>"
            )
        parts.append("</section>")
        return "".join(parts)

    def _label_mix(self, members: np.ndarray) -> str:
        """The given labels inside a cluster (reported only; never used to fit), e.g. '; type: car 80%'."""

        text = ""
        for column in label_columns(self.results):
            values = self.results.samples.loc[members, column].astype(object).fillna("(missing)")
            if values.empty:
                continue
            top = values.value_counts(normalize=True).head(3)
            text += f"; {esc(column)}: " + ", ".join(f"{esc(k)} {v:.0%}" for k, v in top.items())
        return text

    def _cluster_artifacts(self, cluster: int) -> str:
        figures = [self.embedded_png(rel, pretty_name(name), jpeg=True) for name, rel in self.best.artifacts.items()
                   if name == f"gallery_cluster_{cluster}" or name.startswith(f"gallery_cluster_{cluster}_")]
        figures = [f for f in figures if f]
        return ("<details><summary>Gallery montage</summary>" + "".join(figures) + "</details>") if figures else ""

    def outliers_section(self, by_reason: dict[str, np.ndarray], by_kind: list | None = None) -> str:
        counts = _media.reason_counts(self.best)
        n_out = int(self.outliers["is_outlier"].sum())
        parts = ["<section id='outliers'><h2>Outliers</h2>",
                 f"<p>{n_out:,} of {self.results.n_rows:,} rows are flagged ({n_out / max(self.results.n_rows, 1):.1%}); "
                 "a row may carry several reasons.</p>", table_html(counts)]
        if by_kind:
            parts.append(_outlier_gallery.gallery_html(by_kind, self.figure))
            parts.append("<h3>By reason</h3>")
        for reason, rows in by_reason.items():
            total = int(counts.loc[counts["reason"] == reason, "rows"].sum())
            parts.append(f"<section class='reason' data-reason='{esc(reason)}'><h3>{esc(reason)}</h3>"
                         f"<p class='muted'>{_count(total, 'row')}; " + (f"the {len(rows)} with the highest outlier score:" if len(rows) < total else "all shown:") + "</p>"
                         "<div class='gallery'>" + "".join(self.figure(r) for r in rows.tolist()) + "</div></section>")
        montages = [self.embedded_png(rel, pretty_name(key), jpeg=True) for key, rel in self.best.artifacts.items()
                    if key.startswith("gallery_outliers")]
        if any(montages):
            parts.append("<details><summary>Outlier montage by reason</summary>" + "".join(montages) + "</details>")
        parts.append("</section>")
        return "".join(parts)

    def selection_section(self) -> str:
        parts = ["<section id='selection'><h2>How the clustering was chosen</h2>"]
        chosen_rows = []
        for name, run in self.results.descriptors.items():
            row = {"descriptor": name}
            row.update({k: v for k, v in run.chosen.items() if not isinstance(v, (dict, list))})
            chosen_rows.append(row)
        parts.append("<h3>Chosen configuration per descriptor set</h3>" + table_html(pd.DataFrame(chosen_rows)))
        for name, run in self.results.descriptors.items():
            figure = self._selection_plot(name, run)
            prep = run.preparation or {}
            prep_text = ", ".join(f"{k}: {_fmt(v)}" for k, v in prep.items() if not isinstance(v, (dict, list)))
            parts.append(f"<details{' open' if name == self.results.best else ''}><summary>{esc(name)}: "
                         f"{len(run.selection):,} configurations tried</summary>"
                         + (f"<p class='muted'>Preparation: {esc(prep_text)}</p>" if prep_text else "")
                         + figure + table_html(run.selection, highlight=_chosen_position(run)) + "</details>")
        parts.append("</section>")
        return "".join(parts)

    def _selection_plot(self, name: str, run: DescriptorRun) -> str:
        """Interactive metric curves against k, one line per family; the chosen point ringed."""
        import plotly.graph_objects as go
        import plotly.io as pio
        from plotly.subplots import make_subplots

        spec = _media.selection_axes(run.selection)
        if spec is None:
            return ""
        x, group, metrics = spec
        fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[esc(m) for m in metrics])
        groups = list(run.selection.groupby(group, sort=True)) if group else [("all", run.selection)]
        for i, metric in enumerate(metrics, start=1):
            for g, (family, part) in enumerate(groups):
                part = part.assign(_x=pd.to_numeric(part[x], errors="coerce")).dropna(subset=["_x", metric])
                part = part.groupby("_x", as_index=False)[metric].mean().sort_values("_x")
                fig.add_trace(go.Scatter(x=part["_x"].tolist(), y=part[metric].tolist(), mode="lines+markers",
                                         name=esc(family), legendgroup=esc(family), showlegend=i == 1,
                                         line=dict(color=_CLUSTER_COLOURS[g % len(_CLUSTER_COLOURS)])), row=1, col=i)
            try:
                cx, cy = float(run.chosen[x]), float(run.chosen[metric])
                fig.add_trace(go.Scatter(x=[cx], y=[cy], mode="markers", name="chosen", legendgroup="chosen",
                                         showlegend=i == 1, marker=dict(size=14, color="rgba(0,0,0,0)",
                                                                        line=dict(color="#d62728", width=2))), row=1, col=i)
            except (KeyError, TypeError, ValueError):
                pass
            fig.update_xaxes(title_text=esc(x), row=1, col=i)
        fig.update_layout(height=300, margin=dict(l=40, r=10, t=40, b=40), template="plotly_white")
        data = json.loads(pio.to_json(fig, engine="json"))
        div_id = f"sel-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:10]}"
        return (f"<div id='{div_id}' class='plot selplot'></div>"
                f"<script type='application/json' id='{div_id}-data'>{script_json(data)}</script>")

    def comparison_section(self) -> str:
        r = self.results
        parts = ["<section id='comparison'><h2>Descriptor sets compared</h2>"]
        if r.comparison is None and r.agreement is None and r.attribute_alignment is None:
            parts.append("<p class='muted'>No comparison in this run.</p>")
        if r.comparison is not None:
            parts.append("<h3>Comparison</h3>" + table_html(r.comparison))
        if r.agreement is not None:
            parts.append("<h3>Agreement between descriptor sets (ARI)</h3>" + table_html(r.agreement, index=True))
        if r.attribute_alignment is not None:
            parts.append("<h3>Alignment with attributes</h3>" + table_html(r.attribute_alignment, index=True))
        figures = []
        for name, rel in self.best.artifacts.items():
            if not name.startswith(("gallery", "map")) and "selection" not in name:
                figures.append(self.embedded_png(rel, pretty_name(name)))
        compare_dir = self.run_dir / "compare"
        if compare_dir.is_dir():
            registered = {str(rel) for run in r.descriptors.values() for rel in run.artifacts.values()}
            for png in sorted(compare_dir.glob("*.png")):
                rel = png.relative_to(self.run_dir).as_posix()
                if rel not in registered:
                    figures.append(self.embedded_png(rel, pretty_name(png.stem)))
        parts.extend(f for f in figures if f)
        links = [f"<li><a href='{esc(rel)}'>{esc(name)}: {esc(key)}</a></li>"
                 for name, run in r.descriptors.items() if name != r.best
                 for key, rel in run.artifacts.items() if self._inside_run_dir(rel) is not None]
        if links:
            parts.append("<details><summary>Figures of the other descriptor sets</summary><ul>" + "".join(links) + "</ul></details>")
        parts.append("</section>")
        return "".join(parts)

    def validation_section(self) -> str:
        return ("<section id='validation'><h2>Input validation</h2>"
                + table_html(self.results.validation) + "</section>")

    def footer(self) -> str:
        meta = self.results.metadata
        bits = [f"vehiclust {esc(meta.get('vehiclust_version', ''))}", f"seed {esc(meta.get('seed', ''))}"]
        if meta.get("created"):
            bits.append(f"run created {esc(meta['created'])}")
        return f"</main><footer>{' · '.join(bits)}</footer>"

    def document(self, body: str) -> str:
        import plotly.offline

        nonce = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
        csp = ("default-src 'none'; img-src data: file: 'self'; style-src 'unsafe-inline'; "
               f"script-src 'nonce-{nonce}' 'unsafe-eval'; connect-src 'none'; font-src data:; worker-src blob:")
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>vehiclust report: {esc(self.results.best)}</title><style>{_CSS}</style></head><body>"
            f"{body}<script nonce='{nonce}'>{plotly.offline.get_plotlyjs()}</script>"
            f"<script nonce='{nonce}'>{_JS}</script></body></html>"
        )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _chosen_text(chosen: dict[str, Any]) -> str:
    keys = [k for k in ("family", "k", "n_clusters", "params", "note") if k in chosen and chosen[k] not in (None, "")]
    if not keys:
        keys = [k for k, v in chosen.items() if not isinstance(v, (dict, list))][:4]
    return ", ".join(f"{k} {_fmt(chosen[k])}" for k in keys) or "—"


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:10px 24px;display:flex;align-items:center;gap:24px;position:sticky;top:0;z-index:10}
header h1{font-size:20px;margin:0}nav a{color:#cfd8dc;margin-right:14px;text-decoration:none}nav a:hover{color:#fff}
main{padding:8px 24px 24px}section{margin-top:18px}h2{border-bottom:1px solid #ddd;padding-bottom:4px}
.lead{font-size:16px}.muted{color:#666;font-size:13px}.sets{font-size:13px;color:#444}
.map-wrap{display:flex;gap:12px;align-items:flex-start}.maps{flex:1;min-width:0}.plot{background:#fff;border:1px solid #ddd;margin-bottom:10px}
#hoverbox{width:240px;position:sticky;top:60px;background:#fff;border:1px solid #ddd;padding:8px;font-size:12px;word-break:break-all}
#hoverbox img{width:128px;height:auto;image-rendering:auto;display:block;margin:4px 0}
#hoverbox dt{font-weight:600;margin-top:4px}#hoverbox dd{margin:0}
.cluster,.reason{background:#fff;border:1px solid #e0e0e0;padding:8px 12px;margin-top:12px}
.cluster h3,.reason h3{margin:4px 0}.swatch{display:inline-block;width:12px;height:12px;margin-right:8px;border-radius:2px}
.description{font-style:italic}.gallery{display:flex;flex-wrap:wrap;gap:6px}
.thumb{margin:0;width:96px;font-size:10px;color:#555}.thumb img{width:96px;height:96px;object-fit:cover;display:block;background:#eee}
.thumb figcaption span{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;line-height:1.35}.thumb .reasons{color:#c62828;white-space:normal;overflow-wrap:anywhere}
.noimg{width:96px;height:96px;background:#eee;color:#999;display:flex;align-items:center;justify-content:center}
.table-wrap{overflow-x:auto;max-height:480px;overflow-y:auto}table{border-collapse:collapse;font-size:12px;background:#fff}
th,td{border:1px solid #e0e0e0;padding:3px 6px;text-align:left;vertical-align:top;max-width:30em}th{background:#eceff1;position:sticky;top:0}
tr.chosen td{background:#fff8e1;font-weight:600}td.long{min-width:22em}.artifact img{max-width:100%;border:1px solid #ddd}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}footer{padding:12px 24px;color:#777;font-size:12px}
"""

# Reads only the JSON blocks above; sets text with textContent and images only from data:
# URIs or report_files/ paths, so nothing from the data is ever parsed as HTML here.
_JS = r"""
(function(){
  function readJSON(id){var el=document.getElementById(id);return el?JSON.parse(el.textContent):null;}
  var rowinfo=readJSON('rowinfo')||{};
  function safeSrc(s){return (typeof s==='string'&&(s.indexOf('data:image/')===0||s.indexOf('report_files/')===0))?s:'';}
  function show(row){
    var info=rowinfo[String(row)];if(!info)return;
    var img=document.getElementById('hover-img');var src=safeSrc(info.t);
    if(src){img.src=src;img.alt=info.p;img.hidden=false;}else{img.hidden=true;img.removeAttribute('src');}
    document.getElementById('hover-path').textContent=info.p;
    document.getElementById('hover-cluster').textContent=info.c;
    document.getElementById('hover-reasons').textContent=info.r||'none';
    var hint=document.querySelector('#hoverbox .muted');if(hint)hint.hidden=true;
  }
  function renderSelection(div){
    if(div.getAttribute('data-rendered'))return;
    var fig=readJSON(div.id+'-data');if(!fig)return;
    Plotly.newPlot(div,fig.data,fig.layout,{responsive:true,displaylogo:false}).then(function(){div.setAttribute('data-rendered','1');});
  }
  document.querySelectorAll('.selplot').forEach(function(div){
    var details=div.closest('details');
    if(!details||details.open){renderSelection(div);}
    if(details){details.addEventListener('toggle',function(){if(details.open)renderSelection(div);});}
  });
  ['map2d','map3d'].forEach(function(id){
    var fig=readJSON(id+'-data');var div=document.getElementById(id);
    if(!fig||!div)return;
    Plotly.newPlot(div,fig.data,fig.layout,{responsive:true,displaylogo:false}).then(function(){
      div.setAttribute('data-rendered','1');
      div.on('plotly_hover',function(ev){if(ev&&ev.points&&ev.points.length){var cd=ev.points[0].customdata;if(cd!==undefined&&cd!==null)show(cd);}});
    });
  });
})();
"""
