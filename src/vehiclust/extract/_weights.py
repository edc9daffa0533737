"""Where model weights come from. Never downloaded: an explicit path, else $VEHICLUST_MODELS,
else the small Apache-2.0 OpenVINO models bundled in this package (``weights/``)."""

from __future__ import annotations

import os
from pathlib import Path

from vehiclust.exceptions import MissingWeightsError

MODELS_ENV = "VEHICLUST_MODELS"
BUNDLED = Path(__file__).parent / "weights"


def resolve_weights(relative: str, weights: str | Path | None = None) -> Path:
    """Find a weights file.

    ``weights`` (a file, or a folder laid out like ``shared/models``) wins; else the folder in
    ``$VEHICLUST_MODELS``. ``relative`` is the file's path inside such a folder, e.g.
    ``"onnx/osnet_x0_25_msmt17.onnx"``.
    """
    looked: list[str] = []
    candidates: list[Path] = []
    if weights is not None:
        w = Path(weights)
        candidates.append(w / relative if w.is_dir() else w)
    env = os.environ.get(MODELS_ENV)
    if env:
        candidates.append(Path(env) / relative)
    candidates.append(BUNDLED / relative)
    for c in candidates:
        looked.append(str(c))
        if c.is_file():
            return c
    where = ", ".join(looked)
    if weights is None and not env:
        where += f" (no --weights given and ${MODELS_ENV} is not set)"
    raise MissingWeightsError(
        f"Model weights '{relative}' not found; looked in {where}. Pass --weights PATH or set "
        f"${MODELS_ENV} to a folder laid out as openvino/, onnx/, tflite/ holding the file."
    )
