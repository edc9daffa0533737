"""Colour words on traffic-crop-like images: are the names' colour words the clusters' true colours?

Builds a test set from ../shared: real vehicle-colors car photos (9 colours) shrunk to 45-75 %
of a ~100 px canvas and pasted, with a soft elliptical edge, into real Udacity non-vehicle road
patches (upscaled 64 px crops), then blurred and JPEG-compressed so they look like the small,
low-quality traffic crops of the case. File names carry no colour; the truth goes to
``truth.csv`` and is read only by the scoring here. Then, as a user would:

    vehiclust extract -m vehicle-attributes --images SET/images --out SET/vehicle-attributes.pkl
    vehiclust run -d vehicle-attributes=SET/vehicle-attributes.pkl --paths SET/images_paths.csv \\
        --images SET/images --out SET/run --seed 0 --no-notebook      (no labels, no head tables)

and scores ``SET/run/clusters.csv`` + the per-cluster table: the share of images whose
cluster's colour word is the cluster's majority true colour (vehicle-colors' "silver" counts
as grey), and whether two clusters share a name. vehicle-colors is for evaluation only: nothing
in the describer is fitted on it (its colour rules are plain thresholds). ``--style other``
builds the set differently (canvas 64-150 px, car 35-90 % of it anywhere, pasted without a
soft edge, pixelated or blurred, exposure 0.7-1.15, JPEG 40-90, train split) to check that the
words hold on a set not shaped like this one. ``--style dusk`` makes small (40-80 px), dim
(exposure 0.5-0.9), slightly tinted crops with the car filling most of the frame.

    python bench/colour_words.py --out /tmp/words-colourset [--per-colour 100] [--seed 0] [--style other]

``--sources`` (after a run) scores each image's colour by each source the describer has: the
colour model on the detector's vehicle box, the colour model on the whole image, the pixel
palette inside the box, and the word the names are made of (pixels and box model together):
accuracy, per-colour recall and the confusion table (truth in rows). ``--kmeans 4,6,8`` (after a
run) clusters the same images otherwise (k-means at each k) and scores the describer's names of
each clustering: the names must hold on clusterings other than the pipeline's one choice.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VEHICLUST_SHARED", ROOT.parent / "shared"))
COLOURS = ("black", "blue", "brown", "green", "pink", "red", "silver", "white", "yellow")
# The word that names each true colour (vehicle-colors' silver is a light grey to a person).
WORD = {"silver": "grey"}
COLOUR_WORDS = ("black", "grey", "white", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")


def composite(car: Image.Image, road: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One traffic-crop-like image: the car photo shrunk into a road patch."""
    side = int(rng.integers(92, 116))
    canvas = road.convert("RGB").resize((side, side), Image.BILINEAR)
    car = car.convert("RGB")
    w0, h0 = car.size
    m = rng.uniform(0.0, 0.08)  # trim a little of the photo's own margin
    car = car.crop((int(w0 * m), int(h0 * m), int(w0 * (1 - m)), int(h0 * (1 - m))))
    cw = int(side * rng.uniform(0.45, 0.75))
    ch = max(8, int(cw * car.size[1] / car.size[0] * rng.uniform(0.8, 1.0)))
    car = car.resize((cw, ch), Image.LANCZOS)
    mask = Image.new("L", (cw, ch), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, cw - 1, ch - 1), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(cw * 0.06))
    x = int((side - cw) / 2 + rng.uniform(-0.1, 0.1) * side)
    y = int((side - ch) / 2 + rng.uniform(-0.1, 0.1) * side)
    canvas.paste(car, (x, y), mask)
    small = canvas.resize((int(side * 0.7), int(side * 0.7)), Image.BILINEAR).resize((side, side), Image.BILINEAR)
    return small.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.6)))


def _shrunk(car: Image.Image, side: int, width: tuple[float, float], aspect: tuple[float, float], min_h: int,
            resample: int, rng: np.random.Generator) -> Image.Image:
    """The car photo resized to a random share ``width`` of the canvas side, its aspect ratio
    jittered by ``aspect``, at least ``min_h`` px high and at most the canvas."""
    car = car.convert("RGB")
    w0, h0 = car.size
    cw = int(side * rng.uniform(*width))
    ch = min(side, max(min_h, int(cw * h0 / w0 * rng.uniform(*aspect))))
    return car.resize((cw, ch), resample)


def composite_other(car: Image.Image, road: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A differently made traffic-crop-like image: any size, the car anywhere, a hard edge,
    pixelated or blurred, darker or lighter."""
    side = int(rng.integers(64, 150))
    canvas = road.convert("RGB").resize((side, side), Image.BICUBIC)
    car = _shrunk(car, side, (0.35, 0.9), (0.7, 1.1), 8, Image.BILINEAR, rng)
    cw, ch = car.size
    canvas.paste(car, (int(rng.uniform(0, max(1, side - cw))), int(rng.uniform(0, max(1, side - ch)))))
    small = max(8, int(side * rng.uniform(0.4, 0.9)))
    up = Image.NEAREST if rng.random() < 0.3 else Image.BILINEAR
    out = canvas.resize((small, small), Image.BILINEAR).resize((side, side), up)
    lit = np.asarray(out, dtype=np.float32) * rng.uniform(0.7, 1.15)
    return Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))


def composite_dusk(car: Image.Image, road: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A third make: small, dim, tinted crops (dusk or a cheap camera): canvas 40-80 px, the car
    55-95 % of it near the centre, exposure 0.5-0.9 with a slight colour cast, box-downsampled and
    sharpened back up."""
    side = int(rng.integers(40, 80))
    canvas = road.convert("RGB").resize((side, side), Image.BILINEAR)
    car = _shrunk(car, side, (0.55, 0.95), (0.75, 1.0), 6, Image.BOX, rng)
    cw, ch = car.size
    x = int((side - cw) / 2 + rng.uniform(-0.08, 0.08) * side)
    y = int((side - ch) / 2 + rng.uniform(-0.08, 0.08) * side)
    canvas.paste(car, (min(max(x, 0), side - cw), min(max(y, 0), side - ch)))
    small = max(8, int(side * rng.uniform(0.6, 1.0)))
    out = canvas.resize((small, small), Image.BOX).resize((side, side), Image.BICUBIC)
    gain = rng.uniform(0.5, 0.9) * rng.uniform(0.92, 1.08, size=3)  # dimmer, each channel a little off
    lit = np.asarray(out, dtype=np.float32) * gain.astype(np.float32)
    return Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8)).filter(ImageFilter.SHARPEN)


STYLES = {"soft": composite, "other": composite_other, "dusk": composite_dusk}
QUALITY = {"soft": (55, 85), "other": (40, 90), "dusk": (35, 75)}


def build(out: Path, per_colour: int, seed: int, split: str = "test", style: str = "soft") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    make = STYLES[style]
    roads = sorted((SHARED / "data" / "vehicles-udacity" / "non-vehicles").glob("*/*.png"))
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    picks = []
    for colour in COLOURS:
        files = sorted((SHARED / "data" / "vehicle-colors").glob(f"{split}/{colour}/*.jpg"))
        chosen = rng.choice(len(files), size=min(per_colour, len(files)), replace=False)
        picks += [(colour, files[i]) for i in sorted(chosen)]
    order = rng.permutation(len(picks))  # file numbers say nothing about the colour
    for n, i in enumerate(order):
        colour, f = picks[i]
        road = roads[int(rng.integers(len(roads)))]
        with Image.open(f) as car, Image.open(road) as bg:
            img = make(car, bg, rng)
        name = f"crop{n:05d}.jpg"
        img.save(images / name, quality=int(rng.integers(*QUALITY[style])))
        rows.append({"path": name, "colour": colour, "source": str(f.relative_to(SHARED)),
                     "road": str(road.relative_to(SHARED))})
    truth = pd.DataFrame(rows).sort_values("path").reset_index(drop=True)
    truth.to_csv(out / "truth.csv", index=False)
    truth[["path"]].to_csv(out / "images_paths.csv", index=False)
    return truth


def vehiclust(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = [sys.executable, "-m", "vehiclust", *args]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, env=env)


def colour_words(name: str) -> list[str]:
    """The colour words of a cluster name, in order ("white or grey" → white, grey)."""
    return [w for w in str(name).replace(",", " ").split() if w in COLOUR_WORDS]


def colour_word(name: str) -> str:
    """The (first) colour word of a cluster name ("" when the name has none)."""
    found = colour_words(name)
    return found[0] if found else ""


def score(out: Path, table: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Score the run's names (``table``: ``path``, ``cluster``, ``cluster_name`` per image;
    default the run's clusters.csv) against the set's truth."""
    truth = pd.read_csv(out / "truth.csv")
    table = pd.read_csv(out / "run" / "clusters.csv") if table is None else table.copy()
    table["file"] = table["path"].astype(str).map(lambda p: Path(p.replace("\\", "/")).name)
    table = table.merge(truth.rename(columns={"path": "file"})[["file", "colour"]], on="file", how="left")
    rows = []
    for c, g in table[table["cluster"] >= 0].groupby("cluster"):
        major = g["colour"].value_counts()
        name = str(g["cluster_name"].iloc[0])
        word = colour_word(name)
        truth_word = WORD.get(major.index[0], major.index[0])
        # Colours tied for the most images: any of them is the majority (value_counts breaks a tie blindly).
        tied = {WORD.get(k, k) for k, v in major.items() if v == major.iloc[0]}
        rows.append({"cluster": int(c), "size": len(g), "majority": major.index[0], "majority_n": int(major.iloc[0]),
                     "tied_with": ",".join(sorted(tied - {truth_word})),
                     "purity": round(major.iloc[0] / len(g), 3), "name": name, "word": word,
                     "match": word == truth_word, "match_tie": word in tied,
                     "match_any": bool(tied & set(colour_words(name)))})
    per = pd.DataFrame(rows)
    names = per["name"].tolist()
    summary = {
        "images": len(table), "clusters": len(per),
        "colour_word_right_share": round(float(per.loc[per["match"], "size"].sum() / per["size"].sum()), 4),
        # the same where a colour tied for the majority counts as the majority
        "colour_word_right_share_ties": round(float(per.loc[per["match_tie"], "size"].sum() / per["size"].sum()), 4),
        # a pair ("white or grey") right when either word is the majority colour
        "any_colour_word_right_share": round(float(per.loc[per["match_any"], "size"].sum() / per["size"].sum()), 4),
        # the ceiling of images whose own true colour is their cluster's word: the clustering's purity
        "purity_ceiling": round(float(per["majority_n"].sum() / len(table)), 4),
        "images_true_colour_is_the_word": round(float(per.loc[per["match"], "majority_n"].sum() / len(table)), 4),
        "duplicate_names": sorted({n for n in names if names.count(n) > 1}),
        "clusters_with_colour_word": int((per["word"] != "").sum()),
    }
    return per, summary


SOURCES = {"box_colour": "colour model on the vehicle box", "head_colour": "colour model on the whole image",
           "colour": "pixel palette inside the box", "vehicle_colour": "pixels and box model together (names)"}


def sources(out: Path) -> pd.DataFrame:
    """Per image, the colour word of each source (:data:`SOURCES`) beside its true colour."""
    from vehiclust.describe import ClusterDescriber

    truth = pd.read_csv(out / "truth.csv")
    paths = [str(out / "images" / p) for p in truth["path"]]
    d = ClusterDescriber(n_images=len(paths), random_state=0, progress=False,
                         cache_dir=out / "run" / ".cache" / "image_checks")
    d.fit(np.zeros(len(paths), dtype=np.int64), paths=paths)
    ev = d.image_evidence_.set_index("row").sort_index()
    table = pd.DataFrame({"truth": truth["colour"].map(lambda c: WORD.get(c, c))})
    for col in SOURCES:
        table[col] = ev[col].fillna("").astype(str).to_numpy() if col in ev else ""
    pd.set_option("display.width", 200)
    for col, what in SOURCES.items():
        right = table[col] == table["truth"]
        recall = right.groupby(table["truth"]).mean().round(2).to_dict()
        print(f"\n{what} ({col}): right for {right.mean():.1%} of {len(table)} images; recall {recall}")
        print(pd.crosstab(table["truth"], table[col]).to_string())
    return table


def other_clusterings(out: Path, ks: list[int], seed: int) -> list[dict]:
    """The same set's images clustered otherwise (k-means at each k on the prepared
    vehicle-attributes descriptors), each named by the describer as the pipeline names its
    clusters (64 sampled images per cluster, the colour model on the vehicle box, no type
    models): the names' colour words scored as for the run. The images' evidence is measured
    once (one cache) for all k."""
    from sklearn.cluster import KMeans

    from vehiclust.describe import ClusterDescriber, EvidenceCache
    from vehiclust.io import load_descriptors
    from vehiclust.prepare import DescriptorPreparer

    truth = pd.read_csv(out / "truth.csv")
    paths = [str(out / "images" / p) for p in truth["path"]]
    X = np.asarray(load_descriptors(out / "vehicle-attributes.pkl", mmap=False), dtype=np.float32)
    Z = DescriptorPreparer(random_state=seed).fit_transform(X)
    cache, found = EvidenceCache(), []
    for k in ks:
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(Z).astype(np.int64)
        d = ClusterDescriber(run_heads=False, random_state=seed, progress=False,
                             cache_dir=out / "run" / ".cache" / "image_checks")
        d.fit(labels, Z, paths=paths, cache=cache)
        names = dict(zip(d.clusters_["cluster"], d.clusters_["cluster_name"]))
        table = pd.DataFrame({"path": truth["path"], "cluster": labels, "cluster_name": [names[c] for c in labels]})
        per, summary = score(out, table)
        found.append({"k": k, **summary})
        print(f"k-means k={k}: colour word = majority for {summary['colour_word_right_share']:.1%} "
              f"({summary['colour_word_right_share_ties']:.1%} with ties); duplicates: "
              f"{summary['duplicate_names'] or 'none'}; misses: "
              + ("; ".join(f"{r.name!r} (truth {r.majority} {r.majority_n}/{r.size})"
                           for r in per[~per["match_tie"]].itertuples()) or "none"), flush=True)
    right = [f["colour_word_right_share_ties"] for f in found]
    print(f"over {len(found)} clusterings: mean {np.mean(right):.1%}, worst {min(right):.1%}")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/vehiclust-colourset"))
    ap.add_argument("--per-colour", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="test", help="vehicle-colors split the photos come from")
    ap.add_argument("--style", choices=sorted(STYLES), default="soft", help="how the cars are put into the "
                    "road patches (see the module's docstring)")
    ap.add_argument("--score-only", action="store_true", help="score an existing run")
    ap.add_argument("--sources", action="store_true", help="score each image's colour by each source (after a run)")
    ap.add_argument("--rerun", action="store_true", help="reuse the set, descriptors and cached stages; describe again")
    ap.add_argument("--kmeans", default="", help="after a run: also name k-means clusterings of the set at these k "
                    "(comma list, e.g. 4,6,8,10,12) and score each")
    args = ap.parse_args(argv)
    if not (SHARED / "data").is_dir():
        print(f"{SHARED} is absent: this benchmark needs the real images (or set VEHICLUST_SHARED).", file=sys.stderr)
        return 2
    out = args.out
    if args.sources:
        sources(out)
        return 0
    if args.kmeans:
        other_clusterings(out, [int(k) for k in args.kmeans.split(",")], args.seed)
        return 0
    if not args.score_only:
        if not args.rerun:
            truth = build(out, args.per_colour, args.seed, args.split, args.style)
            print(f"built {len(truth)} images in {out / 'images'}: {truth['colour'].value_counts().to_dict()}")
            vehiclust("extract", "-m", "vehicle-attributes", "--images", str(out / "images"),
                      "--paths", str(out / "images_paths.csv"), "--out", str(out / "vehicle-attributes.pkl"))
        vehiclust("run", "-d", f"vehicle-attributes={out / 'vehicle-attributes.pkl'}", "--paths",
                  str(out / "images_paths.csv"), "--images", str(out / "images"), "--out", str(out / "run"),
                  "--seed", str(args.seed), "--no-notebook", *([] if args.rerun else ["--force"]))
    per, summary = score(out)
    pd.set_option("display.width", 200)
    print(per.to_string(index=False))
    print(f"colour word = the cluster's majority true colour for {summary['colour_word_right_share']:.1%} of images "
          f"({summary['colour_word_right_share_ties']:.1%} where a colour tied for the majority counts); "
          f"duplicate names: {summary['duplicate_names'] or 'none'} ({summary})")
    print(f"purity ceiling (sum of clusters' majority counts / images): {summary['purity_ceiling']:.1%}; "
          f"images whose own true colour is their cluster's colour word: {summary['images_true_colour_is_the_word']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
