"""Reading a descriptor pickle without running it: a bare numeric numpy array, nothing else.

The default never calls ``pickle.load``. The file's opcodes are walked with
:func:`pickletools.genops` by a small stack machine that knows only what numpy writes for an
array (protocols 2-5): ``_reconstruct`` + ``__setstate__`` or ``_frombuffer``, a plain numeric
``dtype``, and ``_codecs.encode`` for protocol 2's latin-1 text. Each of those is a stand-in
here, not the real callable, so nothing outside this module runs. The array is rebuilt from the
pickle's own raw buffer with ``numpy.frombuffer`` once its shape times its item size equals the
buffer's length; no read asks for more bytes than the file has left. So a crafted file can give
an error, never code execution, a crash or an allocation its size does not justify.

Anything else (a pandas DataFrame, an object array, any other global) is refused with one line
that names ``--trust-pickle`` and the safer formats. A DataFrame pickle is not rebuilt safely:
its block manager carries placements that pandas indexes memory with unchecked, so a flipped
byte there crashes the process; ``.npy`` and ``.parquet`` hold the same numbers with no code.
``trust=True`` (only ever from ``--trust-pickle`` on the command line) is plain ``pickle.load``.

A large array's bytes (:data:`MMAP_MIN_BYTES` and up, e.g. the case's 4.2 GB matrix) are not read
at all: the walk notes where they lie in the file and skips them, and the array is a read-only
memory map of the pickle itself, so loading costs no copy, no second file and no memory.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from vehiclust.exceptions import UnsafePickleError

#: The globals a numpy array pickle names; each is replaced by a stand-in in :class:`_Machine`.
ARRAY_GLOBALS = {
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy.core.numeric", "_frombuffer"): "frombuffer",
    ("numpy._core.numeric", "_frombuffer"): "frombuffer",
    ("_codecs", "encode"): "encode",
    ("builtins", "bytes"): "bytes",  # protocols 0-2 write empty data as bytes()
    ("__builtin__", "bytes"): "bytes",
}
SAFER = ("save the matrix with numpy.save (.npy) or DataFrame.to_parquet (.parquet), "
         "or pass --trust-pickle on the command line if you trust this file")
_MAX_NDIM = 32
MMAP_MIN_BYTES = 64 << 20  # a byte string this long is memory-mapped from the file, not read
_BIG_BYTES = {"BINBYTES": "<I", "BINBYTES8": "<Q", "BYTEARRAY8": "<Q"}  # opcode -> length format
_MARK = object()


class _Refused(Exception):
    """Why the walk stopped; becomes one UnsafePickleError line."""


class _Bounded:
    """A read-only view of a file that never reads (so never allocates) past its end."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self._fh = fh
        self._size = size

    def tell(self) -> int:
        return self._fh.tell()

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._fh.tell()
        return self._fh.read(left if n is None or n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self._fh.readline(max(self._size - self._fh.tell(), 0))

    def seek(self, offset: int) -> None:
        self._fh.seek(min(offset, self._size))


class _Span:
    """Bytes of the pickle left in the file: where they start and how many (memory-mapped later)."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        self.path = path
        self.offset = offset
        self.size = size

    def __len__(self) -> int:
        return self.size


def _ops(reader: _Bounded, path: Path | None, size: int) -> Any:
    """(opcode, argument, position) like :func:`pickletools.genops`, except that a byte string of
    ``MMAP_MIN_BYTES`` or more is a :class:`_Span` (skipped, never read) when ``path`` is given."""
    while True:
        at = reader.tell()
        code = reader.read(1)
        op = pickletools.code2op.get(code.decode("latin-1"))
        if op is None:
            raise ValueError("pickle exhausted before seeing STOP" if code == b"" else f"at position {at}, opcode {code!r} unknown")
        arg = None
        if path is not None and op.name in _BIG_BYTES:
            fmt = _BIG_BYTES[op.name]
            head = reader.read(struct.calcsize(fmt))
            n = struct.unpack(fmt, head)[0] if len(head) == struct.calcsize(fmt) else 0
            if n >= MMAP_MIN_BYTES:
                start = reader.tell()
                if n > size - start:
                    raise ValueError(f"expected {n} bytes in a {op.name}, but only {size - start} remain")
                reader.seek(start + n)
                arg = _Span(path, start, n)
            else:
                reader.seek(at + 1)  # short: the ordinary reader reads (or refuses) it
        if arg is None and op.arg is not None:
            arg = op.arg.reader(reader)
        yield op, arg, at
        if op.name == "STOP":
            return


class _Global:
    def __init__(self, role: str) -> None:
        self.role = role


class _DType:
    """A plain numeric dtype; BUILD may set its byte order."""

    def __init__(self, spec: Any) -> None:
        if not isinstance(spec, str) or not 1 <= len(spec) <= 8:
            raise _Refused(f"dtype {_short(spec)} is not a plain numeric type")
        try:
            dt = np.dtype(spec)
        except Exception:  # noqa: BLE001 - numpy's parser of a short string: TypeError, ValueError...
            raise _Refused(f"dtype {_short(spec)} is not a numpy type") from None
        if dt.kind not in "biufc" or dt.fields is not None or dt.subdtype is not None:
            raise _Refused(f"dtype {dt} is not numeric")
        self.dtype = dt

    def build(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 5 or any(s is not None for s in state[2:5]):
            raise _Refused("the dtype state is not that of a plain numeric type")
        order = state[1]
        if order not in ("<", ">", "|", "="):
            raise _Refused(f"dtype byte order {_short(order)} is not one of < > | =")
        if order in "<>" and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(order)


class _Array:
    """What ``_reconstruct`` returns: an array that BUILD fills from the pickle's bytes."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def build(self, state: Any) -> None:
        if self.array is not None or not isinstance(state, tuple) or len(state) != 5:
            raise _Refused("the array state is not (version, shape, dtype, fortran, bytes)")
        _, shape, dtype, fortran, raw = state
        self.array = _from_buffer(raw, dtype, shape, "F" if fortran is True else "C")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _from_buffer(raw: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """The array over ``raw``, once shape x item size is exactly its length (no allocation)."""
    if not isinstance(dtype, _DType):
        raise _Refused("the array's dtype is not a plain numeric dtype")
    if (not isinstance(shape, tuple) or len(shape) > _MAX_NDIM
            or not all(type(s) is int and s >= 0 for s in shape)):
        raise _Refused(f"the array shape {_short(shape)} is not a tuple of non-negative ints")
    if not isinstance(raw, (bytes, bytearray, _Span)):
        raise _Refused("the array's data is not a byte string")
    need = dtype.dtype.itemsize
    for s in shape:
        need *= s  # Python ints: a crafted shape cannot overflow
    if need != len(raw):
        raise _Refused(f"shape {shape} of {dtype.dtype} needs {need:,} bytes but the pickle holds {len(raw):,}")
    if order not in ("C", "F"):
        raise _Refused(f"array order {_short(order)} is not 'C' or 'F'")
    if isinstance(raw, _Span):  # read-only, straight from the file: no copy, no allocation
        return np.memmap(raw.path, dtype=dtype.dtype, mode="r", offset=raw.offset, shape=tuple(shape), order=order)
    flat = np.frombuffer(raw, dtype=dtype.dtype) if need else np.zeros(0, dtype=dtype.dtype)
    return flat.reshape(shape, order=order)


class _Machine:
    """Runs the few opcodes an array pickle uses, with stand-ins for the allowed globals."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}
        self.dataframe = False

    def pop(self) -> Any:
        if not self.stack:
            raise _Refused("the pickle pops from an empty stack")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        items: list[Any] = []
        while True:
            item = self.pop()
            if item is _MARK:
                items.reverse()
                return items
            items.append(item)

    def find(self, module: Any, name: Any) -> _Global:
        role = ARRAY_GLOBALS.get((module, name))
        if role is None:
            if str(module).startswith("pandas"):
                self.dataframe = True
                raise _Refused(f"it holds a pandas object ({_short(module)[1:-1]}.{_short(name)[1:-1]})")
            raise _Refused(f"it names the global '{_short(module)[1:-1]}.{_short(name)[1:-1]}', which is not part of a numpy array")
        return _Global(role)

    def call(self, func: Any, args: Any) -> Any:
        if not isinstance(func, _Global) or not isinstance(args, tuple):
            raise _Refused("the pickle calls something that is not an allowed numpy function")
        if func.role == "encode":
            if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
                raise _Refused("_codecs.encode is allowed only as (text, 'latin1')")
            try:
                return args[0].encode("latin-1")
            except UnicodeEncodeError:
                raise _Refused("the array text is not latin-1") from None
        if func.role == "bytes":
            if args:
                raise _Refused("bytes() is allowed only without arguments")
            return b""
        if func.role == "dtype":
            if not 1 <= len(args) <= 3:
                raise _Refused("numpy.dtype is called with the wrong arguments")
            return _DType(args[0])
        if func.role == "reconstruct":
            if len(args) != 3 or not isinstance(args[0], _Global) or args[0].role != "ndarray":
                raise _Refused("_reconstruct is allowed only for numpy.ndarray")
            return _Array()
        if func.role == "frombuffer":
            if len(args) != 4:
                raise _Refused("_frombuffer is called with the wrong arguments")
            return _from_buffer(*args)
        raise _Refused(f"numpy.{func.role} cannot be called from a pickle")

    def run(self, reader: _Bounded, path: Path | None = None, size: int = 0) -> Any:
        for op, arg, _ in _ops(reader, path, size):
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                if len(self.stack) != 1:
                    raise _Refused("the pickle ends with a malformed stack")
                return self.stack[0]
            if name in ("NONE", "NEWTRUE", "NEWFALSE"):
                self.stack.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[name])
            elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
                          "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                          "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"):
                self.stack.append(arg)
            elif name == "MARK":
                self.stack.append(_MARK)
            elif name in ("EMPTY_TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"):
                n = ("EMPTY_TUPLE", "TUPLE1", "TUPLE2", "TUPLE3").index(name)
                items = [self.pop() for _ in range(n)][::-1]
                if any(i is _MARK for i in items):
                    raise _Refused("a tuple takes a mark")
                self.stack.append(tuple(items))
            elif name == "TUPLE":
                self.stack.append(tuple(self.pop_mark()))
            elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                if not self.stack or self.stack[-1] is _MARK:
                    raise _Refused("the pickle memoises nothing")
                self.memo[len(self.memo) if name == "MEMOIZE" else arg] = self.stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in self.memo:
                    raise _Refused(f"the pickle refers to memo entry {_short(arg)}, which was never stored")
                self.stack.append(self.memo[arg])
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                if name == "GLOBAL":
                    module, _, attr = str(arg).partition(" ")
                else:
                    attr, module = self.pop(), self.pop()
                self.stack.append(self.find(module, attr))
            elif name == "REDUCE":
                args = self.pop()
                self.stack.append(self.call(self.pop(), args))
            elif name == "BUILD":
                state = self.pop()
                target = self.stack[-1] if self.stack else None
                if not isinstance(target, (_DType, _Array)):
                    raise _Refused("the pickle sets the state of something that is not a numpy array or dtype")
                target.build(state)
            else:
                raise _Refused(f"opcode {name} is not used by a numpy array pickle")
        raise _Refused("the pickle has no STOP")


def _finish(result: Any) -> np.ndarray:
    if isinstance(result, _Array) and result.array is not None:
        return result.array
    if isinstance(result, np.ndarray):
        return result
    if isinstance(result, _DType):
        raise _Refused("it holds a dtype, not an array")
    raise _Refused(f"it holds a {type(result).__name__}, not a numpy array")


def read_array_pickle(path: str | Path, *, mmap: bool = False) -> np.ndarray:
    """The numeric ndarray in ``path``, rebuilt without unpickling; one-line error otherwise.
    ``mmap``: an array of ``MMAP_MIN_BYTES`` or more is a read-only memory map of the file."""
    path = Path(path)
    machine = _Machine()
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            result = _finish(machine.run(_Bounded(fh, size), path if mmap else None, size))
    except _Refused as exc:
        what = "a pandas DataFrame pickle is not read by default" if machine.dataframe else "not read"
        raise UnsafePickleError(f"{path}: {what}: {exc}; {SAFER}.") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, EOFError, UnicodeDecodeError) as exc:
        # genops: truncated data, unknown opcode, bad text in a text opcode
        reason = str(exc).replace("\n", " ")[:160]
        raise UnsafePickleError(f"{path}: not a readable pickle ({type(exc).__name__}: {reason}).") from None
    return result


def load_pickle(path: str | Path, *, trust: bool = False, mmap: bool = False) -> Any:
    """A descriptor pickle: a bare numeric array by default; anything ``pickle`` can build if ``trust``.
    ``mmap`` (not with ``trust``): a large array is memory-mapped from the file, not read."""
    path = Path(path)
    if not trust:
        return read_array_pickle(path, mmap=mmap)
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, KeyError,
            IndexError, OverflowError, MemoryError, UnicodeDecodeError) as exc:
        reason = str(exc).replace("\n", " ")[:160]
        raise UnsafePickleError(f"{path}: not a readable pickle ({type(exc).__name__}: {reason}).") from None
