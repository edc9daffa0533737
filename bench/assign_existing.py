"""New rows assigned to an existing saved run (e.g. the full-size case's), timed in one process.

    nice -n 10 .venv/bin/python bench/assign_existing.py RUN_DIR --set osnet --descriptors CASE/osnet.pickle

Draws ``--rows`` rows of the case the run was made from at random, adds ``--noise`` (times the
descriptors' standard deviation) of Gaussian noise so that none is a run row, places them with
:class:`vehiclust.assign.RunAssigner` and prints the CPU seconds, wall time and peak RSS of the
placement, the share that takes the cluster of the run row it was drawn from, the new-kind and
outlier shares.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    from vehiclust.assign import RunAssigner

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a `vehiclust run` output folder")
    parser.add_argument("--set", required=True, help="a single descriptor set of the run")
    parser.add_argument("--descriptors", type=Path, required=True, help="the run's descriptor pickle of that set")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t0, c0 = time.time(), time.process_time()
    with open(args.descriptors, "rb") as fh:
        X = pickle.load(fh)  # noqa: S301 - the case the run was made from
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(len(X), min(args.rows, len(X)), replace=False))
    new = np.asarray(X[rows], np.float32)
    new += rng.normal(0, args.noise * float(np.std(new)), new.shape).astype(np.float32)
    del X
    t1, c1 = time.time(), time.process_time()
    assigner = RunAssigner(args.run, args.set)
    placed = assigner.predict({args.set: new})
    t2, c2 = time.time(), time.process_time()
    run_labels = assigner.results_.descriptors[args.set].labels
    print(f"drawing {len(rows):,} rows: {t1 - t0:.1f} s wall, {c1 - c0:.1f} CPU-s; placing them: {t2 - t1:.1f} s wall, "
          f"{c2 - c1:.1f} CPU-s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(f"cluster of the run row drawn from: {np.mean(placed.labels == run_labels[rows]):.4f}; "
          f"new kind {placed.far.mean():.4f}; outliers {placed.outliers['is_outlier'].mean():.4f}; "
          f"cross-fitted cuts: {'prep_far_factor' in assigner.models[args.set].arrays}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
