"""`python -m vehiclust.warmup` (the install step) fills numba's cache with the kernels a run uses."""

import os
import subprocess
import sys

import numpy as np
import pytest

from vehiclust.warmup import synthetic_case


def test_synthetic_case_is_two_sets_of_the_same_rows(tmp_path):
    files = synthetic_case(tmp_path, rows=50)
    arrays = {name: np.load(path) for name, path in files.items()}
    assert {a.shape[0] for a in arrays.values()} == {50} and all(a.dtype == np.float32 for a in arrays.values())
    assert (tmp_path / "images_paths.csv").read_text().count("\n") == 51


@pytest.mark.slow
def test_warmup_caches_the_kernels_the_demo_compiles(tmp_path, demo_dir):
    """After the warm-up, a run on other data (two of the demo's sets) in a new process finds
    every kernel it compiles in the cache: it adds no file to it."""
    cache = tmp_path / "numba"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-m", "vehiclust.warmup"], env=env, check=True, capture_output=True, timeout=900)
    after_warmup = sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())
    assert any("boruvka" in name for name in after_warmup)  # fast_hdbscan's MST, the costliest
    sets = {name: str(demo_dir / "descriptors" / f"{name}.pkl") for name in ("vehicle-attributes", "color-hist")}
    code = ("from vehiclust.config import RunConfig; from vehiclust.pipeline import run; "
            f"run(RunConfig(descriptors={sets!r}, paths={str(demo_dir / 'images_paths.csv')!r}, "
            f"out={str(tmp_path / 'out')!r}, progress=False, html=False, notebook=False, n_jobs=None))")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=900)
    added = sorted(set(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()) - set(after_warmup))
    assert added == []
