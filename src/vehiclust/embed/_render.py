"""Map PNGs of every row, density-shaded so 416,314 overlapping points still read.

No datashader: points are binned into a pixel grid with ``np.bincount``; each pixel's colour is
the mean colour of its points and its opacity grows with the log of their count, so dense cores
stay visible without hiding sparse rows. Small sets get each point spread over a small disk.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from scipy import ndimage  # noqa: E402

from vehiclust.io.atomic import atomic_write_bytes  # noqa: E402

log = logging.getLogger(__name__)

NOISE_RGB = (0.62, 0.62, 0.62)
OUTLIER_RGB = (0.85, 0.1, 0.1)
MAX_LEGEND = 20


def cluster_colours(n: int) -> np.ndarray:
    """n distinguishable RGB colours: tab20 without its greys first, then evenly spaced hues.

    Grey is kept for what is not a cluster: unassigned rows and the density of all rows."""
    base = np.asarray(plt.get_cmap("tab20").colors)[[0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19]]
    if n <= len(base):
        return base[:n]
    hues = (np.arange(n) * 0.618033988749895) % 1.0
    hsv = np.stack([hues, np.full(n, 0.65), np.full(n, 0.85)], axis=1)
    return matplotlib.colors.hsv_to_rgb(hsv)


def cluster_palette(labels) -> dict[int, str]:
    """One '#rrggbb' colour per cluster id: the colours of the map PNGs, report.html and analysis.ipynb.

    ``labels``: cluster labels or ids (negative = unassigned, no colour). The i-th smallest id
    gets :func:`cluster_colours`' i-th colour, so every writer that sees the same labels draws
    each cluster in the same colour.
    """
    ids = np.unique(np.asarray(labels, dtype=np.int64))
    ids = ids[ids >= 0]
    return {int(c): matplotlib.colors.to_hex(rgb) for c, rgb in zip(ids, cluster_colours(len(ids)))}


def _grid(xy: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    lo = xy.min(axis=0)
    hi = xy.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    pad = 0.03 * span
    lo, hi = lo - pad, hi + pad
    span = hi - lo
    ij = np.clip(((xy - lo) / span * (size - 1)).round().astype(np.int64), 0, size - 1)
    flat = (size - 1 - ij[:, 1]) * size + ij[:, 0]  # row 0 at the top
    return flat, (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def _layer(flat: np.ndarray, rgb: np.ndarray, size: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel point count and mean colour of one layer."""
    count = np.bincount(flat, minlength=size * size).astype(np.float64).reshape(size, size)
    sums = np.stack([np.bincount(flat, weights=rgb[:, c], minlength=size * size).reshape(size, size) for c in range(3)], -1)
    if radius > 0:
        yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
        disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
        count = ndimage.convolve(count, disk, mode="constant")
        sums = np.stack([ndimage.convolve(sums[..., c], disk, mode="constant") for c in range(3)], -1)
    mean = np.divide(sums, count[..., None], out=np.ones_like(sums), where=count[..., None] > 0)
    return count, mean


def _composite(canvas: np.ndarray, count: np.ndarray, colour: np.ndarray, floor: float) -> np.ndarray:
    if count.max() <= 0:
        return canvas
    alpha = np.log1p(count) / np.log1p(count.max())
    alpha = np.where(count > 0, floor + (1 - floor) * alpha, 0.0)[..., None]
    return canvas * (1 - alpha) + colour * alpha


def render_map(coords: np.ndarray, values: np.ndarray, path: str | Path, *, kind: str = "clusters",
               names: dict[int, str] | None = None, title: str = "", size: int = 800,
               palette: dict[int, str] | None = None) -> Path:
    """Write a density-shaded PNG of every finite row of ``coords`` (n x 2).

    ``kind="clusters"``: ``values`` are cluster labels (-1 = noise/unassigned, grey).
    ``kind="outliers"``: ``values`` are booleans; outliers are drawn red on top of the rest.
    ``palette``: cluster id → colour (default :func:`cluster_palette` of ``values``).
    """
    coords = np.asarray(coords, dtype=np.float64)[:, :2]
    values = np.asarray(values)
    finite = np.isfinite(coords).all(axis=1)
    xy, vals = coords[finite], values[finite]
    path = Path(path)
    fig, ax = plt.subplots(figsize=(size / 100 + 3.2, size / 100 + 0.6), dpi=100)
    canvas = np.ones((size, size, 3))
    handles: list[Patch] = []
    if len(xy):
        flat, extent = _grid(xy, size)
        radius = int(np.clip(np.sqrt(size * size / max(len(xy), 1)) / 6, 0, 4))
        if kind == "outliers":
            out = vals.astype(bool)
            layers = [(~out, NOISE_RGB, 0.25, f"inliers ({int((~out).sum()):,})"),
                      (out, OUTLIER_RGB, 0.7, f"outliers ({int(out.sum()):,})")]
            for mask, rgb, floor, label in layers:
                if mask.any():
                    count, mean = _layer(flat[mask], np.tile(rgb, (int(mask.sum()), 1)), size, radius)
                    canvas = _composite(canvas, count, mean, floor)
                handles.append(Patch(color=rgb, label=label))
        else:
            labels = vals.astype(np.int64)
            clusters, sizes = np.unique(labels[labels >= 0], return_counts=True)
            lut = {c: matplotlib.colors.to_rgb(h) for c, h in (palette or cluster_palette(labels)).items()}
            rgb = np.array([lut.get(c, NOISE_RGB) for c in range(int(labels.max()) + 1)] if len(clusters) else [NOISE_RGB])
            point_rgb = np.where((labels >= 0)[:, None], rgb[np.clip(labels, 0, None)], NOISE_RGB)
            count, mean = _layer(flat, point_rgb, size, radius)
            canvas = _composite(canvas, count, mean, 0.3)
            order = np.argsort(-sizes)
            for i in order[:MAX_LEGEND]:
                c = int(clusters[i])
                name = (names or {}).get(c, "")
                label = f"{c}: {name} ({sizes[i]:,})" if name else f"{c} ({sizes[i]:,})"
                handles.append(Patch(color=lut.get(c, NOISE_RGB), label=label[:48]))
            if len(order) > MAX_LEGEND:
                handles.append(Patch(color="white", label=f"... {len(order) - MAX_LEGEND} more clusters"))
            if (labels < 0).any():
                handles.append(Patch(color=NOISE_RGB, label=f"unassigned ({int((labels < 0).sum()):,})"))
        ax.imshow(canvas, extent=extent, aspect="auto", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{len(xy):,} rows", fontsize=10)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(buf.getvalue(), path)
    log.debug("wrote map %s (%d rows)", path, len(xy))
    return path
