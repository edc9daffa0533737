"""Compile at install time what would otherwise compile on a user's first run.

fast_hdbscan, pynndescent and umap-learn JIT-compile their numba kernels on first use and keep
the machine code in numba's on-disk cache (next to the installed package). In a fresh install
that first use costs ~50 CPU-s: importing fast_hdbscan compiles ~28 CPU-s of kernels (pynndescent
among them), its first fit ~11 CPU-s more, and with per-set worker processes each worker pays
it again, so the first ``make demo`` after an install took ~30 s longer than the second.

``python -m vehiclust.warmup`` (the Makefile's install step runs it) runs the whole job once
on a small synthetic collection (two random descriptor sets, no images, no report) in a
temporary folder, so every kernel the job uses is compiled with the argument types it uses
and cached; the first real run then loads them. Nothing of the user's is read or written; the
machine code loaded from the cache is the code a fresh compilation makes, so no result changes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# rows of the synthetic collection: enough for every clustering family, every outlier detector
# and the maps to run their ordinary paths
ROWS = 400


def synthetic_case(folder: Path, rows: int = ROWS, seed: int = 0) -> dict[str, Path]:
    """Two descriptor sets (.npy, float32) of ``rows`` rows in 6 blobs, and ``images_paths.csv``;
    returns the descriptor files by name."""
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 6, size=rows)
    files = {}
    for name, dim in (("a", 48), ("b", 24)):
        centres = rng.normal(scale=4.0, size=(6, dim))
        X = (centres[groups] + rng.normal(size=(rows, dim))).astype(np.float32)
        files[name] = folder / f"{name}.npy"
        np.save(files[name], X)
    pd.DataFrame({"path": [f"img/{i:05d}.jpg" for i in range(rows)]}).to_csv(folder / "images_paths.csv", index=False)
    return files


def warm(folder: Path | None = None) -> float:
    """Run the job once on :func:`synthetic_case` (in ``folder``, default a temporary one);
    returns the seconds it took."""
    from vehiclust import pipeline
    from vehiclust.config import RunConfig

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vehiclust-warmup-") as tmp:
        where = Path(folder or tmp)
        files = synthetic_case(where)
        config = RunConfig(descriptors=files, mixes=["all"], paths=where / "images_paths.csv", out=where / "out",
                           seed=0, progress=False, html=False, notebook=False, n_jobs=None)
        pipeline.run(config)
    return time.perf_counter() - start


def main() -> None:
    import logging
    import warnings

    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds = warm()
    print(f"vehiclust: compiled kernels cached ({seconds:.0f} s); the first run will not compile them.", file=sys.stderr)


if __name__ == "__main__":
    main()
