"""The one results object every writer (CSV, HTML, notebook) reads, and its on-disk form.

A run directory holds everything needed to rebuild :class:`RunResults` with
:meth:`RunResults.load`, so the notebook and the report never recompute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust.io.atomic import atomic_copy, atomic_write_csv, atomic_write_text, atomic_save_npy

# The columns of clusters.csv, in order. Later stages may append columns after these.
CLUSTERS_COLUMNS = [
    "row",  # 0-based line of images_paths.csv (after its header)
    "path",  # exactly as written in images_paths.csv, so the table joins back to it
    "descriptor",
    "cluster",
    "cluster_name",
    "description",  # the cluster's description, from descriptors/<NAME>/cluster_summary.csv
    "typicality",  # 1 = nearest its cluster's centre ... 0 = farthest (rank within the cluster)
    "is_outlier",
    "outlier_score",
    "outlier_reasons",
    "outlier_kind",
    "duplicate_of",
    "path_normalised",  # forward slashes, no leading ./: the key labels and head tables join on
]


@dataclass
class DescriptorRun:
    """What one descriptor set (or mix) produced."""

    name: str
    labels: np.ndarray  # (n_rows,) int64; -1 = not assigned (noise or invalid row)
    selection: pd.DataFrame  # one row per configuration tried
    chosen: dict[str, Any]  # the chosen configuration (a row of `selection` as a dict)
    preparation: dict[str, Any] = field(default_factory=dict)  # dims, explained variance
    # Per-row outlier table, n_rows rows: per-detector scores, is_outlier, outlier_score,
    # outlier_reasons. None until the outlier stage ran.
    outliers: pd.DataFrame | None = None
    # Per-cluster table: cluster, size, share, cluster_name, description, evidence columns.
    clusters: pd.DataFrame | None = None
    coords_2d: np.ndarray | None = None  # (n_rows, 2) float32
    coords_3d: np.ndarray | None = None  # (n_rows, 3) float32
    typicality: np.ndarray | None = None  # (n_rows,) float32 in [0, 1], NaN unassigned; see cluster.typicality
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> path relative to run dir
    # The chosen configuration's family parameters and cluster centres (cluster stage; kept in its
    # cache, so a resumed run refits and scores exactly like a fresh one). Not written to disk.
    best_params: dict[str, Any] = field(default_factory=dict)
    cluster_centers: np.ndarray | None = None
    model: Any = None  # vehiclust.assign.SetModel: what `vehiclust assign` needs (saved, not loaded back)

    def cluster_names(self) -> dict[int, str]:
        if self.clusters is None or "cluster_name" not in self.clusters:
            return {}
        return dict(zip(self.clusters["cluster"].astype(int), self.clusters["cluster_name"].astype(str)))

    def table(self, paths: pd.Series, normalised: pd.Series | None = None) -> pd.DataFrame:
        """The clusters.csv table for this descriptor set, one row per input row.

        ``paths``: as the user wrote them (the join key back to images_paths.csv);
        ``normalised``: the normalised form (default: ``paths``)."""
        names = self.cluster_names()
        labels = np.asarray(self.labels, dtype=np.int64)
        if self.outliers is not None:
            is_outlier = self.outliers["is_outlier"].to_numpy(bool)
            score = self.outliers["outlier_score"].to_numpy(float)
            reasons = self.outliers["outlier_reasons"].fillna("").astype(str).to_numpy()
            kind = _text_column(self.outliers, "outlier_kind", np.where(is_outlier, "rare", ""))
            duplicate_of = _text_column(self.outliers, "duplicate_of", np.full(len(labels), ""))
        else:
            is_outlier = labels < 0
            score = np.where(is_outlier, 1.0, 0.0)
            reasons = np.where(is_outlier, "unassigned", "")
            kind = np.where(is_outlier, "rare", "")
            duplicate_of = np.full(len(labels), "")
        if normalised is not None and np.any(duplicate_of != ""):  # the twin as images_paths.csv writes it
            given = dict(zip(normalised.astype(str), paths.astype(str)))
            duplicate_of = np.array([given.get(d, d) for d in duplicate_of], dtype=object)
        cluster_name = [names.get(int(c), f"cluster {int(c)}" if c >= 0 else "unassigned") for c in labels]
        frame = pd.DataFrame(
            {
                "path": paths.to_numpy(),
                "descriptor": self.name,
                "cluster": labels,
                "cluster_name": cluster_name,
                "is_outlier": is_outlier,
                "outlier_score": np.round(score, 6),
                "outlier_reasons": reasons,
                "outlier_kind": kind,
                "duplicate_of": duplicate_of,
            }
        )
        return _with_row_and_words(frame, self, paths if normalised is None else normalised)


@dataclass
class RunResults:
    """Everything one `vehiclust run` produced."""

    samples: pd.DataFrame  # one row per input row: `path` (normalised) + label columns if given
    validation: pd.DataFrame  # findings: descriptor, check, severity, count, detail
    descriptors: dict[str, DescriptorRun]
    best: str  # name of the descriptor set (or mix) whose clustering goes into clusters.csv
    metadata: dict[str, Any] = field(default_factory=dict)
    image_checks: pd.DataFrame | None = None  # per-row image quality table (quality stage)
    comparison: pd.DataFrame | None = None  # one row per descriptor set / mix (compare stage)
    agreement: pd.DataFrame | None = None  # descriptor x descriptor ARI matrix
    attribute_alignment: pd.DataFrame | None = None  # descriptor x attribute table
    best_reason: str = ""
    # What each clustering follows: descriptor x evidence group (type, colour, brightness, ...,
    # same vehicle), chance-corrected shares, and a `follows` sentence per set (compare stage).
    follows: pd.DataFrame | None = None
    run_dir: Path | None = None  # the folder it was loaded from (RunResults.load)

    @property
    def n_rows(self) -> int:
        return len(self.samples)

    def clusters_table(self, name: str | None = None) -> pd.DataFrame:
        """clusters.csv: the chosen (or named) descriptor set's table, every row present."""
        return self.descriptors[name or self.best].table(*self._paths())

    def _paths(self) -> tuple[pd.Series, pd.Series]:
        """(paths as given, normalised paths); runs saved before `path_given` existed: both normalised."""
        given = self.samples["path_given"] if "path_given" in self.samples else self.samples["path"]
        return given, self.samples["path"]

    def selection_table(self) -> pd.DataFrame:
        """selection.csv: every configuration tried, over all descriptor sets."""
        frames = []
        for name, run in self.descriptors.items():
            sel = run.selection.copy()
            sel.insert(0, "descriptor", name)
            frames.append(sel)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # ---- on-disk form -------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        best_table = self.clusters_table()  # built once: clusters.csv, outliers.csv, its own folder
        atomic_write_csv(best_table, out / "clusters.csv")
        atomic_write_csv(self.selection_table(), out / "selection.csv")
        atomic_write_csv(self.validation, out / "validation.csv")
        atomic_write_csv(self.samples, out / "samples.csv")
        if self.image_checks is not None:
            atomic_write_csv(self.image_checks, out / "image_checks.csv")
        if self.comparison is not None:
            atomic_write_csv(self.comparison, out / "comparison.csv")
        if self.agreement is not None:
            atomic_write_csv(self.agreement, out / "agreement.csv", index=True)
        if self.attribute_alignment is not None:
            atomic_write_csv(self.attribute_alignment, out / "attribute_alignment.csv", index=True)
        if self.follows is not None:
            atomic_write_csv(self.follows, out / "follows.csv", index=True)
        best_outliers = self.descriptors[self.best].outliers
        if best_outliers is not None:
            table = best_table
            flagged = pd.concat([table, best_outliers.drop(columns=[c for c in table.columns if c in best_outliers], errors="ignore")], axis=1)
            flagged = flagged[flagged["is_outlier"]].sort_values("outlier_score", ascending=False)
            atomic_write_csv(flagged, out / "outliers.csv")
        index: dict[str, Any] = {}
        for name, run in self.descriptors.items():
            d = out / "descriptors" / name
            d.mkdir(parents=True, exist_ok=True)
            if name == self.best:  # the same table as clusters.csv: copied, not formatted again
                atomic_copy(out / "clusters.csv", d / "clusters.csv")
            else:
                atomic_write_csv(run.table(*self._paths()), d / "clusters.csv")
            atomic_write_csv(run.selection, d / "selection.csv")
            atomic_save_npy(np.asarray(run.labels, dtype=np.int64), d / "labels.npy")
            if run.outliers is not None:
                atomic_write_csv(run.outliers, d / "outlier_scores.csv")
            if run.clusters is not None:
                atomic_write_csv(run.clusters, d / "cluster_summary.csv")
            if run.coords_2d is not None:
                atomic_save_npy(np.asarray(run.coords_2d, dtype=np.float32), d / "coords_2d.npy")
            if run.coords_3d is not None:
                atomic_save_npy(np.asarray(run.coords_3d, dtype=np.float32), d / "coords_3d.npy")
            if run.typicality is not None:
                atomic_save_npy(np.asarray(run.typicality, dtype=np.float32), d / "typicality.npy")
            if run.model is not None:
                run.model.save(d)
            index[name] = {
                "chosen": _jsonable(run.chosen),
                "preparation": _jsonable(run.preparation),
                "artifacts": run.artifacts,
            }
        meta = dict(self.metadata)
        meta.update({"best": self.best, "best_reason": self.best_reason, "descriptors": index})
        atomic_write_text(json.dumps(_jsonable(meta), indent=2), out / "metadata.json")
        return out

    @classmethod
    def load(cls, run_dir: str | Path) -> "RunResults":
        run_dir = Path(run_dir)
        meta = json.loads((run_dir / "metadata.json").read_text())
        samples = pd.read_csv(run_dir / "samples.csv", keep_default_na=False, na_values=[""])
        validation = pd.read_csv(run_dir / "validation.csv")

        def _opt(name: str, **kw: Any) -> pd.DataFrame | None:
            p = run_dir / name
            return pd.read_csv(p, **kw) if p.exists() else None

        descriptors: dict[str, DescriptorRun] = {}
        for name, info in meta["descriptors"].items():
            d = run_dir / "descriptors" / name

            def _npy(fname: str) -> np.ndarray | None:
                p = d / fname
                return np.load(p) if p.exists() else None

            outliers = None
            if (d / "outlier_scores.csv").exists():
                outliers = pd.read_csv(d / "outlier_scores.csv", dtype={"outlier_reasons": str, "outlier_kind": str, "duplicate_of": str}, keep_default_na=False, na_values=[""])
                outliers["outlier_reasons"] = outliers["outlier_reasons"].fillna("")
                for col in ("outlier_kind", "duplicate_of"):
                    if col in outliers:
                        outliers[col] = outliers[col].fillna("").astype(str)
            descriptors[name] = DescriptorRun(
                name=name,
                labels=np.load(d / "labels.npy"),
                selection=pd.read_csv(d / "selection.csv"),
                chosen=info.get("chosen", {}),
                preparation=info.get("preparation", {}),
                outliers=outliers,
                clusters=pd.read_csv(d / "cluster_summary.csv") if (d / "cluster_summary.csv").exists() else None,
                coords_2d=_npy("coords_2d.npy"),
                coords_3d=_npy("coords_3d.npy"),
                typicality=_npy("typicality.npy"),
                artifacts=info.get("artifacts", {}),
            )
        return cls(
            samples=samples,
            validation=validation,
            descriptors=descriptors,
            best=meta["best"],
            best_reason=meta.get("best_reason", ""),
            metadata=meta,
            image_checks=_opt("image_checks.csv", keep_default_na=False, na_values=[""]),
            comparison=_opt("comparison.csv"),
            agreement=_opt("agreement.csv", index_col=0),
            attribute_alignment=_opt("attribute_alignment.csv", index_col=0),
            follows=_opt("follows.csv", index_col=0),
            run_dir=run_dir,
        )


def _text_column(frame: pd.DataFrame, column: str, default: np.ndarray) -> np.ndarray:
    """A text column of the outlier table ("" for missing), or ``default`` when it is absent."""
    if column not in frame:
        return default
    return frame[column].fillna("").astype(str).to_numpy()


def _with_row_and_words(frame: pd.DataFrame, run: DescriptorRun, normalised: pd.Series) -> pd.DataFrame:
    """Add the join keys (`row`, `path_normalised`), each row's cluster description and its
    typicality to a clusters.csv table; columns in CLUSTERS_COLUMNS order, others after."""
    labels = frame["cluster"].to_numpy()
    frame.insert(0, "row", np.arange(len(frame), dtype=np.int64))
    words: dict[int, str] = {}
    if run.clusters is not None and "description" in run.clusters:
        words = dict(zip(run.clusters["cluster"].astype(int), run.clusters["description"].fillna("").astype(str)))
    frame["description"] = [words.get(int(c), "") for c in labels]
    typical = np.full(len(frame), np.nan) if run.typicality is None else np.asarray(run.typicality, dtype=np.float64)
    frame["typicality"] = np.round(typical, 4)
    frame["path_normalised"] = normalised.to_numpy()
    ordered = [c for c in CLUSTERS_COLUMNS if c in frame]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


def _jsonable(obj: Any) -> Any:
    """Make numpy scalars, arrays and paths JSON-serialisable."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
