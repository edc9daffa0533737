"""What ``vehiclust extract`` does, as a library function the CLI calls (and tests can call)."""

from __future__ import annotations

import logging
import pickle
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.extract._registry import get_spec, load_backend
from vehiclust.extract._runner import Extraction, extract_descriptors
from vehiclust.extract.walk import walk_images
from vehiclust.io.atomic import atomic_save_npy, atomic_write_bytes, atomic_write_csv
from vehiclust.io import read_paths, read_text_csv

log = logging.getLogger(__name__)

OUT_SUFFIXES = (".pkl", ".pickle", ".npy")


@dataclass
class ExtractReport:
    out: Path
    paths_file: Path | None  # the images_paths.csv written by a folder walk, if any
    heads_out: Path | None
    errors_out: Path | None
    extraction: Extraction


def write_descriptors(features: np.ndarray, out: Path) -> Path:
    """Write in the case format: a bare float32 2-D array, pickled (.pkl) or as .npy."""
    features = np.ascontiguousarray(features, dtype=np.float32)
    if out.suffix.lower() in (".pkl", ".pickle"):
        return atomic_write_bytes(pickle.dumps(features, protocol=4), out)
    return atomic_save_npy(features, out)


def _check_target(target: Path, flag: str, overwrite: bool) -> None:
    if target.is_dir():
        raise InputError(f"{flag} {target} is a folder; give a file name.")
    if target.exists() and not overwrite:
        raise InputError(f"{flag} {target} already exists; pass --overwrite to replace it.")


def _same_listing(path: Path, listing: pd.DataFrame) -> bool:
    """Whether the paths file already holds exactly this listing (then writing it changes nothing)."""
    try:
        return read_paths(path).tolist() == listing["paths"].tolist()
    except InputError:
        return False


def run_extract(
    *,
    model: str,
    out: Path,
    images: Path | None = None,
    paths: Path | None = None,
    weights: Path | None = None,
    heads_out: Path | None = None,
    batch_size: int = 32,
    n_jobs: int = 2,
    options: Mapping[str, Any] | None = None,
    progress: bool = True,
    keep_checkpoint: bool = False,
    overwrite: bool = False,
) -> ExtractReport:
    """Extract descriptors for a folder walk (``images`` only) or a paths file.

    Relative paths in ``paths`` are resolved under ``images`` (default: the paths file's
    folder). A folder walk writes ``images_paths.csv`` next to ``out``. An interrupted run
    resumes from ``<out>.checkpoint/``, which is removed after a successful write. An existing
    ``out``, heads file or (different) paths file is never replaced unless ``overwrite``: the
    user's other descriptor files are aligned to it.
    """
    out = Path(out)
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise InputError(f"The --out file must end in {', '.join(OUT_SUFFIXES)}. Got '{out}'.")
    for target, flag in ((out, "--out"), (heads_out, "--heads-out")):
        if target is not None:
            _check_target(Path(target), flag, overwrite)
    spec = get_spec(model)
    if heads_out is not None and spec.name not in ("vehicle-attributes", "efficientnet-lite0"):
        raise InputError(f"--heads-out needs a model with heads (vehicle-attributes or efficientnet-lite0). Got {model!r}.")
    if images is None and paths is None:
        raise InputError("Give --images ROOT (walks the folder) and/or --paths images_paths.csv.")
    if images is not None and not Path(images).is_dir():
        raise InputError(f"The --images root '{images}' is not a folder.")
    load_backend(model, weights=weights, options=options)  # fail fast on missing deps/weights
    written_paths: Path | None = None
    if paths is None and images is not None:
        rel = walk_images(images)
        if not rel:
            raise InputError(f"No image files under '{images}'.")
        written_paths = out.parent / "images_paths.csv"
        listing = pd.DataFrame({"paths": rel})
        if written_paths.exists() and not overwrite and not _same_listing(written_paths, listing):
            raise InputError(f"{written_paths} exists and differs from the folder listing of '{images}'; other "
                             "descriptor files may be aligned to it. Pass --paths to extract in its order, or "
                             "--overwrite to replace it.")
        if overwrite or not written_paths.exists():  # an identical listing is left as the user has it
            atomic_write_csv(listing, written_paths)
        log.info("found %d images under %s; paths in %s", len(rel), images, written_paths)
        root: Path = Path(images)
        as_given = rel
    else:
        paths_file = Path(str(paths))
        rel = read_paths(paths_file).tolist()
        frame = read_text_csv(paths_file, "Paths file", dtype=str, keep_default_na=False)
        column = "paths" if "paths" in frame.columns else "path"
        as_given = frame[column].tolist()  # the head table keys rows the way the user wrote them
        root = Path(images) if images is not None else paths_file.resolve().parent
    checkpoint = out.with_name(out.name + ".checkpoint")
    ext = extract_descriptors(rel, model, weights=weights, batch_size=batch_size, n_jobs=n_jobs, progress=progress,
                              checkpoint=checkpoint, root=root, options=options)
    write_descriptors(ext.features, out)
    if heads_out is not None and ext.heads is not None:
        heads = ext.heads.copy()
        heads.insert(0, "path", as_given)
        atomic_write_csv(heads, heads_out)
    errors_out = None
    if len(ext.errors):
        errors_out = out.with_name(out.stem + ".errors.csv")
        atomic_write_csv(ext.errors, errors_out)
    if not keep_checkpoint:
        shutil.rmtree(checkpoint, ignore_errors=True)
    return ExtractReport(out=out, paths_file=written_paths, heads_out=heads_out, errors_out=errors_out, extraction=ext)
