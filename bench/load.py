"""Load benchmark: first load of the case's four pickles (pickle → float32 .npy cache) and
second load (memory-map), each in a fresh process, with wall time and peak RSS.

    python bench/load.py                 # full case: 416,314 rows (6.2 GB in a temp folder)
    python bench/load.py --rows 20000    # scaled down

The data is written to --workdir (default: a new temp folder) and deleted afterwards unless
--keep is given. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASE_SHAPES = {"efficientnet-b7": 2560, "osnet": 512, "vdc_type": 512, "vdc_color": 128}


def make_case(workdir: Path, rows: int, seed: int = 0) -> dict[str, Path]:
    """Pickled bare float32 arrays with the case's shapes, one array in memory at a time."""
    rng = np.random.default_rng(seed)
    files = {}
    for name, dim in CASE_SHAPES.items():
        arr = np.empty((rows, dim), dtype=np.float32)
        for start in range(0, rows, 50_000):
            stop = min(rows, start + 50_000)
            arr[start:stop] = rng.random((stop - start, dim), dtype=np.float32)
        path = workdir / f"{name}.pickle"
        with open(path, "wb") as fh:
            pickle.dump(arr, fh, protocol=pickle.HIGHEST_PROTOCOL)
        del arr
        files[name] = path
    with open(workdir / "images_paths.csv", "w") as fh:
        fh.write("paths\n")
        for i in range(rows):
            fh.write(f"veriwild\\{i // 100000 + 1}\\{i // 100:05d}\\{i:06d}.jpg\n")
    return files


CHILD = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from vehiclust.io import load_case
import_s = time.perf_counter() - t0
args = json.loads(sys.argv[1])
t = time.perf_counter()
case = load_case({k: Path(v) for k, v in args["files"].items()}, args["paths"], cache_dir=args["cache"])
load_s = time.perf_counter() - t
shapes = {k: list(v.shape) for k, v in case.descriptors.items()}
# VmHWM is this process image's own peak (ru_maxrss would carry the parent's over exec).
peak_mb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"load_s": load_s, "import_s": import_s, "peak_rss_mb": peak_mb, "shapes": shapes}))
"""


def timed_load(files: dict[str, Path], paths: Path, cache: Path) -> dict:
    args = json.dumps({"files": {k: str(v) for k, v in files.items()}, "paths": str(paths), "cache": str(cache)})
    proc = subprocess.run([sys.executable, "-c", CHILD, args], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=416_314)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data (always kept with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="use the pickles already in --workdir if present")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vehiclust-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        existing = {name: workdir / f"{name}.pickle" for name in CASE_SHAPES}
        if args.reuse and all(p.exists() for p in existing.values()) and (workdir / "images_paths.csv").exists():
            files = existing  # e.g. the case made by bench/case.py
            args.rows = sum(1 for _ in open(workdir / "images_paths.csv")) - 1
        else:
            files = make_case(workdir, args.rows)
        size_gb = sum(p.stat().st_size for p in files.values()) / 1e9
        print(f"case: {args.rows:,} rows, 4 pickles, {size_gb:.2f} GB, made in {time.perf_counter() - t:.1f} s")
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=workdir))
        first = timed_load(files, workdir / "images_paths.csv", cache)
        second = timed_load(files, workdir / "images_paths.csv", cache)
        print(f"{'load':<8}{'wall s':>10}{'peak RSS MB':>14}")
        print(f"{'first':<8}{first['load_s']:>10.2f}{first['peak_rss_mb']:>14.0f}   (pickle -> float32 .npy cache)")
        print(f"{'second':<8}{second['load_s']:>10.2f}{second['peak_rss_mb']:>14.0f}   (memory-mapped; import {second['import_s']:.2f} s)")
        print("shapes:", second["shapes"])
    finally:
        if args.reuse:
            shutil.rmtree(cache, ignore_errors=True)
        elif not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
