"""`report.html`: one self-contained page that opens from disk, with no server and no network.

plotly.js is inlined, gzip-compressed and unpacked by the page; each row's thumbnail is a
base64 WebP stored once in a JSON block that galleries and the map's hover panel both read
(or, for very large runs, a file beside the page in ``report_files/``). Every string that
comes from the data — paths, labels, cluster names, descriptions, reasons — is escaped
wherever it lands: HTML text and attributes, plotly hover text, and JSON inside ``<script>``.
A Content-Security-Policy with a per-page nonce also blocks inline event handlers, so an
escaping slip still could not run an ``onerror=`` hidden in a file name.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import html
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust import progress as _progress
from vehiclust.exceptions import InputError
from vehiclust.io.atomic import atomic_write_bytes, atomic_write_text
from vehiclust.report import _mapfig, _media, _outlier_gallery
from vehiclust.report.notebook_helpers import (
    _as_jpeg,
    chosen_text,
    first_sentence,
    follows_table,
    label_columns,
    pretty_name,
)
from vehiclust.results import DescriptorRun, RunResults

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
FILES_DIR = "report_files"
# Embedded figures above this size are linked instead, to keep the page loadable.
MAX_EMBED_FIGURE_BYTES = 4_000_000
# The row thumbnails are 64 px WebP tiles (every current browser shows WebP): at quality 65 a
# third lighter than the same JPEG, which is what keeps the demo's 1,200 hover pictures small.
THUMB_QUALITY = 65

_FAMILY_COLOURS = [
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
    frame = frame.loc[:, [c for c in frame.columns if frame[c].notna().any()]]  # columns with nothing in them say nothing
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
            data = _media.thumbnail(_media.resolve_image(self.root, self.paths[row]), self.size, THUMB_QUALITY, "WEBP")
            if data is None:
                continue
            if embed:
                self.src[row] = _media.data_uri(data, "image/webp")
            else:
                atomic_write_bytes(data, files_dir / f"{row}.webp")
                self.src[row] = f"{FILES_DIR}/thumbs/{row}.webp"
        log.info("report: %d thumbnails %s", len(self.src), "embedded" if embed else f"in {FILES_DIR}/")

    def table(self) -> dict[str, str]:
        """row → src, the one copy of every thumbnail that galleries and the hover panel show."""
        return {str(row): src for row, src in sorted(self.src.items())}


def write_html_report(
    results: RunResults,
    run_dir: str | Path,
    *,
    max_points: int = 12_000,
    max_points_3d: int = 5_000,
    gallery_size: int = 8,
    thumb_size: int = 64,
    embed_limit: int = 2_500,
    random_state: int | None = None,
) -> Path:
    """Write ``report.html`` into `run_dir` from `results` alone; returns its path.

    Maps draw at most `max_points` (2-D) / `max_points_3d` (3-D) points — a seeded
    per-cluster sample plus outliers — over a density layer of every row when there are more.
    Each row's thumbnail (`thumb_size` px, JPEG) is stored once, whether a gallery or the
    map's hover panel shows it; plotly.js is stored once, gzip-compressed.
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
        self.colour = _mapfig.colours(self.best)  # the notebook's and the map PNGs' colours too

    # ---- pieces -------------------------------------------------------------------------
    def row_label(self, row: int) -> str:
        c = int(self.labels[row])
        return self.names.get(c) or (_media.cluster_label(self.best, c) if c >= 0 else "unassigned")

    def figure(self, row: int) -> str:
        """One thumbnail tile: picture (if any), path, cluster and reasons, all as text."""
        src = self.thumbs.src.get(row)
        path = self.paths[row]
        reasons = self.reasons[row]
        # the picture itself is stored once per row in the 'thumbs' JSON block; the script sets src
        pic = (f"<img data-thumb='{row}' alt='{esc(path)}' title='{esc(path)}'>"
               if src else "<div class='noimg'>no image</div>")
        shown = reasons.replace(_media.REASON_SEPARATOR, "; ")
        why = f"<span class='reasons'>{esc(shown)}</span>" if reasons else ""
        return (f"<figure class='thumb' data-row='{row}'>{pic}<figcaption><span class='path'>{esc(path)}</span>"
                f"<span class='cl'>{esc(self.row_label(row))}</span>{why}</figcaption></figure>")

    def embedded_png(self, rel: str, caption: str, jpeg: bool = False, caption_above: bool = False) -> str:
        path = self._inside_run_dir(rel)
        if path is None or path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".svg"}:
            return ""
        if path.stat().st_size > MAX_EMBED_FIGURE_BYTES or path.suffix.lower() == ".svg":
            return f"<p><a href='{esc(path.relative_to(self.run_dir.resolve()).as_posix())}'>{esc(caption)}</a></p>"
        if jpeg:  # photo montages: a fifth of the PNG's bytes
            data, mime = _as_jpeg(path), "image/jpeg"
        elif path.suffix.lower() == ".png":  # charts: a 256-colour PNG, half the bytes, the same look
            data, mime = _as_palette_png(path), "image/png"
        else:
            data, mime = path.read_bytes(), "image/jpeg"
        img = f"<img src='{esc(_media.data_uri(data, mime))}' alt='{esc(caption)}'>"
        cap = f"<figcaption>{esc(caption)}</figcaption>"
        return f"<figure class='artifact'>{cap + img if caption_above else img + cap}</figure>"

    def folded_figure(self, rel: str, caption: str) -> str:
        """A figure folded under its caption (the caption above the picture, the picture on demand)."""
        figure = self.embedded_png(rel, caption, caption_above=True)
        if not figure:
            return ""
        return f"<details class='figure'><summary>{esc(caption)}</summary>{figure}</details>"

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
            f"<p class='lead'><b>{n:,}</b> images in <b>{len(self.clusters)}</b> clusters from the descriptor set "
            f"<b>{esc(r.best)}</b> ({assigned:,} rows assigned); <b>{n_out:,}</b> outliers "
            f"({n_out / max(n, 1):.1%}).</p>"
        )
        # the best set's one-sentence reason, and what each clustering follows, when the run has them
        note = _metrics_note(best, r.comparison)
        reason = (f"<p id='best-reason'>Why <b>{esc(r.best)}</b>: {esc(r.best_reason)}"
                  + (f" <span class='muted'>({esc(note)})</span>" if note else "") + "</p>" if r.best_reason
                  else "<p id='best-reason' hidden></p>")
        return (f"<header><h1>vehiclust report</h1><nav>{nav}</nav></header><main><section id='summary'>{summary}{reason}"
                f"{self._sets_table()}{self._follows()}</section>")

    def _follows(self) -> str:
        """The shares behind 'what each clustering follows', folded, when the run has them."""
        follows = follows_table(self.results)
        if follows is None:
            return ""
        return ("<details id='follows'><summary>What each clustering follows: the share of each kind of evidence "
                "its clusters explain</summary>" + table_html(follows) + "</details>")

    def _sets_table(self) -> str:
        """One line per descriptor set: its chosen clustering (the cluster count said once), clusters, outliers."""
        rows = []
        for name, run in self.results.descriptors.items():
            flagged = _media.outlier_frame(run)["is_outlier"].to_numpy(bool)
            rows.append({
                "descriptor set": ("★ " if name == self.results.best else "") + name,
                "clusters": len(_media.cluster_ids(run)),
                "outliers": int(flagged.sum()),
                "method": chosen_text(run.chosen, count=False, words=True),
            })
        frame = pd.DataFrame(rows)
        follows = follows_table(self.results)
        if follows is not None and "follows" in follows.columns:  # the compare stage's sentence per set
            said = dict(zip(follows["descriptor"].astype(str), follows["follows"].fillna("").astype(str)))
            frame["follows"] = [said.get(name, "") for name in self.results.descriptors]
        return "<div class='sets'>" + table_html(frame) + "</div>"

    def map_section(self, rows_2d: np.ndarray, rows_3d: np.ndarray) -> str:
        best = self.best
        if best.coords_2d is None and best.coords_3d is None:
            return ("<section id='map'><h2>Map</h2><p class='muted'>This run has no map coordinates "
                    "(the map stage did not run).</p></section>")
        rowinfo = self._rowinfo(np.union1d(rows_2d, rows_3d))
        n_out = int(self.flagged.sum())
        toggle = ""
        if n_out:
            checked = " checked" if _mapfig.outliers_visible(n_out) is True else ""
            toggle = (f"<label class='toggle'><input type='checkbox' id='show-outliers'{checked}> show the "
                      f"{_count(n_out, 'outlier')} (black crosses)</label>")
        parts = ["<section id='map'><h2>Map</h2>",
                 f"<p class='muted'>Descriptor set <b>{esc(self.results.best)}</b>: each point is an image, coloured by "
                 f"cluster, named at the cluster's centre. Hover a point to see it; click a legend entry to hide or show "
                 f"a cluster. {toggle}</p>",
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
                         "(a seeded per-cluster sample plus outliers); the grey layer beneath shows the density of all rows.</p>")
        parts.append("</section>")
        return "".join(parts)

    def _rowinfo(self, rows: np.ndarray) -> dict[str, list]:
        """What the hover panel shows of each drawn row, column-wise: its path, and indices into
        the lists of cluster names and reasons (said once each, not once per row)."""
        names = [self.row_label(int(r)) for r in rows.tolist()]
        name_list, name_idx = np.unique(np.asarray(names, dtype=object).astype(str), return_inverse=True) if len(rows) else ([], [])
        reasons = self.reasons[rows].astype(str) if len(rows) else np.empty(0, str)
        reason_list, reason_idx = np.unique(reasons, return_inverse=True) if len(rows) else ([], [])
        return {"rows": rows.tolist(), "p": self.paths[rows].tolist(), "c": np.asarray(name_idx).tolist(),
                "names": list(name_list), "r": np.asarray(reason_idx).tolist(), "reasons": list(reason_list)}

    def _map_figure(self, coords: np.ndarray, rows: np.ndarray, three_d: bool) -> dict[str, Any]:
        import plotly.io as pio

        def hover(sel: np.ndarray) -> list[str]:  # the cluster is the trace's name, shown beside the path
            return [esc(self.paths[r]) for r in sel.tolist()]

        fig = _mapfig.map_figure(self.best, coords, rows, three_d=three_d, hovertext=hover, escape=esc)
        return json.loads(pio.to_json(fig, validate=True, engine="json"))

    def clusters_section(self, galleries: dict[int, np.ndarray]) -> str:
        """Compact cards: name, size and share, one sentence, a strip of typical images; numbers folded."""
        best = self.best
        table = best.clusters
        info = table.set_index(table["cluster"].astype(int)) if table is not None and "cluster" in table else None
        labels = np.asarray(best.labels)
        parts = ["<section id='clusters'><h2>Clusters</h2>",
                 f"<p class='muted'>{len(self.clusters)} clusters of <b>{esc(self.results.best)}</b>, each with the images "
                 "closest to its centre; open “numbers” for its figures.</p><div class='cards'>"]
        for c in self.clusters:
            row = info.loc[c] if info is not None and c in info.index else None
            size = int((labels == c).sum())
            description = row.get("description") if row is not None else None
            sentence = first_sentence(description) if isinstance(description, str) else ""
            colour = self.colour.get(c, _mapfig.UNASSIGNED_COLOUR)
            parts.append(
                f"<section class='cluster' data-cluster='{c}' style='border-top-color:{colour}'>"
                f"<h3><span class='swatch' style='background:{colour}'></span>{esc(_media.cluster_label(best, c))}</h3>"
                f"<p class='size'><b>{size:,}</b> images · <b>{size / max(len(labels), 1):.1%}</b></p>"
                + (f"<p class='description'>{esc(sentence)}</p>" if sentence else "")
                + ("<div class='gallery'>" + "".join(self.figure(r) for r in galleries.get(c, []).tolist()) + "</div>"
                   if self.thumbs.root is not None else "")
                + self._cluster_numbers(c, row, labels == c, description, sentence) + "</section>"
            )
        parts.append("</div>")
        if table is not None:
            parts.append("<details><summary>All clusters as a table</summary>" + table_html(table) + "</details>")
        parts.append("</section>")
        return "".join(parts)

    def _cluster_numbers(self, cluster: int, row: pd.Series | None, members: np.ndarray,
                         description: Any, sentence: str) -> str:
        """The folded part of a card: every other column of the per-cluster table, the label mix,
        the rest of the description and a link to the describe stage's montage."""
        items = []
        if row is not None:
            for key, value in row.items():
                if key in ("cluster", "cluster_name", "description", "size", "share") or isinstance(value, (dict, list)):
                    continue
                text = _fmt(value)
                if text and text != "nan":
                    items.append(f"<dt>{esc(key)}</dt><dd>{esc(text)}</dd>")
        mix = self._label_mix(members)
        if mix:
            items.append(f"<dt>given labels (reported only)</dt><dd>{mix.lstrip('; ')}</dd>")
        full = " ".join(description.split()) if isinstance(description, str) else ""
        rest = full[len(sentence):].strip() if full.startswith(sentence) else full
        body = (f"<p>{esc(rest)}</p>" if rest else "") + (f"<dl class='numbers'>{''.join(items)}</dl>" if items else "")
        body += self._cluster_artifacts(cluster)
        return f"<details><summary>numbers</summary>{body}</details>" if body else ""

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
        """Links to the describe stage's montages of this cluster (files beside the page, not embedded)."""
        root = self.run_dir.resolve()
        links = [f"<a href='{esc(path.relative_to(root).as_posix())}'>{esc(pretty_name(name))}</a>"
                 for name, rel in self.best.artifacts.items()
                 if (name == f"gallery_cluster_{cluster}" or name.startswith(f"gallery_cluster_{cluster}_"))
                 and (path := self._inside_run_dir(rel)) is not None]
        return f"<p class='muted'>Montage: {' · '.join(links)}</p>" if links else ""

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
        parts.append("<h3>Chosen configuration per descriptor set</h3><p class='muted'>Scores here are measured in each "
                     "set's prepared space (euclidean); the comparison below scores every set alike (cosine), so a "
                     "score of the same name can differ between the two tables.</p>" + table_html(pd.DataFrame(chosen_rows)))
        for name, run in self.results.descriptors.items():
            figure = self._selection_plot(name, run)
            prep = run.preparation or {}
            prep_text = ", ".join(f"{k}: {_fmt(v)}" for k, v in prep.items() if not isinstance(v, (dict, list)))
            parts.append(f"<details{' open' if name == self.results.best else ''}><summary>{esc(name)}: "
                         f"{len(run.selection):,} configurations tried</summary>"
                         + (f"<p class='muted'>Preparation: {esc(prep_text)}</p>" if prep_text else "")
                         + figure + _selection_table(run) + "</details>")
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
                                         line=dict(color=_FAMILY_COLOURS[g % len(_FAMILY_COLOURS)])), row=1, col=i)
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
                figures.append(self.folded_figure(rel, pretty_name(name)))
        compare_dir = self.run_dir / "compare"
        if compare_dir.is_dir():
            registered = {str(rel) for run in r.descriptors.values() for rel in run.artifacts.values()}
            for png in sorted(compare_dir.glob("*.png")):
                rel = png.relative_to(self.run_dir).as_posix()
                if rel not in registered:
                    figures.append(self.folded_figure(rel, pretty_name(png.stem)))
        figures = [f for f in figures if f]
        if figures:
            parts.append("<h3>Figures</h3><p class='muted'>Folded; open one to see it.</p>" + "".join(figures))
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
        nonce = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
        csp = ("default-src 'none'; img-src data: file: 'self'; style-src 'unsafe-inline'; "
               f"script-src 'nonce-{nonce}' 'unsafe-eval'; connect-src 'none'; font-src data:; worker-src blob:")
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>vehiclust report: {esc(self.results.best)}</title><style>{_CSS}</style></head><body>"
            f"{body}<script type='application/json' id='thumbs'>{script_json(self.thumbs.table())}</script>"
            # plotly.js, gzip-compressed (a third of its 4.8 MB); the page script unpacks it
            f"<script type='application/octet-stream' id='plotly-gz'>{_plotly_gz()}</script>"
            f"<script nonce='{nonce}'>{_JS}</script></body></html>"
        )


def _as_palette_png(path: Path) -> bytes:
    """A chart PNG with at most 256 colours (whichever is smaller: that or the file as it is)."""
    import io

    from PIL import Image

    original = path.read_bytes()
    with Image.open(path) as image:
        buffer = io.BytesIO()
        image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buffer, format="PNG", optimize=True)
    return min(buffer.getvalue(), original, key=len)


@functools.lru_cache(maxsize=1)
def _plotly_gz() -> str:
    """plotly.js as base64 gzip, deterministic (no timestamp): unpacked in the page by
    DecompressionStream, which every current browser has."""
    import plotly.offline

    data = gzip.compress(plotly.offline.get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(data).decode("ascii")


# Selection tables longer than this show their best-ranked configurations (all are in selection.csv).
SELECTION_ROWS_SHOWN = 25


def _selection_table(run: DescriptorRun) -> str:
    """The set's selection table, the chosen row marked; a long one cut to its best-ranked rows."""
    selection = run.selection
    if selection is None or len(selection) <= SELECTION_ROWS_SHOWN or "rank" not in selection:
        return table_html(selection, highlight=_chosen_position(run))
    rank = pd.to_numeric(selection["rank"], errors="coerce")
    chosen = _chosen_position(run)
    keep = rank.rank(method="first").to_numpy() <= SELECTION_ROWS_SHOWN
    if chosen is not None:
        keep[chosen] = True
    shown = selection[keep].assign(_rank=rank[keep]).sort_values("_rank", kind="stable").drop(columns="_rank")
    position = None if chosen is None else int(np.flatnonzero(shown.index == selection.index[chosen])[0])
    return (f"<p class='muted'>The best-ranked configurations ({len(shown)} of {len(selection):,}), best first; "
            "all of them are in selection.csv.</p>"
            + table_html(shown, highlight=position))


# (comparison column, selection column): the same name, measured differently in each table
_SAME_NAMED_METRICS = (("silhouette", "silhouette_sample"), ("davies_bouldin", "davies_bouldin"))


def _metrics_note(run: DescriptorRun, comparison: pd.DataFrame | None) -> str:
    """Why the chosen set's scores differ between the comparison and its selection table, in a word.

    The selection table scores every configuration in the set's prepared space (euclidean
    silhouette on a stratified sample, exact Davies-Bouldin); the comparison scores the chosen
    clustering of every set alike (cosine silhouette, Davies-Bouldin on the unit sphere)."""
    if comparison is None or "descriptor" not in comparison:
        return ""
    row = comparison[comparison["descriptor"].astype(str) == run.name]
    if row.empty:
        return ""
    differ = []
    for compared, selected in _SAME_NAMED_METRICS:
        if compared not in row or selected not in run.chosen:
            continue
        a = pd.to_numeric(row[compared], errors="coerce").iloc[0]
        try:
            b = float(run.chosen[selected])
        except (TypeError, ValueError):
            continue
        if np.isfinite(a) and np.isfinite(b) and abs(a - b) > 0.005:
            differ.append(f"{compared} {a:.3g} vs {b:.3g}")
    if not differ:
        return ""
    return (", ".join(differ) + " in the selection table: the comparison scores every set alike with cosine distances, "
            "the selection table with euclidean ones in the set's prepared space")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:10px 24px;display:flex;align-items:center;gap:24px;position:sticky;top:0;z-index:10}
header h1{font-size:20px;margin:0}nav a{color:#cfd8dc;margin-right:14px;text-decoration:none}nav a:hover{color:#fff}
main{padding:8px 24px 24px}section{margin-top:14px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin:10px 0 8px}
.lead{font-size:16px;margin:6px 0}.muted{color:#666;font-size:13px}#best-reason{margin:4px 0 8px}
#summary h3{font-size:14px;margin:8px 0 4px}#summary .table-wrap{max-height:260px}
.toggle{white-space:nowrap;color:#222;margin-left:8px}.toggle input{vertical-align:middle}
.map-wrap{display:flex;gap:12px;align-items:flex-start}.maps{flex:1;min-width:0}.plot{background:#fff;border:1px solid #ddd;margin-bottom:10px}
#hoverbox{width:220px;position:sticky;top:60px;background:#fff;border:1px solid #ddd;padding:8px;font-size:12px;word-break:break-all}
#hoverbox img{width:128px;height:auto;display:block;margin:4px 0}
#hoverbox dt{font-weight:600;margin-top:4px}#hoverbox dd{margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px}
.cluster{background:#fff;border:1px solid #e0e0e0;border-top:4px solid #999;padding:6px 10px;margin:0}
.reason{background:#fff;border:1px solid #e0e0e0;padding:8px 12px;margin-top:12px}
.cluster h3{margin:2px 0;font-size:15px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.reason h3{margin:4px 0}
.cluster .size{margin:2px 0;font-size:13px;color:#444}.cluster details{margin:4px 0 0}.cluster summary{font-weight:400;font-size:12px;color:#555}
.numbers{display:grid;grid-template-columns:max-content 1fr;gap:1px 10px;font-size:12px;margin:4px 0}.numbers dt{color:#666}.numbers dd{margin:0}
.swatch{display:inline-block;width:12px;height:12px;margin-right:8px;border-radius:2px}
.description{font-style:italic;margin:2px 0 6px;font-size:13px}.gallery{display:flex;flex-wrap:wrap;gap:4px}
.thumb{margin:0;width:64px;font-size:9px;color:#555}.thumb img{width:64px;height:64px;object-fit:cover;display:block;background:#eee}
.thumb figcaption span{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;line-height:1.3}.thumb .reasons{color:#c62828;white-space:normal;overflow-wrap:anywhere}
.cluster .thumb figcaption{display:none}
.noimg{width:64px;height:64px;background:#eee;color:#999;display:flex;align-items:center;justify-content:center;text-align:center}
.table-wrap{overflow:auto;max-height:480px;max-width:100%}table{border-collapse:separate;border-spacing:0;font-size:12px;background:#fff}
th,td{border-right:1px solid #e0e0e0;border-bottom:1px solid #e0e0e0;padding:3px 6px;text-align:left;vertical-align:top;max-width:30em;background:#fff}
th{background:#eceff1;position:sticky;top:0;z-index:2}
th:first-child,td:first-child{position:sticky;left:0;z-index:1;box-shadow:1px 0 0 #b0bec5;font-weight:600}th:first-child{z-index:3}
tr.chosen td{background:#fff8e1;font-weight:600}td.long{min-width:22em}
.artifact{margin:4px 0}.artifact img{max-width:min(100%,900px);border:1px solid #ddd}.artifact figcaption{font-size:13px;color:#444;margin-bottom:4px}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}footer{padding:12px 24px;color:#777;font-size:12px}
"""

# Reads only the JSON blocks of the page; sets text with textContent and images only from data:
# URIs or report_files/ paths, so nothing from the data is ever parsed as HTML here.
_JS = r"""
(function(){
  function readJSON(id){var el=document.getElementById(id);return el?JSON.parse(el.textContent):null;}
  function safeSrc(s){return (typeof s==='string'&&(s.indexOf('data:image/')===0||s.indexOf('report_files/')===0))?s:'';}
  var thumbs=readJSON('thumbs')||{};
  document.querySelectorAll('img[data-thumb]').forEach(function(img){
    var src=safeSrc(thumbs[img.getAttribute('data-thumb')]);if(src)img.src=src;});
  var rowinfo=readJSON('rowinfo')||{rows:[]};var position={};
  rowinfo.rows.forEach(function(row,i){position[row]=i;});
  function show(row){
    var i=position[row];if(i===undefined)return;
    var path=rowinfo.p[i],reasons=rowinfo.reasons[rowinfo.r[i]];
    var img=document.getElementById('hover-img');var src=safeSrc(thumbs[String(row)]);
    if(src){img.src=src;img.alt=path;img.hidden=false;}else{img.hidden=true;img.removeAttribute('src');}
    document.getElementById('hover-path').textContent=path;
    document.getElementById('hover-cluster').textContent=rowinfo.names[rowinfo.c[i]];
    document.getElementById('hover-reasons').textContent=reasons?reasons.split(';').join('; '):'none';
    var hint=document.querySelector('#hoverbox .muted');if(hint)hint.hidden=true;
  }
  function loadPlotly(){
    if(window.Plotly)return Promise.resolve();
    var el=document.getElementById('plotly-gz');
    if(!el||typeof DecompressionStream==='undefined')
      return Promise.reject(new Error('This browser cannot unpack the charts (it needs DecompressionStream: Chrome 80, Firefox 113, Safari 16.4 or later).'));
    var bin=atob(el.textContent.trim());var bytes=new Uint8Array(bin.length);
    for(var i=0;i<bin.length;i++)bytes[i]=bin.charCodeAt(i);
    var stream=new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text().then(function(code){(0,eval)(code);});
  }
  function outlierTraces(div){
    var idx=[];(div.data||[]).forEach(function(t,i){if(typeof t.name==='string'&&t.name.indexOf('outliers')===0)idx.push(i);});return idx;}
  function renderSelection(div){
    if(div.getAttribute('data-rendered'))return;
    var fig=readJSON(div.id+'-data');if(!fig)return;
    Plotly.newPlot(div,fig.data,fig.layout,{responsive:true,displaylogo:false}).then(function(){div.setAttribute('data-rendered','1');});
  }
  function main(){
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
        div.on('plotly_restyle',function(){  // a legend click on the outliers keeps the box in step
          var box=document.getElementById('show-outliers');var idx=outlierTraces(div);
          if(box&&idx.length){var v=div.data[idx[0]].visible;box.checked=(v===undefined||v===true);}
        });
      });
    });
    var toggle=document.getElementById('show-outliers');
    if(toggle){toggle.addEventListener('change',function(){
      ['map2d','map3d'].forEach(function(id){
        var div=document.getElementById(id);if(!div||!div.data)return;
        var idx=outlierTraces(div);if(idx.length)Plotly.restyle(div,{visible:toggle.checked?true:'legendonly'},idx);
      });
    });}
  }
  loadPlotly().then(main,function(err){
    document.querySelectorAll('#map2d,#map3d,.selplot').forEach(function(div){div.textContent=err.message;});
  });
})();
"""
