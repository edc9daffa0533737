"""Benchmark of the outlier stage.

``real``: real Zenodo vehicles mixed with real Udacity road scenes without a vehicle (about
8 % of rows) plus vehicle images with planted problems (blur, darkness, overexposure,
slivers, truncation, copies); descriptors from a real model. Reports, per reason, precision
and recall at the chosen thresholds, and the AUROC of ``outlier_score`` for "any problem".

``big``: a case-shaped prepared space (416,314 x 64 float32 by default, generated in /tmp
with planted outliers) through the descriptor-space ensemble: time, peak RSS, AUROC.
Run it under ``flock /tmp/vehiclust-big.lock``.

``score-run``: the issue's figures for a `vehiclust run --images` output on a planted set
(truth.csv: path, truth): AUROC of ``outlier_score`` for any problem, ``no_vehicle`` recall and
precision over clean vehicles + road scenes, truncated files flagged, ``outlier_kind`` by truth.

``compositions``: the no_vehicle cut on seeded draws of different compositions (0, 2, 6, 15 %
road scenes among Zenodo vehicles; with GTI video frames; a small set), from one ``--data``
folder (truth.csv, efficientnet-lite0.npy and the image checks' vehicle_confidence in
checks.parquet or image_checks.csv, row-aligned): recall, precision and vehicles flagged.

``shares``: per real descriptor set (NAME.npy row-aligned with truth.csv), the share of clean
vehicles the descriptor ensemble flags and the AUROC of road scenes. ``twins``: descriptor-space
near-duplicates on consecutive GTI video frames.

    python bench/outliers.py real --shared ../shared [--vehicles 1500] [--model efficientnet-lite0] [--whiten 0.5]
    python bench/outliers.py real --pipeline --vehicles 1000 --share 0.0566 --plant 10 --keep   # the issue's planted set
    python bench/outliers.py score-run --run RUN_DIR --truth truth.csv
    python bench/outliers.py shares --data DIR
    python bench/outliers.py compositions --data DIR [--model efficientnet-lite0] [--seeds 3]
    python bench/outliers.py twins --data DIR [--model efficientnet-lite0] [--similarity 0.85 0.9 0.95]
    flock /tmp/vehiclust-big.lock python bench/outliers.py big [--rows 416314] [--dims 64]
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust import defaults
from PIL import Image, ImageFilter
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[1]
PLANTS = ("blurry", "dark", "overexposed", "odd_size", "unreadable", "near_duplicate")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_real_case(shared: Path, dest: Path, n_vehicles: int, share: float, n_plant: int, seed: int) -> pd.DataFrame:
    """Copy/plant images under dest/images; one row per image with its true problem ('' = none)."""
    rng = np.random.default_rng(seed)
    zen = sorted((shared / "data" / "vehicles-zenodo").glob("*/*.jpg"))
    non = sorted((shared / "data" / "vehicles-udacity" / "non-vehicles").glob("*/*.png"))
    n_non = int(round(share * n_vehicles / (1.0 - share)))
    pick = rng.permutation(len(zen))
    vehicles = [zen[i] for i in pick[:n_vehicles]]
    spare = [zen[i] for i in pick[n_vehicles:]]
    scenes = [non[i] for i in rng.choice(len(non), size=n_non, replace=False)]
    images = dest / "images"
    rows: list[tuple[str, str]] = []

    def target(rel: str) -> Path:
        p = images / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    for src in vehicles:
        rel = f"vehicle/{src.parent.name}_{src.name}"
        shutil.copyfile(src, target(rel))
        rows.append((rel, ""))
    for src in scenes:
        rel = f"scene/{src.parent.name}_{src.name}"
        shutil.copyfile(src, target(rel))
        rows.append((rel, "no_vehicle"))
    it = iter(spare)
    for i in range(n_plant):
        im = Image.open(next(it)).convert("RGB")
        rel = f"planted/blurry_{i}.png"
        im.filter(ImageFilter.GaussianBlur(3)).save(target(rel))
        rows.append((rel, "blurry"))
        a = np.asarray(Image.open(next(it)).convert("RGB"), dtype=np.float32)
        rel = f"planted/dark_{i}.png"
        Image.fromarray((a * 0.2).astype(np.uint8)).save(target(rel))
        rows.append((rel, "dark"))
        a = np.asarray(Image.open(next(it)).convert("RGB"), dtype=np.float32)
        rel = f"planted/overexposed_{i}.png"
        Image.fromarray((255 - (255 - a) * 0.15).astype(np.uint8)).save(target(rel))
        rows.append((rel, "overexposed"))
        rel = f"planted/sliver_{i}.png"
        Image.open(next(it)).convert("RGB").crop((0, 40, 100, 56)).save(target(rel))
        rows.append((rel, "odd_size"))
        data = next(it).read_bytes()
        rel = f"planted/truncated_{i}.jpg"
        target(rel).write_bytes(data[: len(data) // 3])
        rows.append((rel, "unreadable"))
        src = images / rows[int(rng.integers(0, n_vehicles))][0]
        rel = f"planted/copy_{i}.jpg"
        Image.open(src).convert("RGB").save(target(rel), quality=70)
        rows.append((rel, "near_duplicate"))
    frame = pd.DataFrame(rows, columns=["path", "truth"])
    frame["path"] = frame["path"].str.replace("/", "\\", regex=False)
    pd.DataFrame({"paths": frame["path"]}).to_csv(dest / "images_paths.csv", index=False)
    return frame


def per_reason(truth: pd.Series, reasons: pd.Series, codes: list[str]) -> pd.DataFrame:
    out = []
    sets = reasons.fillna("").astype(str).str.split(";").apply(lambda r: {x for x in r if x})
    for code in codes:
        flagged = sets.apply(lambda s, c=code: c in s).to_numpy()
        true = (truth == code).to_numpy()
        tp = int((flagged & true).sum())
        out.append({
            "reason": code,
            "true": int(true.sum()),
            "flagged": int(flagged.sum()),
            "on_other_problems": int((flagged & ~true & (truth != "").to_numpy()).sum()),
            "on_clean_vehicles": int((flagged & (truth == "").to_numpy()).sum()),
            "precision": round(tp / flagged.sum(), 3) if flagged.sum() else float("nan"),
            "recall": round(tp / true.sum(), 3) if true.sum() else float("nan"),
        })
    return pd.DataFrame(out)


def bench_real(args: argparse.Namespace) -> None:
    from vehiclust.extract import extract_descriptors
    from vehiclust.outliers import find_outliers

    shared = Path(args.shared).resolve()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="vehiclust-bench-outliers-"))
    work.mkdir(parents=True, exist_ok=True)
    frame = build_real_case(shared, work, args.vehicles, args.share, args.plant, args.seed)
    n = len(frame)
    print(f"case: {n} images = {args.vehicles} Zenodo vehicles + {(frame.truth == 'no_vehicle').sum()} Udacity road scenes "
          f"({(frame.truth == 'no_vehicle').mean():.1%}) + {args.plant} x {len(PLANTS)} planted problems; work dir {work}")
    desc = work / f"{args.model}.npy"
    t = time.perf_counter()
    if not desc.exists():  # a kept --work folder reuses its descriptors and image cache
        ext = extract_descriptors(frame["path"].tolist(), args.model, root=work / "images", progress=False,
                                  checkpoint=work / f"extract-checkpoint-{args.model}")
        np.save(desc, ext.features)
    print(f"descriptors {args.model}: {time.perf_counter() - t:.1f} s")
    if args.pipeline:  # the route: `vehiclust run --images` on the planted set
        from vehiclust.config import RunConfig
        from vehiclust.pipeline import run

        frame.to_csv(work / "truth.csv", index=False)
        t = time.perf_counter()
        run(RunConfig(descriptors={args.model: desc}, paths=work / "images_paths.csv", images=work / "images",
                      out=work / "run", seed=args.seed, families=("kmeans", "gmm"), progress=False, notebook=False,
                      html=False, map_3d=False))
        print(f"vehiclust run: {time.perf_counter() - t:.1f} s")
        score_run(argparse.Namespace(run=work / "run", truth=work / "truth.csv"))
        return
    t = time.perf_counter()
    report = find_outliers({args.model: desc}, work / "images_paths.csv", images=work / "images",
                           n_clusters=args.clusters, whiten=args.whiten, random_state=args.seed, cache_dir=work / "cache",
                           weights=shared / "models", progress=False)
    print(f"outlier stage (image checks + descriptor ensemble): {time.perf_counter() - t:.1f} s")
    table = report.tables[args.model]
    checks = report.image_checks
    truth = frame["truth"]
    any_problem = (truth != "").to_numpy()
    codes = ["no_vehicle", *PLANTS]
    pd.set_option("display.width", 200)
    print("\nper reason at the default thresholds (all rows):")
    print(per_reason(truth, table["outlier_reasons"], codes).to_string(index=False))
    mix = ((truth == "") | (truth == "no_vehicle")).to_numpy()
    print("\nno_vehicle on Zenodo vehicles + Udacity road scenes only:")
    print(per_reason(truth[mix], table["outlier_reasons"][mix], ["no_vehicle"]).to_string(index=False))
    is_scene = (truth[mix] == "no_vehicle").to_numpy()
    conf = checks.loc[mix, "vehicle_confidence"].to_numpy(float)
    print(f"  AUROC 1 - vehicle_confidence: {roc_auc_score(is_scene, -np.nan_to_num(conf, nan=0.0)):.3f}")
    print(f"  AUROC descriptor ensemble:    {roc_auc_score(is_scene, table.loc[mix, 'descriptor_outlierness']):.3f}")
    print(f"  AUROC outlier_score:          {roc_auc_score(is_scene, table.loc[mix, 'outlier_score']):.3f}")
    flagged = table["is_outlier"].to_numpy()
    print(f"\nany problem: AUROC of outlier_score {roc_auc_score(any_problem, table['outlier_score']):.3f}; "
          f"flagged {flagged.sum()} of {n}: precision {any_problem[flagged].mean():.3f}, recall {flagged[any_problem].mean():.3f}")
    clean = ~any_problem
    desc_codes = ["far_from_data", "isolated", "far_from_cluster", "low_local_density", "low_density"]
    sets = table["outlier_reasons"].str.split(";")
    counts = {c: int(sets[clean].apply(lambda s, c=c: c in s).sum()) for c in desc_codes}
    print(f"descriptor-space reasons on clean vehicles ({clean.sum()}): {counts}")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def descriptor_ensemble(raw: np.ndarray, seed: int, whiten: float = defaults.WHITEN, n_clusters: int = 8) -> tuple[np.ndarray, "object"]:
    """Prepare ``raw`` as the pipeline does (valid rows only) and fit the descriptor ensemble."""
    from sklearn.cluster import MiniBatchKMeans

    from vehiclust.outliers import OutlierEnsemble
    from vehiclust.prepare import DescriptorPreparer

    X = DescriptorPreparer(n_components=defaults.PCA_COMPONENTS, whiten=whiten, random_state=seed).fit_transform(raw)
    labels = MiniBatchKMeans(n_clusters, n_init=3, random_state=seed, batch_size=4096).fit_predict(X)
    return X, OutlierEnsemble(random_state=seed).fit(X, labels)


def bench_shares(args: argparse.Namespace) -> None:
    """Flagged share of clean vehicles and AUROC of road scenes, per descriptor set.

    ``--data`` holds ``truth.csv`` (path, truth: '' = Zenodo vehicle, 'road'/'no_vehicle' =
    Udacity road scene; other rows are left out) and one ``NAME.npy`` per set, row-aligned;
    ``heads-va.csv`` adds the 11-d colour/type probabilities of vehicle-attributes as a set.
    """
    data = Path(args.data)
    truth = pd.read_csv(data / "truth.csv", keep_default_na=False)["truth"]
    keep = truth.isin(["", "road", "no_vehicle"]).to_numpy()
    road = truth[keep].isin(["road", "no_vehicle"]).to_numpy()
    sets = {p.stem: np.load(p) for p in sorted(data.glob("*.npy"))}
    if (data / "heads-va.csv").exists():
        heads = pd.read_csv(data / "heads-va.csv")
        sets["vehicle-attributes-probs"] = heads[[c for c in heads if c.startswith(("color_", "type_"))]].to_numpy(np.float32)
    print(f"{int((~road).sum())} Zenodo vehicles + {int(road.sum())} Udacity road scenes")
    rows = []
    for name, raw in sets.items():
        raw = raw[keep]
        ok = np.isfinite(raw).all(axis=1)
        _, ens = descriptor_ensemble(raw[ok], args.seed)
        flag = ens.labels_.astype(bool)
        r = road[ok]
        rows.append({"set": name, "dims": raw.shape[1], "AUROC road": round(roc_auc_score(r, ens.decision_scores_), 3),
                     "vehicles flagged": f"{flag[~r].mean():.1%}", "road flagged": f"{flag[r].mean():.1%}",
                     "all flagged": f"{flag.mean():.1%}"})
    print(pd.DataFrame(rows).to_string(index=False))


def bench_twins(args: argparse.Namespace) -> None:
    """Descriptor-space twins on consecutive GTI video frames vs Zenodo vehicles (no frames).

    Same ``--data`` layout as ``shares``; rows with truth 'gti' are GTI frames (path
    ``gti\\<folder>\\imageNNNN.png``), '' Zenodo vehicles, 'near_duplicate' planted re-saved copies.
    """
    from vehiclust.neighbors import knn_graph
    from vehiclust.outliers import OutlierEnsemble
    from vehiclust.prepare import DescriptorPreparer

    data = Path(args.data)
    frame = pd.read_csv(data / "truth.csv", keep_default_na=False)
    raw = np.load(data / f"{args.model}.npy")
    ok = np.isfinite(raw).all(axis=1)
    frame, raw = frame[ok].reset_index(drop=True), raw[ok]
    X = DescriptorPreparer(n_components=defaults.PCA_COMPONENTS, whiten=defaults.WHITEN, random_state=args.seed).fit_transform(raw)
    graph = knn_graph(X, 10, random_state=args.seed)
    truth = frame["truth"].to_numpy()
    gti = truth == "gti"
    folder = frame["path"].str.split("\\").str[1].where(gti, "")
    number = pd.to_numeric(frame["path"].str.extract(r"image(\d+)", expand=False), errors="coerce").to_numpy()
    rows = []
    for sim in args.similarity:
        ens = OutlierEnsemble(duplicate_similarity=sim, random_state=args.seed).fit(X, graph=graph)
        twin = ens.twin_of_
        dup = twin >= 0
        same = dup & gti & gti[np.where(dup, twin, 0)] & (folder.to_numpy() == folder.to_numpy()[np.where(dup, twin, 0)])
        gap = np.abs(number - number[np.where(dup, twin, 0)])
        rows.append({"min cosine": sim,
                     "GTI frames flagged": f"{dup[gti].mean():.1%} ({int(dup[gti].sum())}/{int(gti.sum())})",
                     "twin = same folder, <= 5 frames apart": f"{(same & (gap <= 5))[dup & gti].mean():.1%}",
                     "Zenodo vehicles flagged": f"{dup[truth == ''].mean():.1%}",
                     "planted copies flagged": f"{dup[truth == 'near_duplicate'].mean():.0%}"})
    print(f"{args.model}: {int(gti.sum())} GTI frames ({', '.join(sorted(set(folder[gti])))}), "
          f"{int((truth == '').sum())} Zenodo vehicles")
    print(pd.DataFrame(rows).to_string(index=False))


def bench_compositions(args: argparse.Namespace) -> None:
    """NoVehicleScorer on seeded draws of several compositions (see the module docstring)."""
    from vehiclust.neighbors import knn_graph
    from vehiclust.outliers import NoVehicleScorer
    from vehiclust.prepare import DescriptorPreparer

    data = Path(args.data)
    truth = pd.read_csv(data / "truth.csv", keep_default_na=False)["truth"].to_numpy()
    checks = (pd.read_parquet(data / "checks.parquet") if (data / "checks.parquet").exists()
              else pd.read_csv(data / "image_checks.csv"))
    conf_all = checks["vehicle_confidence"].to_numpy(np.float64)
    raw_all = np.load(data / f"{args.model}.npy")
    veh = np.flatnonzero(truth == "")
    road = np.flatnonzero(np.isin(truth, ["road", "no_vehicle"]))
    gti = np.flatnonzero(truth == "gti")
    rows = []
    for n_veh, share, n_gti in [(1000, 0.0, 0), (1000, 0.02, 0), (1000, 0.06, 0), (1000, 0.15, 0), (500, 0.06, 400),
                                (400, 0.0, 400), (240, 0.1, 0)]:
        if n_gti > len(gti):
            continue
        n_road = int(round(share * (n_veh + n_gti) / (1 - share)))
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed + 10)
            idx = np.r_[rng.choice(veh, n_veh, replace=False), rng.choice(road, n_road, replace=False),
                        rng.choice(gti, n_gti, replace=False)]
            y = np.r_[np.zeros(n_veh, bool), np.ones(n_road, bool), np.zeros(n_gti, bool)]
            X = DescriptorPreparer(n_components=defaults.PCA_COMPONENTS, whiten=defaults.WHITEN, random_state=0).fit_transform(raw_all[idx])
            ind = knn_graph(X, 10, random_state=0).indices
            for how, scorer in (("data-driven", NoVehicleScorer().fit(conf_all[idx], ind, None, X)),
                                ("fixed -2.0", NoVehicleScorer().fit(conf_all[idx], ind))):
                f = scorer.labels_.astype(bool)
                rows.append({"vehicles": n_veh, "GTI frames": n_gti, "road share": f"{share:.0%}", "rule": how,
                             "seed": seed, "recall": f[y].mean() if y.any() else np.nan,
                             "precision": y[f].mean() if f.any() else np.nan, "vehicles flagged": int(f[~y].sum())})
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["vehicles", "GTI frames", "road share", "rule"], sort=False).agg(
        recall_min=("recall", "min"), recall_max=("recall", "max"), precision_min=("precision", "min"),
        vehicles_flagged=("vehicles flagged", lambda v: "/".join(str(x) for x in v)))
    print(f"{args.model}, {args.seeds} seeds per composition (recall/precision: min over seeds; NaN: nothing to find/flagged)")
    print(summary.round(2).to_string())


def score_run(args: argparse.Namespace) -> None:
    """Score a `vehiclust run --images` output against the planted truth (``real`` builds one:
    truth.csv with path, truth). Prints the issue's figures: AUROC of outlier_score for any
    problem, no_vehicle precision/recall over clean vehicles + road scenes, unreadable caught,
    outlier_kind by truth."""
    table = pd.read_csv(Path(args.run) / "clusters.csv", keep_default_na=False)
    truth = pd.read_csv(args.truth, keep_default_na=False)
    truth = truth.set_index(truth["path"].str.replace("\\\\", "/", regex=True))["truth"]
    table["path"] = table["path"].str.replace("\\\\", "/", regex=True)
    t = truth.reindex(table["path"]).to_numpy()
    any_problem = t != ""
    print(f"{len(t)} rows: {int((t == '').sum())} clean vehicles, {int((t == 'no_vehicle').sum())} road scenes, "
          f"{int((any_problem & (t != 'no_vehicle')).sum())} planted problems")
    print(f"AUROC outlier_score, any problem: {roc_auc_score(any_problem, table['outlier_score']):.3f}")
    reasons = table["outlier_reasons"].str.split(";").apply(set)
    nv = reasons.apply(lambda r: "no_vehicle" in r).to_numpy()
    mix = (t == "") | (t == "no_vehicle")
    y = t[mix] == "no_vehicle"
    f = nv[mix]
    print(f"no_vehicle over clean vehicles + road scenes: recall {f[y].mean():.3f}, precision "
          f"{y[f].mean() if f.any() else float('nan'):.3f} ({int(f.sum())} flagged, {int((f & ~y).sum())} vehicles)")
    trunc = table["path"].str.contains("truncated").to_numpy()
    print(f"truncated files flagged: {int(table['is_outlier'].to_numpy()[trunc].sum())} of {int(trunc.sum())}")
    print("outlier_kind by truth:")
    print(pd.crosstab(pd.Series(np.where(t == "", "(clean)", t), name="truth"), table["outlier_kind"].replace("", "(none)")).to_string())


def bench_big(args: argparse.Namespace) -> None:
    from vehiclust.outliers import OutlierEnsemble

    rng = np.random.default_rng(args.seed)
    n, d, k = args.rows, args.dims, args.clusters
    n_out = int(0.01 * n)
    t = time.perf_counter()
    centres = rng.normal(0, 1, (k, d)).astype(np.float32) * 3
    labels = rng.integers(0, k, n)
    X = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 65536):
        lab = labels[s:s + 65536]
        X[s:s + 65536] = centres[lab] + rng.normal(0, 1, (len(lab), d)).astype(np.float32)
    planted = rng.choice(n, size=n_out, replace=False)
    half = n_out // 2
    # scattered far rows, and a dense abnormal group (like road scenes among vehicles)
    X[planted[:half]] = rng.uniform(-12, 12, (half, d)).astype(np.float32)
    X[planted[half:]] = (rng.normal(0, 0.3, (n_out - half, d)) + 7.0).astype(np.float32)
    y = np.zeros(n, bool)
    y[planted] = True
    print(f"generated {n:,} x {d} float32 ({X.nbytes / 2**20:.0f} MiB), {n_out:,} planted outliers in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    ens = OutlierEnsemble(random_state=args.seed).fit(X, labels)
    dt = time.perf_counter() - t
    print(f"descriptor-space ensemble: {dt:.1f} s, peak RSS {_peak_rss_mb():,.0f} MiB, detectors {list(ens.detectors_)}")
    print(f"AUROC {roc_auc_score(y, ens.decision_scores_):.3f}; flagged {ens.labels_.sum():,}: "
          f"precision {y[ens.labels_ == 1].mean():.3f}, recall {ens.labels_[y].mean():.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="which", required=True)
    real = sub.add_parser("real", help="real images with real and planted problems")
    real.add_argument("--shared", default=str(REPO.parent / "shared"))
    real.add_argument("--vehicles", type=int, default=1500)
    real.add_argument("--share", type=float, default=0.08, help="share of road scenes among vehicles + scenes")
    real.add_argument("--plant", type=int, default=10, help="images per planted problem")
    real.add_argument("--model", default="efficientnet-lite0")
    real.add_argument("--clusters", type=int, default=8)
    real.add_argument("--work", default=None, help="work folder (default: a new temporary folder)")
    real.add_argument("--keep", action="store_true", help="keep the work folder")
    real.add_argument("--seed", type=int, default=0)
    real.add_argument("--pipeline", action="store_true",
                      help="score `vehiclust run --images` (as the issue does) instead of find_outliers")
    real.add_argument("--whiten", type=float, default=defaults.WHITEN,
                      help="DescriptorPreparer(whiten=P), as the pipeline (0.5); 0 = none")
    shares = sub.add_parser("shares", help="descriptor-space flagged share per real descriptor set")
    shares.add_argument("--data", required=True, help="folder with truth.csv and NAME.npy row-aligned sets")
    shares.add_argument("--seed", type=int, default=0)
    twins = sub.add_parser("twins", help="descriptor-space near-duplicates on GTI video frames")
    twins.add_argument("--data", required=True, help="folder with truth.csv and NAME.npy row-aligned sets")
    twins.add_argument("--model", default="efficientnet-lite0")
    twins.add_argument("--similarity", type=float, nargs="+", default=[0.9, 0.93, 0.95, 0.97])
    twins.add_argument("--seed", type=int, default=0)
    comp = sub.add_parser("compositions", help="the no_vehicle cut on several compositions of real images")
    comp.add_argument("--data", required=True, help="folder with truth.csv, MODEL.npy and checks.parquet/image_checks.csv")
    comp.add_argument("--model", default="efficientnet-lite0")
    comp.add_argument("--seeds", type=int, default=3)
    score = sub.add_parser("score-run", help="score a vehiclust run on a planted set (truth.csv)")
    score.add_argument("--run", required=True, help="the run's output folder")
    score.add_argument("--truth", required=True, help="truth.csv: path, truth ('' = clean vehicle)")
    big = sub.add_parser("big", help="case-shaped prepared space, time and memory")
    big.add_argument("--rows", type=int, default=416_314)
    big.add_argument("--dims", type=int, default=64)
    big.add_argument("--clusters", type=int, default=20)
    big.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.which == "shares":
        bench_shares(args)
    elif args.which == "twins":
        bench_twins(args)
    elif args.which == "compositions":
        bench_compositions(args)
    elif args.which == "score-run":
        score_run(args)
    elif args.which == "real":
        if not (Path(args.shared) / "data").is_dir():
            raise SystemExit(f"{args.shared} has no data/: the real benchmark needs ../shared")
        bench_real(args)
    else:
        bench_big(args)


if __name__ == "__main__":
    main()
