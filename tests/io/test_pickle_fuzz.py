"""Fuzzing the descriptor pickle reader: mutated real pickles and hand-built ones from every
global it allows never crash the process, never allocate more than the file's size justifies,
and either load or give one line.

The loads run in one child process, so a segfault shows as the child's exit code (and the
last file it started is named) instead of killing the test run.
"""

from __future__ import annotations

import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "descriptors"
N_MUTATED = 1100

WORKER = r"""
import json, sys, tracemalloc, warnings
from pathlib import Path
from vehiclust.exceptions import VehiclustError
from vehiclust.io import load_descriptors

warnings.simplefilter("ignore")
files = Path(sys.argv[1]).read_text().split("\n")
progress = open(sys.argv[2], "w")
tracemalloc.start()
for name in files:
    progress.write(name + "\n"); progress.flush()
    size = Path(name).stat().st_size
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        arr = load_descriptors(name)
        row = {"file": name, "ok": True, "shape": list(arr.shape)}
        del arr
    except VehiclustError as exc:
        row = {"file": name, "ok": False, "error": str(exc)}
    except BaseException as exc:  # any other exception is a failure of the reader
        row = {"file": name, "ok": False, "error": str(exc), "unexpected": type(exc).__name__}
    row["size"] = size
    row["peak"] = tracemalloc.get_traced_memory()[1] - base
    print(json.dumps(row), flush=True)
"""


# ---- hand-built pickles from the opcodes and every global the reader allows ------------------
def _s(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


def _glob(module: str, name: str) -> bytes:
    return _s(module) + _s(name) + b"\x93"  # STACK_GLOBAL


def _int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw  # LONG1


def _tuple(*parts: bytes) -> bytes:
    return b"(" + b"".join(parts) + b"t"


def _bytes8(data: bytes, claimed: int | None = None) -> bytes:
    return b"\x8e" + struct.pack("<Q", len(data) if claimed is None else claimed) + data


def _prog(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


def _dtype(spec: str, order: str = "<") -> bytes:
    return (_glob("numpy", "dtype") + _tuple(_s(spec), b"\x89", b"\x88") + b"R"
            + _tuple(_int(3), _s(order), b"N", b"N", b"N", _int(-1), _int(-1), _int(0)) + b"b")


def _reconstruct(shape: tuple[int, ...], dtype: bytes, data: bytes, fortran: bytes = b"\x89") -> bytes:
    head = _glob("numpy._core.multiarray", "_reconstruct") + _tuple(_glob("numpy", "ndarray"), _tuple(_int(0)), b"C\x01b") + b"R"
    return head + _tuple(_int(1), _tuple(*[_int(s) for s in shape]), dtype, fortran, data) + b"b"


def _frombuffer(buf: bytes, dtype: bytes, shape: tuple[int, ...], order: str = "C") -> bytes:
    return _glob("numpy._core.numeric", "_frombuffer") + _tuple(buf, dtype, _tuple(*[_int(s) for s in shape]), _s(order)) + b"R"


def _crafted(rng: np.random.Generator) -> list[bytes]:
    """Pickles that call each allowed global with hostile arguments, plus the issue's attacks."""
    ok = np.arange(12, dtype=np.float32).tobytes()
    big = 2**40
    out = [
        _prog(_reconstruct((3, 1), _dtype("f4"), _bytes8(ok))),  # wrong size
        _prog(_reconstruct((3, 4), _dtype("f4"), _bytes8(ok))),  # right: loads
        _prog(_reconstruct((big, big), _dtype("f4"), _bytes8(ok))),  # huge shape, tiny data
        _prog(_reconstruct((2**62,), _dtype("f8"), _bytes8(b""))),
        _prog(_reconstruct((-1, 4), _dtype("f4"), _bytes8(ok))),
        _prog(_reconstruct((3, 4), _dtype("O"), _bytes8(ok))),
        _prog(_reconstruct((3, 4), _dtype("U1"), _bytes8(ok))),
        _prog(_reconstruct((3, 4), _dtype("V4"), _bytes8(ok))),
        _prog(_reconstruct((3, 4), _dtype("f4,i4"), _bytes8(ok))),
        _prog(_reconstruct((3, 4), _dtype("f4", order="?"), _bytes8(ok))),
        _prog(_reconstruct((3, 4), _dtype("M8[s]"), _bytes8(ok))),
        _prog(_reconstruct((3, 4), _dtype("f4"), _bytes8(ok, claimed=2**62))),  # length claims 4 EiB
        _prog(_reconstruct((3, 4), _dtype("f4"), b"\x96" + struct.pack("<Q", 2**60) + ok)),  # BYTEARRAY8
        _prog(_reconstruct((3, 4), _dtype("f4"), _int(7))),
        _prog(_frombuffer(_bytes8(ok), _dtype("f4"), (3, 4))),
        _prog(_frombuffer(_bytes8(ok), _dtype("f4"), (big, 3))),
        _prog(_frombuffer(_bytes8(ok), _dtype("f4"), (3, 4), order="K")),
        _prog(_frombuffer(_bytes8(ok), _int(4), (3, 4))),
        _prog(_glob("numpy", "ndarray") + _tuple(_tuple(_int(big), _int(big)), _s("f4")) + b"R"),  # ndarray(shape)
        _prog(_glob("numpy", "ndarray") + _tuple(_tuple(_int(10_000), _int(1000))) + b"R"),
        _prog(_glob("builtins", "bytes") + _tuple(_int(10**12)) + b"R"),
        _prog(_glob("builtins", "bytes") + b")R"),
        _prog(_glob("builtins", "bytearray") + _tuple(_int(2**62)) + b"R"),
        _prog(_glob("_codecs", "encode") + _tuple(_s("\u20ac" * 4), _s("latin1")) + b"R"),
        _prog(_glob("_codecs", "encode") + _tuple(_s("abc"), _s("utf-16")) + b"R"),
        _prog(_glob("builtins", "slice") + _tuple(_int(50_000_000), _int(50_000_004), _int(1)) + b"R"),
        _prog(_glob("pandas._libs.internals", "_unpickle_block") + _tuple() + b"R"),
        _prog(_glob("os", "system") + _tuple(_s("true")) + b"R"),
        _prog(_glob("numpy", "dtype") + _tuple(_s("f4")) + b"R"),  # a dtype, not an array
        _prog(b"h\x07"),  # BINGET of nothing
        _prog(b"0"),  # POP on an empty stack
        _prog(b"R"),
        _prog(b"b"),
        _prog(b"(((((t"),
        _prog(_int(1) * 3),
        b"\x80\x05" + b"\x97" + b".",  # NEXT_BUFFER
        b"",
        b"\x80",
        b"\xff" * 64,
    ]
    # the crash: a DataFrame pickle whose block placement points 50 million rows away
    frame = pickle.dumps(pd.DataFrame(np.ones((4, 1), np.float32)), protocol=2)
    out.append(frame.replace(b"K\x00K\x01K\x01\x87", b"J\x80\xf0\xfa\x02J\x84\xf0\xfa\x02K\x01\x87"))
    out.append(frame)
    out.append(pickle.dumps(pd.DataFrame(np.ones((4, 2), np.float32)), protocol=5))
    # random programs over the allowed globals and opcodes
    pieces = [_glob("numpy", "ndarray"), _glob("numpy", "dtype"), _glob("numpy._core.multiarray", "_reconstruct"),
              _glob("numpy.core.multiarray", "_reconstruct"), _glob("numpy._core.numeric", "_frombuffer"),
              _glob("_codecs", "encode"), _glob("builtins", "bytes"), _dtype("f4"), _dtype("i8", ">"),
              _int(0), _int(3), _int(-5), _int(2**40), _s("f4"), _s("latin1"), _bytes8(ok), _bytes8(ok, 2**50),
              b"(", b"t", b")", b"\x85", b"\x86", b"\x87", b"R", b"b", b"\x94", b"h\x00", b"h\x03", b"N", b"\x88", b"0"]
    for _ in range(200):
        out.append(_prog(b"".join(pieces[i] for i in rng.integers(0, len(pieces), rng.integers(1, 14)))))
    return out


def _mutated(rng: np.random.Generator, bases: list[bytes], n: int) -> list[bytes]:
    out = []
    for i in range(n):
        data = bytearray(bases[i % len(bases)])
        if rng.random() < 0.3:
            out.append(bytes(data[: int(rng.integers(0, len(data)))]))  # truncation
            continue
        for _ in range(int(rng.integers(1, 9))):  # byte flips, mostly in the header and opcodes
            pos = int(rng.integers(0, min(len(data), 400))) if rng.random() < 0.8 else int(rng.integers(0, len(data)))
            data[pos] = int(rng.integers(0, 256))
        out.append(bytes(data))
    return out


def _bases() -> list[bytes]:
    """Real case pickles: the demo's descriptors (a slice of rows, every protocol, its dtypes)."""
    real = pickle.loads((DEMO / "vehicle-attributes.pkl").read_bytes()) if DEMO.exists() else \
        np.random.default_rng(0).standard_normal((60, 16)).astype(np.float32)
    rows = np.ascontiguousarray(np.asarray(real)[:40, :16])
    bases = [pickle.dumps(rows.astype(dt), protocol=p) for p in (2, 3, 4, 5) for dt in (np.float32, np.float64)]
    bases += [pickle.dumps(np.asfortranarray(rows), protocol=4), pickle.dumps(rows.astype(">f4"), protocol=2)]
    return bases


def test_fuzzed_pickles_never_crash_never_overallocate_one_line(tmp_path):
    rng = np.random.default_rng(20261130)
    bases = _bases()
    blobs = _crafted(rng) + _mutated(rng, bases, N_MUTATED)
    if (DEMO / "color-hist.pkl").exists():  # a few whole real files, truncated and flipped
        blobs += _mutated(rng, [(DEMO / "color-hist.pkl").read_bytes()], 20)
    files = []
    for i, blob in enumerate(blobs):
        f = tmp_path / f"f{i:05d}.pkl"
        f.write_bytes(blob)
        files.append(str(f))
    (tmp_path / "list.txt").write_text("\n".join(files))
    env_path = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path / "list.txt"), str(tmp_path / "progress.txt")],
                          capture_output=True, text=True, timeout=280,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    last = (tmp_path / "progress.txt").read_text().splitlines()[-1:] if (tmp_path / "progress.txt").exists() else []
    assert proc.returncode == 0, f"the reader crashed the process (rc {proc.returncode}) on {last}: {proc.stderr[-500:]}"
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == len(files) >= 1000
    unexpected = [r for r in rows if r.get("unexpected")]
    assert not unexpected, unexpected[:3]
    multi = [r for r in rows if not r["ok"] and ("\n" in r["error"] or not r["error"])]
    assert not multi, multi[:3]
    # nothing beyond the file's own bytes (plus a float32 copy of them) and a small constant
    over = [r for r in rows if r["peak"] > 6 * r["size"] + (1 << 20)]
    assert not over, over[:3]
    loaded = sum(r["ok"] for r in rows)
    assert 0 < loaded < len(rows)  # some mutations keep a valid array, most are refused
    crafted_ok = [r["shape"] for r in rows[:3] if r["ok"]]
    assert crafted_ok == [[3, 4]]  # only the well-formed hand-built pickle loads
