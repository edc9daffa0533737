"""Per-cluster evidence from per-image evidence: shares, means and distributions.

Everything a description says is one of these numbers; the text module only words them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vehiclust.evidence.head_models import MASS_COLUMNS, MASS_PREFIX
from vehiclust.evidence import CONTINUOUS, sources as evidence_sources

# Where a word came from, as written in descriptions.
SOURCE_PIXELS = "pixel colour"
SOURCE_COLOUR_MODEL = "colour model"
SOURCE_BOX_MODEL = "colour model on the vehicle box"
SOURCE_VEHICLE = "vehicle colour (pixels and colour model)"
# Per-image columns kept on each cluster's evidence, to measure how many images carry a name.
PER_IMAGE_COLUMNS = ["vehicle_colour", "colour", "box_colour", "head_colour", "head_type", "imagenet_type", "dark", "brightness",
                     "saturation", "aspect", "width"] + MASS_COLUMNS
SOURCE_TYPE_MODEL = "type model"
SOURCE_IMAGENET = "ImageNet classifier"


@dataclass
class ClusterEvidence:
    """What is known about one cluster; distributions are word → share of sampled images."""

    cluster: int
    size: int
    share: float
    n_images: int = 0
    # The vehicle's colour per image, pixels and colour model weighed together (the name's source).
    colours: dict[str, float] = field(default_factory=dict)
    colour_source: str = SOURCE_VEHICLE
    pixel_colours: dict[str, float] = field(default_factory=dict)
    model_colours: dict[str, float] = field(default_factory=dict)
    model_colour_source: str = SOURCE_COLOUR_MODEL
    model_types: dict[str, float] = field(default_factory=dict)
    imagenet_types: dict[str, float] = field(default_factory=dict)
    imagenet_classes: dict[str, float] = field(default_factory=dict)
    brightness: float = float("nan")
    dark_share: float = float("nan")
    saturation: float = float("nan")
    aspect: float = float("nan")
    vehicle_prob: float = float("nan")
    width: float = float("nan")  # median image width in pixels
    vehicle_lightness: float = float("nan")  # mean CIELAB lightness inside the vehicle box
    sharpness: float = float("nan")  # median contrast-free Laplacian variance (low = blurry)
    # Share of the ImageNet evidence on any vehicle type (probability mass, or images whose top
    # class is a vehicle), and whether ``imagenet_types`` are probability masses or image shares.
    imagenet_type_mass: float = float("nan")
    imagenet_mass_based: bool = False
    labels: dict[str, dict[str, float]] = field(default_factory=dict)
    # The same distributions averaged over all clusters (each counts once): what a model says
    # of everything here, against which a cluster's own answer is weighed.
    overall: dict[str, dict[str, float]] = field(default_factory=dict)
    centroid: np.ndarray | None = None
    # The sampled images' own evidence (PER_IMAGE_COLUMNS that exist, and the registered evidence
    # sources' columns), one row per image.
    per_image: pd.DataFrame | None = None
    # Each registered evidence source (vehiclust.evidence.SOURCES) over the sampled images:
    # source name -> column -> median (continuous) or word -> share (categorical).
    sources: dict[str, dict[str, object]] = field(default_factory=dict)


def distribution(values: pd.Series) -> dict[str, float]:
    """Share of each non-empty value, largest first."""
    v = values.dropna().astype(str)
    v = v[v != ""]
    if v.empty:
        return {}
    counts = v.value_counts(normalize=True)
    return {str(k): float(s) for k, s in counts.items()}


def top(dist: dict[str, float]) -> tuple[str, float]:
    if not dist:
        return "", 0.0
    word = max(dist, key=dist.get)
    return word, dist[word]


def mean_distribution(dists: list[dict[str, float]]) -> dict[str, float]:
    """Average of several distributions, each counting once (missing words count as 0)."""
    dists = [d for d in dists if d]
    if not dists:
        return {}
    words = dict.fromkeys(w for d in dists for w in d)
    mean = {w: float(np.mean([d.get(w, 0.0) for d in dists])) for w in words}
    return dict(sorted(mean.items(), key=lambda kv: -kv[1]))


def format_distribution(dist: dict[str, float], n: int = 3) -> str:
    items = sorted(dist.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{w} {s:.0%}" for w, s in items)


def gather_evidence(labels: np.ndarray, images: pd.DataFrame | None, label_table: pd.DataFrame | None,
                    X: np.ndarray | None = None, rows_of_X: np.ndarray | None = None) -> list[ClusterEvidence]:
    """One :class:`ClusterEvidence` per cluster id >= 0.

    ``labels``: (n_rows,) cluster per row (-1 = none). ``images``: per-image evidence with a
    ``row`` column (index into labels) plus pixel and head columns. ``label_table``: user label
    columns, n_rows rows. ``X`` with ``rows_of_X`` (row index of each X row) gives centroids.
    """
    labels = np.asarray(labels)
    n = len(labels)
    clusters, sizes = np.unique(labels[labels >= 0], return_counts=True)
    n_assigned = max(int(sizes.sum()), 1)
    out = []
    img_by_cluster = {}
    if images is not None and len(images):
        img = images.copy()
        img["cluster"] = labels[img["row"].to_numpy()]
        img_by_cluster = {int(c): g for c, g in img.groupby("cluster")}
    x_labels = labels[rows_of_X] if X is not None and rows_of_X is not None else None
    overall: dict[str, dict[str, float]] = {}
    for c, size in zip(clusters, sizes):
        c = int(c)
        ev = ClusterEvidence(cluster=c, size=int(size), share=float(size) / n_assigned, overall=overall)
        g = img_by_cluster.get(c)
        if g is not None:
            if "colour" in g:
                seen = g[g["colour"].fillna("").astype(str) != ""]
                ev.n_images = len(seen)
                ev.pixel_colours = distribution(seen["colour"])
                if len(seen):
                    ev.brightness = float(seen["brightness"].mean())
                    ev.dark_share = float(seen["dark"].astype(float).mean())
                    ev.saturation = float(seen["saturation"].mean())
                    ev.aspect = float(seen["aspect"].median())
                    ev.width = float(seen["width"].median())
                    if "sharpness" in seen and seen["sharpness"].notna().any():
                        ev.sharpness = float(seen["sharpness"].median())
                    if "vehicle_lightness" in seen:
                        ev.vehicle_lightness = float(seen["vehicle_lightness"].mean())
            if "vehicle_colour" in g:
                ev.colours = distribution(g["vehicle_colour"])
                has_model = "box_colour" in g and bool(distribution(g["box_colour"]))
                ev.colour_source = SOURCE_VEHICLE if has_model else SOURCE_PIXELS
            if "box_colour" in g and distribution(g["box_colour"]):
                ev.model_colours = distribution(g["box_colour"])
                ev.model_colour_source = SOURCE_BOX_MODEL
            elif "head_colour" in g:
                ev.model_colours = distribution(g["head_colour"])
            if "head_colour" in g:
                ev.model_types = distribution(g["head_type"])
                ev.imagenet_classes = distribution(g["imagenet_class"])
                _imagenet_types(ev, g)
                if g["imagenet_vehicle_prob"].notna().any():
                    ev.vehicle_prob = float(g["imagenet_vehicle_prob"].mean())
            ev.n_images = max(ev.n_images, len(g))
            ev.sources = summarise_sources(g)
            extra = [c for s in evidence_sources() for c in s.columns if c in g and c not in PER_IMAGE_COLUMNS]
            ev.per_image = g[[c for c in PER_IMAGE_COLUMNS if c in g] + list(dict.fromkeys(extra))].reset_index(drop=True)
        if label_table is not None and len(label_table.columns):
            mask = labels == c
            for col in label_table.columns:
                ev.labels[str(col)] = distribution(label_table.loc[mask, col])
        if x_labels is not None:
            members = X[x_labels == c]
            if len(members):
                ev.centroid = members.mean(axis=0, dtype=np.float64).astype(np.float32)
        out.append(ev)
    overall["model_types"] = mean_distribution([e.model_types for e in out])
    overall["imagenet_types"] = mean_distribution([e.imagenet_types for e in out])
    return out


def summarise_sources(images: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Each registered evidence source over some images: column -> median of a continuous
    column, word -> share of a categorical one (sources without columns here are left out)."""
    out: dict[str, dict[str, object]] = {}
    for source in evidence_sources():
        summary: dict[str, object] = {}
        for col, kind in source.columns.items():
            if col not in images:
                continue
            if kind == CONTINUOUS:
                values = pd.to_numeric(images[col], errors="coerce")
                summary[col] = float(values.median()) if values.notna().any() else float("nan")
            else:
                summary[col] = distribution(images[col])
        if summary:
            out[source.name] = summary
    return out


def source_columns(ev: ClusterEvidence) -> dict[str, object]:
    """The per-cluster table's columns for the registered sources: ``<column>`` = the median
    (3 decimals) or the top word shares."""
    out: dict[str, object] = {}
    for summary in ev.sources.values():
        for col, value in summary.items():
            out[col] = format_distribution(value, 4) if isinstance(value, dict) else round(float(value), 3)
    return out


def source_words(ev: ClusterEvidence) -> str:
    """The registered sources' own phrases for this cluster, joined (each source says its part)."""
    said = []
    for source in evidence_sources():
        if source.name in ev.sources:
            phrase = source.words(ev.sources[source.name]).strip()
            if phrase:
                said.append(phrase if phrase.endswith(".") else phrase + ".")
    return " ".join(said)


def _imagenet_types(ev: ClusterEvidence, g: pd.DataFrame) -> None:
    """Vehicle-type shares of the ImageNet evidence: probability mass per type when known
    (every class of a type counts, not only the top one), else the images' top classes."""
    masses = g[[c for c in MASS_COLUMNS if c in g]].apply(pd.to_numeric, errors="coerce").dropna(how="all")
    if len(masses):
        mean = masses.fillna(0.0).mean()
        total = float(mean.sum())
        ev.imagenet_type_mass = total
        ev.imagenet_mass_based = True
        if total > 0:
            shares = {str(col)[len(MASS_PREFIX):]: float(v) / total for col, v in mean.items() if v > 0}
            ev.imagenet_types = dict(sorted(shares.items(), key=lambda kv: -kv[1]))
        return
    has_class = g["imagenet_class"].fillna("").astype(str) != ""
    if has_class.any():
        types = g.loc[has_class, "imagenet_type"].fillna("").astype(str)
        ev.imagenet_type_mass = float((types != "").mean())
        ev.imagenet_types = distribution(types)


def nearest_clusters(evidence: list[ClusterEvidence]) -> dict[int, int]:
    """Each cluster's nearest other cluster by centroid distance (none without centroids)."""
    with_c = [e for e in evidence if e.centroid is not None]
    if len(with_c) < 2:
        return {}
    C = np.stack([e.centroid for e in with_c]).astype(np.float64)
    d = ((C[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return {with_c[i].cluster: with_c[int(np.argmin(d[i]))].cluster for i in range(len(with_c))}
