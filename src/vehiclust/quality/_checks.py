"""One class per image problem, cleanvision-style: *score* measured properties, then *mark*.

Each check reads columns of the property table (see :mod:`vehiclust.evidence.properties`) and
returns a ``<name>_quality`` in [0, 1] (1 = fine) that is exactly 0.5 at its threshold, so
flag = quality < 0.5 and the qualities of different checks are comparable. NaN quality means
"could not be measured" (e.g. the file is unreadable: the ``unreadable`` check speaks then).

Default thresholds come from real data in ``../shared``: they flag well under 1 % of the
Zenodo, Udacity and colour-dataset images and every planted problem of the golden set.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError


def quality_low_is_bad(value: np.ndarray, threshold: float, steepness: float = 4.0) -> np.ndarray:
    """1 / (1 + (t / v)^s): 0.5 at ``threshold``, towards 0 below it, towards 1 above."""
    v = np.asarray(value, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = 1.0 / (1.0 + (threshold / np.maximum(v, 0.0)) ** steepness)
    q[np.isfinite(v) & (v <= 0)] = 0.0
    q[~np.isfinite(v)] = np.nan
    return q


def quality_high_is_bad(value: np.ndarray, threshold: float, steepness: float = 4.0) -> np.ndarray:
    """1 / (1 + (v / t)^s): 0.5 at ``threshold``, towards 0 above it."""
    v = np.asarray(value, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = 1.0 / (1.0 + (np.maximum(v, 0.0) / threshold) ** steepness)
    q[~np.isfinite(v)] = np.nan
    return q


class ImageCheck(ABC):
    """Base class: ``score(properties) -> quality``; ``mark(quality) -> flags``."""

    name: ClassVar[str] = ""
    reason: ClassVar[str] = ""
    properties: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[str] = "properties"  # which measurement table: "properties" or "vehicle"

    def _check_positive(self, pname: str) -> None:
        v = getattr(self, pname)
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not v > 0:
            raise InputError(f"The '{pname}' parameter of {type(self).__name__} must be a float in (0, inf). Got {v!r}.")

    def validate(self) -> None:
        """Check parameters (called before scoring)."""

    @abstractmethod
    def score(self, props: pd.DataFrame) -> np.ndarray:
        """Quality in [0, 1] per row (1 = fine, 0.5 = at the threshold, NaN = not measured)."""

    def mark(self, quality: np.ndarray, props: pd.DataFrame) -> np.ndarray:
        q = np.asarray(quality, dtype=np.float64)
        return np.isfinite(q) & (q < 0.5)

    def extra_columns(self, props: pd.DataFrame) -> dict[str, np.ndarray]:
        """Measured properties shown in the result table next to the quality."""
        return {p: props[p].to_numpy() for p in self.properties if p in props}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def _readable(props: pd.DataFrame) -> np.ndarray:
    return props["readable"].to_numpy(bool)


class MissingFileCheck(ImageCheck):
    """The file is not there (or its path was refused, e.g. it escapes the images root)."""

    name = "missing_file"
    reason = "missing_file"
    properties = ("file_exists",)

    def score(self, props: pd.DataFrame) -> np.ndarray:
        return props["file_exists"].to_numpy(bool).astype(np.float64)


class UnreadableCheck(ImageCheck):
    """The file exists but does not decode: truncated, corrupt, not an image, a bomb."""

    name = "unreadable"
    reason = "unreadable"
    properties = ("read_error",)

    def score(self, props: pd.DataFrame) -> np.ndarray:
        q = _readable(props).astype(np.float64)
        q[~props["file_exists"].to_numpy(bool)] = np.nan
        return q

    def extra_columns(self, props: pd.DataFrame) -> dict[str, np.ndarray]:
        return {"read_error": props["read_error"].fillna("").astype(str).to_numpy()}


class OddSizeCheck(ImageCheck):
    """Tiny images or slivers: a side under ``min_side`` px or an aspect ratio over ``max_aspect``."""

    name = "odd_size"
    reason = "odd_size"
    properties = ("width", "height")

    def __init__(self, min_side: float = 24, max_aspect: float = 3.0) -> None:
        self.min_side = min_side
        self.max_aspect = max_aspect

    def validate(self) -> None:
        self._check_positive("min_side")
        self._check_positive("max_aspect")

    def score(self, props: pd.DataFrame) -> np.ndarray:
        w = props["width"].to_numpy(np.float64)
        h = props["height"].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            aspect = np.maximum(w / h, h / w)
        side_q = quality_low_is_bad(np.minimum(w, h), self.min_side)
        aspect_q = quality_high_is_bad(aspect, self.max_aspect)
        return np.fmin(side_q, aspect_q)

    def extra_columns(self, props: pd.DataFrame) -> dict[str, np.ndarray]:
        w = props["width"].to_numpy(np.float64)
        h = props["height"].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            aspect = np.maximum(w / h, h / w)
        return {"width": w, "height": h, "aspect_ratio": np.round(aspect, 4)}


class BlurryCheck(ImageCheck):
    """Contrast-normalised variance of the Laplacian (64 px grey thumbnail) below ``threshold``."""

    name = "blurry"
    reason = "blurry"
    properties = ("sharpness",)

    def __init__(self, threshold: float = 0.1) -> None:
        self.threshold = threshold

    def validate(self) -> None:
        self._check_positive("threshold")

    def score(self, props: pd.DataFrame) -> np.ndarray:
        return quality_low_is_bad(props["sharpness"].to_numpy(np.float64), self.threshold, steepness=2.0)


class DarkCheck(ImageCheck):
    """Even the bright parts are dark: 95th-percentile brightness below ``threshold`` (0-1)."""

    name = "dark"
    reason = "dark"
    properties = ("brightness_p95",)

    def __init__(self, threshold: float = 0.2) -> None:
        self.threshold = threshold

    def validate(self) -> None:
        self._check_positive("threshold")

    def score(self, props: pd.DataFrame) -> np.ndarray:
        return quality_low_is_bad(props["brightness_p95"].to_numpy(np.float64), self.threshold)


class OverexposedCheck(ImageCheck):
    """Washed out: even the dark parts are bright, 5th-percentile brightness above ``threshold``."""

    name = "overexposed"
    reason = "overexposed"
    properties = ("brightness_p05",)

    def __init__(self, threshold: float = 0.8) -> None:
        self.threshold = threshold

    def validate(self) -> None:
        if not isinstance(self.threshold, numbers.Real) or not 0 < self.threshold < 1:
            raise InputError(f"The 'threshold' parameter of OverexposedCheck must be a float in (0, 1). Got {self.threshold!r}.")

    def score(self, props: pd.DataFrame) -> np.ndarray:
        # measured on darkness = 1 - p05, low darkness is bad: 0.5 at threshold
        darkness = 1.0 - props["brightness_p05"].to_numpy(np.float64)
        return quality_low_is_bad(darkness, 1.0 - self.threshold)


class LowInformationCheck(ImageCheck):
    """Grey-level entropy (bits) below ``threshold``: flat or nearly uniform images."""

    name = "low_information"
    reason = "low_information"
    properties = ("entropy",)

    def __init__(self, threshold: float = 4.0) -> None:
        self.threshold = threshold

    def validate(self) -> None:
        self._check_positive("threshold")

    def score(self, props: pd.DataFrame) -> np.ndarray:
        return quality_low_is_bad(props["entropy"].to_numpy(np.float64), self.threshold, steepness=6.0)


class NearDuplicateCheck(ImageCheck):
    """Perceptual-hash (dHash) neighbours within ``max_distance`` bits of an earlier image.

    Duplicates are grouped; the first row of a group (input order) is kept and the others are
    flagged, with ``duplicate_of`` = that first row's position. The quality is the Hamming
    distance to the nearest other image scaled so that ``max_distance`` + 0.5 bits is 0.5.
    """

    name = "near_duplicate"
    reason = "near_duplicate"
    properties = ("dhash",)

    def __init__(self, max_distance: int = 4) -> None:
        self.max_distance = max_distance

    def validate(self) -> None:
        v = self.max_distance
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or not 0 <= v <= 16:
            raise InputError(f"The 'max_distance' parameter of NearDuplicateCheck must be an int in [0, 16]. Got {v!r}.")

    def _groups(self, props: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        from vehiclust.quality._duplicates import duplicate_groups

        key = (id(props), self.max_distance)
        if getattr(self, "_memo_key", None) != key:
            self._memo = duplicate_groups(props["dhash"].fillna("").astype(str).to_numpy(), self.max_distance)
            self._memo_key = key
        return self._memo

    def score(self, props: pd.DataFrame) -> np.ndarray:
        nearest, _ = self._groups(props)
        q = np.minimum(1.0, (nearest.astype(np.float64) + 0.5) / (2.0 * self.max_distance + 2.0))
        q[nearest < 0] = 1.0  # no neighbour within reach
        q[props["dhash"].fillna("").astype(str).to_numpy() == ""] = np.nan
        return q

    def mark(self, quality: np.ndarray, props: pd.DataFrame) -> np.ndarray:
        _, first = self._groups(props)
        return (first >= 0) & (first != np.arange(len(first)))

    def extra_columns(self, props: pd.DataFrame) -> dict[str, np.ndarray]:
        nearest, first = self._groups(props)
        dup_of = np.where((first >= 0) & (first != np.arange(len(first))), first, -1)
        return {"dhash": props["dhash"].fillna("").astype(str).to_numpy(), "dhash_distance": nearest, "duplicate_of": dup_of}


class NoVehicleCheck(ImageCheck):
    """The vehicle detector's best confidence below ``threshold``: probably no vehicle."""

    name = "no_vehicle"
    reason = "no_vehicle"
    properties = ("vehicle_confidence",)
    needs = "vehicle"

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def validate(self) -> None:
        if not isinstance(self.threshold, numbers.Real) or not 0 < self.threshold < 1:
            raise InputError(f"The 'threshold' parameter of NoVehicleCheck must be a float in (0, 1). Got {self.threshold!r}.")

    def score(self, props: pd.DataFrame) -> np.ndarray:
        return quality_low_is_bad(props["vehicle_confidence"].to_numpy(np.float64), self.threshold, steepness=6.0)


#: name -> check class, in the column order of the result table.
CHECKS: dict[str, type[ImageCheck]] = {
    cls.name: cls
    for cls in (
        MissingFileCheck,
        UnreadableCheck,
        OddSizeCheck,
        BlurryCheck,
        DarkCheck,
        OverexposedCheck,
        LowInformationCheck,
        NearDuplicateCheck,
        NoVehicleCheck,
    )
}
