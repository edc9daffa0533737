"""Outliers in descriptor space, pyod-style, each with the reason that flagged it.

Detectors: k-NN distance and local outlier factor (one faiss k-NN graph), isolation forest,
HDBSCAN GLOSH, distance to the assigned cluster's centre; :class:`OutlierEnsemble` combines
them with data-driven thresholds. :func:`outlier_table` merges them with the image checks of
:mod:`vehiclust.quality` into the per-row table of a run, keeping two kinds apart: image
*problems* (unreadable, blurry, duplicate, no vehicle...) and *rare* images (far from the mass
in descriptor space). :func:`descriptor_twins` finds near-duplicates by cosine similarity and
:class:`NoVehicleScorer` combines the detector with descriptor-space and ImageNet evidence.
"""

from vehiclust.outliers._base import BaseDetector, calibrate, robust_location_scale, robust_threshold
from vehiclust.outliers._cluster_distance import ClusterDistanceDetector
from vehiclust.outliers._density import KNNDistanceDetector, LOFDetector, local_outlier_factor
from vehiclust.outliers._ensemble import DEFAULT_DETECTORS, DEFAULT_VOTERS, DETECTORS, OutlierEnsemble
from vehiclust.outliers._glosh import GLOSHDetector, condensed_tree, glosh_scores, point_lambdas
from vehiclust.outliers._isolation import IsolationForestDetector
from vehiclust.outliers._neighbors import KNNGraph, knn_graph
from vehiclust.outliers._no_vehicle import NoVehicleScorer, vehicle_mass
from vehiclust.outliers._standalone import OutlierReport, find_outliers
from vehiclust.outliers._table import DUPLICATE_REASON, INVALID_REASON, PROBLEM, RARE, image_problem_score, outlier_table
from vehiclust.outliers._twins import descriptor_twins
from vehiclust.outliers._vote import majority_outliers

__all__ = [
    "BaseDetector",
    "ClusterDistanceDetector",
    "DEFAULT_DETECTORS",
    "DEFAULT_VOTERS",
    "DETECTORS",
    "DUPLICATE_REASON",
    "GLOSHDetector",
    "INVALID_REASON",
    "IsolationForestDetector",
    "KNNDistanceDetector",
    "KNNGraph",
    "LOFDetector",
    "NoVehicleScorer",
    "PROBLEM",
    "RARE",
    "OutlierEnsemble",
    "OutlierReport",
    "calibrate",
    "condensed_tree",
    "descriptor_twins",
    "find_outliers",
    "glosh_scores",
    "image_problem_score",
    "knn_graph",
    "local_outlier_factor",
    "majority_outliers",
    "outlier_table",
    "point_lambdas",
    "robust_location_scale",
    "robust_threshold",
    "vehicle_mass",
]
