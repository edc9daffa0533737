"""What an evidence source is: what a per-image measurement is called, its columns and their
kind, how it is measured and (optionally) how a cluster's share of it is said.

A source is measured once per image (cached per path for the run, and on disk when a cache
folder is given, like the image checks) and read by every consumer from the same table:

* ``describe`` adds its columns to each sampled image's evidence, summarises them per cluster
  (:attr:`ClusterEvidence.sources <vehiclust.describe.ClusterEvidence>`: median of a continuous
  column, word shares of a categorical one) and appends the source's :meth:`~EvidenceSource.words`
  to the description;
* ``compare`` measures it on a seeded sample of rows and asks how far each clustering follows
  it (``evidence:<source>:<column>`` attributes, in the ``follows`` group the source names).

A newcomer adds a source in two files: a module with an :class:`EvidenceSource` subclass
(importing this module, not the package) and one entry in
:data:`vehiclust.evidence.sources.SOURCES` (see docs/architecture.md, "an evidence source").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

#: The kinds of an evidence column: words (shares per cluster, homogeneity) or numbers (median, eta²).
CATEGORICAL = "categorical"
CONTINUOUS = "continuous"
KINDS = (CATEGORICAL, CONTINUOUS)
#: Prefix of a source's attribute columns in compare: ``evidence:<source>:<column>``.
ATTRIBUTE_PREFIX = "evidence:"


class EvidenceSource(ABC):
    """One source of per-image evidence. Subclass it and set:

    ``name``
        short and unique (it names the cache file and the attribute columns);
    ``columns``
        column → :data:`CATEGORICAL` or :data:`CONTINUOUS`, in the order :meth:`measure` returns them;
    ``groups``
        column → the "what each clustering follows" group it belongs to (``"colour"``,
        ``"brightness"``, or a new group name); columns left out are not asked about;
    ``version``
        bumped when a measurement changes meaning, so cached values are measured again;

    and implement :meth:`measure`; :meth:`words` and :meth:`ran` are optional.
    """

    name: str = ""
    columns: Mapping[str, str] = {}
    groups: Mapping[str, str] = {}
    version: int = 1

    @abstractmethod
    def measure(self, paths: Sequence[str]) -> pd.DataFrame:
        """One row per path, in order, with :attr:`columns`; NaN (or "") where an image cannot be read."""

    def cache_name(self) -> str:
        """The name of this source's disk cache (name and version; a source whose values depend
        on how it is set up adds that here)."""
        return f"{self.name}-{self.version}"

    def ran(self) -> bool:
        """False when the last :meth:`measure` had nothing to measure with (a missing model): its
        empty rows are then kept for this run only, never written to the disk cache."""
        return True

    def words(self, summary: Mapping[str, Any]) -> str:
        """A phrase for one cluster's description from its ``summary`` (column → median or
        word → share), or "" to say nothing."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def check_source(source: EvidenceSource) -> EvidenceSource:
    """``source`` if it is well formed (a name, known kinds, groups of its own columns), else ValueError."""
    if not isinstance(source, EvidenceSource) or not getattr(source, "name", ""):
        raise ValueError(f"An evidence source is an EvidenceSource with a name; got {source!r}.")
    bad = {c: k for c, k in source.columns.items() if k not in KINDS}
    if not source.columns or bad:
        raise ValueError(f"Evidence source {source.name!r}: every column needs a kind in {KINDS}; got {dict(source.columns)!r}.")
    stray = set(source.groups) - set(source.columns)
    if stray:
        raise ValueError(f"Evidence source {source.name!r}: groups name columns it does not have: {sorted(stray)}.")
    return source


def attribute_name(source: EvidenceSource, column: str) -> str:
    """The compare attribute column of one source column."""
    return f"{ATTRIBUTE_PREFIX}{source.name}:{column}"
