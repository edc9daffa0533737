"""The outlier galleries of the report: image problems first, rare images second.

Within each kind rows are sorted by ``outlier_score`` (worst first) and cut into pages, so a
run with thousands of outliers stays browsable (one closed ``<details>`` per page: a browser
loads a page's thumbnails only when it is opened). A duplicate is shown next to its twin
(``duplicate_of``), the pair framed together, whether or not the twin is itself flagged.
Reads only the outlier table of a :class:`~vehiclust.results.DescriptorRun`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vehiclust.results import DescriptorRun

#: (outlier_kind, section title, one-line explanation), in the order the report shows them
KINDS = (
    ("problem", "Image problems",
     "Something is wrong with the image itself: missing, unreadable, blurry, dark, overexposed, "
     "low information, odd size, a duplicate, or no vehicle in it."),
    ("rare", "Rare-looking images",
     "Fine images far from the mass of the data in descriptor space: unusual vehicles, colours or views."),
)


@dataclass
class GallerySection:
    kind: str
    title: str
    note: str
    items: list[tuple[int, int]] = field(default_factory=list)  # (row, twin row or -1), worst first
    total: int = 0

    def rows(self) -> np.ndarray:
        out = [r for item in self.items for r in item if r >= 0]
        return np.asarray(out, dtype=np.int64)

    def pages(self, page_size: int) -> list[list[tuple[int, int]]]:
        return [self.items[i:i + page_size] for i in range(0, len(self.items), page_size)]


def outlier_kinds(run: DescriptorRun) -> np.ndarray:
    """``outlier_kind`` per row; older tables without it: flagged rows are 'rare'."""
    table = run.outliers
    n = len(run.labels)
    if table is None or len(table) != n:
        return np.where(np.asarray(run.labels) < 0, "rare", "").astype(object)
    flagged = table["is_outlier"].to_numpy(bool)
    if "outlier_kind" in table:
        kind = table["outlier_kind"].fillna("").astype(str).to_numpy(object)
        return np.where(flagged & (kind == ""), "rare", kind)
    return np.where(flagged, "rare", "").astype(object)


def twin_rows(duplicate_of: pd.Series, paths: pd.Series | np.ndarray) -> np.ndarray:
    """Row of each ``duplicate_of`` twin (-1 for none): matched on the path as given or
    normalised, or a row number (tables made without paths)."""
    from vehiclust.io import normalise_path

    index = {normalise_path(p): i for i, p in enumerate(np.asarray(paths, dtype=object).tolist())}
    values = pd.Series(duplicate_of).fillna("").astype(str).tolist()
    n = len(values)
    out = np.full(n, -1, dtype=np.int64)
    for i, value in enumerate(values):
        if value:
            out[i] = index.get(normalise_path(value), int(value) if value.isdigit() and int(value) < n else -1)
    return out


def outlier_gallery(run: DescriptorRun, paths: pd.Series | np.ndarray, max_rows: int = 5_000) -> list[GallerySection]:
    """The report's outlier sections, problems then rare, each sorted by score (ties: row).

    At most ``max_rows`` rows per kind (the worst ones); ``total`` keeps the full count."""
    table = run.outliers
    kinds = outlier_kinds(run)
    n = len(kinds)
    score = (pd.to_numeric(table["outlier_score"], errors="coerce").fillna(0.0).to_numpy(np.float64)
             if table is not None and len(table) == n else np.zeros(n))
    twin = (twin_rows(table["duplicate_of"], paths) if table is not None and len(table) == n and "duplicate_of" in table
            else np.full(n, -1, dtype=np.int64))
    sections = []
    for kind, title, note in KINDS:
        rows = np.flatnonzero(kinds == kind)
        order = rows[np.lexsort((rows, -score[rows]))]
        section = GallerySection(kind, title, note, total=len(order))
        section.items = [(int(r), int(twin[r])) for r in order[:max_rows]]
        sections.append(section)
    return sections


def gallery_rows(sections: list[GallerySection]) -> np.ndarray:
    """Every row the galleries show (twins included), for the thumbnail builder."""
    parts = [s.rows() for s in sections]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)


def gallery_html(sections: list[GallerySection], figure: Callable[[int], str], page_size: int = 60) -> str:
    """HTML of the sections; ``figure(row)`` draws one thumbnail tile (escaped by the caller)."""
    parts = []
    for section in sections:
        if not section.total:
            continue
        shown = len(section.items)
        more = f" (the {shown:,} worst shown)" if shown < section.total else ""
        parts.append(f"<section class='outlier-kind' data-kind='{html.escape(section.kind)}'>"
                     f"<h3>{html.escape(section.title)}: {section.total:,}{more}</h3>"
                     f"<p class='muted'>{html.escape(section.note)} Worst first"
                     + ("; each duplicate is framed with its twin (second)." if section.kind == "problem" else ".")
                     + "</p>")
        for p, page in enumerate(section.pages(page_size)):
            first, last = p * page_size + 1, p * page_size + len(page)
            tiles = []
            for row, twin in page:
                if twin >= 0:
                    tiles.append("<div class='twins' style='display:inline-flex;gap:2px;padding:2px;"
                                 "border:2px solid #c60;border-radius:4px' title='duplicate and its twin'>"
                                 f"{figure(row)}{figure(twin)}</div>")
                else:
                    tiles.append(figure(row))
            parts.append(f"<details{' open' if p == 0 else ''}><summary>{first:,}-{last:,} of {section.total:,}</summary>"
                         "<div class='gallery'>" + "".join(tiles) + "</div></details>")
        parts.append("</section>")
    return "".join(parts)
