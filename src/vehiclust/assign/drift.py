"""Drift of new rows against the run: cluster shares (PSI), outlier share, a new kind of image.

The population stability index over the run's clusters is
``PSI = sum_c (now_c - then_c) * ln(now_c / then_c)`` (shares smoothed by 1e-4); the usual
reading is < 0.1 stable, 0.1-0.25 a moderate shift, > 0.25 a major shift. A new row is of
"a new kind" when it is farther from every cluster centre (in units of each cluster's spread)
or from the run's rows than 99 % of the run's own rows, when it lies farther off the run's PCA
subspace than 99 % of rows the PCA was not fitted on, or (with ``--images``) when the image
checks find no vehicle in it; about 1 % of the run's own rows are so by construction, 0-4 %
of fresh draws of the demo's vehicles.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom

from vehiclust.assign.model import FAR_QUANTILE, SetModel
from vehiclust.io.atomic import atomic_write_csv, atomic_write_text

PSI_MODERATE = 0.1
NEW_KIND_P = 1e-3
PSI_MAJOR = 0.25
_EPS = 1e-4
DRIFT_COLUMNS = ["cluster", "cluster_name", "run_rows", "run_share", "new_rows", "new_share", "share_ratio", "psi",
                 "run_outlier_share", "new_outlier_share", "new_kind_rows", "new_kind_share"]


def psi(then: np.ndarray, now: np.ndarray) -> np.ndarray:
    """Per-category PSI terms of two share vectors (each summing to 1)."""
    p = np.maximum(np.asarray(then, np.float64), _EPS)
    q = np.maximum(np.asarray(now, np.float64), _EPS)
    return (q - p) * np.log(q / p)


def drift_table(model: SetModel, table: pd.DataFrame, names: dict[int, str] | None = None) -> pd.DataFrame:
    """One row per run cluster + an ``all`` row (cluster -1): shares then/now, PSI, outliers, new kind.

    ``table``: the new rows' clusters table (``cluster``, ``is_outlier``, ``new_kind``).
    """
    names = names or {}
    a = model.arrays
    ids = a["run_cluster_ids"]
    run_counts, run_flagged = a["run_counts"].astype(float), a["run_flagged"].astype(float)
    labels = table["cluster"].to_numpy(np.int64)
    flagged = table["is_outlier"].to_numpy(bool)
    new_kind = table["new_kind"].to_numpy(bool) if "new_kind" in table else np.zeros(len(table), bool)
    new_counts = np.array([(labels == c).sum() for c in ids], float)
    new_flagged = np.array([(flagged & (labels == c)).sum() for c in ids], float)
    new_far = np.array([(new_kind & (labels == c)).sum() for c in ids], float)
    then = run_counts / max(run_counts.sum(), 1.0)
    now = new_counts / max(new_counts.sum(), 1.0)
    terms = psi(then, now)
    frame = pd.DataFrame({
        "cluster": ids.astype(np.int64),
        "cluster_name": [names.get(int(c), f"cluster {int(c)}") for c in ids],
        "run_rows": run_counts.astype(np.int64),
        "run_share": then,
        "new_rows": new_counts.astype(np.int64),
        "new_share": now,
        "share_ratio": np.where(then > 0, now / np.maximum(then, _EPS), np.nan),
        "psi": terms,
        "run_outlier_share": run_flagged / np.maximum(run_counts, 1.0),
        "new_outlier_share": new_flagged / np.maximum(new_counts, 1.0),
        "new_kind_rows": new_far.astype(np.int64),
        "new_kind_share": new_far / np.maximum(new_counts, 1.0),
    })
    n_run, n_new = float(a["run_totals"][0]), float(len(table))
    total = {
        "cluster": -1, "cluster_name": "all", "run_rows": int(n_run), "run_share": 1.0, "new_rows": int(n_new),
        "new_share": 1.0, "share_ratio": 1.0, "psi": float(terms.sum()),
        "run_outlier_share": float(a["run_totals"][1]) / max(n_run, 1.0),
        "new_outlier_share": float(flagged.sum()) / max(n_new, 1.0),
        "new_kind_rows": int(new_kind.sum()), "new_kind_share": float(new_kind.sum()) / max(n_new, 1.0),
    }
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return frame[DRIFT_COLUMNS]


def drift_summary(drift: pd.DataFrame) -> dict[str, Any]:
    """The headline numbers and a plain sentence."""
    per = drift[drift["cluster"] >= 0]
    total = drift[drift["cluster"] < 0].iloc[0]
    baseline = 1.0 - FAR_QUANTILE
    new_kind = float(total["new_kind_share"])
    # a new kind: clearly more far rows than the run's 1 %: five times as many, at least 5 rows,
    # and more than rows like the run's give by chance (one-sided binomial test at 0.1 %). Fresh
    # draws of the demo's vehicles are 0-3.5 % far (docs/assign.md), road scenes 88-100 %
    rows_far, n_new = int(total["new_kind_rows"]), int(total["new_rows"])
    is_new_kind = (new_kind > 5 * baseline and rows_far >= 5
                   and binom.sf(rows_far - 1, max(n_new, 1), baseline) < NEW_KIND_P)
    affected = per[per["new_kind_rows"] > 0].sort_values("new_kind_rows", ascending=False)
    affected = affected[affected["new_kind_rows"] >= 0.1 * max(int(total["new_kind_rows"]), 1)]
    shifted = per.assign(gap=(per["new_share"] - per["run_share"]).abs()).sort_values("psi", ascending=False)
    shifted = shifted[(shifted["psi"] >= 0.02) & (shifted["gap"] >= 0.02)]
    value = float(total["psi"])
    level = "major" if value > PSI_MAJOR else "moderate" if value > PSI_MODERATE else "none"
    parts = []
    if is_new_kind:
        where = ", ".join(f"{_named(r.cluster, r.cluster_name)} ({int(r.new_kind_rows)} rows)" for r in affected.head(3).itertuples())
        parts.append(f"{new_kind:.0%} of the new images fit no cluster (the run: {baseline:.0%}); nearest clusters: {where}")
    for r in shifted.head(3).itertuples():
        change = ("doubled" if r.share_ratio >= 2 else "more than halved" if r.share_ratio <= 0.5
                  else "grew" if r.new_share > r.run_share else "shrank")
        parts.append(f"{_named(r.cluster, r.cluster_name)} {change}: {r.run_share:.0%} → {r.new_share:.0%}")
    outl_then, outl_now = float(total["run_outlier_share"]), float(total["new_outlier_share"])
    if outl_now > max(2 * outl_then, outl_then + 0.05):
        parts.append(f"outliers rose from {outl_then:.0%} to {outl_now:.0%}")
    if level == "none" and not is_new_kind:
        sentence = (f"No drift: the new images spread over the clusters like the run's (PSI {value:.3f}); "
                    f"{new_kind:.0%} fit no cluster, {outl_now:.0%} are outliers (run: {outl_then:.0%}).")
    else:
        words = {"none": "stable", "moderate": "a moderate shift", "major": "a major shift"}[level]
        sentence = "; ".join(parts) + f". Cluster shares: PSI {value:.2f} ({words})."
        sentence = sentence[0].upper() + sentence[1:]
    return {
        "psi": value,
        "shift": level,
        "new_kind_share": new_kind,
        "new_kind": bool(is_new_kind),
        "affected_clusters": [int(c) for c in affected["cluster"].head(3)] if is_new_kind else [],
        "shifted_clusters": [int(c) for c in shifted["cluster"].head(3)],
        "run_outlier_share": outl_then,
        "new_outlier_share": outl_now,
        "sentence": sentence,
    }


def _named(cluster: Any, name: Any) -> str:
    """"cluster 4, night scenes" (just "cluster 4" when the run gave no name)."""
    plain = f"cluster {int(cluster)}"
    return plain if str(name) in ("", plain, "nan") else f"{plain}, {name}"


def write_drift_report(drift: pd.DataFrame, out: str | Path, *, run_dir: Path | None = None, set_name: str = "") -> dict[str, Any]:
    """``drift.csv``, ``drift.json`` (the summary) and ``drift.html`` in ``out``; returns the summary."""
    out = Path(out)
    summary = drift_summary(drift)
    summary.update({"run": str(run_dir) if run_dir else "", "descriptor_set": set_name})
    atomic_write_csv(drift.round(6), out / "drift.csv")
    atomic_write_text(json.dumps(summary, indent=2), out / "drift.json")
    shown = drift.copy()
    for c in ("run_share", "new_share", "run_outlier_share", "new_outlier_share", "new_kind_share"):
        shown[c] = (100 * shown[c]).map("{:.1f} %".format)
    shown["psi"] = shown["psi"].map("{:.4f}".format)
    shown["share_ratio"] = shown["share_ratio"].map("{:.2f}".format)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>vehiclust drift</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}</style></head><body>"
        f"<h1>Drift of the new images</h1><p>Run <code>{html.escape(str(run_dir or ''))}</code>, "
        f"descriptor set <b>{html.escape(set_name)}</b>.</p>"
        f"<p><b>{html.escape(summary['sentence'])}</b></p>"
        f"<p>PSI &lt; {PSI_MODERATE}: stable; {PSI_MODERATE}–{PSI_MAJOR}: moderate shift; &gt; {PSI_MAJOR}: major shift. "
        f"An image of a new kind lies farther from every cluster, from the run's images or off their subspace "
        f"than {FAR_QUANTILE:.0%} of the run's images, or holds no vehicle.</p>"
        + shown.to_html(index=False, escape=True) + "</body></html>"
    )
    atomic_write_text(page, out / "drift.html")
    return summary
