"""Run a backend over many images: threads decode, batches infer, chunks checkpoint.

An unreadable image becomes a NaN row plus one line in ``errors``; it never stops the run.
With ``checkpoint`` set, every finished chunk of rows is written atomically to that folder, so
an interrupted extraction resumes where it stopped and no output ever holds half-written rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from vehiclust import progress as _progress
from vehiclust.exceptions import InputError
from vehiclust.extract._base import Backend
from vehiclust.extract._registry import load_backend
from vehiclust.io.atomic import atomic_write_bytes, atomic_write_text
from vehiclust.io.images import DEFAULT_MAX_PIXELS, ImageReadError, load_image
from vehiclust.io.paths import normalise_path, resolve_under_root

log = logging.getLogger(__name__)

ERROR_COLUMNS = ["row", "path", "error"]
_CHECKPOINT_VERSION = 1


@dataclass
class Extraction:
    """Descriptors of a list of images, row i = image i.

    ``features`` is n × d float32 with NaN rows for images that failed; ``heads`` is the
    model's head table (or None); ``errors`` has one row per failed image (row, path, error).
    """

    features: np.ndarray
    heads: pd.DataFrame | None
    errors: pd.DataFrame
    model: str
    paths: list[str] = field(default_factory=list)
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def images_per_second(self) -> float:
        return len(self.paths) / self.seconds if self.seconds > 0 else float("nan")

    @property
    def failed(self) -> np.ndarray:
        """Boolean mask of rows whose image could not be used."""
        return np.isnan(self.features).any(axis=1) if self.features.size else np.zeros(len(self.features), bool)


class _RateColumn(ProgressColumn):
    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- img/s" if speed is None else f"{speed:,.1f} img/s", style="progress.data.speed")


def resolve_image_path(path: str | Path, root: str | Path | None) -> Path:
    """A path as the case delivers it (maybe Windows backslashes) → a file to open.

    With ``root``, the path must be relative and stay inside the root (``..`` escapes and
    absolute paths raise InputError); without it, the path is used as given.
    """
    text = normalise_path(path)
    if root is None:
        return Path(text)
    return resolve_under_root(root, text)


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"The '{name}' parameter of extract_descriptors must be an int in [{low}, inf). Got {value!r}.")
    return int(value)


def extract_descriptors(
    image_paths: Sequence[str | Path],
    model: str,
    *,
    weights: str | Path | None = None,
    batch_size: int = 32,
    n_jobs: int = 2,
    progress: bool = True,
    checkpoint: Path | None = None,
    root: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    chunk_size: int = 2048,
) -> Extraction:
    """Compute one descriptor per image with ``model`` (see :func:`list_models`).

    ``root`` resolves relative paths (backslashes are accepted); ``options`` configures the
    generic ``onnx`` model (input_size, mean, std, channels, scale); ``checkpoint`` is a folder
    that makes the run resumable.
    """
    if isinstance(image_paths, (str, Path)):
        raise InputError("The 'image_paths' parameter of extract_descriptors must be a sequence of paths, "
                         f"not a single path. Got {str(image_paths)!r}.")
    paths = [str(p) for p in image_paths]
    batch_size = _check_int("batch_size", batch_size, 1)
    n_jobs = _check_int("n_jobs", n_jobs, 1)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    chunk_size = max(batch_size, (chunk_size // batch_size) * batch_size)
    backend = load_backend(model, weights=weights, options=options)
    n = len(paths)
    features = np.full((n, backend.dim), np.nan, dtype=np.float32)
    n_heads = len(backend.head_columns)
    heads = np.full((n, n_heads), np.nan, dtype=np.float32) if n_heads else None
    errors: list[tuple[int, str, str]] = []
    done = np.zeros(n, dtype=bool)

    store = _Checkpoint(Path(checkpoint), _fingerprint(backend, paths), n, backend.dim, n_heads, chunk_size) if checkpoint else None
    if store is not None:
        for start, stop, f, h, errs in store.load():
            features[start:stop] = f
            if heads is not None and h is not None:
                heads[start:stop] = h
            errors.extend(errs)
            done[start:stop] = True
        if done.any():
            log.info("resuming %s from checkpoint %s: %d of %d images already done", model, checkpoint, int(done.sum()), n)

    if root is not None and not Path(root).is_dir():
        raise InputError(f"The images root '{root}' is not a folder.")

    def decode(i: int) -> np.ndarray | str:
        try:
            return backend.prepare(load_image(resolve_image_path(paths[i], root), max_pixels=max_pixels))
        except ImageReadError as exc:
            return exc.reason
        except InputError as exc:  # path refused: absolute or escaping the root
            return str(exc)
        except (OSError, ValueError) as exc:
            return f"could not be prepared for {model} ({type(exc).__name__}: {exc})"

    chunks = [(s, min(s + chunk_size, n)) for s in range(0, n, chunk_size) if not done[s]]
    batches = [(b, min(b + batch_size, e)) for s, e in chunks for b in range(s, e, batch_size)]
    show = progress and _progress.ENABLED
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="vehiclust-decode") as pool, Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), transient=True, disable=not show,
    ) as bar:
        task = bar.add_task(f"extract {model}", total=n, completed=int(done.sum()))
        chunk_errors: list[tuple[int, str, str]] = []
        for (b0, b1), futures in _prefetch(pool, decode, batches):
            items = [f.result() for f in futures]
            ok = [k for k, it in enumerate(items) if isinstance(it, np.ndarray)]
            for k, it in enumerate(items):
                if not isinstance(it, np.ndarray):
                    chunk_errors.append((b0 + k, paths[b0 + k], str(it)))
            if ok:
                feats, hd = backend.infer(np.stack([items[k] for k in ok]))
                rows = np.asarray(ok) + b0
                features[rows] = feats
                if heads is not None and hd is not None:
                    heads[rows] = hd
            bar.advance(task, b1 - b0)
            if b1 % chunk_size == 0 or b1 == n:
                c0 = ((b1 - 1) // chunk_size) * chunk_size
                errors.extend(chunk_errors)
                if store is not None:
                    store.save(c0, b1, features[c0:b1], None if heads is None else heads[c0:b1], chunk_errors)
                chunk_errors = []
    seconds = time.perf_counter() - t0
    n_new = len(batches) and sum(b1 - b0 for b0, b1 in batches)
    errors.sort()
    error_frame = pd.DataFrame(errors, columns=ERROR_COLUMNS).astype({"row": np.int64}) if errors else pd.DataFrame(
        {"row": pd.Series(dtype=np.int64), "path": pd.Series(dtype=str), "error": pd.Series(dtype=str)})
    if len(error_frame):
        log.warning("%s: %d of %d images could not be used (NaN rows); first: %s: %s", model, len(error_frame), n,
                    error_frame.path.iloc[0], error_frame.error.iloc[0])
    head_frame = backend.heads_frame(heads) if heads is not None else None
    rate = n_new / seconds if seconds > 0 and n_new else float("nan")
    log.info("%s: %d images in %.1f s (%.1f img/s)", model, n_new, seconds, rate)
    return Extraction(features=features, heads=head_frame, errors=error_frame, model=model, paths=paths,
                      seconds=seconds if n_new else 0.0, info={**backend.describe(), "images_per_second": rate})


def _prefetch(pool: ThreadPoolExecutor, fn: Any, batches: list[tuple[int, int]]) -> Iterator[tuple[tuple[int, int], list[Future]]]:
    """Yield each batch's decode futures while the next batch is already decoding."""
    pending: list[tuple[tuple[int, int], list[Future]]] = []
    for batch in batches:
        pending.append((batch, [pool.submit(fn, i) for i in range(*batch)]))
        if len(pending) > 1:
            yield pending.pop(0)
    yield from pending


def _fingerprint(backend: Backend, paths: list[str]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(backend.describe(), sort_keys=True, default=str).encode())
    for p in paths:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


class _Checkpoint:
    """A folder of finished row ranges (``part-START-STOP.npz``) plus ``meta.json``."""

    def __init__(self, folder: Path, fingerprint: str, n: int, dim: int, n_heads: int, chunk: int) -> None:
        self.folder = folder
        self.meta = {"version": _CHECKPOINT_VERSION, "fingerprint": fingerprint, "n": n, "dim": dim,
                     "n_heads": n_heads, "chunk": chunk}
        meta_path = folder / "meta.json"
        if folder.exists() and not folder.is_dir():
            raise InputError(f"The checkpoint '{folder}' must be a folder; a file of that name exists.")
        if meta_path.is_file():
            old = json.loads(meta_path.read_text())
            if old != self.meta:
                raise InputError(
                    f"The checkpoint folder '{folder}' belongs to a different extraction (other images, model, "
                    f"weights or chunk size). Delete it or choose another folder.")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(json.dumps(self.meta, indent=1), meta_path)

    def load(self) -> Iterator[tuple[int, int, np.ndarray, np.ndarray | None, list[tuple[int, str, str]]]]:
        for part in sorted(self.folder.glob("part-*.npz")):
            with np.load(part, allow_pickle=False) as z:
                start, stop = int(z["start"]), int(z["stop"])
                errs = [(int(r), str(p), str(e)) for r, p, e in zip(z["err_row"], z["err_path"], z["err_msg"])]
                yield start, stop, z["features"], (z["heads"] if "heads" in z.files else None), errs

    def save(self, start: int, stop: int, features: np.ndarray, heads: np.ndarray | None,
             errors: list[tuple[int, str, str]]) -> None:
        buf = io.BytesIO()
        arrays: dict[str, np.ndarray] = {
            "start": np.int64(start), "stop": np.int64(stop), "features": features,
            "err_row": np.array([e[0] for e in errors], dtype=np.int64),
            "err_path": np.array([e[1] for e in errors], dtype=str),
            "err_msg": np.array([e[2] for e in errors], dtype=str),
        }
        if heads is not None:
            arrays["heads"] = heads
        np.savez(buf, **arrays)
        atomic_write_bytes(buf.getvalue(), self.folder / f"part-{start:010d}-{stop:010d}.npz")
