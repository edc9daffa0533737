"""One evidence layer: per-image evidence measured once and read by describe, compare and the outliers.

* :mod:`vehiclust.evidence.base`: :class:`EvidenceSource` (name, columns and their kind,
  follows groups, measure, words);
* :mod:`vehiclust.evidence.sources`: the registry (:data:`SOURCES`) and what consumers ask of it;
* :mod:`vehiclust.evidence.table`: :func:`measure_sources` (every source, once per image) and
  :class:`EvidenceCache` (what a run has measured, shared by its sets and the comparison);
* :func:`label_columns`: the user's label columns (labels score and describe, never decide);
* :func:`read_head_table`: a model head table, paths normalised.
"""

from vehiclust.evidence.base import (
    ATTRIBUTE_PREFIX,
    CATEGORICAL,
    CONTINUOUS,
    KINDS,
    EvidenceSource,
    attribute_name,
    check_source,
)
from vehiclust.evidence.heads import read_head_table
from vehiclust.evidence.light import PixelLight
from vehiclust.evidence.properties import ImagePropertiesSource, PropertyCache, file_key, measure_cached
from vehiclust.evidence.labels import label_columns
from vehiclust.evidence.sources import (
    SOURCES,
    attribute_group,
    register_source,
    source_groups,
    sources,
    unregister_source,
)
from vehiclust.evidence.table import EvidenceCache, keep_measured, measure_source, measure_sources, recall_measured

__all__ = [
    "ATTRIBUTE_PREFIX",
    "CATEGORICAL",
    "CONTINUOUS",
    "SOURCES",
    "EvidenceCache",
    "EvidenceSource",
    "ImagePropertiesSource",
    "KINDS",
    "PixelLight",
    "PropertyCache",
    "attribute_group",
    "attribute_name",
    "check_source",
    "file_key",
    "keep_measured",
    "label_columns",
    "measure_cached",
    "measure_source",
    "measure_sources",
    "read_head_table",
    "recall_measured",
    "register_source",
    "source_groups",
    "sources",
    "unregister_source",
]
