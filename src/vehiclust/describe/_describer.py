"""`ClusterDescriber`: sample images per cluster, gather evidence, write words and galleries."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from vehiclust.evidence.boxes import BoxColourSource, vehicle_boxes
from vehiclust.evidence.colour import COLOURS, HUE_CENTRES, extra_colour_rows, vehicle_colour
from vehiclust.describe._evidence import format_distribution, gather_evidence, nearest_clusters, source_columns, source_words
from vehiclust.describe._gallery import gallery_rows, montage, outlier_sections
from vehiclust.evidence.head_models import HEAD_COLUMNS, MASS_COLUMNS, HeadModelSource, merge_head_tables
from vehiclust.evidence.pixels import PixelSource
from vehiclust.describe._text import describe
from vehiclust.evidence import EvidenceCache, measure_sources, sources as evidence_sources
from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

HEAD_MODELS = ("vehicle-attributes", "imagenet")


class ClusterDescriber(BaseEstimator):
    """Describe clusters in words from evidence: pixels, model heads, labels.

    Parameters
    ----------
    n_images : int
        Images sampled per cluster for pixel and model evidence (up to 4 x as many where the
        cluster's two leading colours tie in the first sample).
    run_heads : bool
        Run :func:`vehiclust.extract.predict_heads` on the sampled images when no head tables
        are given (skipped quietly when weights or dependencies are missing).
    weights : path or None
        Model weights folder for ``run_heads`` (else ``$VEHICLUST_MODELS``).
    boxes : bool
        Read colour inside the vehicle detector's box (pixels, and the vehicle-attributes colour
        model, whose weights ship with the package) rather than over the whole crop; skipped
        quietly without the detector or OpenVINO.
    cache_dir : path or None
        Folder caching the per-image evidence (the detector's boxes, pixels, colour and head
        models) between runs, as the image checks cache their properties (vehiclust.evidence).
    random_state : int or None
        Seeds the image samples and galleries.
    progress : bool or None
        Progress bars; ``None`` follows the library-wide switch.
    """

    def __init__(self, n_images: int = 64, run_heads: bool = True, weights: str | Path | None = None,
                 boxes: bool = True, cache_dir: str | Path | None = None,
                 random_state: int | None = None, progress: bool | None = None) -> None:
        self.n_images = n_images
        self.run_heads = run_heads
        self.weights = weights
        self.boxes = boxes
        self.cache_dir = cache_dir
        self.random_state = random_state
        self.progress = progress

    def fit(self, labels, X: np.ndarray | None = None, *, rows: np.ndarray | None = None,
            paths: Sequence[str] | None = None, label_table: pd.DataFrame | None = None,
            head_tables: Mapping[str, pd.DataFrame] | None = None, keys: Sequence[str] | None = None,
            cache: EvidenceCache | None = None) -> "ClusterDescriber":
        """Gather evidence and words.

        ``labels``: (n_rows,) cluster per row, -1 = none. ``X``: prepared descriptors of the rows
        ``rows`` (default: all rows) for centroids, neighbours and galleries. ``paths``: n_rows
        absolute image paths ("" = unavailable). ``label_table``: n_rows rows of user labels.
        ``head_tables``: name → table with ``path`` + head columns, matched to ``keys`` (n_rows
        identifiers, default ``paths``), so heads work without images too.
        """
        if not isinstance(self.n_images, Integral) or self.n_images < 1:
            raise InputError(f"The 'n_images' parameter of ClusterDescriber must be an int in [1, inf). Got {self.n_images!r}.")
        labels = np.asarray(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(f"labels must be a 1-D integer array; got shape {labels.shape} dtype {labels.dtype}.")
        n = len(labels)
        for what, obj in (("paths", paths), ("keys", keys), ("label_table", label_table)):
            if obj is not None and len(obj) != n:
                raise InputError(f"{what} has {len(obj)} rows but labels has {n}; they must match.")
        if X is not None:
            X = np.asarray(X, dtype=np.float32)
            rows = np.arange(n) if rows is None else np.asarray(rows)
            if X.ndim != 2 or len(rows) != X.shape[0]:
                raise InputError(f"X has shape {X.shape} but {len(rows)} row indices were given.")
        cache = cache if cache is not None else EvidenceCache()
        rng = np.random.default_rng(self.random_state)
        paths_arr = np.asarray([str(p) if p else "" for p in paths], dtype=object) if paths is not None else None
        keys_arr = np.asarray([str(k) if k else "" for k in keys], dtype=object) if keys is not None else paths_arr
        heads = merge_head_tables(list(head_tables.values())).set_index("path") if head_tables else None
        usable = np.zeros(n, dtype=bool)
        if paths_arr is not None:
            usable |= paths_arr != ""
        if heads is not None and keys_arr is not None:
            usable |= pd.Index(heads.index).get_indexer(keys_arr) >= 0
        images = None
        if usable.any():
            sample = self._sample_rows(labels, usable, rng)
            if sample.size:
                images = self._image_evidence(sample, paths_arr, keys_arr, heads, cache)
                # Clusters whose leading colours tie are sampled further (up to 4 x n_images).
                more = extra_colour_rows(labels, usable, sample, images.get("vehicle_colour", []), 3 * self.n_images, rng)
                if more.size:
                    images = pd.concat([images, self._image_evidence(more, paths_arr, keys_arr, heads, cache)], ignore_index=True)
        self.image_evidence_ = images
        self.evidence_ = gather_evidence(labels, images, label_table, X, rows)
        self.neighbours_ = nearest_clusters(self.evidence_)
        words = {d["cluster"]: d for d in describe(self.evidence_, self.neighbours_)}
        for ev in self.evidence_:
            said = source_words(ev)
            if said:
                words[ev.cluster]["description"] = f"{words[ev.cluster]['description']} {said}".strip()
        records = []
        for ev in self.evidence_:
            rec = {"cluster": ev.cluster, "size": ev.size, "share": round(ev.share, 6)}
            rec.update({k: v for k, v in words[ev.cluster].items() if k != "cluster"})
            rec.update({
                "n_images": ev.n_images,
                "vehicle_colours": format_distribution(ev.colours, 4),
                "pixel_colours": format_distribution(ev.pixel_colours, 4),
                "model_colours": format_distribution(ev.model_colours, 4),
                "model_types": format_distribution(ev.model_types, 4),
                "imagenet_types": format_distribution(ev.imagenet_types, 4),
                "imagenet_type_mass": round(ev.imagenet_type_mass, 3),
                "imagenet_classes": format_distribution(ev.imagenet_classes, 4),
                "brightness": round(ev.brightness, 2),
                "dark_share": round(ev.dark_share, 3),
                "saturation": round(ev.saturation, 2),
                "aspect": round(ev.aspect, 3),
                "vehicle_prob": round(ev.vehicle_prob, 3),
            })
            rec.update(source_columns(ev))
            for col, dist in ev.labels.items():
                rec[f"label_{col}"] = format_distribution(dist, 4)
            records.append(rec)
        cols = ["cluster", "size", "share", "cluster_name", "description", "strength"]
        frame = pd.DataFrame(records)
        if frame.empty:
            frame = pd.DataFrame(columns=cols)
        self.clusters_ = frame[cols + [c for c in frame.columns if c not in cols]]
        self._X, self._rows, self._labels, self._paths = X, rows, labels, paths_arr
        return self

    # ---- evidence ------------------------------------------------------------------------
    def _sample_rows(self, labels: np.ndarray, usable: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        picks = []
        for c in np.unique(labels[labels >= 0]):
            members = np.flatnonzero((labels == c) & usable)
            if members.size > self.n_images:
                members = np.sort(rng.choice(members, size=self.n_images, replace=False))
            picks.append(members)
        return np.concatenate(picks) if picks else np.empty(0, dtype=np.int64)

    def _image_evidence(self, sample: np.ndarray, paths: np.ndarray | None, keys: np.ndarray | None,
                        heads: pd.DataFrame | None, cache: EvidenceCache) -> pd.DataFrame:
        frame = pd.DataFrame({"row": sample})
        if paths is not None:
            sample_paths = [str(p) for p in paths[sample]]
            frame["path"] = sample_paths
            # Each image measured once (vehiclust.evidence): the built-in pixel evidence, colour
            # inside the vehicle box, the colour model on that box; then the registered sources.
            boxes = lambda todo: self._boxes(todo, cache)  # noqa: E731
            built_in = [PixelSource(boxes if self.boxes else None, self.progress)]
            if self.boxes:
                built_in.append(BoxColourSource(boxes, weights=self.weights, failed=cache.heads_failed))
            frame = pd.concat([frame, measure_sources(sample_paths, built_in, cache, cache_dir=self.cache_dir)], axis=1)
            frame["vehicle_colour"] = _vehicle_colours(frame)
            registered = measure_sources(sample_paths, evidence_sources(), cache, cache_dir=self.cache_dir)
            clash = [c for c in registered if c in frame]
            if clash:
                log.warning("describe: evidence columns %s repeat built-in ones and are left out; rename them", clash)
            frame = pd.concat([frame, registered.drop(columns=clash)], axis=1)
        found = None
        covered: set[str] = set()
        if heads is not None and keys is not None:
            found = heads.reindex([str(k) for k in keys[sample]])[HEAD_COLUMNS].reset_index(drop=True)
            covered = _models_covered(found)
        if paths is not None and self.run_heads and covered != set(HEAD_MODELS):
            # Run only the models the given tables do not cover.
            ran = self._run_heads(list(frame["path"]), cache, skip=covered)
            if ran is not None:
                found = ran if found is None else _fill(found, ran)
        if found is not None:
            frame = pd.concat([frame, found], axis=1)
        return frame

    def _boxes(self, paths: list[str], cache: EvidenceCache) -> np.ndarray | None:
        """The detector's box per path (cached); ``None`` when boxes are off or unavailable."""
        if not self.boxes or "detector" in cache.heads_failed:
            return None
        todo = [p for p in paths if p not in cache.boxes]
        if todo:
            found = vehicle_boxes(todo, weights=self.weights, cache_dir=self.cache_dir, progress=self.progress)
            if found is None:
                cache.heads_failed.add("detector")
                return None
            cache.boxes.update(zip(todo, found))
        return np.stack([cache.boxes[p] for p in paths])

    def _run_heads(self, sample_paths: list[str], cache: EvidenceCache, skip: set[str] = frozenset()) -> pd.DataFrame | None:
        """The head models the tables do not cover (``skip``), run once per image; per column the
        first model's answer, the next one's where it has none. None when no model could run."""
        sources = [HeadModelSource(m, weights=self.weights, progress=self.progress is not False, failed=cache.heads_failed)
                   for m in HEAD_MODELS if m not in skip and m not in cache.heads_failed]
        ran = [found for source, found in ((s, measure_sources(sample_paths, [s], cache, cache_dir=self.cache_dir)) for s in sources)
               if source.model not in cache.heads_failed]
        if not ran or not any(sample_paths):
            return None
        out = ran[0]
        for found in ran[1:]:
            out = _fill(out, found)
        return out

    # ---- galleries -----------------------------------------------------------------------
    def write_galleries(self, out_dir: str | Path, outliers: pd.DataFrame | None = None) -> dict[str, Path]:
        """Montages per cluster (typical, random, border) and of outliers by reason.

        Returns artifact name → written path. Needs the ``paths`` given to :meth:`fit`.
        """
        check_is_fitted(self, "clusters_")
        out_dir = Path(out_dir)
        written: dict[str, Path] = {}
        if self._paths is None:
            return written
        rng = np.random.default_rng(None if self.random_state is None else self.random_state + 1)
        names = dict(zip(self.clusters_["cluster"], self.clusters_["cluster_name"]))
        if self._X is not None:
            x_labels = self._labels[self._rows]
            usable = self._paths[self._rows] != ""
            centroids = {ev.cluster: ev.centroid.astype(np.float64) for ev in self.evidence_ if ev.centroid is not None}
            for c in centroids:
                picks = gallery_rows(self._X, x_labels, centroids, c, usable, random_state=rng)
                sections = [(f"{title} ({len(idx)})", [str(p) for p in self._paths[self._rows[idx]]])
                            for title, idx in (("typical: nearest the centre", picks["typical"]),
                                               ("random sample", picks["random"]),
                                               ("border: closest to another cluster", picks["border"])) if len(idx)]
                if sections:
                    written[f"gallery_cluster_{c}"] = montage(sections, out_dir / f"cluster_{c}.png",
                                                              title=f"cluster {c}: {names.get(c, '')}")
        if outliers is not None and len(outliers) == len(self._labels) and "is_outlier" in outliers:
            sections = outlier_sections(outliers.reset_index(drop=True), self._paths)
            if sections:
                written["gallery_outliers"] = montage(sections, out_dir / "outliers.png", title="outliers by reason")
        return written


def _vehicle_colours(frame: pd.DataFrame) -> list[str]:
    """Per sampled image, the vehicle's colour word from its pixels and the colour model on its
    box together (:func:`vehicle_colour`); the pixels' word alone where the model did not run."""
    shares = frame[[f"px_{c}" for c in COLOURS]].to_numpy(np.float64)
    hues = frame[[f"hue_{c}" for c in HUE_CENTRES]].to_numpy(np.float64)
    model = frame["box_colour"] if "box_colour" in frame else pd.Series([""] * len(frame))
    out = []
    for row, hue, word in zip(shares, hues, model.fillna("").astype(str)):
        ok = np.isfinite(row).all()
        out.append(vehicle_colour(row, word, dict(zip(HUE_CENTRES, hue))) if ok else "")
    return out


def _models_covered(found: pd.DataFrame) -> set[str]:
    """Which head models a per-image evidence table already has answers from."""
    covered = set()
    has = lambda col: found[col].fillna("").astype(str).ne("").any()  # noqa: E731
    if has("head_colour") or has("head_type"):
        covered.add("vehicle-attributes")
    # A top-class-only ImageNet table does not cover the model: its per-type masses are wanted.
    if found[MASS_COLUMNS].notna().any().any():
        covered.add("imagenet")
    return covered


def _fill(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Per column: values of ``first``, with its empty ones taken from ``second``."""
    out = first.copy()
    for col in HEAD_COLUMNS:
        if pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].fillna(second[col])
        else:
            empty = out[col].fillna("").astype(str) == ""
            out[col] = out[col].where(~empty, second[col])
    return out


def describe_clusters(labels, X: np.ndarray | None = None, **kwargs) -> pd.DataFrame:
    """Function form: the per-cluster table of :class:`ClusterDescriber`."""
    fit_keys = {"rows", "paths", "label_table", "head_tables", "keys", "cache"}
    fit_kw = {k: v for k, v in kwargs.items() if k in fit_keys}
    init_kw = {k: v for k, v in kwargs.items() if k not in fit_keys}
    return ClusterDescriber(**init_kw).fit(labels, X, **fit_kw).clusters_
