"""The best set and the ``--mix all`` mix on every composition of descriptor sets (issue 17).

    python bench/best_set.py --dir examples/demo --heads imagenet=examples/demo/heads/imagenet.csv \\
        --images examples/demo [--size 4] [--seed 0]
    python bench/best_set.py --dir /tmp/vehiclust-zenodo --images ../shared/data/vehicles-zenodo --size 4

``--dir`` holds one descriptor file per set (``descriptors/<name>.pkl`` as in ``examples/demo``,
or ``<name>.npy`` as ``bench/extract.py`` writes them) and the paths with a ``type`` label
(``images_paths.csv`` + ``labels.csv``, or ``paths.csv``). For every composition of ``--size``
sets it runs the pipeline's load, prepare, cluster and mix stages (``--mix all``) and the
label-free pick among the single sets (``compare.choose_single``, what the compare stage
delivers), and prints the pick's NMI with the type against the best single set's (gap, must
be ≤ 0.05) and the mix's against it (must be ≥ -0.02). The labels only score. Absolute paths
under ``--images`` are made relative to it (the pipeline reads images under a root). Stage
results are cached in ``--cache``, so a second run, or another seed's singles, is fast.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

from vehiclust import pipeline
from vehiclust.compare import choose_single
from vehiclust.config import RunConfig

SETS = ["efficientnet-lite0", "mobilenet", "osnet", "vehicle-attributes", "color-hist", "hog"]
SHORT = {"efficientnet-lite0": "eff", "mobilenet": "mob", "osnet": "osn", "vehicle-attributes": "va",
         "color-hist": "ch", "hog": "hog"}


def _file(folder: Path, name: str) -> Path | None:
    return next((p for p in (folder / "descriptors" / f"{name}.pkl", folder / f"{name}.npy") if p.exists()), None)


def _paths(folder: Path, images: Path | None, scratch: Path) -> tuple[Path, Path]:
    if (folder / "images_paths.csv").exists():
        return folder / "images_paths.csv", folder / "labels.csv"
    table = pd.read_csv(folder / "paths.csv")
    if images is not None:
        root = str(images.resolve()).rstrip("/") + "/"
        table["path"] = table["path"].astype(str).str.replace(root, "", regex=False)
    out = scratch / "paths.csv"
    table.to_csv(out, index=False)
    return out, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--size", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heads", nargs="*", default=[], metavar="NAME=CSV")
    ap.add_argument("--images", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/vehiclust-best-set"))
    ap.add_argument("--sets", nargs="*", default=SETS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    args.cache.mkdir(parents=True, exist_ok=True)
    paths, labels = _paths(args.dir, args.images, args.cache)
    sets = [s for s in args.sets if _file(args.dir, s) is not None]
    heads = {k: Path(v) for k, v in (h.split("=", 1) for h in args.heads)}
    fails = 0
    print(f"{args.dir} seed {args.seed}, {args.size} of {sets}, heads {list(heads)}, images {args.images}")
    for combo in itertools.combinations(sets, args.size):
        start = time.perf_counter()
        cfg = RunConfig(descriptors={s: _file(args.dir, s) for s in combo}, paths=paths, labels=labels,
                        out=args.cache / "out", seed=args.seed, cache_dir=args.cache, progress=False,
                        mixes=["all"], trust_pickle=True, heads=heads, images=args.images)
        ctx = pipeline._stage_load(cfg)
        for stage in (pipeline._stage_prepare, pipeline._stage_mix, pipeline._stage_cluster):
            stage(ctx)
        truth = ctx.samples["type"].astype(str).to_numpy()
        nmi = {n: normalized_mutual_info_score(truth[r.labels >= 0], r.labels[r.labels >= 0]) for n, r in ctx.runs.items()}
        mix = next(n for n in nmi if n not in combo)
        pick = choose_single(pipeline._candidates(ctx), random_state=ctx.seeds["compare"],
                             type_evidence=pipeline._type_evidence(ctx))
        best = max(combo, key=nmi.get)
        gap, mix_gain = nmi[best] - nmi[pick], nmi[mix] - nmi[best]
        bad = gap > 0.05 or mix_gain < -0.02
        fails += bad
        prep = ctx.prepared[mix].preparation
        print(f"{'+'.join(SHORT.get(c, c) for c in combo):22s} pick {SHORT.get(pick, pick):4s} {nmi[pick]:.3f}  "
              f"best {SHORT.get(best, best):4s} {nmi[best]:.3f}  gap {gap:.3f} | mix {nmi[mix]:.3f} ({mix_gain:+.3f}) "
              f"weights {np.round(prep.get('weights'), 3).tolist()}{' = ' + prep['passthrough'] if prep.get('passthrough') else ''}"
              f"{'  FAIL' if bad else ''}  {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{fails} of {len(list(itertools.combinations(sets, args.size)))} compositions miss a margin")


if __name__ == "__main__":
    main()
