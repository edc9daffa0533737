"""One seed scheme: how the package turns one seed into the seeds of its parts.

* :func:`child_seeds` — one seed → an independent, named seed per part (``numpy``'s
  ``SeedSequence.spawn``): the run's stage seeds, the seeds of ``find_outliers``' steps.
* :func:`draw_seed` — the next int seed drawn from an estimator's random state (a
  ``RandomState``, a ``Generator``, an int or None, as scikit-learn's ``random_state``), for a
  library that takes an int seed (faiss, scikit-learn sub-estimators, igraph).

Two older derivations stay where they are because changing them would change results:
``cluster._families.config_seed`` (a hash of base seed, family and parameters, so a
configuration's seed does not depend on sweep order) and a few ``seed + offset`` seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

MAX_SEED = 2**31 - 1


def child_seeds(seed: int | None, names: Sequence[str]) -> dict[str, int]:
    """One seed → an independent, recorded int seed per name (the order of ``names`` matters)."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: int(child.generate_state(1)[0]) for name, child in zip(names, children)}


def draw_seed(random_state: Any) -> int:
    """The next int seed in [0, 2**31 - 1) drawn from ``random_state`` (advancing it)."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, MAX_SEED))
    return int(check_random_state(random_state).randint(0, MAX_SEED))
