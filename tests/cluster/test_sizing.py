"""The small-data k grid: dense where elbows lie, sparse above, both ends kept."""

from __future__ import annotations

from vehiclust.cluster._sizing import DENSE_UP_TO, SMALL_ROWS, k_grid, sweep_params


def test_small_data_grid_keeps_the_dense_part_and_both_ends():
    ks = k_grid(2, 40, 1200)
    assert ks[0] == 2 and ks[-1] == 40
    assert set(range(2, DENSE_UP_TO + 1)) <= set(ks)
    assert len(ks) < len(range(2, 41)) // 2
    assert k_grid(2, 37, 1200)[-1] == 37  # the chord's right end is always the user's k_max


def test_large_data_grid_and_refits_unchanged():
    assert k_grid(2, 40, SMALL_ROWS + 1) == list(range(2, 41))
    assert sweep_params(SMALL_ROWS + 1) == {}
    assert k_grid(2, 10, 500) == list(range(2, 11))  # a short grid is kept whole
