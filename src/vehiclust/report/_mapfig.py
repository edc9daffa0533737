"""The interactive (plotly) map of one descriptor set, shared by report.html and analysis.ipynb.

Clusters come first at any size: every row is in a grey density layer (a heat map in 2-D,
faint grey voxels in 3-D), a seeded sample
is drawn as points in the cluster's colour (:func:`vehiclust.embed.cluster_palette`, the
colours of the map PNGs too), the legend gives each cluster's name and size, and each name is
written at the cluster's centre. Outliers are small black crosses in their own legend entry,
hidden (``legendonly``) when there are more than :data:`OUTLIERS_SHOWN_UP_TO`, so a large run
opens on its clusters and one click shows them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vehiclust.embed import cluster_palette
from vehiclust.report._media import cluster_ids, cluster_label, outlier_frame
from vehiclust.results import DescriptorRun

# Above this many outliers in the data the outlier layer starts hidden (one legend click shows it).
OUTLIERS_SHOWN_UP_TO = 300
# Names written on the map: the largest clusters only, so labels never cover the picture.
MAX_CENTRE_LABELS = 30
OUTLIER_MARKER_2D = dict(color="#111111", size=5, symbol="x", opacity=0.75)
OUTLIER_MARKER_3D = dict(color="#111111", size=3, symbol="x", opacity=0.75)
UNASSIGNED_COLOUR = "#b0b0b0"
DENSITY_BINS = 220
DENSITY_BINS_3D = 36  # per axis: at most a few thousand occupied voxels, light enough for WebGL


def colours(run: DescriptorRun) -> dict[int, str]:
    """Cluster id → '#rrggbb' for this run: the one palette of every writer."""
    return cluster_palette(run.labels)


def legend_name(run: DescriptorRun, cluster: int, size: int) -> str:
    """'3: white vans (1,234)': what the legend shows for one cluster."""
    return f"{cluster_label(run, cluster)} ({size:,})"


def outliers_visible(n_outliers: int) -> bool | str:
    """True when few enough to draw on top; else plotly's 'legendonly' (hidden, one click shows)."""
    return True if n_outliers <= OUTLIERS_SHOWN_UP_TO else "legendonly"


def map_figure(run: DescriptorRun, coords: np.ndarray, rows: np.ndarray, *, three_d: bool,
               hovertext: Callable[[np.ndarray], list[str]] | None = None, escape: Callable[[str], str] = str,
               height: int = 560, title: str | None = None):
    """The plotly figure of `coords` for the sampled `rows` (a ``plotly.graph_objects.Figure``).

    `hovertext(rows)` gives each point's tooltip beside its trace's name; `escape` is
    applied to every data string that plotly would render as HTML (names, labels).
    """
    import plotly.graph_objects as go

    coords = np.asarray(coords, dtype=np.float32)
    labels_all = np.asarray(run.labels)
    flagged_all = outlier_frame(run)["is_outlier"].to_numpy(bool)
    finite = np.isfinite(coords).all(axis=1)
    palette = colours(run)
    ids = cluster_ids(run)
    sizes = {c: int(n) for c, n in zip(*np.unique(labels_all[labels_all >= 0], return_counts=True))}
    rows = np.asarray(rows, dtype=np.int64)
    labels = labels_all[rows]
    flagged = flagged_all[rows]
    many = len(rows) > 3000
    sampled = len(rows) < int(finite.sum())
    traces: list[Any] = []
    if sampled:
        density = _density_3d if three_d else _density
        traces.append(density(coords[finite], int(finite.sum())))

    def scatter(sel: np.ndarray, name: str, marker: dict[str, Any], **extra: Any) -> Any:
        xyz = coords[sel]
        # the tooltip: the row's own text (its path) with the trace's name (cluster and size) beside it
        common = dict(name=escape(name), customdata=sel.astype(np.int32), marker=marker, **extra)
        if hovertext is not None:
            common.update(hovertext=hovertext(sel), hovertemplate="%{hovertext}<extra>%{fullData.name}</extra>")
        else:
            common.update(hovertemplate="<extra>%{fullData.name}</extra>")
        if three_d:
            return go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="markers", **common)
        kind = go.Scattergl if many else go.Scatter
        return kind(x=xyz[:, 0], y=xyz[:, 1], mode="markers", **common)

    size = 2.5 if three_d else (4 if many else 7)
    opacity = 0.65 if many or three_d else 0.85
    for c in ids:
        sel = rows[(labels == c) & ~flagged]
        traces.append(scatter(sel, legend_name(run, c, sizes.get(c, 0)),
                              dict(color=palette.get(c, UNASSIGNED_COLOUR), size=size, opacity=opacity)))
    unassigned = rows[(labels < 0) & ~flagged]
    if len(unassigned):
        n_unassigned = int(((labels_all < 0) & ~flagged_all).sum())
        traces.append(scatter(unassigned, f"unassigned ({n_unassigned:,})",
                              dict(color=UNASSIGNED_COLOUR, size=size, opacity=opacity)))
    out_rows = rows[flagged]
    n_out = int(flagged_all.sum())
    if len(out_rows):
        traces.append(scatter(out_rows, f"outliers ({n_out:,})", dict(OUTLIER_MARKER_3D if three_d else OUTLIER_MARKER_2D),
                              visible=outliers_visible(n_out), legendrank=2000))
    annotations = _centre_labels(run, coords, finite, ids, sizes, palette, three_d, escape)
    layout: dict[str, Any] = dict(
        height=height, margin=dict(l=10, r=10, t=36, b=10), hovermode="closest", template="plotly_white",
        legend=dict(itemsizing="constant", title=dict(text="clusters (size); click to hide or show")),
        title=dict(text=escape(title if title is not None else ("3-D map" if three_d else "2-D map")), font=dict(size=14)),
    )
    axis = dict(showticklabels=False, title="", zeroline=False)
    if three_d:
        layout["scene"] = dict(xaxis=axis, yaxis=axis, zaxis=axis, annotations=annotations)
    else:
        layout.update(xaxis=axis, yaxis=axis, annotations=annotations)
    return go.Figure(data=traces, layout=layout)


def _centre_labels(run: DescriptorRun, coords: np.ndarray, finite: np.ndarray, ids: list[int],
                   sizes: dict[int, int], palette: dict[int, str], three_d: bool,
                   escape: Callable[[str], str]) -> list[dict[str, Any]]:
    """One annotation per (large) cluster at the median of all its rows: its name."""
    labels = np.asarray(run.labels)
    shown = sorted(ids, key=lambda c: -sizes.get(c, 0))[:MAX_CENTRE_LABELS]
    out = []
    for c in shown:
        members = coords[(labels == c) & finite]
        if not len(members):
            continue
        centre = np.median(members, axis=0).astype(float)
        text = escape(cluster_label(run, c))
        note = dict(text=text, showarrow=False, font=dict(size=11, color="#111"),
                    bgcolor="rgba(255,255,255,0.75)", bordercolor=palette.get(c, UNASSIGNED_COLOUR), borderwidth=1.5)
        if three_d:
            note.update(x=centre[0], y=centre[1], z=centre[2])
        else:
            note.update(x=centre[0], y=centre[1], xref="x", yref="y")
        out.append(note)
    return out


def _density(xy: np.ndarray, n: int) -> Any:
    """Grey log-density of every row: what the sampled points stand for."""
    import plotly.graph_objects as go

    counts, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=DENSITY_BINS)
    z = np.log1p(counts.T).astype(np.float32)
    z[z == 0] = np.nan
    return go.Heatmap(x=((xe[:-1] + xe[1:]) / 2).astype(np.float32), y=((ye[:-1] + ye[1:]) / 2).astype(np.float32), z=z,
                      colorscale=[[0, "rgba(120,120,120,0.25)"], [1, "rgba(20,20,20,0.85)"]], showscale=False,
                      hoverinfo="skip", name=f"density of all {n:,} rows", showlegend=False, zsmooth=False)


def _density_3d(xyz: np.ndarray, n: int) -> Any:
    """Every row in 3-D: one faint grey marker per occupied voxel, larger and darker where more
    rows fall, so the mass of the data shows beneath the sampled points."""
    import plotly.graph_objects as go

    counts, edges = np.histogramdd(xyz, bins=DENSITY_BINS_3D)
    occupied = np.nonzero(counts)
    weight = np.log1p(counts[occupied])
    weight = (weight / max(float(weight.max()), 1e-9)).astype(np.float32)
    centre = [((e[:-1] + e[1:]) / 2)[i].astype(np.float32) for e, i in zip(edges, occupied)]
    return go.Scatter3d(x=centre[0], y=centre[1], z=centre[2], mode="markers", hoverinfo="skip",
                        name=f"density of all {n:,} rows", showlegend=False,
                        marker=dict(size=(1.5 + 4.5 * weight).round(2), color="rgb(90,90,90)", opacity=0.12,
                                    line=dict(width=0)))
