"""A small run keeps BLAS / OpenMP on one thread in the main process, and gives the count back."""

from threadpoolctl import threadpool_info

from vehiclust.pipeline import ONE_THREAD_ROWS, main_threads


def _counts() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info()]


def test_small_runs_use_one_blas_thread_and_restore_it():
    import numpy  # noqa: F401 - loads OpenBLAS, so there is a pool to limit

    before = _counts()
    with main_threads(1_200):
        assert _counts() and set(_counts()) == {1}
    assert _counts() == before
    with main_threads(ONE_THREAD_ROWS + 1):
        assert _counts() == before
