"""Synthetic descriptor sets with known structure: set A encodes colour, set B encodes type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

N = 600


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: BLAS/OpenMP thread pools only add contention on a shared 2-core box."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def two_attribute_data() -> dict:
    """A: 512-d, 3 colours, unit scale. B: 16-d, 4 types, scale 100. Independent attributes."""
    rng = np.random.default_rng(7)
    colour = rng.integers(0, 3, N)
    vtype = rng.integers(0, 4, N)
    centres_a = rng.normal(size=(3, 512))
    centres_b = rng.normal(size=(4, 16))
    A = (centres_a[colour] + 0.3 * rng.normal(size=(N, 512))).astype(np.float32)
    B = (100 * (centres_b[vtype] + 0.15 * rng.normal(size=(N, 16)))).astype(np.float32)
    samples = pd.DataFrame({
        "path": [f"img/{i}.jpg" for i in range(N)],
        "colour": np.array(["red", "white", "black"])[colour],
        "type": np.array(["car", "bus", "truck", "van"])[vtype],
    })
    return {"A": A, "B": B, "colour": colour, "type": vtype, "samples": samples}


def kmeans_labels(X: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(X)
