"""The outlier stage on its own (``vehiclust outliers``): load, validate, prepare, detect.

Without the clustering stage, ``far_from_cluster`` uses a quick seeded k-means
(``n_clusters``; 0 = distance to the centre of all the data).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.defaults import PCA_COMPONENTS, SEED, WHITEN
from vehiclust.outliers._ensemble import OutlierEnsemble
from vehiclust.outliers._table import outlier_table
from vehiclust.seeds import child_seeds

log = logging.getLogger(__name__)


@dataclass
class OutlierReport:
    """Per descriptor set, the full per-row table; plus the image checks and validation notes."""

    samples: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    image_checks: pd.DataFrame | None = None
    validation: pd.DataFrame | None = None

    def flagged(self) -> pd.DataFrame:
        """outliers.csv: flagged rows of every descriptor set with every score, worst first."""
        frames = []
        for name, table in self.tables.items():
            t = table.copy()
            t.insert(0, "descriptor", name)
            t.insert(0, "path", self.samples.get("path_given", self.samples["path"]).to_numpy())  # as given
            t.insert(0, "row", np.arange(len(t)))
            frames.append(t[t["is_outlier"]])
        if not frames:
            return pd.DataFrame(columns=["row", "path", "descriptor", "is_outlier", "outlier_score", "outlier_reasons"])
        front = ["row", "path", "descriptor", "outlier_score", "outlier_reasons", "is_outlier"]
        flagged = pd.concat(frames, ignore_index=True)
        flagged = flagged[front + [c for c in flagged.columns if c not in front]]
        return flagged.sort_values(["outlier_score", "row"], ascending=[False, True], kind="stable").reset_index(drop=True)


def find_outliers(
    descriptors: dict[str, str | Path],
    paths: str | Path,
    *,
    images: str | Path | None = None,
    contamination: float | None = None,
    n_clusters: int = 8,
    n_components: int | float | None = PCA_COMPONENTS,
    whiten: float = WHITEN,
    random_state: int = SEED,
    cache_dir: str | Path | None = None,
    weights: str | Path | None = None,
    progress: bool | None = None,
) -> OutlierReport:
    """Descriptor-space outliers for each set, merged with image checks when ``images`` is given.

    The descriptors are prepared as `vehiclust run` prepares them (``whiten`` as in
    :class:`~vehiclust.config.RunConfig`), so both commands score outliers in the same space.
    """
    import warnings

    from sklearn.cluster import MiniBatchKMeans

    from vehiclust.exceptions import InputError
    from vehiclust.io import load_case
    from vehiclust.prepare import DescriptorPreparer, validate_descriptors
    from vehiclust.quality import ImageChecker

    if not isinstance(n_clusters, (int, np.integer)) or isinstance(n_clusters, bool) or n_clusters < 0:
        raise InputError(f"The 'n_clusters' parameter of find_outliers must be an int in [0, inf). Got {n_clusters!r}.")
    cache = Path(cache_dir) if cache_dir is not None else None
    case = load_case(descriptors, paths, images=images, cache_dir=cache / "descriptors" if cache else None)
    validity = validate_descriptors(case.descriptors, case.samples, progress=progress)
    n = len(case.samples)
    report = OutlierReport(samples=case.samples[["path"]].copy(), validation=validity.findings)
    if images is not None:
        checker = ImageChecker(cache_dir=cache / "image_checks" if cache else None, weights=weights, progress=progress)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            checker.fit(case.samples["resolved"].fillna("").astype(str).tolist())
        report.image_checks = checker.table_
        report.image_checks.insert(0, "path", case.samples["path"].to_numpy())
        notes = [{"descriptor": "", "check": f"image_check_skipped:{c}", "severity": "warning", "count": n,
                  "detail": f"The '{c}' image check did not run: {why}"} for c, why in checker.skipped_.items()]
        if notes:
            report.validation = pd.concat([report.validation, pd.DataFrame(notes)], ignore_index=True)
    prep_seed, det_seed = child_seeds(random_state, ("prepare", "detect")).values()
    for name, raw in case.descriptors.items():
        valid = validity.valid_rows[name]
        ensemble, X = None, None
        if valid.any():
            prep = DescriptorPreparer(n_components=n_components, whiten=whiten, columns=validity.kept_columns[name],
                                      random_state=prep_seed)
            X = prep.fit_transform(raw, rows=valid)
            labels = None
            k = int(min(n_clusters, len(X)))
            if k >= 2:
                labels = MiniBatchKMeans(k, n_init=3, random_state=det_seed, batch_size=4096).fit_predict(X)
            ensemble = OutlierEnsemble(contamination=contamination, random_state=det_seed).fit(X, labels)
        report.tables[name] = outlier_table(n, valid, ensemble, report.image_checks, paths=case.samples["path_given"],
                                            descriptors=X)
        log.info("%s: %d of %d rows flagged", name, int(report.tables[name]["is_outlier"].sum()), n)
    return report
