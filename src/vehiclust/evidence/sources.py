"""The registry of evidence sources (:data:`SOURCES`) and what the consumers ask of it.

Add a source here: import its class from its module and put an instance in :data:`SOURCES`
(see :mod:`vehiclust.evidence.base` and docs/architecture.md, "an evidence source").
"""

from __future__ import annotations

from collections.abc import Sequence

from vehiclust.evidence.base import ATTRIBUTE_PREFIX, EvidenceSource, check_source

#: The registered sources, measured in this order. The built-in per-image evidence (pixels,
#: vehicle box, colour model on the box, model heads) is measured by ``describe`` itself.
SOURCES: list[EvidenceSource] = []


def register_source(source: EvidenceSource) -> EvidenceSource:
    """Add ``source`` to :data:`SOURCES` (replacing one of the same name); returns it."""
    check_source(source)
    unregister_source(source.name)
    SOURCES.append(source)
    return source


def unregister_source(name: str) -> None:
    """Remove the source called ``name`` from :data:`SOURCES` (nothing if there is none)."""
    SOURCES[:] = [s for s in SOURCES if s.name != name]


def sources(names: Sequence[str] | None = None) -> list[EvidenceSource]:
    """The registered sources (or those of ``names``, in registry order)."""
    return [s for s in SOURCES if names is None or s.name in names]


def attribute_group(attribute: str) -> str | None:
    """The follows group of an ``evidence:<source>:<column>`` attribute; None when the source
    is not registered or does not group that column."""
    if not attribute.startswith(ATTRIBUTE_PREFIX):
        return None
    name, _, column = attribute[len(ATTRIBUTE_PREFIX):].partition(":")
    return next((s.groups.get(column) for s in SOURCES if s.name == name), None)


def source_groups() -> list[str]:
    """Every follows group the registered sources name, in registry order."""
    return list(dict.fromkeys(g for s in SOURCES for g in s.groups.values()))


SOURCES[:] = [check_source(s) for s in SOURCES]  # a malformed entry fails on import, with its name
