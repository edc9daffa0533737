"""Static figures of the comparison: contingency heatmaps and candidate x candidate matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def contingency(a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """Counts of rows per (cluster in a, cluster in b), on rows both assign."""
    a, b = np.asarray(a), np.asarray(b)
    both = (a >= 0) & (b >= 0)
    return pd.crosstab(pd.Series(a[both], name="a"), pd.Series(b[both], name="b"))


def plot_contingency(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str, path: str | Path) -> Path:
    """Row-normalised contingency heatmap of two clusterings (share of each row of a), as PNG."""
    table = contingency(a, b)
    share = table.div(table.sum(axis=1).replace(0, 1), axis=0)
    h, w = share.shape
    fig = Figure(figsize=(min(max(5.0, 2 + 0.35 * w), 16), min(max(3.0, 1.5 + 0.3 * h), 16)), dpi=100)
    ax = fig.add_subplot()
    im = ax.imshow(share.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(w), [str(c) for c in share.columns], fontsize=7)
    ax.set_yticks(range(h), [str(c) for c in share.index], fontsize=7)
    ax.set_xlabel(f"{name_b} cluster")
    ax.set_ylabel(f"{name_a} cluster")
    ax.set_title(f"{name_a} vs {name_b}\n(each row: where that {name_a} cluster goes)", fontsize=8, wrap=True)
    return _save(fig, im, ax, path)


def plot_matrix(matrix: pd.DataFrame, title: str, path: str | Path, vmin: float = 0.0, vmax: float = 1.0) -> Path:
    """Annotated heatmap of a candidate x candidate (or candidate x attribute) table, as PNG."""
    values = matrix.to_numpy(dtype=float)
    h, w = values.shape
    fig = Figure(figsize=(min(3 + 0.9 * w, 18), min(2 + 0.5 * h, 18)), dpi=100)
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap="magma", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(w), [str(c) for c in matrix.columns], rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(h), [str(c) for c in matrix.index], fontsize=7)
    for i in range(h):
        for j in range(w):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] < (vmin + vmax) / 2 else "black")
    ax.set_title(title, fontsize=9)
    return _save(fig, im, ax, path)


def _save(fig: Figure, im: Any, ax: Any, path: str | Path) -> Path:
    """Add the colour bar, lay out and write the heatmap figure to ``path`` (folders made)."""
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
