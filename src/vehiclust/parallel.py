"""Independent per-set work side by side in worker processes.

The k-means sweep (faiss on one thread, see `ClusterSelector.n_jobs`) and the UMAP layouts
(numba, single-threaded once seeded) each keep one core busy. With several descriptor sets,
running the sets in ``n_jobs`` processes (joblib's loky backend; large arrays travel as
memory maps) uses the other cores of a small machine. Each job is seeded on its own, so the
results do not depend on the number of processes or on the order jobs finish in.

Starting a worker costs ~3 CPU-s (importing the scientific stack) and the workers are reused
from stage to stage (joblib's reusable loky executor). A set of ``MIN_ROWS`` rows always pays
for that; smaller sets pay when there are enough of them: the demo's six sets of 1,200 rows
(~6 s of sweep each) cluster in half the wall time on two cores. Below ``MIN_TOTAL_ROWS``
rows over all jobs (the tests' small tables) the jobs run in process.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from vehiclust import progress as _progress

MIN_ROWS = 50_000
MIN_TOTAL_ROWS = 5_000


def effective_jobs(n_jobs: int | None, n_tasks: int) -> int:
    """Processes to use: ``None``/1 = one, -1 = every core, never more than there are tasks."""
    if n_jobs is None:
        return 1
    cores = os.cpu_count() or 1
    n = cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(n, n_tasks))


def processes(n_jobs: int | None, n_tasks: int, n_rows: int) -> int:
    """How many processes :func:`run_jobs` will use (1 = in this process)."""
    pays = n_rows >= MIN_ROWS or n_rows * n_tasks >= MIN_TOTAL_ROWS
    return effective_jobs(n_jobs, n_tasks) if pays else 1


def run_jobs(fn: Callable[..., Any], jobs: Sequence[tuple], *, n_jobs: int | None, n_rows: int,
             description: str, progress: bool | None = None,
             on_done: Callable[[int, Any, float], None] | None = None) -> list[Any]:
    """``[fn(*args) for args in jobs]``, in parallel processes when it pays; results in job order.

    ``fn`` must be importable (a module-level function); jobs in worker processes should not
    draw their own progress bars (the bar here counts finished jobs). ``on_done(i, result,
    seconds)`` is called for each job, in job order. Warnings raised in a worker are raised
    again here, so the user sees them as the ones of this process."""
    n = processes(n_jobs, len(jobs), n_rows)
    disable = None if progress is None else not progress
    if n <= 1:
        calls = (_timed(fn, args) for args in jobs)
        finished = _progress.track(calls, description, total=len(jobs), disable=disable)
    else:
        from joblib import Parallel, delayed

        calls = Parallel(n_jobs=n, return_as="generator")(delayed(_in_worker)(fn, args) for args in jobs)
        finished = _progress.track(calls, f"{description} ({n} processes)", total=len(jobs), disable=disable)
    results = []
    for i, (result, seconds, caught) in enumerate(finished):
        for category, message in caught:
            warnings.warn(message, category, stacklevel=2)
        if on_done is not None:
            on_done(i, result, seconds)
        results.append(result)
    return results


def _timed(fn: Callable[..., Any], args: tuple) -> tuple[Any, float, list]:
    start = time.perf_counter()
    return fn(*args), time.perf_counter() - start, []


def _in_worker(fn: Callable[..., Any], args: tuple) -> tuple[Any, float, list]:
    """Run one job in a worker process, its warnings recorded to be raised in the parent."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, seconds, _ = _timed(fn, args)
    return result, seconds, [(w.category, str(w.message)) for w in caught]
