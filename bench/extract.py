"""Benchmark descriptor extraction: images/s per model and kNN vehicle-type accuracy.

Extracts every model's descriptors for the 4,800 Zenodo images (../shared), times them, and
scores each descriptor set by 5-fold cross-validated 5-nearest-neighbour (cosine) accuracy at
predicting the vehicle type. The descriptors, paths and head tables are kept in ``--out`` so
other stages can reuse them.

    flock /tmp/vehiclust-big.lock python bench/extract.py --out /tmp/vehiclust-zenodo
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from vehiclust.extract import MODELS_ENV, extract_descriptors, list_models, walk_images
from vehiclust.io.atomic import atomic_save_npy, atomic_write_csv

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = [m for m in list_models() if m != "onnx"]


def knn_accuracy(X: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    ok = ~np.isnan(X).any(axis=1)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    clf = KNeighborsClassifier(n_neighbors=5, metric="cosine")
    return float(cross_val_score(clf, X[ok], y[ok], cv=cv).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data" / "vehicles-zenodo")
    ap.add_argument("--models-dir", type=Path, default=REPO.parent / "shared" / "models")
    ap.add_argument("--out", type=Path, default=Path("/tmp/vehiclust-zenodo"))
    ap.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images (0 = all)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault(MODELS_ENV, str(args.models_dir))
    if not args.source.is_dir():
        raise SystemExit(f"{args.source} is missing; this benchmark needs ../shared/data/vehicles-zenodo.")
    rel = walk_images(args.source)
    if args.limit:
        rel = rel[: args.limit]
    paths = [str((args.source / r).resolve()) for r in rel]
    types = np.array([r.split("/")[0] for r in rel])
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(pd.DataFrame({"path": paths, "type": types}), args.out / "paths.csv")
    rows = []
    for model in args.models:
        t0 = time.perf_counter()
        ext = extract_descriptors(paths, model, batch_size=args.batch_size, n_jobs=args.n_jobs, progress=False,
                                  checkpoint=args.out / f".checkpoint-{model}")
        wall = time.perf_counter() - t0
        atomic_save_npy(ext.features, args.out / f"{model}.npy")
        if ext.heads is not None:
            heads = ext.heads.copy()
            heads.insert(0, "path", paths)
            name = "imagenet" if model == "efficientnet-lite0" else model
            atomic_write_csv(heads, args.out / f"heads_{name}.csv")
        acc = knn_accuracy(ext.features, types)
        rows.append({"model": model, "dim": ext.features.shape[1], "images": len(paths),
                     "images_per_s": round(ext.images_per_second, 1), "wall_s": round(wall, 1),
                     "failed": int(len(ext.errors)), "knn5_type_accuracy": round(acc, 3)})
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    atomic_write_csv(table, args.out / "bench_extract.csv")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
