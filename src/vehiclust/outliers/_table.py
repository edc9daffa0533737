"""The per-row outlier table of one descriptor set: descriptor detectors + image checks.

One row per input row (invalid descriptors included), in input order. ``outlier_score`` is
the larger of the descriptor ensemble's calibrated outlierness and the image checks'
outlierness, both in [0, 1] with 0.5 on their thresholds, so it ranks rows from any source
on one scale; invalid descriptors score 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vehiclust.outliers._ensemble import OutlierEnsemble

INVALID_REASON = "invalid_descriptor"


def outlier_table(
    n_rows: int,
    valid: np.ndarray,
    ensemble: OutlierEnsemble | None,
    image_checks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Assemble the table the pipeline stores in ``DescriptorRun.outliers``."""
    valid = np.asarray(valid, dtype=bool)
    if valid.shape != (n_rows,):
        from vehiclust.exceptions import InputError

        raise InputError(f"outlier_table: 'valid' has shape {valid.shape}, expected ({n_rows},).")
    cols: dict[str, np.ndarray] = {}
    desc_score = np.zeros(n_rows)
    desc_flag = np.zeros(n_rows, dtype=bool)
    desc_reasons = np.full(n_rows, "", dtype=object)
    if ensemble is not None:
        for name in ensemble.scores_.columns:
            col = np.full(n_rows, np.nan)
            col[valid] = ensemble.scores_[name].to_numpy()
            cols[name] = np.round(col, 6)
        desc_score[valid] = ensemble.outlierness_
        desc_flag[valid] = ensemble.labels_.astype(bool)
        desc_reasons[valid] = ensemble.reasons_
    desc_score[~valid] = 1.0
    desc_flag[~valid] = True
    desc_reasons[~valid] = INVALID_REASON
    cols["descriptor_outlierness"] = np.round(desc_score, 6)
    frame = pd.DataFrame(cols, index=range(n_rows))

    image_flag = np.zeros(n_rows, dtype=bool)
    image_score = np.zeros(n_rows)
    image_reasons = np.full(n_rows, "", dtype=object)
    if image_checks is not None:
        if len(image_checks) != n_rows:
            from vehiclust.exceptions import InputError

            raise InputError(f"The image-check table has {len(image_checks):,} rows but the case has {n_rows:,}.")
        image_reasons = image_checks["image_reasons"].fillna("").astype(str).to_numpy(object)
        image_flag = image_reasons != ""
        image_score = image_checks["image_outlierness"].to_numpy(np.float64)
        quality_cols = [c for c in image_checks.columns if c.endswith("_quality") or c == "image_outlierness"]
        for c in quality_cols:
            frame[c] = image_checks[c].to_numpy()

    frame["is_outlier"] = desc_flag | image_flag
    frame["outlier_score"] = np.round(np.fmax(desc_score, image_score), 6)
    frame["outlier_reasons"] = [
        ";".join(r for r in (a, b) if r) for a, b in zip(image_reasons, desc_reasons)
    ]
    return frame
