"""Run configuration: one dataclass, filled from the CLI or a TOML file."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vehiclust.defaults import FAMILY_NAMES, K_MAX, K_MIN, PCA_COMPONENTS, SEED, WHITEN
from vehiclust.exceptions import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class RunConfig:
    """Everything `vehiclust run` needs. Defaults are the ones we recommend."""

    descriptors: dict[str, Path] = field(default_factory=dict)  # NAME -> file
    paths: Path | None = None  # images_paths.csv
    images: Path | None = None  # images root (enables image checks, galleries, evidence)
    labels: Path | None = None  # optional labels file: path + attribute columns (reported only)
    heads: dict[str, Path] = field(default_factory=dict)  # NAME -> model head table (evidence)
    out: Path = Path("vehiclust-output")
    seed: int = SEED
    trust_pickle: bool = False
    cache_dir: Path | None = None  # default: <out>/.cache
    force: bool = False  # recompute cached stages
    progress: bool = True
    n_jobs: int | None = -1  # processes for per-set work (sweeps, maps) above 50k rows; -1 = every core
    # preparation
    l2_normalize: bool = True
    pca_components: int | float = PCA_COMPONENTS  # int = dims, float in (0, 1) = explained variance
    whiten: float = WHITEN  # PCA components / std**whiten: 0 none, 1 full, 0.5 partial (see DescriptorPreparer)
    # clustering
    families: tuple[str, ...] = FAMILY_NAMES
    k_min: int = K_MIN
    k_max: int = K_MAX
    # mixes, e.g. ["osnet+vehicle-attributes", "all"]
    mixes: list[str] = field(default_factory=list)
    mix_weights: dict[str, float] = field(default_factory=dict)
    best: str | None = None  # the set, mix or consensus for clusters.csv; None = the label-free rule picks
    # outliers
    contamination: float | None = None  # None = threshold from the data
    # maps
    map_method: str = "umap"
    map_3d: bool = True
    # report
    notebook: bool = True
    html: bool = True
    engine: str = "local"  # "local" or "dask"
    scheduler: str | None = None

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else Path(self.out) / ".cache"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, dict):
                v = {k: str(x) if isinstance(x, Path) else x for k, x in v.items()}
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def validate(self) -> "RunConfig":
        """Every setting checked before any work starts (and before the output folder is made);
        the first problem is one :class:`InputError` line naming the setting and what is allowed."""
        from vehiclust.config_checks import check_run_config

        check_run_config(self)
        return self

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> "RunConfig":
        """Read a TOML config; keys are the field names; paths are relative to the file."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"Config file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"Config file {path} is not valid TOML: {exc}") from None
        data = data.get("vehiclust", data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"Config file {path} has unknown keys {unknown}; allowed: {sorted(known)}.")
        base = path.parent

        def rel(p: Any) -> Path:
            p = Path(p)
            return p if p.is_absolute() else base / p

        from vehiclust.config_checks import check_toml_types

        check_toml_types(data, path)
        for key in ("paths", "images", "labels", "out", "cache_dir"):
            if data.get(key) is not None:
                data[key] = rel(data[key])
        for key in ("descriptors", "heads"):
            if key in data:
                data[key] = {k: rel(v) for k, v in data[key].items()}
        if "families" in data:
            data["families"] = tuple(data["families"])
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)
