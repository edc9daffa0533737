"""ONNX Runtime backends: OSNet re-identification features and any user-supplied ONNX image
model (``--weights model.onnx --input-size 224 --mean ... --std ...``), with no code change."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vehiclust.exceptions import InputError, MissingWeightsError
from vehiclust.extract._base import IMAGENET_MEAN, IMAGENET_STD, Backend, normalize_chw, resize_rgb
from vehiclust.extract._weights import resolve_weights

log = logging.getLogger(__name__)


def _session(path: Path, n_threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if n_threads is not None:
        opts.intra_op_num_threads = int(n_threads)
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own non-standard exception types
        raise InputError(f"'{path}' could not be loaded as an ONNX model ({type(exc).__name__}: {exc}).") from None


def _pool(out: np.ndarray) -> np.ndarray:
    """N×C×H×W feature maps → N×C by global average; N×... vectors → N×d."""
    if out.ndim == 4:
        return out.mean(axis=(2, 3))
    return out.reshape(out.shape[0], -1)


class OSNetBackend(Backend):
    """OSNet x0.25 trained for person re-identification on MSMT17: appearance features that
    are sensitive to colour and texture layout, 512-d."""

    name = "osnet"
    dim = 512
    relative = "onnx/osnet_x0_25_msmt17.onnx"

    def __init__(self, weights: str | Path | None = None, n_threads: int | None = None) -> None:
        self.weights_path = resolve_weights(self.relative, weights)
        self._sess = _session(self.weights_path, n_threads)
        self._input = self._sess.get_inputs()[0].name

    def prepare(self, image: Image.Image) -> np.ndarray:
        return normalize_chw(resize_rgb(image, (256, 128)), IMAGENET_MEAN, IMAGENET_STD)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        out = self._sess.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return _pool(out).astype(np.float32, copy=False), None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": str(self.weights_path)}


def _triple(name: str, value: float | Sequence[float]) -> tuple[float, float, float]:
    vals = [float(value)] * 3 if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(vals) != 3:
        raise InputError(f"The '{name}' option of the onnx model must be one number or three (R, G, B). Got {value!r}.")
    return vals[0], vals[1], vals[2]


class GenericONNXBackend(Backend):
    """Any ONNX image model with one N×3×H×W (or N×H×W×3, ``layout="nhwc"``) float input.

    Pixels are scaled to [0, 1], then ``(x - mean) / std``; the chosen output (default: the
    first) is flattened, or average-pooled when it is an N×C×H×W feature map.
    """

    name = "onnx"

    def __init__(
        self,
        weights: str | Path | None = None,
        input_size: int | Sequence[int] = 224,
        mean: float | Sequence[float] = tuple(IMAGENET_MEAN.tolist()),
        std: float | Sequence[float] = tuple(IMAGENET_STD.tolist()),
        channels: str = "rgb",
        layout: str = "nchw",
        output: str | None = None,
        n_threads: int | None = None,
    ) -> None:
        if weights is None:
            raise InputError("The generic 'onnx' model needs --weights FILE.onnx (the model file).")
        path = Path(weights)
        if not path.is_file():
            raise MissingWeightsError(f"ONNX model file not found; looked in {path}.")
        size = [int(input_size)] * 2 if isinstance(input_size, (int, np.integer)) else [int(v) for v in input_size]
        if len(size) != 2 or min(size) < 8:
            raise InputError(f"The 'input_size' option of the onnx model must be one int >= 8 or (height, width). Got {input_size!r}.")
        if channels not in ("rgb", "bgr"):
            raise InputError(f"The 'channels' option of the onnx model must be 'rgb' or 'bgr'. Got {channels!r}.")
        if layout not in ("nchw", "nhwc"):
            raise InputError(f"The 'layout' option of the onnx model must be 'nchw' or 'nhwc'. Got {layout!r}.")
        self.weights_path = path
        self.size = (size[0], size[1])
        self.mean = _triple("mean", mean)
        self.std = _triple("std", std)
        if min(self.std) <= 0:
            raise InputError(f"The 'std' option of the onnx model must be positive. Got {std!r}.")
        self.channels = channels
        self.layout = layout
        self._sess = _session(path, n_threads)
        self._input = self._sess.get_inputs()[0].name
        outputs = [o.name for o in self._sess.get_outputs()]
        if output is not None and output not in outputs:
            raise InputError(f"The 'output' option of the onnx model must be one of {', '.join(outputs)}. Got {output!r}.")
        self.output = output or outputs[0]
        try:
            probe = self.infer(self.prepare(Image.new("RGB", (self.size[1], self.size[0]), (128, 128, 128)))[None])[0]
        except Exception as exc:  # onnxruntime's own exception types
            shapes = {i.name: i.shape for i in self._sess.get_inputs()}
            raise InputError(f"'{path}' rejected a {self.size[0]}x{self.size[1]} {self.layout} input; the model "
                             f"expects {shapes}. Set --input-size HEIGHTxWIDTH to match ({type(exc).__name__}).") from None
        self.dim = int(probe.shape[1])

    def prepare(self, image: Image.Image) -> np.ndarray:
        rgb = resize_rgb(image, self.size)
        if self.channels == "bgr":
            rgb = rgb[:, :, ::-1]
        x = normalize_chw(rgb, self.mean, self.std)
        return np.ascontiguousarray(x.transpose(1, 2, 0)) if self.layout == "nhwc" else x

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        out = self._sess.run([self.output], {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return _pool(np.asarray(out)).astype(np.float32, copy=False), None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": str(self.weights_path), "input_size": list(self.size),
                "mean": list(self.mean), "std": list(self.std), "channels": self.channels, "layout": self.layout,
                "output": self.output}
