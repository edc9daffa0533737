"""TFLite backend: quantised MobileNet v1 ImageNet embedding extractor (1024-d)."""

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


class MobileNetV1Backend(Backend):
    name = "mobilenet"
    dim = 1024
    relative = "tflite/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"

    def __init__(self, weights: str | Path | None = None, n_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.weights_path = resolve_weights(self.relative, weights)
        try:
            self._interp = Interpreter(model_path=str(self.weights_path), num_threads=n_threads)
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"'{self.weights_path}' could not be loaded as a TFLite model: {exc}") from None
        inp = self._interp.get_input_details()[0]
        out = self._interp.get_output_details()[0]
        self._in_index = inp["index"]
        self._out_index = out["index"]
        self._in_dtype = inp["dtype"]
        self._size = (int(inp["shape"][1]), int(inp["shape"][2]))
        self._scale, self._zero = out["quantization"]
        self._batch = 0
        self._lock = threading.Lock()

    def prepare(self, image: Image.Image) -> np.ndarray:
        return resize_rgb(image, self._size)  # uint8 NHWC: the model's own quantised input

    def _resize(self, n: int) -> None:
        if n != self._batch:
            self._interp.resize_tensor_input(self._in_index, [n, self._size[0], self._size[1], 3])
            self._interp.allocate_tensors()
            self._batch = n

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        with self._lock:
            self._resize(len(batch))
            self._interp.set_tensor(self._in_index, np.ascontiguousarray(batch, dtype=self._in_dtype))
            self._interp.invoke()
            out = self._interp.get_tensor(self._out_index).reshape(len(batch), -1)
        if self._scale:
            feats = (out.astype(np.float32) - np.float32(self._zero)) * np.float32(self._scale)
        else:
            feats = out.astype(np.float32)
        return feats, None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": str(self.weights_path)}
