"""Maps for one descriptor run: coordinates of every row and the two map PNGs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vehiclust.embed._embedder import MapEmbedder
from vehiclust.embed._render import cluster_palette, render_map
from vehiclust.neighbors import KNNGraph

log = logging.getLogger(__name__)


def full_coords(X: np.ndarray, valid: np.ndarray, n_components: int, method: str, random_state: int,
                sample_size: int | None = 20_000, progress: bool | None = None,
                graph: KNNGraph | None = None) -> np.ndarray:
    """(n_rows, n_components) float32 map coordinates; rows not in ``valid`` are NaN.

    ``graph``: the k-NN graph of ``X`` against a reference sample, if the outlier stage built
    one (see :meth:`MapEmbedder.fit_transform`)."""
    valid = np.asarray(valid, dtype=bool)
    out = np.full((len(valid), n_components), np.nan, dtype=np.float32)
    if X.shape[0]:
        out[valid] = MapEmbedder(method=method, n_components=n_components, sample_size=sample_size,
                                 random_state=random_state, progress=progress).fit_transform(X, graph=graph)
    return out


def map_run(run_, X: np.ndarray, valid: np.ndarray, run_dir: str | Path, *, method: str = "umap",
            three_d: bool = True, random_state: int = 0, sample_size: int | None = 20_000,
            progress: bool | None = None, graph: KNNGraph | None = None) -> None:
    """Set ``run_.coords_2d`` / ``coords_3d`` and write + register map_clusters / map_outliers PNGs."""
    run_.coords_2d = full_coords(X, valid, 2, method, random_state, sample_size, progress, graph)
    if three_d:
        run_.coords_3d = full_coords(X, valid, 3, method, random_state, sample_size, progress, graph)
    render_run_maps(run_, run_dir)


def render_run_maps(run_, run_dir: str | Path) -> None:
    """(Re)draw the run's two map PNGs from its coordinates, labels, outliers and names."""
    if run_.coords_2d is None:
        return
    rel = Path("descriptors") / run_.name
    names = run_.cluster_names()
    n = len(run_.labels)
    title = f"{run_.name}: {int(np.isfinite(run_.coords_2d).all(1).sum()):,} of {n:,} rows"
    render_map(run_.coords_2d, run_.labels, Path(run_dir) / rel / "map_clusters.png", kind="clusters",
               names=names, title=title + ", by cluster", palette=cluster_palette(run_.labels))
    run_.artifacts["map_clusters"] = str(rel / "map_clusters.png")
    if run_.outliers is not None and "is_outlier" in run_.outliers:
        flags = run_.outliers["is_outlier"].to_numpy(bool)
    else:
        flags = np.asarray(run_.labels) < 0
    render_map(run_.coords_2d, flags, Path(run_dir) / rel / "map_outliers.png", kind="outliers",
               title=title + ", outliers")
    run_.artifacts["map_outliers"] = str(rel / "map_outliers.png")
