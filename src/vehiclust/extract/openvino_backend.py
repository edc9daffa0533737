"""OpenVINO backend: Open Model Zoo ``vehicle-attributes-recognition-barrier-0039``.

The network predicts colour (7) and type (4). Its last shared layer (``Eltwise3``, 128×5×5)
is added as an extra output and average-pooled into a 128-d descriptor that knows about
vehicle colour and body type, and the two softmax heads become the ``heads`` table.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vehiclust.exceptions import InputError
from vehiclust.extract._base import Backend, resize_rgb
from vehiclust.extract._weights import resolve_weights

log = logging.getLogger(__name__)

COLORS = ("white", "gray", "yellow", "red", "green", "blue", "black")
TYPES = ("car", "bus", "truck", "van")
FEATURE_LAYER = "Eltwise3"


class VehicleAttributesBackend(Backend):
    name = "vehicle-attributes"
    dim = 128
    head_columns = tuple(f"color_{c}" for c in COLORS) + tuple(f"type_{t}" for t in TYPES)
    relative = "openvino/vehicle-attributes-recognition-barrier-0039.xml"

    def __init__(self, weights: str | Path | None = None, n_threads: int | None = None) -> None:
        import openvino as ov

        self.weights_path = resolve_weights(self.relative, weights)
        core = ov.Core()
        try:
            model = core.read_model(str(self.weights_path))
        except RuntimeError as exc:
            raise InputError(f"'{self.weights_path}' could not be read as an OpenVINO model: {exc}") from None
        layer = next((op for op in model.get_ordered_ops() if op.get_friendly_name() == FEATURE_LAYER), None)
        if layer is None:
            raise InputError(f"'{self.weights_path}' has no layer '{FEATURE_LAYER}'; is it "
                             "vehicle-attributes-recognition-barrier-0039?")
        model.add_outputs([layer.output(0)])
        model.reshape({model.inputs[0].get_any_name(): [-1, 3, 72, 72]})
        config: dict = {"INFERENCE_PRECISION_HINT": "f32"}  # full precision whatever the CPU: reproducible descriptors
        if n_threads:
            config["INFERENCE_NUM_THREADS"] = int(n_threads)
        self._compiled = core.compile_model(model, "CPU", config)
        self._color = self._compiled.output("color")
        self._type = self._compiled.output("type")
        self._feat = self._compiled.outputs[-1]
        self._lock = threading.Lock()
        self._request = self._compiled.create_infer_request()

    def prepare(self, image: Image.Image) -> np.ndarray:
        bgr = resize_rgb(image, (72, 72))[:, :, ::-1]
        return np.ascontiguousarray(bgr.transpose(2, 0, 1), dtype=np.float32)  # 0-255, BGR, CHW

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            res = self._request.infer({0: np.ascontiguousarray(batch, dtype=np.float32)})
            feats = np.asarray(res[self._feat]).mean(axis=(2, 3))
            colors = np.asarray(res[self._color]).reshape(len(batch), -1)
            types = np.asarray(res[self._type]).reshape(len(batch), -1)
        return feats.astype(np.float32), np.concatenate([colors, types], axis=1).astype(np.float32)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": str(self.weights_path), "feature_layer": FEATURE_LAYER}
