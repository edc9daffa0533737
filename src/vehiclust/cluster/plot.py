"""Metric curves against k, one line per family: the picture behind the chosen k."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError

_PANELS = [
    ("explained_variance", "explained variance R² (○ elbow)"),
    ("silhouette_excess", "silhouette excess over reference ↑"),
    ("davies_bouldin_excess", "Davies-Bouldin excess ↑"),
    ("stability", "stability (ARI) ↑"),
    ("silhouette_sample", "silhouette (sample) ↑"),
    ("davies_bouldin", "Davies-Bouldin ↓"),
    ("calinski_harabasz", "Calinski-Harabasz ↑"),
    ("size_balance", "size balance ↑"),
]


def plot_selection_curves(selection: pd.DataFrame, path: str | Path) -> Path:
    """Write a PNG of every metric against the number of clusters, per family; mark each
    family's elbow (open circle) and the chosen configuration (dotted line).

    Density families have no k of their own, so they are drawn at the number of clusters they
    found. Returns the written path.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    required = {"family", "n_clusters"}
    missing = required - set(selection.columns)
    if missing:
        raise InputError(f"plot_selection_curves needs a selection table with columns {sorted(required)}. Missing {sorted(missing)}.")
    panels = [(c, t) for c, t in _PANELS if c in selection.columns]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ncols = 4
    nrows = max(1, int(np.ceil(len(panels) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.9 * ncols, 3.1 * nrows), squeeze=False)
    x_col = "k"
    for ax, (col, title) in zip(axes.ravel(), panels):
        for fam, part in selection.groupby("family", sort=False):
            x = part[x_col] if x_col in part and part[x_col].notna().all() else part["n_clusters"]
            order = np.argsort(x.to_numpy(float), kind="stable")
            style = "-o" if x_col in part and part[x_col].notna().all() else "s"
            ax.plot(x.to_numpy(float)[order], part[col].to_numpy(float)[order], style, ms=3, label=str(fam))
        if "elbow" in selection.columns and selection["elbow"].any():
            el = selection.loc[selection["elbow"].astype(bool)]
            ax.plot(el["k"].to_numpy(float), el[col].to_numpy(float), "o", mfc="none", mec="k", ms=9)
        if "chosen" in selection.columns and selection["chosen"].any():
            ch = selection.loc[selection["chosen"].astype(bool)].iloc[0]
            xv = ch["k"] if pd.notna(ch.get("k", np.nan)) else ch["n_clusters"]
            ax.axvline(float(xv), color="k", ls=":", lw=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("k (clusters found, for density families)", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
