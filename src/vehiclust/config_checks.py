"""Checks of a run configuration, made before any work starts: a wrong setting (from the
command line or a TOML file) is one line naming the setting, what is allowed and what was
given, and no output folder is created for it."""

from __future__ import annotations

import numbers
import os
import warnings
from pathlib import Path
from typing import Any

from vehiclust.exceptions import InputError

_PATHS = ("paths", "images", "labels", "out", "cache_dir")
_TABLES = ("descriptors", "heads")
_BOOLS = ("trust_pickle", "force", "progress", "l2_normalize", "map_3d", "notebook", "html")


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _fail(key: str, allowed: str, value: Any) -> None:
    text = repr(value)
    raise InputError(f"The '{key}' setting must be {allowed}. Got {text if len(text) <= 80 else text[:77] + '...'}.")


def check_toml_types(data: dict[str, Any], source: Path) -> None:
    """Shapes a TOML file can get wrong before the values are turned into paths and tuples.

    ``trust_pickle`` is taken only from the command line: a shared config file must not turn
    the pickle safety off; it is dropped with a warning.
    """
    if data.pop("trust_pickle", None):
        warnings.warn(f"{source}: 'trust_pickle' is ignored in a config file; pass --trust-pickle on the "
                      "command line to unpickle descriptor files without the safety checks.", UserWarning, stacklevel=3)
    for key in _PATHS:
        if data.get(key) is not None and not isinstance(data[key], str):
            _fail(key, f"a path (text) in {source.name}", data[key])
    for key in _TABLES:
        if key in data:
            table = data[key]
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                _fail(key, f"a table of NAME = \"PATH\" in {source.name} (e.g. [{key}] then osnet = \"osnet.pkl\")", table)
    if "families" in data:
        fam = data["families"]
        if isinstance(fam, str):
            data["families"] = [f.strip() for f in fam.split(",") if f.strip()]
        elif not isinstance(fam, list) or not all(isinstance(f, str) for f in fam):
            _fail("families", "a list of family names", fam)
    if "mixes" in data and (not isinstance(data["mixes"], list) or not all(isinstance(m, str) for m in data["mixes"])):
        _fail("mixes", 'a list of mixes such as ["osnet+vehicle-attributes", "all"]', data["mixes"])


def _check_out(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise InputError(f"The output folder {out} is a file; give a folder with --out.")
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError(f"The output folder {out} is not writable.")
        return
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"The output folder {out} cannot be created: {parent} is a file.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"The output folder {out} cannot be created: {parent} is not writable.")


def check_run_config(cfg: Any) -> None:
    """Raise :class:`InputError` for the first setting of ``cfg`` (a RunConfig) that is wrong."""
    from vehiclust.cluster import FAMILIES
    from vehiclust.compare import mix_name, parse_mix_spec
    from vehiclust.embed import METHODS
    from vehiclust.io import check_folder_name

    if not isinstance(cfg.descriptors, dict) or not cfg.descriptors:
        raise InputError("At least one descriptor set is needed: --descriptors NAME=PATH.")
    if cfg.paths is None:
        raise InputError("The paths file is needed: --paths images_paths.csv.")
    for key in _TABLES:
        table = getattr(cfg, key)
        if not isinstance(table, dict):
            _fail(key, "a mapping NAME -> PATH", table)
        for name, value in table.items():
            check_folder_name(name, "descriptor name" if key == "descriptors" else "heads name")
            if not isinstance(value, (str, Path)):
                _fail(f"{key}.{name}", "a path", value)
    for key in _PATHS:
        value = getattr(cfg, key)
        if value is not None and not isinstance(value, (str, Path)):
            _fail(key, "a path", value)
    for key in _BOOLS:
        if not isinstance(getattr(cfg, key), bool):
            _fail(key, "true or false", getattr(cfg, key))
    if not _is_int(cfg.seed) or not 0 <= cfg.seed < 2**63:
        _fail("seed", "an int in [0, 2**63)", cfg.seed)
    if cfg.n_jobs is not None and (not _is_int(cfg.n_jobs) or cfg.n_jobs == 0):
        _fail("n_jobs", "a non-zero int (-1 = every core)", cfg.n_jobs)
    pca = cfg.pca_components
    if not ((_is_int(pca) and pca >= 1) or (_is_real(pca) and not _is_int(pca) and 0 < pca < 1)):
        _fail("pca_components", "an int >= 1 (dimensions) or a float in (0, 1) (explained variance)", pca)
    if not _is_real(cfg.whiten) or not 0 <= cfg.whiten <= 1:
        _fail("whiten", "a float in [0, 1]", cfg.whiten)
    families = cfg.families
    if isinstance(families, str) or not isinstance(families, (list, tuple)) or not families:
        _fail("families", f"a non-empty list of {sorted(FAMILIES)}", families)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        _fail("families", f"names from {sorted(FAMILIES)}", unknown)
    for key in ("k_min", "k_max"):
        if not _is_int(getattr(cfg, key)) or getattr(cfg, key) < 2:
            _fail(key, "an int >= 2", getattr(cfg, key))
    if cfg.k_max < cfg.k_min:
        raise InputError(f"The 'k_min' setting must not exceed 'k_max'. Got k_min={cfg.k_min}, k_max={cfg.k_max}.")
    if cfg.contamination is not None and (not _is_real(cfg.contamination) or not 0 < cfg.contamination <= 0.5):
        _fail("contamination", "empty (threshold from the data) or a float in (0, 0.5]", cfg.contamination)
    if cfg.map_method not in METHODS:
        _fail("map_method", f"one of {list(METHODS)}", cfg.map_method)
    if cfg.engine not in ("local", "dask"):
        _fail("engine", "'local' or 'dask'", cfg.engine)
    if cfg.scheduler is not None and not isinstance(cfg.scheduler, str):
        _fail("scheduler", "an address (text)", cfg.scheduler)
    if not isinstance(cfg.mixes, (list, tuple)):
        _fail("mixes", "a list of mixes", cfg.mixes)
    for spec in cfg.mixes:
        check_folder_name(mix_name(parse_mix_spec(spec, list(cfg.descriptors))), "mix name")
    if not isinstance(cfg.mix_weights, dict):
        _fail("mix_weights", "a mapping NAME -> weight", cfg.mix_weights)
    for name, w in cfg.mix_weights.items():
        if name not in cfg.descriptors:
            _fail("mix_weights", f"weights of loaded descriptor sets {sorted(cfg.descriptors)}", name)
        if not _is_real(w) or not 0 < w < float("inf"):
            _fail(f"mix_weights.{name}", "a positive number", w)
    _check_out(Path(cfg.out))
    _check_inputs(cfg)


def _check_inputs(cfg: Any) -> None:
    """Every input named exists (its content is checked when it is read)."""
    files = [(f"Descriptor file ({name})", p) for name, p in cfg.descriptors.items()]
    files += [("Paths file", cfg.paths)] + ([("Labels file", cfg.labels)] if cfg.labels is not None else [])
    files += [(f"Head table ({name})", p) for name, p in cfg.heads.items()]
    for what, p in files:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{what} {p} does not exist.")
        if p.is_dir():
            raise InputError(f"{what} {p} is a folder; expected a file.")
    if cfg.images is not None and not Path(cfg.images).is_dir():
        raise InputError(f"Images root {cfg.images} is not a folder.")
