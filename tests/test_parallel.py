"""Per-set work in worker processes gives the same results as in process, in job order."""

from __future__ import annotations

import numpy as np
import pytest

from vehiclust.parallel import MIN_ROWS, MIN_TOTAL_ROWS, effective_jobs, processes, run_jobs
from vehiclust.embed import full_coords
from vehiclust.neighbors import knn_graph
from vehiclust.pipeline import _fit_selector


def _blobs(seed: int, n: int = 1500, d: int = 8, k: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (k, d))
    return (centres[rng.integers(0, k, n)] + rng.normal(0, 1, (n, d))).astype(np.float32)


@pytest.mark.parametrize("n_jobs, n_tasks, expected", [(None, 5, 1), (1, 5, 1), (2, 5, 2), (2, 1, 1), (8, 3, 3)])
def test_effective_jobs(n_jobs, n_tasks, expected):
    assert effective_jobs(n_jobs, n_tasks) == expected


def test_small_data_stays_in_process():
    assert processes(-1, 1, MIN_ROWS - 1) == 1
    assert processes(2, 6, MIN_ROWS) == 2
    assert processes(2, 3, 200) == 1  # a few small sets: worker start-up would cost more
    assert processes(2, 6, 1200) == 2  # the demo: six sets of 1,200 rows
    assert processes(2, 2, MIN_TOTAL_ROWS // 2 - 1) == 1


def test_selectors_in_workers_match_in_process():
    sets = [_blobs(s) for s in (0, 1, 2)]
    params = {"families": ("kmeans",), "k_min": 2, "k_max": 8, "random_state": 7, "progress": False}
    jobs = [(X, params) for X in sets]
    local = run_jobs(_fit_selector, jobs, n_jobs=1, n_rows=MIN_ROWS, description="t", progress=False)
    workers = run_jobs(_fit_selector, jobs, n_jobs=2, n_rows=MIN_ROWS, description="t", progress=False)
    for a, b in zip(local, workers):
        np.testing.assert_array_equal(a.labels_, b.labels_)
        drop = {"fit_seconds", "score_seconds"}  # timings differ run to run
        assert {k: v for k, v in a.best_.items() if k not in drop} == {k: v for k, v in b.best_.items() if k not in drop}
    assert all(s.n_clusters_ >= 3 for s in workers)  # four planted blobs, two may touch


def test_maps_in_workers_match_in_process_with_a_shared_graph():
    X = _blobs(3, n=1200)
    graph = knn_graph(X, 10, exact_max_rows=100, reference_size=300, random_state=0)
    valid = np.ones(len(X), bool)
    jobs = [(X, valid, d, "pca" if d == 3 else "tsne", 5, 20_000, False, graph) for d in (2, 3)]
    local = run_jobs(full_coords, jobs, n_jobs=1, n_rows=MIN_ROWS, description="t", progress=False)
    workers = run_jobs(full_coords, jobs, n_jobs=2, n_rows=MIN_ROWS, description="t", progress=False)
    assert [c.shape for c in workers] == [(1200, 2), (1200, 3)]
    for a, b in zip(local, workers):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_outlier_ensembles_in_workers_match_in_process():
    from vehiclust.pipeline import _fit_outliers

    sets = [_blobs(s, n=900) for s in (4, 5)]
    jobs = [(X, np.zeros(len(X), np.int64), None, None, 11, False) for X in sets]
    local = run_jobs(_fit_outliers, jobs, n_jobs=1, n_rows=MIN_ROWS, description="t", progress=False)
    workers = run_jobs(_fit_outliers, jobs, n_jobs=2, n_rows=MIN_ROWS, description="t", progress=False)
    for (g1, e1), (g2, e2) in zip(local, workers):
        np.testing.assert_array_equal(g1.indices, g2.indices)
        np.testing.assert_array_equal(e1.labels_, e2.labels_)
        np.testing.assert_allclose(e1.decision_scores_, e2.decision_scores_)
