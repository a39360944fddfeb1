"""Decode fuzzer bytes into adversarial inputs for neutralkit.

Pure Python + NumPy/pandas (no atheris needed), so the smoke test can replay fixed
inputs in-process. Every choice is read from the byte string; when the bytes run out,
every further choice is 0 (the first, most ordinary option), so short inputs decode to
ordinary calls and the fuzzer grows them towards the odd ones.

Each decoded value also appends a short description to ``Source.log`` so that a crash
input can be explained (``NK_FUZZ_VERBOSE=1``).
"""

from __future__ import annotations

import struct
import warnings
from typing import Any

import numpy as np
import pandas as pd

#: values that break naive arithmetic: overflow, underflow, denormals, rounding at 2^53
SPECIAL_FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e300,
    -1e300,
    1e-300,
    5e-324,
    2.2250738585072014e-308,
    1e200,
    -1e200,
    1e-200,
    1.7976931348623157e308,
    2.0**53,
    2.0**53 + 2.0,
    2.0**63,
    1e12,
    -1e-12,
]
#: per-column scales (a column's values times this)
SCALES = [1.0, 1.0, 1.0, 1e-200, 1e200, 1e-300, 1e300, 1e-310, 1e12, 1e-12, 2.0**53, 1e150]
SPECIAL_INTS = [
    0,
    1,
    -1,
    2**31 - 1,
    -(2**31),
    2**53,
    2**53 + 1,
    2**62,
    2**63 - 1,
    -(2**63),
    1_700_000_000_000_000_000,  # a nanosecond timestamp: sums pass 2^63
    2**63,  # uint64 only (filtered by the dtype's range)
    2**63 + 1,
    2**64 - 1,
]
NUMERIC_DTYPES = [
    "float64",
    "float64",
    "int8",
    "float32",
    "int64",
    "int16",
    "int32",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    ">f8",
    ">i4",
    "float16",
    "complex128",
    "longdouble",
]
PANDAS_DTYPES = [
    "Float64",
    "Int8",
    "Int64",
    "UInt64",
    "boolean",
    "float64[pyarrow]",
    "int8[pyarrow]",
]
LAYOUTS = [
    "C",
    "F",
    "strided",
    "reversed",
    "negative-cols",
    "broadcast",
    "readonly",
    "unaligned",
    "field",  # one field of a structured array: strides not a multiple of the item size
    "record",  # the structured array itself (to be refused by name)
]


class Source:
    """Reads choices from a byte string; 0 once exhausted."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.log: list[str] = []
        self.seeds = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def int(self, lo: int, hi: int) -> int:
        """An int in [lo, hi] (inclusive), from as few bytes as the range needs."""
        span = hi - lo
        if span <= 0:
            return lo
        value = 0
        for _ in range((span.bit_length() + 7) // 8):
            value = (value << 8) | self.byte()
        return lo + value % (span + 1)

    def bool(self) -> bool:
        return bool(self.byte() & 1)

    def choice(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return options[self.int(0, len(options) - 1)]

    def seed(self) -> list[int]:
        """A seed for a NumPy generator: two bytes plus a counter (so that inputs that
        ran out of bytes still give each array its own values)."""
        self.seeds += 1
        return [self.int(0, 2**16 - 1), self.seeds]

    def raw_float(self) -> float:
        chunk = bytes(self.byte() for _ in range(8))
        return float(struct.unpack("<d", chunk)[0])

    def note(self, text: str) -> None:
        self.log.append(text)


# ------------------------------------------------------------------------------------
# arrays


def float_values(src: Source, n: int, k: int) -> np.ndarray:
    """n x k float64 values: ordinary, tied, extreme-scaled, with a few special points."""
    mode = src.choice(["normal", "grid", "ties", "constant", "special", "raw", "collinear"])
    rng = np.random.default_rng(src.seed())
    if mode == "normal":
        x = rng.normal(size=(n, k))
    elif mode == "grid":
        x = rng.integers(0, 5, size=(n, k)).astype(np.float64)
    elif mode == "ties":
        x = np.round(rng.normal(size=(n, k)), 0)
    elif mode == "constant":
        x = np.full((n, k), src.choice([*SPECIAL_FLOATS[:5], 3.0, 1e200]))
    elif mode == "special":
        x = rng.choice(np.array(SPECIAL_FLOATS), size=(n, k))
    elif mode == "raw":
        x = np.array([src.raw_float() for _ in range(n * k)], dtype=np.float64).reshape(n, k)
    else:  # last column a combination of the others (rank-deficient on purpose)
        x = rng.normal(size=(n, k))
        if k >= 2:
            x[:, -1] = 2.0 * x[:, 0]
    if src.bool():  # per-column scales
        scales = np.array([src.choice(SCALES) for _ in range(k)])
        with np.errstate(all="ignore"):
            x = x * scales
        mode += f" scales={scales.tolist()}"
    for _ in range(src.int(0, 3) if x.size else 0):  # point mutations
        i, j = src.int(0, n - 1), src.int(0, k - 1)
        x[i, j] = src.choice(SPECIAL_FLOATS)
        mode += f" x[{i},{j}]={x[i, j]!r}"
    src.note(f"values {mode}")
    return x


def int_values(src: Source, n: int, k: int, dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    mode = src.choice(["small", "full", "huge", "special"])
    rng = np.random.default_rng(src.seed())
    if mode == "small":
        lo, hi = max(info.min, -2), min(info.max, 4)
    elif mode == "full":
        lo, hi = info.min, info.max
    elif mode == "huge":  # above 2^53, distinct values that round to the same double
        lo, hi = (min(2**53, info.max - 8), min(2**53 + 64, info.max))
    else:
        lo = hi = 0
    native = dtype.newbyteorder("=")
    if mode == "special":
        pool = [v for v in SPECIAL_INTS if info.min <= v <= info.max]
        x = rng.choice(np.array(pool, dtype=object), size=(n, k)).astype(native)
    else:
        x = rng.integers(lo, hi, size=(n, k), endpoint=True, dtype=native)
    x = x.astype(dtype)
    src.note(f"int values {mode} {dtype}")
    return x


def matrix(src: Source, n: int, k: int, dtypes: list[str] | None = None) -> np.ndarray:
    """An n x k array of a drawn dtype and memory layout."""
    dtype = np.dtype(src.choice(dtypes or NUMERIC_DTYPES))
    if dtype.kind in "iu":
        x = int_values(src, n, k, dtype)
    elif dtype.kind == "b":
        x = float_values(src, n, k) > 0
    else:
        with np.errstate(all="ignore"):
            x = float_values(src, n, k).astype(dtype)
    return layout(src, x)


def layout(src: Source, x: np.ndarray) -> np.ndarray:
    kind = src.choice(LAYOUTS)
    src.note(f"layout {kind} {x.dtype} {x.shape}")
    if kind == "C" or x.ndim != 2:
        return np.ascontiguousarray(x)
    if kind == "F":
        return np.asfortranarray(x)
    if kind == "strided":
        wide = np.zeros((x.shape[0], 2 * x.shape[1] + 1), dtype=x.dtype)
        wide[:, 1::2] = x
        return wide[:, 1::2]
    if kind == "reversed":
        return np.ascontiguousarray(x[::-1])[::-1]
    if kind == "negative-cols":
        return np.ascontiguousarray(x[:, ::-1])[:, ::-1]
    if kind == "broadcast":  # every row the same memory (stride 0), read-only
        return np.broadcast_to(x[:1], x.shape) if x.shape[0] else x
    if kind == "readonly":
        y = x.copy()
        y.flags.writeable = False
        return y
    if kind in ("field", "record"):
        rec = np.zeros(x.shape, dtype=[("v", x.dtype), ("pad", "i1")])
        rec["v"] = x
        return rec["v"] if kind == "field" else rec
    # unaligned: element size does not divide the address
    buf = np.zeros(x.nbytes + 1, dtype=np.uint8)
    y = buf[1:].view(x.dtype).reshape(x.shape)
    y[...] = x
    return y


def vector(src: Source, n: int, dtypes: list[str] | None = None) -> np.ndarray:
    """A 1-D array of n values (often a strided or reversed view of a matrix column)."""
    m = matrix(src, n, src.int(1, 2), dtypes)
    return m[:, src.int(0, m.shape[1] - 1)]


# ------------------------------------------------------------------------------------
# eras, pandas wrappers, parameters


def eras(src: Source, n: int) -> Any:
    kind = src.choice(
        [
            "none",
            "few",
            "few",
            "singletons",
            "strings",
            "tuples",
            "series",
            "nan",
            "scalar",
            "dict",
            "floats",
            "categorical",
            "mixed",
            "wrong-length",
            "2-d",
        ]
    )
    src.note(f"eras {kind}")
    rng = np.random.default_rng(src.seed())
    n_eras = src.int(1, 4)
    labels = rng.integers(0, n_eras, size=n)
    if kind == "none":
        return None
    if kind == "few":
        return labels
    if kind == "singletons":
        return np.arange(n)[rng.permutation(n)] if src.bool() else np.arange(n)
    if kind == "strings":
        return np.array([f"era{v:03d}" for v in labels])
    if kind == "tuples":
        return [(int(v), "a") for v in labels]
    if kind == "series":
        index = pd.Index(rng.permutation(n)) if src.bool() else pd.RangeIndex(n)
        return pd.Series(labels, index=index, name="era")
    if kind == "nan":
        out = labels.astype(float)
        if n:
            out[src.int(0, n - 1)] = np.nan
        return out
    if kind == "scalar":
        return 3
    if kind == "dict":
        return {i: int(v) for i, v in enumerate(labels)}
    if kind == "floats":
        return labels.astype(float) * 0.5
    if kind == "categorical":
        return pd.Categorical(labels)
    if kind == "mixed":
        return np.array([v if v % 2 else str(v) for v in labels.tolist()], dtype=object)
    if kind == "wrong-length":
        return labels[: max(0, n - 1)]
    return labels.reshape(-1, 1)


def pandas_index(src: Source, n: int) -> pd.Index:
    kind = src.choice(["range", "shuffled", "duplicated", "strings", "offset"])
    src.note(f"index {kind}")
    rng = np.random.default_rng(src.seed())
    if kind == "range":
        return pd.RangeIndex(n)
    if kind == "shuffled":
        return pd.Index(rng.permutation(n))
    if kind == "duplicated":
        return pd.Index(rng.integers(0, max(1, n // 2), size=n))
    if kind == "strings":
        return pd.Index([f"id{i}" for i in rng.permutation(n)])
    return pd.RangeIndex(1, n + 1)


def as_pandas(src: Source, x: np.ndarray, index: pd.Index | None, series_ok: bool) -> Any:
    """Maybe wrap an array as a Series/DataFrame (maybe with a nullable/pyarrow dtype)."""
    wrap = src.choice(["numpy", "numpy", "pandas", "list"])
    if wrap == "numpy" or x.dtype.fields is not None:  # a structured array stays one
        return x
    if wrap == "list":
        src.note("as list")
        return x.tolist()
    if index is None or len(index) != x.shape[0]:
        index = pandas_index(src, x.shape[0])
    if x.ndim == 1 or (series_ok and x.shape[1] == 1 and src.bool()):
        obj: Any = pd.Series(x if x.ndim == 1 else x[:, 0], index=index, name="p")
    else:
        obj = pd.DataFrame(x, index=index, columns=[f"c{j}" for j in range(x.shape[1])])
    if src.bool():
        dtype = src.choice(PANDAS_DTYPES)
        src.note(f"pandas dtype {dtype}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = obj.astype(dtype)
        except Exception:  # not representable (e.g. floats to Int8): keep the numpy dtype
            pass
        else:
            if src.bool() and obj.size:
                src.note("with NA")
                if isinstance(obj, pd.Series):
                    obj.iloc[src.int(0, len(obj) - 1)] = pd.NA
                else:
                    obj.iloc[src.int(0, len(obj) - 1), 0] = pd.NA
    src.note(f"as {type(obj).__name__}")
    return obj


def shape(src: Source) -> tuple[int, int, int]:
    """(n rows, k exposure columns, m prediction columns), small and edge-heavy."""
    n = src.choice([12, 30, 6, 2, 1, 0, 3, 5, 64, 9])
    k = src.choice([3, 1, 2, 5, 8, 0, n, n + 1])
    m = src.choice([1, 2, 3, 0])
    src.note(f"shape n={n} k={k} m={m}")
    return n, k, m


PROPORTIONS = [
    1.0,
    0.5,
    0.0,
    [0.25, 1.0],
    -0.1,
    1.5,
    float("nan"),
    [],
    np.array(0.5),
    np.float32(0.5),
    True,
    "0.5",
    None,
    2**70,
    (0.5,),
    np.array([0.5, 1.0]),
]
N_THREADS = [None, 1, 2, 3, 0, -1, 2**31, 2**63, 1.5, True, np.int64(2), "2", 2**64]
TOP_BOTTOM = [None, 1, 2, 5, 0, -1, 2**31, 2**63, 2**64, 1.5, True, np.int64(3), "3"]
NAN_POLICY = ["raise", "omit", "omit", "propagate", None, 1]
RANK_METHODS = ["average", "first", "ordinal", "dense", "min", None, 1]
NEUTRALIZE_METHODS = ["auto", "cholesky", "householder", "pivoted", "qr", None, 0]
BOOLS = [True, False, np.bool_(True), 1, "yes", None]
FRACTIONS = [0.5, 1.0, 1e-9, 0.0, 1.5, float("nan"), "0.5", np.float64(0.3)]
SEEDS = [0, 1, None, -1, 2**70, 1.5, "x"]
SCALES_MMC = [0.0841, "exact", 1.0, 0.0, -1.0, float("nan"), float("inf"), "x", None]
MMC_PRESETS = [None, "legacy", "official", "seed", "x", 1]
FNC_PRESETS = ["official", "legacy", "x", None]
POWERS = [1.5, 2.0, 0.5, 1.0, 0.0, -1.0, float("nan"), float("inf"), 1e300, "1.5", None]


def param(src: Source, name: str, options: list[Any]) -> Any:
    value = src.choice(options)
    src.note(f"{name}={value!r}")
    return value
