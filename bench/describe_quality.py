"""Do the description words match the truth? Colour words on vehicle-colors, type words on Zenodo.

No labels are given to the describer; the folder names only score its words afterwards.

    flock /tmp/vehiclust-big.lock .venv/bin/python bench/describe_quality.py colours
    flock /tmp/vehiclust-big.lock .venv/bin/python bench/describe_quality.py types --descriptors /tmp/vehiclust-zenodo

Needs ../shared (real images; or set VEHICLUST_SHARED). Descriptors for vehicle-colors are computed here (color-hist,
cached under /tmp/vehiclust-describe); Zenodo descriptors come from ``--descriptors``
(``<model>.npy`` + ``paths.csv``) or are computed with ``--model``.

Types are clustered as the pipeline does (DescriptorPreparer, then ClusterSelector's choice;
``--k 0``) and/or by k-means with fixed k (``--k 0,6,10``). The describer runs the real models
on its sample of each cluster's images (``--use-head-tables`` uses the tables in
``--descriptors`` instead). Scoring is strict: the first type word of the description
("trucks or articulated lorries" → truck) must name the majority true type; a cluster called
mixed is a miss.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from vehiclust.describe import ClusterDescriber, EvidenceCache

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VEHICLUST_SHARED", ROOT.parent / "shared"))
CACHE = Path("/tmp/vehiclust-describe")

# Words that count as naming each true class (strict: no broader terms).
COLOUR_WORDS = {"black": {"black"}, "blue": {"blue"}, "brown": {"brown"}, "green": {"green"},
                "pink": {"pink"}, "red": {"red"}, "silver": {"grey"}, "white": {"white"},
                "yellow": {"yellow"}}
TYPE_WORDS = {"bike": {"motorbike", "bicycle"}, "car": {"car"}, "juggernaut": {"articulated lorry"},
              "minibus": {"minibus", "van"}, "pickup": {"pickup"}, "truck": {"truck"}}


def first_word(word: str) -> str:
    """The first type a description names: "van or minibus" → van, "trucks or ..." → truck."""
    return word.split(" or ")[0].strip()


def _descriptors(paths: list[str], model: str, tag: str, weights: str | None) -> np.ndarray:
    from vehiclust.extract import extract_descriptors

    CACHE.mkdir(parents=True, exist_ok=True)
    f = CACHE / f"{tag}_{model}.npy"
    if f.exists():
        return np.load(f)
    classical = model in ("color-hist", "hog")
    ext = extract_descriptors(paths, model, weights=None if classical else weights, progress=False)
    if ext.heads is not None:  # the model's own head table comes for free: keep it as evidence
        heads = ext.heads.copy()
        heads.insert(0, "path", ext.paths)
        heads.to_csv(CACHE / f"{tag}_heads_{model}.csv", index=False)
    np.save(f, ext.features)
    return ext.features


def _cluster(X: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    X = np.sqrt(np.clip(X, 0, None)) if X.min() >= 0 else X  # Hellinger for histograms
    X /= np.linalg.norm(X, axis=1, keepdims=True) + 1e-12
    Z = PCA(n_components=min(64, X.shape[1]), random_state=seed).fit_transform(X).astype(np.float32)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(Z).astype(np.int64), Z


def _score(table: pd.DataFrame, labels: np.ndarray, truth: np.ndarray, word_col: str, words: dict, min_purity: float) -> tuple[pd.DataFrame, dict]:
    rows = []
    for c, g in pd.Series(truth).groupby(labels):
        major = g.value_counts()
        purity = major.iloc[0] / len(g)
        rec = table.set_index("cluster").loc[c]
        word = str(rec[word_col]) if isinstance(rec[word_col], str) else ""
        rows.append({"cluster": c, "size": len(g), "majority": major.index[0], "purity": round(purity, 3),
                     "word": word, "match": first_word(word) in words[major.index[0]], "name": rec["cluster_name"]})
    per = pd.DataFrame(rows)
    pure = per[per["purity"] >= min_purity]
    summary = {
        "clusters": len(per),
        "images_matched_share": round(float(per.loc[per["match"], "size"].sum() / per["size"].sum()), 4),
        "pure_clusters": len(pure),
        "pure_clusters_matched": int(pure["match"].sum()),
        "pure_images_matched_share": round(float(pure.loc[pure["match"], "size"].sum() / max(pure["size"].sum(), 1)), 4),
    }
    return per, summary


def _pipeline_clusters(X: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """What the pipeline does by default: prepare (L2, PCA 64, the config's whitening), then the
    selector's choice."""
    from vehiclust.cluster import ClusterSelector
    from vehiclust.config import RunConfig
    from vehiclust.prepare import DescriptorPreparer

    cfg = RunConfig()
    Z = DescriptorPreparer(n_components=cfg.pca_components, whiten=cfg.whiten,
                           random_state=seed).fit_transform(np.asarray(X, dtype=np.float32))
    sel = ClusterSelector(random_state=seed, progress=False).fit(Z)
    return np.asarray(sel.labels_, dtype=np.int64), Z, f"ClusterSelector: {sel.best_['family']} {sel.best_['params']}"


def colours(args: argparse.Namespace) -> None:
    files = sorted(str(p) for p in (SHARED / "data" / "vehicle-colors").glob("*/*/*.jpg"))
    truth = np.array([Path(p).parent.name for p in files])
    X = _descriptors(files, args.model or "color-hist", "colours", args.weights)
    k = int(args.k or 18)
    labels, Z = _cluster(X, k, args.seed)
    tables = {f.stem: pd.read_csv(f) for f in sorted(CACHE.glob("colours_heads_*.csv"))}
    for heads in ([False, True] if args.heads else [False]):
        start = time.perf_counter()
        d = ClusterDescriber(n_images=args.n_images, run_heads=heads, weights=args.weights,
                             random_state=args.seed, progress=False).fit(
            labels, Z, paths=files, head_tables=tables if heads and tables else None, cache=EvidenceCache())
        per, summary = _score(d.clusters_, labels, truth, "colour", COLOUR_WORDS, 0.0)
        print(f"\nvehicle-colors: {len(files)} images, {args.model or 'color-hist'} descriptors, KMeans k={k}, "
              f"{'with' if heads else 'without'} model heads, {time.perf_counter() - start:.0f} s")
        print(per.to_string(index=False))
        print("colour word matches the majority true colour for "
              f"{summary['images_matched_share']:.1%} of the images ({summary})")
        if args.show:
            print(d.clusters_[["cluster", "cluster_name", "description"]].to_string(index=False))


def types(args: argparse.Namespace) -> None:
    if args.descriptors:
        src = Path(args.descriptors)
        paths = pd.read_csv(src / "paths.csv").iloc[:, 0].astype(str).tolist()
        X = np.load(src / f"{args.model or 'efficientnet-lite0'}.npy")
    else:
        paths = sorted(str(p) for p in (SHARED / "data" / "vehicles-zenodo").glob("*/*.jpg"))
        X = _descriptors(paths, args.model or "efficientnet-lite0", "zenodo", args.weights)
    base = SHARED / "data" / "vehicles-zenodo"
    files = [p if Path(p).is_absolute() else str(base / p.replace("\\", "/")) for p in paths]
    truth = np.array([Path(p).parent.name for p in files])
    head_tables = {}
    if args.descriptors and args.use_head_tables:
        for f in sorted(Path(args.descriptors).glob("heads_*.csv")):
            head_tables[f.stem] = pd.read_csv(f)
    cache = EvidenceCache()  # the models run once per image across the clusterings
    totals = []
    for k in [int(v) for v in str(args.k or "0").split(",")]:
        if k == 0:
            labels, Z, how = _pipeline_clusters(X, args.seed)
        else:
            labels, Z = _cluster(X, k, args.seed)
            how = f"KMeans k={k} (L2, PCA 64)"
        start = time.perf_counter()
        d = ClusterDescriber(n_images=args.n_images, run_heads=not args.no_run_heads, weights=args.weights,
                             random_state=args.seed, progress=False).fit(labels, Z, paths=files, keys=paths,
                                                                         head_tables=head_tables or None, cache=cache)
        per, summary = _score(d.clusters_, labels, truth, "type", TYPE_WORDS, 0.6)
        print(f"\nZenodo: {len(files)} images, {args.model or 'efficientnet-lite0'} descriptors, {how}, "
              f"evidence from {'head tables ' + str(sorted(head_tables)) if head_tables else 'the models run on the sample'}, "
              f"{time.perf_counter() - start:.0f} s")
        print(per.to_string(index=False))
        print(f"type word matches the majority true type in {summary['pure_clusters_matched']} of "
              f"{summary['pure_clusters']} clusters that are >= 60% pure ({summary['pure_images_matched_share']:.1%} "
              f"of their images); over all clusters {summary['images_matched_share']:.1%} of images ({summary})")
        if args.show:
            print(d.clusters_[["cluster", "cluster_name", "description"]].to_string(index=False))
        totals.append(summary)
    if len(totals) > 1:
        print(f"\nall clusterings: {sum(t['pure_clusters_matched'] for t in totals)} of "
              f"{sum(t['pure_clusters'] for t in totals)} clusters >= 60% pure named right")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task", choices=["colours", "types"])
    ap.add_argument("--k", default=None, help="colours: k (default 18); types: comma list, 0 = the "
                    "pipeline's ClusterSelector (default 0)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-images", type=int, default=64)
    ap.add_argument("--model", default=None)
    ap.add_argument("--descriptors", default=None)
    ap.add_argument("--weights", default=str(SHARED / "models"))
    ap.add_argument("--heads", action="store_true", help="colours: also score with model heads")
    ap.add_argument("--show", action="store_true", help="print every description")
    ap.add_argument("--no-run-heads", action="store_true", help="types: never run the models")
    ap.add_argument("--use-head-tables", action="store_true", help="types: use heads_*.csv in --descriptors")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"{SHARED} is absent: this benchmark needs the real images (or set VEHICLUST_SHARED).", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    {"colours": colours, "types": types}[args.task](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
