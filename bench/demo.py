"""Time `make demo`'s run stage by stage: wall and CPU seconds (this process + its children).

    python bench/demo.py --out /tmp/demo-bench            # a first run (empty cache)
    python bench/demo.py --out /tmp/demo-bench --again    # and a second one, reusing the cache
    python bench/demo.py --out /tmp/demo-bench --reuse    # only a run on what is already there

The configuration is the Makefile's `demo` target. On a machine shared with other jobs the
wall time overstates the cost; the CPU time (one core busy at a time in most stages) is what
a quiet machine would take, roughly. Prints one line per stage, the total, and the chosen
clustering of every set (to check that a speed-up kept the picks).

Some work runs beside a later stage and is counted there: with worker processes (the demo) the
sets' descriptions run during ``compare`` (``describe`` then only measures the images).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path

from vehiclust import pipeline
from vehiclust.config import RunConfig

DEMO = Path(os.environ.get("VEHICLUST_DEMO", Path(__file__).resolve().parents[1] / "examples" / "demo"))


def demo_config(out: Path) -> RunConfig:
    sets = ("efficientnet-lite0", "osnet", "vehicle-attributes", "color-hist")
    return RunConfig(
        descriptors={name: DEMO / "descriptors" / f"{name}.pkl" for name in sets},
        mixes=["osnet+vehicle-attributes", "all"],
        heads={"vehicle-attributes": DEMO / "heads" / "vehicle-attributes.csv", "imagenet": DEMO / "heads" / "imagenet.csv"},
        paths=DEMO / "images_paths.csv", images=DEMO, labels=DEMO / "labels.csv", out=out, seed=0, progress=False,
    )


def cpu_seconds() -> float:
    """CPU seconds of this process, its finished children and its live worker processes (the
    per-set jobs run in reusable joblib workers that outlive a stage; psutil reads them)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    try:
        import psutil
    except ImportError:  # then workers count only once they have exited
        return total
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def timed_run(out: Path) -> tuple[list[tuple[str, float, float]], object]:
    rows: list[tuple[str, float, float]] = []
    names = ["_stage_load"] + [f"_stage_{s}" for s in pipeline.STAGES if s != "load"]
    originals = {n: getattr(pipeline, n) for n in names if hasattr(pipeline, n)}

    depth = [0]

    def wrap(name, fn):
        def inner(*args, **kwargs):
            w, c = time.perf_counter(), cpu_seconds()
            depth[0] += 1
            try:
                result = fn(*args, **kwargs)
            finally:
                depth[0] -= 1
            label = name.removeprefix("_stage_")
            rows.append((f"  ({label} of the consensus)" if depth[0] else label, time.perf_counter() - w, cpu_seconds() - c))
            return result
        return inner

    for n, fn in originals.items():
        setattr(pipeline, n, wrap(n, fn))
    try:
        results = pipeline.run(demo_config(out))
    finally:
        for n, fn in originals.items():
            setattr(pipeline, n, fn)
    return rows, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--again", action="store_true", help="also time a second run reusing the first one's cache")
    ap.add_argument("--reuse", action="store_true", help="keep what an earlier run left in --out (its cache)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    if not args.reuse:
        shutil.rmtree(args.out, ignore_errors=True)
    report = {"load_average_start": os.getloadavg()[0]}
    for label in ("first run",) + (("second run (cache reused)",) if args.again else ()):
        w0, c0 = time.perf_counter(), cpu_seconds()
        rows, results = timed_run(args.out)
        wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
        print(f"\n{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (load average {os.getloadavg()[0]:.1f})")
        print(f"{'stage':32s} {'wall s':>8s} {'CPU s':>8s}")
        for name, w, c in rows:
            print(f"{name:32s} {w:8.1f} {c:8.1f}")
        picks = {name: f"{run.chosen.get('family')} k={run.chosen.get('n_clusters')}" for name, run in results.descriptors.items()}
        for name, pick in picks.items():
            print(f"  {name}: {pick}")
        print(f"  best: {results.best}")
        report[label] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "stages": rows, "picks": picks, "best": results.best}
    report["load_average_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
