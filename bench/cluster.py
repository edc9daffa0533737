"""Benchmark the clustering sweep on a case-shaped matrix: wall time and peak RSS.

Makes a 416,314 x 2560 float32 matrix (4.3 GB, memory-mapped .npy in a temporary folder) with
planted cluster structure, prepares it like the pipeline does (L2 normalisation + PCA to 64
with :class:`vehiclust.prepare.DescriptorPreparer`), then in separate child processes (so each
peak RSS is its own) runs:

* ``sweep``   — :class:`vehiclust.cluster.ClusterSelector` over the chosen families and k grid;
* ``sklearn`` — scikit-learn ``KMeans`` (n_init=1) over the same k grid on the same prepared
  matrix, scored with scikit-learn's Calinski-Harabasz and Davies-Bouldin (the usual peer
  baseline).

Each child prints one JSON line; the parent prints a table and the ARI of each chosen
clustering with the planted clusters. The full size needs ~4.5 GB of disk under /tmp; run it
alone::

    flock /tmp/vehiclust-big.lock .venv/bin/python bench/cluster.py
    .venv/bin/python bench/cluster.py --rows 20000 --dims 256        # development size

``--real FOLDER`` instead runs the selector on real descriptor files (``FOLDER/<name>.npy``,
rows in the order of ``FOLDER/paths.csv`` with a ``type`` column), prepared like the pipeline
(L2 + PCA-64), and prints per set the chosen configuration, its internal scores and — for
reporting only — its NMI with the true type, next to plain k-means with k = 6 and to the
configuration the raw silhouette would pick::

    .venv/bin/python bench/cluster.py --real /tmp/vehiclust-zenodo --names efficientnet-lite0 osnet
    .venv/bin/python bench/cluster.py --real /tmp/vehiclust-zenodo --whiten 0     # no whitening
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vehiclust import defaults

CASE_ROWS = 416_314
CASE_DIMS = 2560


def _peak_rss_mb() -> float:
    """Peak RSS of this process image: VmHWM (ru_maxrss survives fork + exec on Linux, so a
    child would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    """CPU seconds of this process (user + system): on a shared machine, wall time also
    counts the time other jobs held the cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_data(folder: Path, rows: int, dims: int, n_clusters: int, seed: int) -> None:
    """Planted clusters in a 32-d subspace of `dims`, unequal sizes, plus isotropic noise."""
    rng = np.random.default_rng(seed)
    latent = 32
    basis = np.linalg.qr(rng.standard_normal((dims, latent)))[0].T.astype(np.float32)  # (latent, dims)
    centers = rng.standard_normal((n_clusters, latent)).astype(np.float32) * 3.0
    sizes = rng.dirichlet(np.full(n_clusters, 3.0))
    truth = rng.choice(n_clusters, size=rows, p=sizes).astype(np.int32)
    offset = rng.standard_normal(dims).astype(np.float32) * 2.0  # keeps rows away from the origin
    X = np.lib.format.open_memmap(folder / "X.npy", mode="w+", dtype=np.float32, shape=(rows, dims))
    chunk = 16_384
    for a in range(0, rows, chunk):
        b = min(a + chunk, rows)
        z = centers[truth[a:b]] + rng.standard_normal((b - a, latent), dtype=np.float32)
        X[a:b] = z @ basis + offset + 0.3 * rng.standard_normal((b - a, dims), dtype=np.float32)
    X.flush()
    del X
    np.save(folder / "truth.npy", truth)


def prepare(folder: Path, seed: int) -> dict:
    from vehiclust.prepare import DescriptorPreparer

    X = np.load(folder / "X.npy", mmap_mode="r")
    start = time.perf_counter()
    Z = DescriptorPreparer(n_components=defaults.PCA_COMPONENTS, whiten=False, random_state=seed).fit_transform(X)
    np.save(folder / "prepared.npy", np.ascontiguousarray(Z, dtype=np.float32))
    return {"step": "prepare", "wall_s": round(time.perf_counter() - start, 1), "peak_rss_mb": round(_peak_rss_mb())}


def child_sweep(folder: Path, families: list[str], k_min: int, k_max: int, seed: int, n_jobs: int) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from vehiclust.cluster import ClusterSelector

    X = np.load(folder / "prepared.npy")
    base_rss = _peak_rss_mb()
    cpu0 = _cpu_s()
    start = time.perf_counter()
    sel = ClusterSelector(families=families, k_min=k_min, k_max=k_max, random_state=seed, n_jobs=n_jobs,
                          progress=False).fit(X)
    wall = time.perf_counter() - start
    truth = np.load(folder / "truth.npy")
    per_family = sel.selection_.groupby("family")["fit_seconds"].sum().round(1).to_dict()
    t = sel.selection_
    on_all = t[t["scored_on"] == "all rows"] if "scored_on" in t.columns else t
    return {
        "step": "sweep " + "+".join(families),
        "wall_s": round(wall, 1),
        "cpu_s": round(_cpu_s() - cpu0, 1),
        "peak_rss_mb": round(_peak_rss_mb()),
        "rss_before_mb": round(base_rss),
        "configs": len(sel.selection_),
        "chosen": f"{sel.best_['family']} ({sel.best_['params']}), {sel.best_['n_clusters']} clusters",
        "ari_planted": round(float(adjusted_rand_score(truth, sel.labels_)), 4),
        "fit_seconds_by_family": per_family,
        "scored_on_every_row": len(on_all),
        "finalists_fit_and_score_s": round(float(on_all["fit_seconds"].sum()), 1) if len(on_all) < len(t) else None,
    }


def child_sklearn(folder: Path, k_min: int, k_max: int, seed: int) -> dict:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score

    X = np.load(folder / "prepared.npy")
    base_rss = _peak_rss_mb()
    cpu0 = _cpu_s()
    start = time.perf_counter()
    best = None
    for k in range(k_min, k_max + 1):
        labels = KMeans(k, n_init=1, random_state=seed).fit_predict(X)
        ch = calinski_harabasz_score(X, labels)
        db = davies_bouldin_score(X, labels)
        if best is None or ch > best[1]:
            best = (k, ch, db, labels)
    wall = time.perf_counter() - start
    truth = np.load(folder / "truth.npy")
    return {
        "step": "sklearn KMeans grid (CH rule)",
        "wall_s": round(wall, 1),
        "cpu_s": round(_cpu_s() - cpu0, 1),
        "peak_rss_mb": round(_peak_rss_mb()),
        "rss_before_mb": round(base_rss),
        "configs": k_max - k_min + 1,
        "chosen": f"kmeans (k={best[0]}) by Calinski-Harabasz",
        "ari_planted": round(float(adjusted_rand_score(truth, best[3])), 4),
    }


def real_sets(folder: Path, names: list[str] | None, families: list[str], k_min: int, k_max: int, seed: int,
              whiten: float = defaults.WHITEN) -> None:
    """Selector on real descriptor sets with known types (NMI reported, never used).

    `whiten` is `DescriptorPreparer(whiten=...)`: each PCA column divided by its standard
    deviation ** whiten (0.5, the pipeline's default, flattens the spectrum halfway; 0 = none).
    """
    import pandas as pd

    from vehiclust.cluster import ClusterSelector, external_agreement
    from vehiclust.prepare import DescriptorPreparer

    truth = pd.read_csv(folder / "paths.csv")["type"].to_numpy()
    names = names or sorted(p.stem for p in folder.glob("*.npy"))
    rows = []
    for name in names:
        X = np.load(folder / f"{name}.npy", mmap_mode="r")
        Z = DescriptorPreparer(n_components=defaults.PCA_COMPONENTS, whiten=whiten, random_state=seed).fit_transform(X)
        start = time.perf_counter()
        sel = ClusterSelector(families=families, k_min=k_min, k_max=k_max, random_state=seed, keep_labels=True,
                              progress=False).fit(Z)
        wall = time.perf_counter() - start
        t = sel.selection_
        nmi = {i: external_agreement(truth, lab)["nmi"] for i, lab in sel.labels_by_config_.items()}
        b = sel.best_
        k6 = t[(t.family == "kmeans") & (t.k == 6)]
        raw = t.loc[t["silhouette_sample"].idxmax()]
        rows.append({
            "descriptor": name, "chosen": f"{b['family']} ({b['params']})", "n_clusters": b["n_clusters"],
            "CH": round(b["calinski_harabasz"], 1), "DB": round(b["davies_bouldin"], 3),
            "silhouette": f"{b['silhouette_sample']:.3f} [{b['silhouette_ci_low']:.3f}, {b['silhouette_ci_high']:.3f}]",
            "stability": round(b["stability"], 3), "NMI": round(external_agreement(truth, sel.labels_)["nmi"], 3),
            "kmeans_k6_NMI": round(nmi[int(k6["config_id"].iloc[0])], 3) if len(k6) else float("nan"),
            "raw_silhouette_pick": f"{raw['family']} ({raw['params']}) NMI {nmi[int(raw['config_id'])]:.3f}",
            "best_NMI_any_config": round(max(nmi.values()), 3), "sweep_s": round(wall, 1), "note": b["note"],
            # each family's best NMI over its configurations, and the NMI of its candidate (labels only score)
            **{f"best_{f}": round(max(nmi[int(i)] for i in t.loc[t.family == f, "config_id"]), 3)
               for f in t["family"].unique()},
            **{f"cand_{f}": round(nmi[int(t.loc[(t.family == f) & t.candidate, "config_id"].iloc[0])], 3)
               for f in t["family"].unique() if ((t.family == f) & t.candidate).any()},
        })
        print(json.dumps(rows[-1]), flush=True)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(pd.DataFrame(rows).to_string(index=False))


def _run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=CASE_ROWS)
    p.add_argument("--dims", type=int, default=CASE_DIMS)
    p.add_argument("--clusters", type=int, default=12, help="planted clusters")
    p.add_argument("--families", nargs="+", default=["kmeans", "eac", "gmm", "ward", "hdbscan", "dbscan", "leiden"])
    p.add_argument("--k-min", type=int, default=2)
    p.add_argument("--k-max", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1, help="threads for faiss/BLAS in the sweep (2 on an idle 2-core machine; 1 on a shared one)")
    p.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn KMeans baseline")
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a new one under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    p.add_argument("--real", type=Path, default=None, help="folder of real <name>.npy + paths.csv (type column)")
    p.add_argument("--names", nargs="+", default=None, help="with --real: descriptor sets to run")
    p.add_argument("--whiten", type=float, default=defaults.WHITEN,
                   help="with --real: DescriptorPreparer(whiten=P): PCA columns / std ** P (pipeline default 0.5; 0 = none)")
    p.add_argument("--child", choices=["sweep", "sklearn"], help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.real is not None:
        import warnings

        warnings.simplefilter("ignore", UserWarning)  # boundary notes are printed in the table
        real_sets(a.real, a.names, a.families, a.k_min, a.k_max, a.seed, a.whiten)
        return 0

    if a.child:
        folder = Path(a.dir)
        if a.child == "sweep":
            res = child_sweep(folder, a.families, a.k_min, a.k_max, a.seed, a.n_jobs)
        else:
            res = child_sklearn(folder, a.k_min, a.k_max, a.seed)
        print(json.dumps(res))
        return 0

    folder = a.dir or Path(tempfile.mkdtemp(prefix="vehiclust-bench-cluster-", dir="/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"data: {a.rows:,} x {a.dims} float32, {a.clusters} planted clusters, in {folder}", flush=True)
    try:
        start = time.perf_counter()
        if not (folder / "X.npy").exists():
            make_data(folder, a.rows, a.dims, a.clusters, a.seed)
        print(f"generated in {time.perf_counter() - start:.1f} s", flush=True)
        results = [prepare(folder, a.seed)]
        print(json.dumps(results[-1]), flush=True)
        common = ["--dir", str(folder), "--k-min", str(a.k_min), "--k-max", str(a.k_max), "--seed", str(a.seed)]
        results.append(_run_child(["--child", "sweep", *common, "--n-jobs", str(a.n_jobs), "--families", *a.families]))
        print(json.dumps(results[-1]), flush=True)
        if not a.no_sklearn:
            results.append(_run_child(["--child", "sklearn", *common]))
            print(json.dumps(results[-1]), flush=True)
        print()
        print(f"{'step':45s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MB':>12s} {'configs':>8s} {'ARI planted':>12s}  chosen")
        for r in results:
            print(f"{r['step']:45s} {r['wall_s']:8.1f} {r.get('cpu_s', float('nan')):8.1f} {r['peak_rss_mb']:12d} {r.get('configs', ''):>8} "
                  f"{r.get('ari_planted', ''):>12}  {r.get('chosen', '')}")
        print(f"\nprepared matrix: {a.rows:,} x 64 float32 = {a.rows * 64 * 4 / 2**20:.0f} MB; "
              f"machine: {os.cpu_count()} CPUs")
    finally:
        if not a.keep and a.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
