"""Assign new images to an existing run, and report how the new data drifted.

``vehiclust run`` saves, per descriptor set, the fitted preparation, the clustering's centres
and labelled reference sample and the outlier detectors' thresholds
(``descriptors/<NAME>/model.npz`` + ``model.json``, see :mod:`vehiclust.assign.model`);
:class:`RunAssigner` places new rows with them and :func:`assign_run` writes ``clusters.csv``
and the drift report (:mod:`vehiclust.assign.drift`).
"""

from vehiclust.assign.assign import Placement, RunAssigner, assign_rows, assign_run, place_in_space
from vehiclust.assign.drift import drift_summary, drift_table, psi, write_drift_report
from vehiclust.assign.model import (
    SetModel,
    build_consensus_model,
    build_set_model,
    mixer_state,
    model_for_set,
    preparation_state,
)

__all__ = [
    "Placement",
    "RunAssigner",
    "SetModel",
    "assign_rows",
    "assign_run",
    "build_consensus_model",
    "build_set_model",
    "drift_summary",
    "drift_table",
    "mixer_state",
    "model_for_set",
    "place_in_space",
    "preparation_state",
    "psi",
    "write_drift_report",
]
