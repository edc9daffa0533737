"""Give rows a density family left out (unsampled rows, noise) the label of a nearby point."""

from __future__ import annotations

import numpy as np


def nearest_labelled(X: np.ndarray, ref: np.ndarray, ref_labels: np.ndarray, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """For each row of X: (label of its nearest row of `ref`, that squared distance)."""
    import faiss

    index = faiss.IndexFlatL2(ref.shape[1])
    index.add(np.ascontiguousarray(ref, dtype=np.float32))
    labels = np.empty(X.shape[0], dtype=np.int64)
    dist = np.empty(X.shape[0], dtype=np.float32)
    for a in range(0, X.shape[0], chunk):
        d, i = index.search(np.ascontiguousarray(X[a: a + chunk], dtype=np.float32), 1)
        labels[a: a + chunk] = ref_labels[i[:, 0]]
        dist[a: a + chunk] = d[:, 0]
    return labels, dist
