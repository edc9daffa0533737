"""A restricted unpickler: a descriptor pickle may build numpy arrays (and, when asked,
pandas frames) and nothing else, so a malicious file cannot run code on load."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from vehiclust.exceptions import UnsafePickleError

NUMPY_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # protocol 2 stores array bytes as latin-1 text
}

PANDAS_GLOBALS = {
    ("pandas", "DataFrame"),
    ("pandas.core.frame", "DataFrame"),
    ("pandas", "Index"),
    ("pandas", "RangeIndex"),
    ("pandas", "StringDtype"),
    ("pandas.arrays", "ArrowStringArray"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.indexes.base", "Index"),
    ("pandas.core.indexes.range", "RangeIndex"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas.core.internals.blocks", "new_block"),
    ("builtins", "slice"),
    ("__builtin__", "slice"),
    ("builtins", "bytearray"),
    ("__builtin__", "bytearray"),
    ("pyarrow.lib", "_restore_array"),
    ("pyarrow.lib", "py_buffer"),
    ("pyarrow.lib", "type_for_alias"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, source: str, allowed: set[tuple[str, str]]):
        super().__init__(file)
        self._source = source
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._allowed:
            raise UnsafePickleError(
                f"{self._source}: refusing to unpickle the global '{module}.{name}'; a descriptor "
                "pickle may only hold a numpy array (or a numeric pandas DataFrame). If you trust "
                "this file, pass --trust-pickle."
            )
        return super().find_class(module, name)


def load_pickle(path: str | Path, *, allow_pandas: bool = True, trust: bool = False) -> Any:
    """Unpickle ``path`` admitting only numpy (and pandas) globals unless ``trust``."""
    path = Path(path)
    with open(path, "rb") as fh:
        if trust:
            return pickle.load(fh)
        allowed = NUMPY_GLOBALS | (PANDAS_GLOBALS if allow_pandas else set())
        try:
            return _RestrictedUnpickler(fh, str(path), allowed).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
            raise UnsafePickleError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc}).") from None
