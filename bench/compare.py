"""Compare descriptor sets, their mixes and the consensus on a folder of descriptors.

    python bench/compare.py FOLDER [--families kmeans] [--k-max 20] [--mix all --mix a+b]
                            [--pairs] [--fixed-k 6] [--out OUT] [--seed 0]

FOLDER holds one descriptor file per set (``<name>.npy`` or ``<name>.pkl``), a paths file
(``paths.csv`` with ``path`` + label columns, or ``images_paths.csv`` + ``labels.csv`` as in
``examples/demo``) and optional head tables (``heads_<name>.csv`` or ``heads/<name>.csv``).
It prepares every set as the pipeline does, clusters each (ClusterSelector), builds the mixes
and the consensus, and prints the comparison table, the agreement matrix, the descriptor x
attribute table, the neighbourhood overlap and the label-free best choice. With
``--fixed-k K`` it also prints the NMI with each label when every space is cut by k-means into
exactly K clusters (a comparison of the spaces that does not depend on the choice of k).

    python bench/compare.py --scale 416314

times the compare stage alone (mix, consensus embedding, comparison, agreement, overlap,
alignment) on synthetic sets of that many rows (64-, 32- and 16-d, labels from nearest
centres), as the full case would meet it after clustering.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from vehiclust import progress as _progress
from vehiclust.cluster import ClusterSelector
from vehiclust.compare import (
    Candidate,
    build_mixes,
    candidate_predictivity,
    compare_run,
    consensus_embedding,
    label_columns,
    make_consensus,
)
from vehiclust.io import load_case
from vehiclust.pipeline import PreparedSet, _selector_refit
from vehiclust.prepare import DescriptorPreparer, validate_descriptors


def _inputs(folder: Path) -> tuple[dict[str, Path], Path, Path | None, dict[str, Path]]:
    descriptors = {p.stem: p for p in sorted(folder.glob("*.npy")) + sorted(folder.glob("descriptors/*.pkl"))
                   + sorted(folder.glob("*.pkl"))}
    if (folder / "images_paths.csv").exists():
        paths, labels = folder / "images_paths.csv", (folder / "labels.csv" if (folder / "labels.csv").exists() else None)
    else:
        paths = folder / "paths.csv"
        labels = paths
    heads = {p.stem.removeprefix("heads_"): p for p in sorted(folder.glob("heads_*.csv")) + sorted(folder.glob("heads/*.csv"))}
    return descriptors, paths, labels, heads


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, nargs="?")
    ap.add_argument("--scale", type=int, default=0, help="time the compare stage on this many synthetic rows")
    ap.add_argument("--only", nargs="*", help="descriptor set names to use (default: all found)")
    ap.add_argument("--families", default="kmeans")
    ap.add_argument("--k-min", type=int, default=2)
    ap.add_argument("--k-max", type=int, default=20)
    ap.add_argument("--pca", type=int, default=64)
    ap.add_argument("--mix", action="append", default=None, help="mix spec (repeatable: a+b, all, auto); default: all")
    ap.add_argument("--pairs", action="store_true", help="also every pair of sets as a mix")
    ap.add_argument("--fixed-k", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _progress.ENABLED = False
    t0 = time.perf_counter()
    if args.scale:
        return _scale(args.scale, args.seed)
    if args.folder is None:
        ap.error("FOLDER is needed (or --scale N)")

    descriptors, paths, labels, heads = _inputs(args.folder)
    if args.only:
        descriptors = {k: v for k, v in descriptors.items() if k in args.only}
    images = args.folder if (args.folder / "images").is_dir() else None
    case = load_case(descriptors, paths, images=images, labels=labels)
    samples = case.samples
    if images is None:  # absolute paths (a benchmark folder): measure pixels from them
        samples["resolved"] = [p if Path(p).is_absolute() and Path(p).exists() else "" for p in samples["path"]]
    validity = validate_descriptors(case.descriptors, samples, progress=False)
    seeds = np.random.SeedSequence(args.seed).spawn(4)
    seed = [int(s.generate_state(1)[0]) for s in seeds]

    prepared: dict[str, PreparedSet] = {}
    for name, raw in case.descriptors.items():
        valid = validity.valid_rows[name]
        prep = DescriptorPreparer(whiten=False, n_components=args.pca, columns=validity.kept_columns[name], random_state=seed[0])
        prepared[name] = PreparedSet(name, prep.fit_transform(raw, rows=valid), valid, prep.summary())
    specs = args.mix or ["all"]
    if args.pairs:
        names = list(prepared)
        specs += [f"{a}+{b}" for i, a in enumerate(names) for b in names[i + 1:]]
    if len(prepared) >= 2:
        for m in build_mixes(prepared, specs, n_components=args.pca, random_state=seed[1]):
            prepared[m.name] = m
    families = tuple(f.strip() for f in args.families.split(","))

    def cluster(X: np.ndarray):
        sel = ClusterSelector(families=families, k_min=args.k_min, k_max=args.k_max, random_state=seed[2], progress=False)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sel.fit(X)
        return sel.labels_, sel.best_, _selector_refit(sel, seed[3])

    candidates = []
    for name, ps in prepared.items():
        lab_valid, chosen, refit = cluster(ps.X)
        labels_full = np.full(len(samples), -1, dtype=np.int64)
        labels_full[ps.valid] = lab_valid
        kind = "mix" if ps.preparation.get("kind") == "mix" else "single"
        candidates.append(Candidate(name, ps.X, ps.valid, labels_full, kind=kind, refit=refit, chosen=chosen,
                                    preparation=ps.preparation))
        print(f"clustered {name}: {chosen['family']}({chosen['params']}) in {time.perf_counter() - t0:.0f} s", flush=True)
    singles = [c for c in candidates if c.kind == "single"]
    if len(singles) >= 2:
        candidates.append(make_consensus(candidates, cluster, random_state=seed[3]))
    res = compare_run(candidates, samples, args.out, heads=heads, random_state=seed[3], progress=False)

    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_colwidth", 40)
    print(f"\n{len(samples):,} rows, {len(singles)} descriptor sets, {len(candidates) - len(singles)} mixes/consensus")
    print("\n== comparison ==")
    print(res.comparison.drop(columns=["n_valid", "coverage", "eligible"]).round(3).to_string(index=False))
    print("\n== agreement (ARI) ==")
    print(res.agreement.round(2).to_string())
    print("\n== descriptor x attribute (share explained: homogeneity / eta^2) ==")
    print(res.attribute_alignment.round(2).to_string())
    print("\n== shared 10 nearest neighbours ==")
    print(res.neighbourhood_overlap.round(2).to_string())
    print("\n== cross-view predictivity (row: k-NN graph; column: a single set's clustering) ==")
    print(res.predictivity.round(3).to_string())
    print("\n== what each clustering follows (chance-corrected share of the evidence) ==")
    print(res.follows.round(2).to_string())
    print(f"\nbest: {res.best_reason}")
    if res.label_note:
        print(res.label_note)
    truth = label_columns(samples)
    for col in truth.columns:
        nmi = res.comparison.set_index("descriptor")[f"nmi_{col}"]
        single_best = nmi[[c.name for c in singles]].idxmax()
        other = nmi.drop(index=[c.name for c in singles])
        if len(other):
            print(f"NMI with {col} (chosen k): best single {single_best} {nmi[single_best]:.3f}; "
                  f"best mix/consensus {other.idxmax()} {other.max():.3f}")
    if args.fixed_k:
        rows = []
        for c in candidates:
            lab = np.full(len(samples), -1)
            lab[c.valid] = KMeans(args.fixed_k, n_init=4, random_state=seed[2]).fit_predict(c.X)
            row = {"descriptor": c.name}
            for col in truth.columns:
                known = truth[col].notna().to_numpy() & (lab >= 0)
                row[f"nmi_{col}"] = normalized_mutual_info_score(truth[col][known].astype(str), lab[known])
            rows.append(row)
        print(f"\n== NMI with labels, k-means with k={args.fixed_k} in every space ==")
        print(pd.DataFrame(rows).round(3).to_string(index=False))
    if args.out:
        res.comparison.to_csv(args.out / "comparison.csv", index=False)
        res.agreement.to_csv(args.out / "agreement.csv")
        res.attribute_alignment.to_csv(args.out / "attribute_alignment.csv")
        print(f"\ntables and figures in {args.out}")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


def _scale(n: int, seed: int) -> int:
    """Time each compare step on n synthetic rows; print peak memory."""
    import resource

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 12, n)
    sets = {}
    t = time.perf_counter()
    for name, d, k in (("deep", 64, 12), ("reid", 32, 8), ("attr", 16, 5)):
        centres = rng.normal(size=(k, d)).astype(np.float32)
        X = centres[truth % k] + rng.normal(scale=0.8, size=(n, d)).astype(np.float32)
        valid = rng.random(n) > 0.001
        sets[name] = PreparedSet(name, X[valid], valid)
        del X
    print(f"synthetic sets: {time.perf_counter() - t:.1f} s", flush=True)

    def step(label, fn):
        t = time.perf_counter()
        out = fn()
        print(f"{label}: {time.perf_counter() - t:.1f} s", flush=True)
        return out

    mixes = step("build_mixes(all)", lambda: build_mixes(sets, ["all"], random_state=seed))
    candidates = []
    for ps in [*sets.values(), *mixes]:
        lab = np.full(n, -1)
        sample = ps.X[rng.choice(len(ps.X), min(20000, len(ps.X)), replace=False)]
        km = step(f"k-means labels for {ps.name}", lambda: KMeans(12, n_init=1, random_state=seed).fit(sample))
        lab[ps.valid] = km.predict(ps.X)
        candidates.append(Candidate(ps.name, ps.X, ps.valid, lab, kind="mix" if "+" in ps.name else "single",
                                    preparation=ps.preparation))
    X, valid, summary = step("consensus_embedding", lambda: consensus_embedding({c.name: c.labels for c in candidates[:3]}, random_state=seed))
    print(f"  {summary['n_micro_clusters']:,} micro-clusters, {X.shape[1]} dims")
    lab = np.full(n, -1)
    lab[valid] = KMeans(12, n_init=1, random_state=seed).fit(X[rng.choice(len(X), min(20000, len(X)), replace=False)]).predict(X)
    candidates.append(Candidate("consensus", X, valid, lab, kind="consensus"))
    samples = pd.DataFrame({"path": [f"{i}.jpg" for i in range(n)], "type": truth.astype(str)})
    step("candidate_predictivity (the selection rule's score)", lambda: candidate_predictivity(candidates, random_state=seed))
    res = step(f"compare_run on {len(candidates)} candidates", lambda: compare_run(candidates, samples, None, measure_pixels=False, random_state=seed, progress=False))
    print(res.comparison[["descriptor", "n_clusters", "silhouette", "stability", "predictivity", "selection_rank", "nmi_type"]].round(3).to_string(index=False))
    print(f"best: {res.best}; peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
