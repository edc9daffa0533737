from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs


@pytest.fixture(scope="session")
def blobs5():
    """600 rows, 8 dims, 5 well-separated planted clusters."""
    X, y = make_blobs(600, n_features=8, centers=5, cluster_std=0.6, center_box=(-8, 8), random_state=3)
    return X.astype(np.float32), y
