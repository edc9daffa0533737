"""Benchmark the full case on one machine: 416,314 rows, four descriptor sets and one mix.

Makes a case-shaped dataset with planted structure in a temporary folder, runs
``vehiclust.pipeline.run`` on it in a child process (so its peak RSS is its own, Dask workers
included), runs a peer-style baseline (StandardScaler + PCA(200) + MiniBatchKMeans over
k = 5..30 on an 80,000-row sample, k chosen by silhouette) in another child, and prints per
stage the wall time and peak RSS, then the agreement of each descriptor set's labels with the
planted structure and the precision/recall of its outlier flags.

The full size needs ~6.2 GB on disk and a few GB of RAM while generating; run it alone::

    flock /tmp/vehiclust-big.lock .venv/bin/python bench/case.py
    .venv/bin/python bench/case.py --rows 20000            # development size
    .venv/bin/python bench/case.py --rows 20000 --engine dask --compare-with /tmp/run-local

Planted structure: 20 latent clusters (5 types x 4 colours, unequal sizes). ``efficientnet-b7``
and ``osnet`` encode the cluster, ``vdc_type`` the type (weak colour leak), ``vdc_color`` the
colour (weak type leak); each set has its own low-rank mixing, offset and isotropic noise.
About 1% of rows are planted outliers (far from every cluster in every set) and each set has
a few all-NaN rows. The ground truth is written to ``ground_truth.csv`` beside the pickles and
is never given to the pipeline.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger("bench.case")

CASE_ROWS = 416_314
N_CLUSTERS = 20
N_TYPES = 5
N_COLOURS = 4
OUTLIER_SHARE = 0.01
NAN_ROWS_PER_SET = 8
MIX = "all"  # the README's full-size command uses --mix all


@dataclass(frozen=True)
class SetSpec:
    """How one synthetic descriptor set is made."""

    name: str
    dim: int
    truth: str  # ground-truth column this set encodes
    rank: int  # dimension of the latent signal subspace
    separation: float  # spread of the group centres in latent units (within-group sd = 1)
    leak: str | None  # a second attribute mixed in weakly
    noise: float  # isotropic noise sd per output dimension, relative to the signal scale


SETS = (
    SetSpec("efficientnet-b7", 2560, "cluster", 32, 2.2, None, 0.35),
    SetSpec("osnet", 512, "cluster", 24, 1.8, None, 0.5),
    SetSpec("vdc_type", 512, "type", 16, 2.5, "color", 0.4),
    SetSpec("vdc_color", 128, "color", 8, 3.0, "type", 0.3),
)
TRUTH_OF = {s.name: s.truth for s in SETS} | {MIX: "cluster"}


# ---- memory sampling ----------------------------------------------------------------------
class RssSampler:
    """Samples the RSS of this process plus all its descendants (Dask workers) in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self._proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self.window_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def current(self) -> int:
        total = 0
        try:
            total = self._proc.memory_info().rss
            for child in self._proc.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except Exception:  # noqa: BLE001 - a child may vanish between listing and reading
                    pass
        except Exception:  # noqa: BLE001
            pass
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss = self.current()
            self.peak = max(self.peak, rss)
            self.window_peak = max(self.window_peak, rss)
            self._stop.wait(self.interval)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def reset_window(self) -> None:
        self.window_peak = self.current()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def vm_hwm_bytes() -> int:
    """Peak RSS of this process alone, from the kernel (catches spikes the sampler misses)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children: on a busy
    machine wall time overstates cost, CPU time does not."""
    import resource

    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0.0
    for child in psutil.Process().children(recursive=True):  # e.g. Dask worker processes
        try:
            t = child.cpu_times()
            live += t.user + t.system
        except Exception:  # noqa: BLE001 - a child may exit meanwhile
            pass
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + live


def gib(n_bytes: float) -> float:
    return round(n_bytes / 2**30, 2)


# ---- generation ---------------------------------------------------------------------------
def case_paths(n: int) -> pd.Series:
    """Backslash relative paths shaped like the case: ``veriwild\\<cam>\\<vehicle>\\<image>.jpg``."""
    idx = np.arange(n)
    vehicle = idx // 10 + 1
    camera = vehicle % 174 + 1
    return pd.Series(
        [f"veriwild\\{c}\\{v:05d}\\{i + 1:06d}.jpg" for c, v, i in zip(camera, vehicle, idx)],
        name="paths",
    )


def generate(out_dir: Path, n: int, seed: int, chunk_rows: int = 32_768, protocol: int = 5) -> dict[str, Any]:
    """Write the four pickles, ``images_paths.csv`` and ``ground_truth.csv`` into ``out_dir``.

    Only one descriptor array is alive at a time; it is filled chunk by chunk.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    base_seq, *set_seqs = root.spawn(1 + len(SETS))
    rng = np.random.default_rng(base_seq)
    weights = rng.dirichlet(np.full(N_CLUSTERS, 4.0))
    cluster = rng.choice(N_CLUSTERS, size=n, p=weights).astype(np.int64)
    groups = {"cluster": cluster, "type": cluster % N_TYPES, "color": cluster // N_TYPES}
    n_groups = {"cluster": N_CLUSTERS, "type": N_TYPES, "color": N_COLOURS}
    is_outlier = rng.random(n) < OUTLIER_SHARE
    nuisance = rng.standard_normal(n).astype(np.float32)  # e.g. lighting, shared by every set
    truth = pd.DataFrame(
        {
            "row": np.arange(n),
            "path": case_paths(n),
            "cluster": np.where(is_outlier, -1, cluster),
            "type": np.where(is_outlier, -1, groups["type"]),
            "color": np.where(is_outlier, -1, groups["color"]),
            "is_outlier": is_outlier,
        }
    )
    timings: dict[str, float] = {}
    for spec, seq in zip(SETS, set_seqs):
        start = time.perf_counter()
        srng = np.random.default_rng(seq)
        centres = srng.standard_normal((n_groups[spec.truth], spec.rank)) * spec.separation
        leak = None
        if spec.leak:
            leak = srng.standard_normal((n_groups[spec.leak], spec.rank)) * (0.35 * spec.separation)
        nuisance_dir = srng.standard_normal(spec.rank) * 0.8
        mixing = (srng.standard_normal((spec.rank, spec.dim)) / np.sqrt(spec.rank)).astype(np.float32)
        offset = np.abs(srng.standard_normal(spec.dim)).astype(np.float32) * 0.5
        signal_scale = float(np.sqrt(spec.separation**2 + 1.0))
        nan_rows = np.sort(srng.choice(n, size=min(NAN_ROWS_PER_SET, n), replace=False))
        arr = np.empty((n, spec.dim), dtype=np.float32)
        for lo in range(0, n, chunk_rows):
            hi = min(lo + chunk_rows, n)
            m = hi - lo
            z = centres[groups[spec.truth][lo:hi]] + srng.standard_normal((m, spec.rank))
            if leak is not None:
                z += leak[groups[spec.leak][lo:hi]]
            z += nuisance[lo:hi, None] * nuisance_dir
            out = is_outlier[lo:hi]
            if out.any():
                z[out] = srng.standard_normal((int(out.sum()), spec.rank)) * (3.0 * spec.separation)
            block = z.astype(np.float32) @ mixing
            block += offset
            block += srng.standard_normal((m, spec.dim), dtype=np.float32) * np.float32(spec.noise * signal_scale)
            arr[lo:hi] = block
            del z, block
        arr[nan_rows] = np.nan
        truth[f"nan_{spec.name}"] = np.isin(np.arange(n), nan_rows)
        with open(out_dir / f"{spec.name}.pickle", "wb") as fh:
            pickle.dump(arr, fh, protocol=protocol)
        del arr
        gc.collect()
        timings[spec.name] = round(time.perf_counter() - start, 2)
        log.info("wrote %s (%d x %d) in %.1f s", spec.name, n, spec.dim, timings[spec.name])
    truth["path"].to_frame("paths").to_csv(out_dir / "images_paths.csv", index=False)
    truth.to_csv(out_dir / "ground_truth.csv", index=False)
    manifest = {"rows": n, "seed": seed, "protocol": protocol, "timings_s": timings,
                "bytes": sum((out_dir / f"{s.name}.pickle").stat().st_size for s in SETS)}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


# ---- scoring ------------------------------------------------------------------------------
def truth_for(name: str, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(true labels, rows that are planted outliers or NaN in this set or its mix parts)."""
    parts = name.split("+")
    nan = np.zeros(len(truth), dtype=bool)
    for p in parts:
        col = f"nan_{p}"
        if col in truth:
            nan |= truth[col].to_numpy(bool)
    bad = truth["is_outlier"].to_numpy(bool) | nan
    return truth[TRUTH_OF.get(name, "cluster")].to_numpy(np.int64), bad


def score_labels(name: str, labels: np.ndarray, flags: np.ndarray | None, truth: pd.DataFrame) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    y, bad = truth_for(name, truth)
    inl = ~bad
    row: dict[str, Any] = {
        "truth": TRUTH_OF.get(name, "cluster"),
        "k": int(len(np.unique(labels[inl & (labels >= 0)]))),
        "ARI": round(float(adjusted_rand_score(y[inl], labels[inl])), 4),
        "NMI": round(float(normalized_mutual_info_score(y[inl], labels[inl])), 4),
        "unassigned_inliers": round(float(np.mean(labels[inl] < 0)), 4),
    }
    if flags is not None:
        tp = int(np.sum(flags & bad))
        row["outlier_precision"] = round(tp / max(int(flags.sum()), 1), 4)
        row["outlier_recall"] = round(tp / max(int(bad.sum()), 1), 4)
        row["flagged"] = int(flags.sum())
    return row


# ---- the pipeline child -------------------------------------------------------------------
def run_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """Run ``vehiclust.pipeline.run`` with every stage wrapped to record wall time and peak RSS."""
    import vehiclust.pipeline as pipeline
    from vehiclust.config import RunConfig

    import vehiclust

    vehiclust.log_to_stderr()  # the run's log: a line per stage and set, warnings as plain lines
    data = Path(args.dir)
    sampler = RssSampler().start()
    stages: dict[str, dict[str, float]] = {}
    depth = [0]  # the compare stage calls the maps and describe stages for the consensus

    def wrap(fn):  # noqa: ANN001, ANN202 - a thin timing shim around a stage function
        name = fn.__name__.removeprefix("_stage_")

        def inner(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            if depth[0]:  # nested: counted in the calling stage
                return fn(*a, **kw)
            depth[0] += 1
            sampler.reset_window()
            start, cpu = time.perf_counter(), cpu_seconds()
            try:
                return fn(*a, **kw)
            finally:
                depth[0] -= 1
                stages[name] = {
                    "wall_s": round(time.perf_counter() - start, 2),
                    "cpu_s": round(cpu_seconds() - cpu, 2),
                    "peak_rss_gib": gib(sampler.window_peak),
                }

        inner.__name__ = fn.__name__
        return inner

    for attr in dir(pipeline):
        if attr.startswith("_stage_") and callable(getattr(pipeline, attr)):
            setattr(pipeline, attr, wrap(getattr(pipeline, attr)))
    config = RunConfig(
        descriptors={s.name: data / f"{s.name}.pickle" for s in SETS},
        paths=data / "images_paths.csv",
        out=Path(args.out),
        seed=args.seed,
        mixes=list(args.mix.split(";")) if args.mix else [],
        progress=False,
        trust_pickle=args.trust_pickle,
        engine=args.engine,
        scheduler=args.scheduler,
    )
    if args.families:
        config.families = tuple(args.families.split(","))
    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), cpu_seconds()
    results = pipeline.run(config)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    sampler.stop()
    truth = pd.read_csv(data / "ground_truth.csv")
    scores = {}
    for name, run_ in results.descriptors.items():
        flags = run_.outliers["is_outlier"].to_numpy(bool) if run_.outliers is not None else None
        scores[name] = score_labels(name, np.asarray(run_.labels), flags, truth)
        chosen = run_.chosen or {}
        scores[name]["chosen"] = {k: chosen[k] for k in ("family", "k", "params") if k in chosen}
    return {
        "engine": args.engine,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load_avg_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "peak_rss_gib": gib(max(sampler.peak, vm_hwm_bytes())),
        "peak_rss_self_gib": gib(vm_hwm_bytes()),
        "stages": stages,
        "pipeline_timings_s": results.metadata.get("timings_s", {}),
        "best": results.best,
        "scores": scores,
    }


# ---- the peer-style baseline child --------------------------------------------------------
def run_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """StandardScaler + PCA(200) + MiniBatchKMeans k=5..30 on an 80,000-row sample, per set.

    This is what the public attempts at the case did: they label only the sample, and pick k
    by silhouette (on a 10,000-row sub-sample, as a full silhouette is quadratic).
    """
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    data = Path(args.dir)
    truth = pd.read_csv(data / "ground_truth.csv")
    rng = np.random.default_rng(args.seed)
    out: dict[str, Any] = {}
    total_fit = 0.0
    for spec in SETS:
        t0 = time.perf_counter()
        with open(data / f"{spec.name}.pickle", "rb") as fh:
            arr = pickle.load(fh)  # noqa: S301 - our own file, written above
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        finite = np.flatnonzero(np.isfinite(arr).all(axis=1))
        rows = np.sort(rng.choice(finite, size=min(args.baseline_sample, finite.size), replace=False))
        X = arr[rows]
        del arr
        gc.collect()
        X = StandardScaler().fit_transform(X)
        X = PCA(n_components=min(200, X.shape[1], X.shape[0]), random_state=args.seed).fit_transform(X)
        sil_rows = rng.choice(len(X), size=min(10_000, len(X)), replace=False)
        best = (-np.inf, None, None)
        for k in range(5, 31):
            km = MiniBatchKMeans(n_clusters=k, random_state=args.seed, n_init="auto")  # library defaults
            lab = km.fit_predict(X)
            sil = silhouette_score(X[sil_rows], lab[sil_rows])
            if sil > best[0]:
                best = (sil, k, lab)
        t_fit = time.perf_counter() - t0
        total_fit += t_fit
        labels = np.full(len(truth), -1, dtype=np.int64)
        labels[rows] = best[2]
        sub = truth.iloc[rows].reset_index(drop=True)
        score = score_labels(spec.name, labels[rows], None, sub)
        score.update({"k": best[1], "silhouette": round(float(best[0]), 4), "load_s": round(t_load, 2),
                      "fit_s": round(t_fit, 2), "rows_labelled": int(len(rows))})
        out[spec.name] = score
        log.info("baseline %s: k=%d ARI=%.3f in %.1f s", spec.name, best[1], score["ARI"], t_fit)
    return {"sets": out, "fit_s": round(total_fit, 2), "peak_rss_gib": gib(vm_hwm_bytes())}


# ---- local vs Dask engine on prepare + cluster only ---------------------------------------
def run_engines(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare + k-means sweep + outlier ensemble of each set with both engines (same seed):
    time per stage and agreement (labels ARI, share of rows whose outlier flag differs)."""
    from sklearn.metrics import adjusted_rand_score

    from vehiclust.cluster import ClusterSelector
    from vehiclust.distributed import DaskClusterSelector, DaskOutlierEnsemble, DaskPreparer, get_client
    from vehiclust.io import load_case
    from vehiclust.outliers import OutlierEnsemble
    from vehiclust.prepare import DescriptorPreparer, validate_descriptors

    data = Path(args.dir)
    names = args.sets.split(",") if args.sets else [s.name for s in SETS]
    case = load_case(descriptors={n: data / f"{n}.pickle" for n in names}, paths=data / "images_paths.csv",
                     trust_pickle=args.trust_pickle, cache_dir=data / "engines-cache")
    validity = validate_descriptors(case.descriptors, case.samples)
    truth = pd.read_csv(data / "ground_truth.csv")
    start = time.perf_counter()
    get_client(args.scheduler)
    startup = time.perf_counter() - start
    out: dict[str, Any] = {"dask_startup_s": round(startup, 2), "sets": {}}
    for name in names:
        valid = validity.valid_rows[name]
        row: dict[str, Any] = {}
        labels, flags = {}, {}
        for engine in ("local", "dask"):
            kw = dict(families=("kmeans",), random_state=args.seed, progress=False)
            t0, c0 = time.perf_counter(), cpu_seconds()
            if engine == "local":
                X = DescriptorPreparer(whiten=False, columns=validity.kept_columns[name], random_state=args.seed).fit_transform(
                    case.descriptors[name], rows=valid)
                t1 = time.perf_counter()
                sel = ClusterSelector(**kw).fit(X)
                t2 = time.perf_counter()
                ens = OutlierEnsemble(random_state=args.seed).fit(X, sel.labels_, centers=sel.cluster_centers_)
            else:
                X = DaskPreparer(whiten=False, columns=validity.kept_columns[name], random_state=args.seed,
                                 scheduler=args.scheduler).fit_transform(case.descriptors[name], rows=valid)
                t1 = time.perf_counter()
                sel = DaskClusterSelector(scheduler=args.scheduler, **kw).fit(X)
                t2 = time.perf_counter()
                ens = DaskOutlierEnsemble(random_state=args.seed, scheduler=args.scheduler).fit(
                    X, sel.labels_, centers=sel.cluster_centers_)
            t3 = time.perf_counter()
            full = np.full(len(truth), -1, dtype=np.int64)
            full[valid] = sel.labels_
            labels[engine] = full
            flags[engine] = ens.labels_.astype(bool)
            sc = score_labels(name, full, None, truth)
            row[engine] = {"prepare_s": round(t1 - t0, 1), "cluster_s": round(t2 - t1, 1),
                           "outliers_s": round(t3 - t2, 1), "cpu_s": round(cpu_seconds() - c0, 1),
                           "k": int(sel.best_["k"]), "ARI": sc["ARI"], "n_outliers": int(flags[engine].sum())}
            del X, sel, ens
        row["ARI_local_vs_dask"] = round(float(adjusted_rand_score(labels["local"], labels["dask"])), 4)
        row["outlier_flags_differ"] = round(float(np.mean(flags["local"] != flags["dask"])), 5)
        out["sets"][name] = row
        log.info("engines %s: %s", name, row)
    shutil.rmtree(data / "engines-cache", ignore_errors=True)
    return out


# ---- engine-vs-engine agreement -----------------------------------------------------------
def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    """ARI between two run folders' labels and the share of rows whose outlier flag differs."""
    from sklearn.metrics import adjusted_rand_score

    out: dict[str, Any] = {}
    for d in sorted((run_a / "descriptors").iterdir()):
        other = run_b / "descriptors" / d.name
        if not (other / "labels.npy").exists():
            continue
        la, lb = np.load(d / "labels.npy"), np.load(other / "labels.npy")
        row: dict[str, Any] = {"ARI": round(float(adjusted_rand_score(la, lb)), 4)}
        fa, fb = d / "outlier_scores.csv", other / "outlier_scores.csv"
        if fa.exists() and fb.exists():
            oa = pd.read_csv(fa, usecols=["is_outlier"])["is_outlier"].to_numpy(bool)
            ob = pd.read_csv(fb, usecols=["is_outlier"])["is_outlier"].to_numpy(bool)
            row["outlier_flag_diff_share"] = round(float(np.mean(oa != ob)), 5)
            row["outlier_jaccard"] = round(float((oa & ob).sum() / max((oa | ob).sum(), 1)), 4)
        out[d.name] = row
    return out


# ---- orchestration ------------------------------------------------------------------------
def child(stage: str, args: argparse.Namespace, result_file: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), stage, "--rows", str(args.rows), "--dir", str(args.dir),
           "--out", str(args.out), "--seed", str(args.seed), "--engine", args.engine,
           "--baseline-sample", str(args.baseline_sample), "--result", str(result_file),
           "--pickle-protocol", str(args.pickle_protocol)]
    if args.scheduler:
        cmd += ["--scheduler", args.scheduler]
    if args.families:
        cmd += ["--families", args.families]
    if args.trust_pickle:
        cmd += ["--trust-pickle"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    result = json.loads(result_file.read_text())
    result.setdefault("wall_s", round(time.perf_counter() - start, 2))
    return result


def print_report(gen: dict[str, Any] | None, pipe: dict[str, Any] | None, base: dict[str, Any] | None,
                 cmp: dict[str, Any] | None, rows: int) -> None:
    w = sys.stdout.write
    if gen:
        w(f"\ngenerated {rows:,} rows, {gib(gen['bytes'])} GiB of pickles in {sum(gen['timings_s'].values()):.0f} s\n")
    if pipe:
        w(f"\nvehiclust run (engine={pipe['engine']}): per stage\n")
        w(f"{'stage':<14}{'wall s':>10}{'CPU s':>10}{'peak RSS GiB':>14}\n")
        for name, st in pipe["stages"].items():
            w(f"{name:<14}{st['wall_s']:>10.1f}{st.get('cpu_s', float('nan')):>10.1f}{st['peak_rss_gib']:>14.2f}\n")
        w(f"{'TOTAL':<14}{pipe['wall_s']:>10.1f}{pipe.get('cpu_s', float('nan')):>10.1f}{pipe['peak_rss_gib']:>14.2f}   "
          f"(targets: < 900 s wall, < 10 GiB)\n")
        w(f"1-min load average before/after: {pipe.get('load_avg_1min')} (2 cores; other jobs share them)\n")
        w("\nagreement with the planted structure (planted inliers) and outlier flags\n")
        w(f"{'set':<18}{'truth':<8}{'k':>4}{'ARI':>8}{'NMI':>8}{'unassigned':>11}{'out P':>8}{'out R':>8}  chosen\n")
        for name, s in pipe["scores"].items():
            w(f"{name:<18}{s['truth']:<8}{s['k']:>4}{s['ARI']:>8.3f}{s['NMI']:>8.3f}{s['unassigned_inliers']:>11.3f}"
              f"{s.get('outlier_precision', float('nan')):>8.3f}{s.get('outlier_recall', float('nan')):>8.3f}  "
              f"{s.get('chosen', '')}\n")
        w(f"best set: {pipe['best']}\n")
    if base:
        w("\npeer-style baseline: StandardScaler + PCA(200) + MiniBatchKMeans k=5..30 (silhouette), 80k sample\n")
        w(f"{'set':<18}{'k':>4}{'ARI':>8}{'NMI':>8}{'fit s':>9}{'rows labelled':>15}\n")
        for name, s in base["sets"].items():
            w(f"{name:<18}{s['k']:>4}{s['ARI']:>8.3f}{s['NMI']:>8.3f}{s['fit_s']:>9.1f}{s['rows_labelled']:>15,}\n")
        w(f"baseline fit time (4 sets): {base['fit_s']:.1f} s; peak RSS {base['peak_rss_gib']:.2f} GiB\n")
        if pipe:
            w(f"ratio vehiclust wall / baseline fit: {pipe['wall_s'] / max(base['fit_s'], 1e-9):.2f}\n")
    if cmp:
        w("\nagreement with the other run\n")
        for name, s in cmp.items():
            w(f"{name:<18}{json.dumps(s)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", nargs="?", default="all", choices=["all", "generate", "pipeline", "baseline", "engines"])
    parser.add_argument("--rows", type=int, default=CASE_ROWS)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/vehiclust-case"), help="data folder")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: <dir>/run-<engine>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="local", choices=["local", "dask"])
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--families", default=None, help="comma-separated clustering families")
    parser.add_argument("--mix", default=MIX, help="mixes, ';'-separated (default: all, as in the README); '' for none")
    parser.add_argument("--trust-pickle", action="store_true")
    parser.add_argument("--sets", default=None, help="engines stage: comma-separated sets (default: all four)")
    parser.add_argument("--pickle-protocol", type=int, default=5)
    parser.add_argument("--baseline-sample", type=int, default=80_000)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-pipeline", action="store_true")
    parser.add_argument("--compare-with", type=Path, default=None, help="another run folder to compare labels with")
    parser.add_argument("--keep", action="store_true", help="keep the generated data (default: delete it)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this JSON file")
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.out is None:
        args.out = args.dir / f"run-{args.engine}"

    if args.stage != "all":
        fn = {"generate": lambda a: generate(a.dir, a.rows, a.seed, protocol=a.pickle_protocol),
              "pipeline": run_pipeline, "baseline": run_baseline, "engines": run_engines}[args.stage]
        result = fn(args)
        if args.result:
            args.result.write_text(json.dumps(result, indent=2, default=str))
        elif args.json:  # e.g. `case.py pipeline --json f`: the one stage's figures
            args.json.write_text(json.dumps(result, indent=2, default=str))
        else:
            print(json.dumps(result, indent=2, default=str))
        return 0

    manifest = args.dir / "manifest.json"
    gen = None
    existing = json.loads(manifest.read_text()) if manifest.exists() else None
    if existing and existing.get("rows") == args.rows and existing.get("seed") == args.seed:
        log.info("reusing data in %s", args.dir)
        gen = existing
    else:
        gen = child("generate", args, args.dir.parent / f".{args.dir.name}-generate.json")
    pipe = base = cmp = None
    try:
        if not args.no_pipeline:
            pipe = child("pipeline", args, args.dir / "pipeline.json")
        if not args.no_baseline:
            base = child("baseline", args, args.dir / "baseline.json")
        if args.compare_with is not None and pipe is not None:
            cmp = compare_runs(args.out, args.compare_with)
    finally:
        if not args.keep:
            for spec in SETS:
                (args.dir / f"{spec.name}.pickle").unlink(missing_ok=True)
            manifest.unlink(missing_ok=True)
            cache = args.out / ".cache"
            if cache.exists():
                shutil.rmtree(cache, ignore_errors=True)
    print_report(gen, pipe, base, cmp, args.rows)
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "generate": gen, "pipeline": pipe, "baseline": base,
                                         "compare": cmp}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
