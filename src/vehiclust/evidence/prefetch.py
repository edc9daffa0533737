"""Measure the per-image evidence of many images at once, in worker processes.

The describer measures each sampled image once per run (:class:`EvidenceCache`): its pixels
inside the vehicle box and the colour model on that box. On a small run the descriptor sets
sample nearly every image between them (the demo: all 1,200), so measuring them all up front,
split over the cores, costs no more and lets the sets then be described side by side, each
reading the shared cache. The values are those the describer would measure itself: the same
functions on the same images and boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vehiclust.evidence.boxes import BoxColourSource, box_colours, vehicle_boxes
from vehiclust.evidence.pixels import PixelSource, pixel_evidence
from vehiclust.evidence.table import EvidenceCache, keep_measured, recall_measured

#: Up to this many images a run's describe stage measures every image up front (see above);
#: above it the sets sample a small share of the images and each set measures its own.
PREFETCH_MAX_IMAGES = 5_000


def measure_chunk(paths: Sequence[str], boxes: np.ndarray | None, weights: str | Path | None,
                  colours: bool) -> tuple[list[dict], list[dict] | None]:
    """Pixel evidence (and the colour model on the vehicle boxes when ``colours``) of some images;
    module-level so a worker process can run it. ``None`` for the colours without the model."""
    pixels = pixel_evidence(list(paths), progress=False, boxes=boxes).to_dict("records")
    found = box_colours(list(paths), boxes, weights=weights) if colours and boxes is not None else None
    return pixels, (None if found is None else found.to_dict("records"))


def prefetch_evidence(paths: Sequence[str], cache: EvidenceCache, *, run_chunks: Callable[..., list[Any]],
                      n_chunks: int, weights: str | Path | None = None, cache_dir: str | Path | None = None,
                      boxes: bool = True) -> int:
    """Fill ``cache`` with the evidence of every image in ``paths`` not there yet; returns how many
    were measured.

    ``run_chunks(fn, jobs)`` runs ``fn(*job)`` for each job and returns the results in order (the
    pipeline passes :func:`vehiclust.parallel.run_jobs`); the images are split into ``n_chunks``
    jobs. ``boxes``: as :class:`ClusterDescriber`'s (colours read inside the detector's box)."""
    pixel_source = PixelSource(boxes=cache.boxes.get if boxes else None)  # for the disk cache's name
    colour_source = BoxColourSource(cache.boxes.get, weights=weights, failed=cache.heads_failed)
    recall_measured(paths, pixel_source, cache, cache_dir)
    if boxes:
        recall_measured(paths, colour_source, cache, cache_dir)
    pixels_done = cache.measured.setdefault(PixelSource.name, {})
    colours_done = cache.measured.setdefault(BoxColourSource.name, {})
    todo = sorted({str(p) for p in paths if p and str(p) not in pixels_done})
    if not todo:
        return 0
    found_boxes = None
    if boxes and "detector" not in cache.heads_failed:
        found_boxes = vehicle_boxes(todo, weights=weights, cache_dir=cache_dir, progress=False)
        if found_boxes is None:
            cache.heads_failed.add("detector")
        else:
            cache.boxes.update(zip(todo, found_boxes))
    colours = boxes and found_boxes is not None and BoxColourSource.name not in cache.heads_failed
    parts = [part for part in np.array_split(np.arange(len(todo)), max(1, n_chunks)) if len(part)]
    jobs = [([todo[i] for i in part], None if found_boxes is None else found_boxes[part], weights, colours)
            for part in parts]
    results = run_chunks(measure_chunk, jobs)
    for part, (pixels, model) in zip(parts, results):
        for i, rec in zip(part, pixels):
            rec.pop("path", None)
            pixels_done[todo[i]] = {c: rec.get(c) for c in PixelSource.columns}
        if colours and model is None:
            cache.heads_failed.add(BoxColourSource.name)
        elif model is not None:
            colours_done.update((todo[i], {c: rec.get(c) for c in BoxColourSource.columns}) for i, rec in zip(part, model))
    pixel_source.unboxed = boxes and found_boxes is None
    keep_measured(todo, pixel_source, cache, cache_dir)
    if colours:
        keep_measured(todo, colour_source, cache, cache_dir)
    return len(todo)
