"""A content-addressed cache for expensive stage results, so a killed run resumes.

Each entry is a folder ``<root>/<stage>/<name>-<key>/`` holding arrays (.npy), tables
(.parquet) and plain values (meta.json); it is written under a temporary name and renamed
into place, so an interrupted write never leaves a half entry behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def cache_key(*parts: Any) -> str:
    """A short stable hash of parameters and content; arrays are hashed by their bytes."""
    h = hashlib.blake2b(digest_size=12)

    def feed(part: Any) -> None:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(str((arr.dtype.str, arr.shape)).encode())
            h.update(memoryview(arr).cast("B"))
        elif isinstance(part, dict):
            for k in sorted(part, key=str):
                h.update(repr(k).encode())
                feed(part[k])
        elif isinstance(part, (list, tuple)):
            h.update(b"[")
            for item in part:
                feed(item)
            h.update(b"]")
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())

    for part in parts:
        feed(part)
    return h.hexdigest()


class StageCache:
    """Get-or-compute for stage results; ``enabled=False`` (``--force``) recomputes."""

    def __init__(self, root: str | Path, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled

    def _entry(self, stage: str, name: str, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name)
        return self.root / stage / f"{safe}-{key}"

    def load(self, stage: str, name: str, key: str) -> dict[str, Any] | None:
        entry = self._entry(stage, name, key)
        if not self.enabled or not entry.is_dir():
            return None
        try:
            payload: dict[str, Any] = json.loads((entry / "meta.json").read_text())
            for f in entry.glob("*.npy"):
                payload[f.stem] = np.load(f)
            for f in entry.glob("*.parquet"):
                payload[f.stem] = pd.read_parquet(f)
        except Exception as exc:  # noqa: BLE001 - a damaged entry (any reader error) is recomputed, not trusted
            log.warning("cache entry %s unreadable (%s); recomputing", entry, exc)
            return None
        log.info("stage %s [%s]: reused cached result %s", stage, name, entry.name)
        return payload

    def save(self, stage: str, name: str, key: str, payload: dict[str, Any]) -> None:
        entry = self._entry(stage, name, key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
        try:
            meta: dict[str, Any] = {}
            for k, v in payload.items():
                if isinstance(v, np.ndarray):
                    np.save(tmp / f"{k}.npy", v)
                elif isinstance(v, pd.DataFrame):
                    v.to_parquet(tmp / f"{k}.parquet")
                else:
                    meta[k] = v
            (tmp / "meta.json").write_text(json.dumps(meta, default=_plain))
            if entry.exists():
                shutil.rmtree(entry)
            os.replace(tmp, entry)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
