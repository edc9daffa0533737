"""The recommended defaults, in one place: `RunConfig`, the estimators' ``__init__`` defaults,
the CLI's shown defaults and the bench scripts all read them from here.

Nothing here imports from the package, so every module may import it.
"""

from __future__ import annotations

SEED = 0
"""The run's seed (every stage seed is derived from it, see ``pipeline.stage_seeds``)."""

PCA_COMPONENTS = 64
"""PCA dimensions each descriptor set (and each mix) is reduced to; a float in (0, 1) in a
config means the share of variance to keep instead."""

WHITEN = 0.5
"""PCA components divided by std ** WHITEN: 0 none, 1 full whitening, 0.5 partial
("square-root") whitening, chosen on the 4,800 Zenodo images (bench/RESULTS.md)."""

K_MIN = 2
"""Smallest number of clusters tried by the families that take a k."""

K_MAX = 40
"""Largest number of clusters tried by the families that take a k."""

FAMILY_NAMES = ("kmeans", "eac", "gmm", "ward", "hdbscan", "dbscan", "leiden")
"""The clustering families a run sweeps."""

TYPE_EVIDENCE_IMAGES = 500
"""Images an ImageNet classifier looks at, when no head table gives its classes, so that the
best-set rule can score how much of what the vehicles are each clustering explains
(``compare.type_evidence``; about 20 s on two cores)."""
