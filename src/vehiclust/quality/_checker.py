"""Run the registered image checks over a list of images: one table, one row per image."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError, MissingDependencyError, MissingWeightsError
from vehiclust.quality._checks import CHECKS, ImageCheck
from vehiclust.evidence import ImagePropertiesSource, measure_source

log = logging.getLogger(__name__)

DEFAULT_CHECKS = tuple(CHECKS)


def make_checks(
    checks: Sequence[str | ImageCheck] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[ImageCheck]:
    """Check instances from names (defaults) or ready instances; ``params[name]`` overrides."""
    params = dict(params or {})
    unknown_params = sorted(set(params) - set(CHECKS))
    if unknown_params:
        raise InputError(f"Unknown image check(s) {unknown_params} in params; allowed: {list(CHECKS)}.")
    out: list[ImageCheck] = []
    for item in checks if checks is not None else DEFAULT_CHECKS:
        if isinstance(item, ImageCheck):
            out.append(item)
            continue
        if item not in CHECKS:
            raise InputError(f"Unknown image check '{item}'; allowed: {list(CHECKS)}.")
        try:
            out.append(CHECKS[item](**params.get(item, {})))
        except TypeError as exc:
            raise InputError(f"Bad parameters for image check '{item}': {exc}.") from None
    for check in out:
        check.validate()
    return out


class ImageChecker:
    """Measure every image once (cached), then score and mark each check.

    ``fit(paths)`` sets ``properties_`` (raw measurements), ``table_`` (the result: per check
    its measured property, ``<name>_quality``, ``is_<name>``; then ``image_quality`` = the
    worst quality, ``image_outlierness`` = 1 - that, and ``image_reasons``), ``skipped_``
    (check name → why it did not run, e.g. no detector weights).
    """

    def __init__(
        self,
        checks: Sequence[str | ImageCheck] | None = None,
        *,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        cache_dir: str | Path | None = None,
        weights: str | Path | None = None,
        n_jobs: int | None = None,
        progress: bool | None = None,
    ) -> None:
        self.checks = checks
        self.params = params
        self.cache_dir = cache_dir
        self.weights = weights
        self.n_jobs = n_jobs
        self.progress = progress

    def fit(self, paths: Sequence[str] | pd.Series) -> "ImageChecker":
        paths = ["" if p is None or (isinstance(p, float) and np.isnan(p)) else str(p) for p in paths]
        checks = make_checks(self.checks, self.params)
        # the properties are an evidence source: measured once per image, cached like all evidence
        props = measure_source(paths, ImagePropertiesSource(self.n_jobs, self.progress), self.cache_dir,
                               description="image properties")
        props = props.astype({"file_exists": bool, "readable": bool})
        self.skipped_: dict[str, str] = {}
        if any(c.needs == "vehicle" for c in checks):
            vehicle = self._vehicle(paths, props)
            if vehicle is None:
                checks = [c for c in checks if c.needs != "vehicle"]
            else:
                props = pd.concat([props, vehicle], axis=1)
        self.checks_ = checks
        self.properties_ = props
        self.table_ = score_checks(props, checks)
        return self

    def _vehicle(self, paths: list[str], props: pd.DataFrame) -> pd.DataFrame | None:
        from vehiclust.evidence.vehicle import detections_cached

        readable = props["readable"].to_numpy(bool)
        targets = [p if ok else "" for p, ok in zip(paths, readable)]
        try:  # the describer reads the same cached detections (boxes): one detector run per image
            return detections_cached(targets, self.weights, cache_dir=self.cache_dir, n_jobs=self.n_jobs,
                                     progress=self.progress)[["vehicle_confidence", "vehicle_box_share"]]
        except (MissingWeightsError, MissingDependencyError) as exc:
            msg = f"no_vehicle check skipped: {exc}"
            log.warning(msg)
            warnings.warn(msg, stacklevel=3)
            self.skipped_["no_vehicle"] = str(exc)
            return None


def score_checks(props: pd.DataFrame, checks: Sequence[ImageCheck]) -> pd.DataFrame:
    """The result table from measured properties: no image is read here."""
    n = len(props)
    cols: dict[str, Any] = {}
    flags: dict[str, np.ndarray] = {}
    qualities = []
    for check in checks:
        quality = np.asarray(check.score(props), dtype=np.float64)
        flag = check.mark(quality, props)
        for k, v in check.extra_columns(props).items():
            cols.setdefault(k, v)
        cols[f"{check.name}_quality"] = np.round(quality, 6)
        cols[f"is_{check.name}"] = flag
        flags[check.reason] = flag
        # flagged rows sit at or below 0.5, unflagged ones at or above (a kept duplicate original)
        qualities.append(np.where(flag, np.fmin(quality, 0.5), np.maximum(quality, 0.5)))
    table = pd.DataFrame(cols, index=range(n))
    if qualities:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
            worst = np.nanmin(np.vstack(qualities), axis=0)
        worst = np.where(np.isfinite(worst), worst, 1.0)
    else:
        worst = np.ones(n)
    table["image_quality"] = np.round(worst, 6)
    table["image_outlierness"] = np.round(1.0 - worst, 6)
    reasons = np.full(n, "", dtype=object)
    for code, flag in flags.items():
        for i in np.flatnonzero(flag):
            reasons[i] = f"{reasons[i]};{code}" if reasons[i] else code
    table["image_reasons"] = reasons
    return table


def check_images(
    paths: Sequence[str] | pd.Series,
    checks: Sequence[str | ImageCheck] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Functional form of :class:`ImageChecker`: the result table."""
    return ImageChecker(checks, **kwargs).fit(paths).table_
