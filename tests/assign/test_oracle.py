"""Held-out rows placed where a run of the whole demo (the oracle: same config, same seed) put them.

A run on 80 % and a run on 100 % of the demo do not split the rows identically; a placement is as
good as it can be when the held-out rows agree with the whole run about as often as the run's own
rows do (each cluster of the whole run named by the 80 % run's cluster most of its rows are in).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from tests.assign.conftest import load_part
from vehiclust.assign import assign_rows
from vehiclust.results import RunResults


def _named(whole: np.ndarray, run: np.ndarray, train: np.ndarray) -> np.ndarray:
    """The whole run's label of every row, in the 80 % run's cluster ids (majority of its 80 % rows)."""
    out = np.full(len(whole), -1, np.int64)
    for c in np.unique(whole[whole >= 0]):
        members = run[(whole[train] == c) & (run >= 0)]
        if len(members):
            out[whole == c] = np.bincount(members).argmax()
    return out


def test_held_out_rows_agree_with_the_whole_run_as_the_runs_own_rows_do(demo_run, demo_whole_run):
    res, whole = RunResults.load(demo_run["run_dir"]), RunResults.load(demo_whole_run["run_dir"])
    train = demo_run["masks"]["train"]
    test = load_part(demo_run["split"], "test")
    for name, run in res.descriptors.items():
        own = run.table(res.samples["path"])["cluster"].to_numpy()
        held = assign_rows(res, test, descriptor_set=name)["cluster"].to_numpy()
        full = whole.descriptors[name].table(whole.samples["path"])["cluster"].to_numpy()
        oracle = _named(full, own, train)
        agree_own, agree_held = np.mean(own == oracle[train]), np.mean(held == oracle[~train])
        # ~240 held-out rows: one standard error of an agreement near 0.9 is ~0.02
        assert agree_held >= agree_own - 0.06, (name, agree_own, agree_held)
        ok_own, ok_held = full[train] >= 0, full[~train] >= 0
        ari_own = adjusted_rand_score(full[train][ok_own], own[ok_own])
        ari_held = adjusted_rand_score(full[~train][ok_held], held[ok_held])
        assert ari_held >= ari_own - 0.1, (name, ari_own, ari_held)
        # a placement that ignores the rows cannot pass: the same labels shuffled among the held-out rows
        shuffled = np.random.default_rng(0).permutation(held)
        assert np.mean(shuffled == oracle[~train]) < agree_own - 0.06 or agree_own < 0.3, name
