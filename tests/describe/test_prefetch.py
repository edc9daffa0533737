"""Measuring every image up front (split into chunks, in worker processes) fills the evidence
cache with the values the describer measures itself: the descriptions do not change."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from vehiclust.describe import ClusterDescriber, EvidenceCache, prefetch_evidence
from vehiclust.parallel import MIN_ROWS, run_jobs


def _in_process(fn, jobs):
    return [fn(*job) for job in jobs]


def _same_records(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)) or x == y
        for x, y in ((a[k], b[k]) for k in a))


def _demo_rows(demo_dir, n: int = 48):
    table = pd.read_csv(demo_dir / "images_paths.csv").head(n)
    paths = [str(demo_dir / p.replace("\\", "/")) for p in table.iloc[:, 0]]
    labels = np.arange(n) % 3
    return paths, labels


def test_prefetched_cache_gives_the_same_descriptions(demo_dir, tmp_path):
    paths, labels = _demo_rows(demo_dir, 90)
    own = EvidenceCache()
    first = ClusterDescriber(n_images=4, run_heads=False, cache_dir=tmp_path, random_state=3).fit(labels, paths=paths, cache=own)
    sampled = sorted(own.measured["pixels"])
    assert 0 < len(sampled) < len(paths)  # the describer measured only its sample (at most 4 x 4 per cluster)

    shared = EvidenceCache()  # another cache folder: every image measured here, none read back from disk
    n = prefetch_evidence(paths, shared, run_chunks=_in_process, n_chunks=3, cache_dir=tmp_path / "other")
    assert n == len(paths) and set(shared.measured["pixels"]) == set(paths)
    for p in sampled:
        assert _same_records(own.measured["pixels"][p], shared.measured["pixels"][p])
        assert own.measured.get("box-colour", {})[p]["box_colour"] == shared.measured.get("box-colour", {})[p]["box_colour"]
        np.testing.assert_allclose(own.measured.get("box-colour", {})[p]["box_colour_prob"], shared.measured.get("box-colour", {})[p]["box_colour_prob"], atol=1e-5)
    again = ClusterDescriber(n_images=4, run_heads=False, cache_dir=tmp_path, random_state=3).fit(labels, paths=paths, cache=shared)
    pd.testing.assert_frame_equal(first.clusters_, again.clusters_)
    assert prefetch_evidence(paths, shared, run_chunks=_in_process, n_chunks=3, cache_dir=tmp_path) == 0  # all cached
    # a later run: the describer's sample is on disk (evidence cached like the image checks), only the rest is read
    later = EvidenceCache()
    n = prefetch_evidence(paths, later, run_chunks=_in_process, n_chunks=3, cache_dir=tmp_path)
    assert n == (len(paths) - len(sampled) if own.boxes else len(paths))  # whole-crop stand-ins are never kept
    assert all(_same_records(own.measured["pixels"][p], later.measured["pixels"][p]) for p in sampled)


def test_prefetch_in_worker_processes_matches_in_process(demo_dir, tmp_path):
    paths, _ = _demo_rows(demo_dir, 24)
    local, workers = EvidenceCache(), EvidenceCache()
    prefetch_evidence(paths, local, run_chunks=_in_process, n_chunks=2, cache_dir=tmp_path / "local")
    prefetch_evidence(paths, workers, n_chunks=2, cache_dir=tmp_path / "workers", run_chunks=lambda fn, jobs: run_jobs(
        fn, jobs, n_jobs=2, n_rows=MIN_ROWS, description="t", progress=False))
    assert list(local.measured["pixels"]) == list(workers.measured["pixels"])
    assert all(_same_records(local.measured["pixels"][p], workers.measured["pixels"][p]) for p in paths)
    assert all(_same_records(local.measured.get("box-colour", {})[p], workers.measured.get("box-colour", {})[p]) for p in paths)


def test_prefetch_without_boxes_reads_whole_crops(demo_dir, tmp_path):
    paths, _ = _demo_rows(demo_dir, 6)
    cache = EvidenceCache()
    prefetch_evidence(paths + [""], cache, run_chunks=_in_process, n_chunks=2, boxes=False)
    assert set(cache.measured["pixels"]) == set(paths) and not cache.measured.get("box-colour", {}) and not cache.boxes
    assert not any(rec["boxed"] for rec in cache.measured["pixels"].values())
