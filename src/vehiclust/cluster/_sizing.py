"""The sweep right-sized for small data: the grid of k, and the stability refits.

On a large collection every k from `k_min` to `k_max` is worth its fit. On a small one (up to
:data:`SMALL_ROWS` rows, e.g. the 1,200-row demo) every configuration costs about the same
fixed scoring work (silhouette, stability refits, the structureless reference) while the
high k only split groups of a few dozen rows, so :func:`k_grid` keeps every k up to
:data:`DENSE_UP_TO` and every eighth one above it (24, 32, 40 with the default k_max), and
always the last: the ends of the R² curve, whose chord the elbow of the selection rule is
measured from, do not move, and neither does the knee where it lies in the dense part (on the
demo's seven sets every family's elbow lies at k 5-14, and the chosen family and k of every
set are those of the full grid: 92 configurations per set instead of 104, ``bench/RESULTS.md``). :func:`sweep_params` also asks for one
stability refit per configuration instead of three on small data (the pipeline passes it to
:class:`~vehiclust.cluster.ClusterSelector`; a library user sets ``n_stability`` directly).
Both together more than halve the demo's clustering time with the same chosen family and k
on its sets (``bench/RESULTS.md``, "The demo").
"""

from __future__ import annotations

SMALL_ROWS = 2_500
DENSE_UP_TO = 16
SPARSE_STEP = 8
SMALL_STABILITY_REFITS = 1


def k_grid(k_min: int, k_max: int, n_rows: int) -> list[int]:
    """The k values to try: ``k_min..k_max``, sparser above :data:`DENSE_UP_TO` on small data."""
    ks = list(range(int(k_min), int(k_max) + 1))
    if n_rows > SMALL_ROWS or len(ks) <= DENSE_UP_TO:
        return ks
    kept = [k for k in ks if k <= DENSE_UP_TO or (k - DENSE_UP_TO) % SPARSE_STEP == 0]
    if kept[-1] != ks[-1]:
        kept.append(ks[-1])
    return kept


def sweep_params(n_rows: int) -> dict[str, int]:
    """ClusterSelector parameters for a matrix of ``n_rows`` rows: fewer refits on small data."""
    return {"n_stability": SMALL_STABILITY_REFITS} if n_rows <= SMALL_ROWS else {}
