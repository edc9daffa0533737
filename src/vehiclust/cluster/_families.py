"""The registry of clustering families the selector sweeps, selected by name.

A family turns a parameter dict into labels for EVERY row of the matrix. Families with a
target number of clusters (k-means, Gaussian mixture, Ward) sweep k over the grid; density
families (HDBSCAN, DBSCAN) sweep their own few parameters and report the k they found.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vehiclust.cluster.kmeans import FaissKMeans


@dataclass
class FamilyFit:
    """One configuration's outcome."""

    labels: np.ndarray  # (n,) int64; -1 only where the family could not assign a row
    noise_mask: np.ndarray | None = None  # rows the family left as noise before assignment
    info: dict[str, Any] = field(default_factory=dict)  # extra columns for the selection table


def config_seed(base: int, family: str, params: dict[str, Any]) -> int:
    """A seed that depends only on (base seed, family, parameters), not on sweep order."""
    key = f"{base}|{family}|{sorted(params.items())}".encode()
    return zlib.crc32(key) & 0x7FFFFFFF


class Family:
    """Base: one parameter dict → one fit; override `sweep` when fits can share work."""

    name: str = ""
    uses_k: bool = True

    def configs(self, n: int, ks: list[int]) -> list[dict[str, Any]]:
        return [{"k": k} for k in ks]

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        raise TypeError(f"{type(self).__name__} must implement fit().")

    def sweep(self, X: np.ndarray, configs: list[dict[str, Any]], base_seed: int) -> Iterator[tuple[dict[str, Any], FamilyFit]]:
        for params in configs:
            yield params, self.fit(X, params, config_seed(base_seed, self.name, params))


class KMeansFamily(Family):
    name = "kmeans"

    def __init__(self, n_init: int = 2, max_iter: int = 25) -> None:
        self.n_init = n_init
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> FamilyFit:
        km = FaissKMeans(params["k"], n_init=self.n_init, max_iter=self.max_iter, random_state=seed).fit(X)
        return FamilyFit(km.labels_, info={"inertia": km.inertia_})


FAMILIES: dict[str, type[Family]] = {
    "kmeans": KMeansFamily,
}


def available_families() -> tuple[str, ...]:
    return tuple(FAMILIES)


def make_family(name: str) -> Family:
    return FAMILIES[name]()
