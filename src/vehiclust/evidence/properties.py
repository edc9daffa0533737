"""Measure raw image properties once per image; checks score and mark them later.

This is cleanvision's *measure* step: everything a check needs is a number in this table,
so a re-run with other thresholds re-reads nothing (the table is cached per image, keyed on
path, size and modification time).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust import progress as _progress
from vehiclust.evidence.base import CATEGORICAL, CONTINUOUS, EvidenceSource
from vehiclust.io.atomic import atomic_write_bytes
from vehiclust.io.images import ImageReadError, load_image

log = logging.getLogger(__name__)

#: Bumped when a measurement changes meaning, so stale caches are ignored.
MEASURE_VERSION = 2
#: Side of the grey thumbnail that sharpness is measured on: blur scores of 64 px and
#: 224 px images are then comparable.
SHARPNESS_SIDE = 64

PROPERTY_COLUMNS = [
    "file_exists",
    "readable",
    "read_error",
    "width",
    "height",
    "brightness",
    "brightness_p05",
    "brightness_p95",
    "sharpness",
    "entropy",
    "dhash",
]


def file_key(path: str) -> str:
    """Cache key of one image file: its path, size and modification time."""
    try:
        st = os.stat(path)
        tag = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        tag = f"{path}|missing"
    return hashlib.sha1(tag.encode("utf-8", "surrogatepass")).hexdigest()


def measure_image(path: str) -> dict[str, Any]:
    """Every raw property of one image; unreadable or missing files get NaN properties."""
    row: dict[str, Any] = {c: np.nan for c in PROPERTY_COLUMNS}
    row.update(file_exists=False, readable=False, read_error="", dhash="")
    if not path or not os.path.isfile(path):
        row["read_error"] = "path refused (outside the images root)" if not path else "no such file"
        return row
    row["file_exists"] = True
    try:
        image = load_image(path)
    except ImageReadError as exc:
        row["read_error"] = exc.reason
        return row
    row["readable"] = True
    row["width"], row["height"] = image.size
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    row["brightness"] = float(grey.mean())
    row["brightness_p05"], row["brightness_p95"] = (float(v) for v in np.percentile(grey, [5, 95]))
    row["entropy"] = float(image.convert("L").entropy())
    row["sharpness"] = laplacian_variance(image.convert("L"))
    row["dhash"] = dhash_hex(image)
    return row


def laplacian_variance(grey_image: Any) -> float:
    """Variance of the 4-neighbour Laplacian over the grey variance, on a 64 px thumbnail.

    Dividing by the image's own variance makes the measure contrast-free: a dark, sharp
    crop is not called blurry. Real sharp crops sit around 0.3-2; a Gaussian blur of 2 px on
    a 100 px crop brings them under 0.1.
    """
    from PIL import Image

    g = np.asarray(grey_image.resize((SHARPNESS_SIDE, SHARPNESS_SIDE), Image.BILINEAR), dtype=np.float32) / 255.0
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var() / (g.var() + 1e-4))


def dhash_hex(image: Any, hash_size: int = 8) -> str:
    """Difference hash (64 bits as 16 hex digits): neighbouring-pixel gradients of a 9x8 grey."""
    from PIL import Image

    g = np.asarray(image.convert("L").resize((hash_size + 1, hash_size), Image.LANCZOS), dtype=np.int16)
    bits = (g[:, 1:] > g[:, :-1]).ravel()
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return f"{value:0{hash_size * hash_size // 4}x}"


class PropertyCache:
    """Per-image measurements on disk (parquet), keyed by :func:`file_key`."""

    def __init__(self, folder: str | Path | None, name: str) -> None:
        self.path = Path(folder) / f"{name}-v{MEASURE_VERSION}.parquet" if folder is not None else None

    def load(self) -> pd.DataFrame:
        if self.path is None or not self.path.exists():
            return pd.DataFrame()
        try:
            return pd.read_parquet(self.path)
        except Exception as exc:  # a corrupt cache is rebuilt, never fatal
            log.warning("image-check cache %s is unreadable (%s); measuring again", self.path, exc)
            return pd.DataFrame()

    def save(self, frame: pd.DataFrame) -> None:
        if self.path is None:
            return
        import io

        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        atomic_write_bytes(buf.getvalue(), self.path)


def measure_cached(
    paths: Sequence[str],
    fn: Callable[[list[str]], pd.DataFrame],
    cache: PropertyCache,
    *,
    description: str,
    keep: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Rows of ``fn(paths)`` in ``paths`` order, computing only images not in ``cache``;
    ``keep()`` false after computing: the new rows are returned but not written to disk."""
    paths = [str(p) for p in paths]
    keys = [file_key(p) for p in paths]
    cached = cache.load()
    if len(cached) and "key" in cached:
        cached = cached.drop_duplicates("key", keep="last").set_index("key")
    else:
        cached = pd.DataFrame()
    todo = sorted({k: p for k, p in zip(keys, paths) if k not in cached.index}.items())
    if todo:
        log.info("%s: measuring %d of %d images (%d cached)", description, len(todo), len(paths), len(paths) - len(todo))
        fresh = fn([p for _, p in todo])
        fresh.index = pd.Index([k for k, _ in todo], name="key")
        cached = pd.concat([cached, fresh]) if len(cached) else fresh
        cached.index.name = "key"
        if keep is None or keep():
            cache.save(cached.reset_index())
    out = cached.loc[keys].reset_index(drop=True)
    return out


def measure_properties(paths: Sequence[str], *, n_jobs: int | None = None, progress: bool | None = None) -> pd.DataFrame:
    """:func:`measure_image` over ``paths`` in a thread pool, with a progress bar."""
    paths = list(paths)
    workers = max(1, n_jobs or min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(
            _progress.track(
                pool.map(measure_image, paths, chunksize=32),
                "measuring images",
                total=len(paths),
                disable=None if progress is None else not progress,
            )
        )
    frame = pd.DataFrame(rows, columns=PROPERTY_COLUMNS)
    return frame.astype({"file_exists": bool, "readable": bool, "read_error": str, "dhash": str})


class ImagePropertiesSource(EvidenceSource):
    """The image checks' raw properties (:data:`PROPERTY_COLUMNS`) as an evidence source: the
    checks score this table (see :class:`vehiclust.quality.ImageChecker`), nothing else reads
    their images. An empty path is measured too (it reads as refused), so every row has a reason."""

    name = "properties"
    version = MEASURE_VERSION
    columns = {c: CONTINUOUS if c in PROPERTY_COLUMNS[3:10] else CATEGORICAL for c in PROPERTY_COLUMNS}

    def __init__(self, n_jobs: int | None = None, progress: bool | None = None) -> None:
        self.n_jobs = n_jobs
        self.progress = progress

    def measure(self, paths: Sequence[str]) -> pd.DataFrame:
        return measure_properties(paths, n_jobs=self.n_jobs, progress=self.progress)

