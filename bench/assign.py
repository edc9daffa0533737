"""Benchmark `vehiclust assign`: new rows placed into a large run, wall time, CPU time and peak RSS.

Builds a synthetic run folder the way ``vehiclust run`` fits one descriptor set (osnet-shaped,
512-d, 20 planted clusters + 1 % planted outliers, like ``bench/case.py``): preparation (L2 +
PCA 64 + partial whitening), k-means at k = 20, the k-NN graph (20,000-row reference sample
above 60,000 rows) and the outlier ensemble, then the saved model — without the maps, words
and sweep the assignment does not need. A fresh draw of ``--new-rows`` rows from the same
clusters is then assigned in a child process (so its peak RSS is its own) with the same code
as the CLI (:func:`vehiclust.assign.assign_run`), and the drift report must show no drift.

    .venv/bin/python bench/assign.py                                  # 100,000-row run, 100,000 new rows
    .venv/bin/python bench/assign.py --run-rows 416314 --new-rows 100000   # the full-size figure
    .venv/bin/python bench/assign.py --family ward     # rows placed by neighbours, not centres
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case import SETS, case_paths, cpu_seconds, gib, vm_hwm_bytes  # noqa: E402

SET = next(s for s in SETS if s.name == "osnet")
N_CLUSTERS = 20


def draw(n: int, world_seed: int, row_seed: int, outlier_share: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(rows, planted cluster or -1) of the osnet-shaped set; ``world_seed`` fixes the clusters."""
    world = np.random.default_rng(world_seed)
    weights = world.dirichlet(np.full(N_CLUSTERS, 4.0))
    centres = world.standard_normal((N_CLUSTERS, SET.rank)) * SET.separation
    mixing = (world.standard_normal((SET.rank, SET.dim)) / np.sqrt(SET.rank)).astype(np.float32)
    offset = np.abs(world.standard_normal(SET.dim)).astype(np.float32) * 0.5
    scale = float(np.sqrt(SET.separation**2 + 1.0))
    rng = np.random.default_rng(row_seed)
    cluster = rng.choice(N_CLUSTERS, size=n, p=weights)
    out = rng.random(n) < outlier_share
    X = np.empty((n, SET.dim), np.float32)
    for lo in range(0, n, 32_768):
        hi = min(lo + 32_768, n)
        z = centres[cluster[lo:hi]] + rng.standard_normal((hi - lo, SET.rank))
        o = out[lo:hi]
        z[o] = rng.standard_normal((int(o.sum()), SET.rank)) * (3.0 * SET.separation)
        X[lo:hi] = z.astype(np.float32) @ mixing + offset
        X[lo:hi] += rng.standard_normal((hi - lo, SET.dim), dtype=np.float32) * np.float32(SET.noise * scale)
    return X, np.where(out, -1, cluster)


FAMILY_PARAMS = {"kmeans": {"k": N_CLUSTERS}, "ward": {"k": N_CLUSTERS}, "gmm": {"k": N_CLUSTERS},
                 "hdbscan": {"min_cluster_size": 500}}


def build_run(run_dir: Path, n: int, seed: int, family: str = "kmeans", own_rows: int = 20_000) -> dict:
    """Fit one set like the pipeline does and save a run folder with its assignment model; then
    assign ``own_rows`` of the run's own rows back and count how many keep their label and flag."""
    from vehiclust.assign import build_set_model, preparation_state
    from vehiclust.cluster._families import make_family
    from vehiclust.neighbors import knn_graph
    from vehiclust.outliers import OutlierEnsemble, outlier_table
    from vehiclust.prepare import DescriptorPreparer
    from vehiclust.results import DescriptorRun, RunResults

    t0 = time.perf_counter()
    raw, _ = draw(n, seed, seed + 1)
    prep = DescriptorPreparer(n_components=64, whiten=0.5, random_state=seed)
    X = prep.fit_transform(raw)
    labels = np.asarray(make_family(family).fit(X, FAMILY_PARAMS[family], seed).labels, np.int64)
    ensemble = OutlierEnsemble(random_state=seed)
    graph = knn_graph(X, ensemble.n_neighbors, random_state=seed, progress=False)
    ensemble.fit(X, labels, graph=graph)
    valid = np.ones(n, bool)
    outliers = outlier_table(n, valid, ensemble)
    model = build_set_model(SET.name, "single", X, valid, labels, family, ensemble, graph,
                            prep_state=preparation_state(prep, raw, None, seed), outliers=outliers)
    run = DescriptorRun(name=SET.name, labels=labels, selection=pd.DataFrame({"family": [family]}),
                        chosen={"family": family, **FAMILY_PARAMS[family]}, outliers=outliers, model=model)
    results = RunResults(samples=pd.DataFrame({"path": case_paths(n)}),
                         validation=pd.DataFrame(columns=["descriptor", "check", "severity", "count", "detail"]),
                         descriptors={SET.name: run}, best=SET.name, metadata={"seed": seed, "n_rows": n})
    results.save(run_dir)
    size = sum(f.stat().st_size for f in (run_dir / "descriptors" / SET.name).glob("model.*"))
    fit_s = round(time.perf_counter() - t0, 1)
    from vehiclust.assign import RunAssigner

    rows = np.sort(np.random.default_rng(seed).choice(n, min(own_rows, n), replace=False))
    back = RunAssigner(run_dir).predict({SET.name: raw[rows]})
    flags = outliers["is_outlier"].to_numpy(bool)[rows]
    return {"run_rows": n, "family": family, "rule": model.info["rule"], "fit_s": fit_s, "model_bytes": size,
            "reference_rows": int(len(model.arrays["ref_X"])), "own_rows_checked": int(len(rows)),
            "own_labels_same": round(float(np.mean(back.labels == labels[rows])), 4),
            "own_flags_same": round(float(np.mean(back.outliers["is_outlier"].to_numpy(bool) == flags)), 4)}


def assign_child(run_dir: Path, new_dir: Path, out: Path) -> dict:
    """The measured part: what `vehiclust assign` does, in this (child) process."""
    from vehiclust.assign import assign_run

    c0, t0 = cpu_seconds(), time.perf_counter()
    table = assign_run(run_dir, {SET.name: new_dir / f"{SET.name}.pickle"}, new_dir / "images_paths.csv", out,
                       progress=False)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    summary = json.loads((out / "drift.json").read_text())
    return {"new_rows": len(table), "assign_wall_s": round(wall, 1), "assign_cpu_s": round(cpu, 1),
            "peak_rss_gib": gib(vm_hwm_bytes()), "psi": round(summary["psi"], 4),
            "new_kind_share": round(summary["new_kind_share"], 4), "outlier_share": round(summary["new_outlier_share"], 4),
            "sentence": summary["sentence"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-rows", type=int, default=100_000)
    parser.add_argument("--new-rows", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/vehiclust-assign-bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--family", default="kmeans", choices=sorted(FAMILY_PARAMS), help="the run's clustering family")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    run_dir, new_dir, out = args.dir / "run", args.dir / "new", args.dir / "assigned"
    if args.child:
        print(json.dumps(assign_child(run_dir, new_dir, out)))
        return 0
    shutil.rmtree(args.dir, ignore_errors=True)
    new_dir.mkdir(parents=True)
    fit = build_run(run_dir, args.run_rows, args.seed, args.family)
    X, _ = draw(args.new_rows, args.seed, args.seed + 2)
    with open(new_dir / f"{SET.name}.pickle", "wb") as fh:
        pickle.dump(X, fh, protocol=5)
    case_paths(args.new_rows).to_frame("paths").to_csv(new_dir / "images_paths.csv", index=False)
    del X
    done = subprocess.run([sys.executable, __file__, "--child", "--dir", str(args.dir)], capture_output=True, text=True)
    if done.returncode:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    result = {**fit, **json.loads(done.stdout.strip().splitlines()[-1])}
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
