"""Per-image model predictions ("heads") as evidence for describing clusters.

``vehicle-attributes`` gives colour and type probabilities; ``imagenet`` gives EfficientNet-
Lite0's top ImageNet class and the total probability of vehicle classes (a "no vehicle" signal).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.extract._runner import extract_descriptors

_HEAD_MODELS = {"vehicle-attributes": "vehicle-attributes", "imagenet": "efficientnet-lite0"}


def predict_heads(
    image_paths: Sequence[str | Path],
    model: str = "vehicle-attributes",
    *,
    weights: str | Path | None = None,
    progress: bool = True,
    root: str | Path | None = None,
    batch_size: int = 32,
    n_jobs: int = 2,
) -> pd.DataFrame:
    """One row per image: column ``path`` (as given) then the model's head columns.

    Unreadable images get NaN probabilities (and an empty class name for ``imagenet``).
    """
    if model not in _HEAD_MODELS:
        raise InputError(f"The 'model' parameter of predict_heads must be one of {', '.join(_HEAD_MODELS)}. Got {model!r}.")
    ext = extract_descriptors(image_paths, _HEAD_MODELS[model], weights=weights, progress=progress, root=root,
                              batch_size=batch_size, n_jobs=n_jobs)
    frame = ext.heads.copy() if ext.heads is not None else pd.DataFrame(index=range(len(ext.paths)))
    frame.insert(0, "path", ext.paths)
    return frame
