"""Descriptors from images: deep models (PyTorch, ONNX Runtime, OpenVINO, TFLite) and classical
colour/shape descriptors behind one function, :func:`extract_descriptors`."""

from vehiclust.extract._imagenet import class_names as imagenet_class_names
from vehiclust.extract._registry import list_models, load_backend, model_summaries
from vehiclust.extract._runner import Extraction, extract_descriptors, resolve_image_path
from vehiclust.extract._weights import MODELS_ENV, resolve_weights
from vehiclust.extract.heads import predict_heads
from vehiclust.extract.walk import IMAGE_SUFFIXES, walk_images

__all__ = [
    "Extraction",
    "IMAGE_SUFFIXES",
    "MODELS_ENV",
    "extract_descriptors",
    "imagenet_class_names",
    "list_models",
    "load_backend",
    "model_summaries",
    "predict_heads",
    "resolve_image_path",
    "resolve_weights",
    "walk_images",
]
