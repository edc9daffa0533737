"""Image paths as the case delivers them (Windows-style, relative) made safe to open."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from vehiclust.exceptions import InputError
from vehiclust.io._text import read_text_csv

PATH_COLUMNS = ("paths", "path")
_NAME = re.compile(r"[A-Za-z0-9._+-]{1,200}")


def check_folder_name(name: object, what: str = "descriptor name") -> str:
    """A name that becomes a folder under the output (a descriptor set, a mix): letters,
    digits and ``. _ + -`` only, no ``..``, so it can never point outside the output folder."""
    text = str(name)
    if not isinstance(name, str) or not _NAME.fullmatch(text) or ".." in text or text.startswith("."):
        raise InputError(f"The {what} {text[:80]!r} is not allowed: use 1-200 letters, digits and . _ + - "
                         "(no '..', no leading '.', no path separators).")
    return text


def normalise_path(raw: object) -> str:
    """``veriwild\\1\\00001\\000001.jpg`` → ``veriwild/1/00001/000001.jpg``."""
    if raw is None or (isinstance(raw, float) and pd.isna(raw)):
        return ""
    text = str(raw).strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def read_paths(path: str | Path) -> pd.Series:
    """Read ``images_paths.csv`` (column ``paths`` or ``path``) as normalised strings."""
    return read_given_paths(path).map(normalise_path).rename("path")


def read_given_paths(path: str | Path) -> pd.Series:
    """Read ``images_paths.csv`` (column ``paths`` or ``path``) exactly as written: the
    strings outputs give back so that they join to the file (``images\\bike\\bike12.jpg``)."""
    path = Path(path)
    frame = read_text_csv(path, "Paths file", dtype=str, keep_default_na=False)
    if frame.columns.empty:
        raise InputError(f"Paths file {path} is empty.")
    column = next((c for c in PATH_COLUMNS if c in frame.columns), None)
    if column is None:
        raise InputError(f"Paths file {path} needs a column named 'paths' or 'path'; it has {list(frame.columns)}.")
    return frame[column].rename("path_given")


def resolve_under_root(root: str | Path, relative: str) -> Path:
    """The absolute file for ``relative`` inside ``root``; refuse anything that escapes it.

    Refused: empty paths, absolute paths (POSIX or Windows drive/UNC), ``..`` that climbs out,
    and symlinks that point outside the root.
    """
    if not relative:
        raise InputError("empty path")
    if PurePosixPath(relative).is_absolute() or PureWindowsPath(relative).is_absolute() or PureWindowsPath(relative).drive:
        raise InputError(f"absolute path '{relative}' is not allowed; paths must be relative to the images root")
    root_real = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(root_real / relative))
    if candidate != root_real and root_real not in candidate.parents:
        raise InputError(f"path '{relative}' resolves outside the images root {root}")
    return candidate


def resolve_all(root: str | Path, paths: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Resolve every path; return (absolute path or "", refusal reason or "")."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"Images root {root} is not a folder.")
    resolved, refused = [], []
    for rel in paths:
        try:
            resolved.append(str(resolve_under_root(root, rel)))
            refused.append("")
        except InputError as exc:
            resolved.append("")
            refused.append(str(exc))
    return pd.Series(resolved, index=paths.index, name="resolved"), pd.Series(refused, index=paths.index, name="path_error")
