"""Reading the small text tables a user gives (paths, labels, descriptor CSV) whatever their
encoding: UTF-8 (with or without BOM), UTF-16/32 with a BOM, BOM-less UTF-16, else latin-1."""

from __future__ import annotations

import codecs
import io
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from vehiclust.exceptions import InputError

log = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, source: str | Path) -> str:
    """The text of a file's bytes; latin-1 (which decodes any bytes) is the last resort, logged."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"{source}: starts with a {encoding} byte-order mark but is not valid {encoding} ({exc.reason} at byte {exc.start}).") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    half = data[: 4096 - 4096 % 2]
    if half and half[1::2].count(0) > len(half) // 4:  # ASCII in UTF-16 LE: every second byte is 0
        encoding = "utf-16-le"
    elif half and half[0::2].count(0) > len(half) // 4:
        encoding = "utf-16-be"
    else:
        encoding = "latin-1"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise InputError(f"{source}: is neither UTF-8 nor {encoding} text; save it as UTF-8.") from None
    log.warning("%s is not UTF-8; read as %s", source, encoding)
    return text


def read_text_csv(path: str | Path, what: str, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` of a user's CSV in any common encoding; a broken table is one line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a folder; expected a CSV file.") from None
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist.") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read ({exc.strerror}).") from None
    text = decode_text(data, path)
    if "\x00" in text:
        raise InputError(f"{what} {path} is binary, not a CSV text file.")
    try:
        return pd.read_csv(io.StringIO(text), **kwargs)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise InputError(f"{what} {path} is not a readable CSV table ({reason}).") from None
