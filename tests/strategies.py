"""Hypothesis strategies shared by the property tests.

Era-structured data: eras of mixed sizes in shuffled row order, every supported dtype,
C order, F order and strided views, and exposures made rank-deficient on purpose
(columns constant within an era, duplicated columns, more columns than rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import strategies as st

DTYPES = ["int8", "int16", "int32", "int64", "float32", "float64"]
LAYOUTS = ["C", "F", "strided"]


@dataclass
class EraData:
    x: np.ndarray  # exposures, n x k, in the drawn dtype and layout
    y: np.ndarray  # predictions, n x m float64
    eras: np.ndarray  # one label per row, shuffled
    description: str

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return (
            f"EraData({self.description}, x.shape={self.x.shape}, "
            f"x.dtype={self.x.dtype}, eras={np.unique(self.eras).size})"
        )


def layout(arr: np.ndarray, kind: str) -> np.ndarray:
    """The same values as a C-order, F-order or strided (non-contiguous) array."""
    if kind == "C":
        return np.ascontiguousarray(arr)
    if kind == "F":
        return np.asfortranarray(arr)
    wide = np.zeros((arr.shape[0], 2 * arr.shape[1]), dtype=arr.dtype)
    wide[:, ::2] = arr
    return wide[:, ::2]


@st.composite
def era_data(draw, max_rows: int = 120, max_k: int = 24, max_m: int = 3) -> EraData:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_eras = draw(st.integers(1, 4))
    sizes = [draw(st.integers(2, max(2, max_rows // n_eras))) for _ in range(n_eras)]
    n = sum(sizes)
    k = draw(st.integers(1, max_k))
    m = draw(st.integers(1, max_m))
    dtype = draw(st.sampled_from(DTYPES))
    kind = draw(st.sampled_from(LAYOUTS))
    values = draw(st.sampled_from(["grid", "continuous"]))
    scale = 1.0
    if dtype.startswith("int"):
        x = rng.integers(0, 5, size=(n, k)).astype(np.float64)
    elif values == "grid":  # integer or quarter values stored as floats, maybe negative
        step = draw(st.sampled_from([1.0, 0.25]))
        x = step * rng.integers(-2, 3, size=(n, k)) + draw(st.sampled_from([0.0, 3.0]))
    else:
        # Scales and offsets vary, but the offset stays a few standard deviations: a
        # column 10^4 sd away from 0 is near-collinear with the intercept, where the
        # rcond=1e-6 cut of lstsq makes the residual itself ill-defined.
        # Moderate scales only: lstsq's rcond cut is relative to the largest singular
        # value of the unscaled [X, 1], so with features 10^3 smaller or larger than the
        # ones column it drops real directions of near-square eras (neutralkit decides
        # rank on unit-scaled columns; documented). Offsets only with unit scale.
        scale = draw(st.sampled_from([0.5, 1.0, 20.0]))
        offset = draw(st.sampled_from([0.0, 3.0])) if scale == 1.0 else 0.0
        x = scale * rng.normal(size=(n, k)) + offset
    if dtype == "float32":
        x = x.astype(np.float32).astype(np.float64)  # values exactly representable
    eras = np.repeat(np.arange(n_eras), sizes)
    deficiency = draw(st.sampled_from(["none", "constant", "duplicate", "combination"]))
    if deficiency == "constant" and k >= 1:
        j = int(rng.integers(k))
        for e in range(n_eras):  # constant within each era, different across eras
            # at the data's scale: a column 10^3 times larger than the others puts
            # their singular values near lstsq's relative 1e-6 cut
            x[eras == e, j] = scale * float(rng.integers(0, 5))
    elif deficiency == "duplicate" and k >= 2:
        x[:, -1] = x[:, 0]
    elif deficiency == "combination" and k >= 3:
        # exact in float32 too (a sum of two float32 values may round)
        x[:, -1] = x[:, 0] + x[:, 1] if dtype != "float32" else 2.0 * x[:, 0]

    y = rng.normal(size=(n, m))
    if draw(st.booleans()):
        y[:, 0] += x[:, 0]  # real exposure to remove
    perm = rng.permutation(n)
    x, y, eras = x[perm], y[perm], eras[perm]
    x = layout(x.astype(dtype), kind)
    return EraData(x, y, eras, f"{deficiency}, {values}, {kind}, sizes={sizes}")


def rank_is_clear(data: EraData, intercept: bool = True) -> bool:
    """False if some era's design [X, 1] (or X) is nearly but not exactly singular.

    lstsq (the reference) drops singular values below 1e-6 of the largest; neutralkit
    decides rank by pivoted QR of unit-scaled columns. Both agree when every singular
    value is clearly above the cut or clearly zero (exact deficiency: rounding level);
    in between, the two may drop different directions, and the residual itself is
    ill-defined there. Property tests against the reference skip such draws.
    """
    x = np.asarray(data.x, dtype=np.float64)
    for e in np.unique(data.eras):
        rows = data.eras == e
        design = np.hstack([x[rows], np.ones((rows.sum(), 1))]) if intercept else x[rows]
        sv = np.linalg.svd(design, compute_uv=False)
        if sv[0] == 0:
            continue
        ratio = sv / sv[0]
        if np.any((ratio > 1e-11) & (ratio < 1e-4)):
            return False
    return True


# ------------------------------------------------------------------------------------
# Extreme values (issue 9): scales 1e-200..1e200, integers past 2^53, exact ties,
# rank-deficient eras, shuffled pandas indexes, odd layouts. Each draw also carries a
# "moderate" twin with the same column space / the same ranks at unit scale, so a test
# can check the fast result against the reference on the extreme data and on the twin.

#: powers of two (exact scaling): ~1e-199, ~1e-90, ~1e-12, 1, ~1e12, ~1e90, ~1e199
EXTREME_SCALES = [2.0**-660, 2.0**-300, 2.0**-40, 1.0, 2.0**40, 2.0**300, 2.0**660]
EXTREME_COLUMNS = ["scaled", "scaled", "big-int64", "uint64", "denormal", "ties", "timestamp"]
ODD_LAYOUTS = ["C", "F", "strided", "reversed"]


@dataclass
class ExtremeData:
    x: np.ndarray  # n x k exposures: per-column extreme scale, big ints, denormals, ties
    x_moderate: np.ndarray  # float64, same column span with an intercept, unit scale
    y: np.ndarray  # n x m float64 predictions at scale y_scale (maybe tied)
    y_moderate: np.ndarray  # y / y_scale
    y_scale: float
    target: np.ndarray  # n, at scale t_scale
    target_moderate: np.ndarray
    metamodel: np.ndarray  # n, moderate
    eras: np.ndarray  # one label per row, shuffled
    description: str

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis: no array dumps
        printer.text(repr(self))

    def __repr__(self) -> str:
        return (
            f"ExtremeData({self.description}, x.shape={self.x.shape}, x.dtype={self.x.dtype}, "
            f"eras={np.unique(self.eras).size})"
        )


def odd_layout(arr: np.ndarray, kind: str) -> np.ndarray:
    """The same values, C/F order, column-strided or row-reversed (negative strides)."""
    if kind == "reversed":
        return np.ascontiguousarray(arr[::-1])[::-1]
    if arr.ndim == 1:
        return arr if kind != "strided" else np.repeat(arr, 2)[::2]
    return layout(arr, kind)


def _extreme_column(kind: str, small: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(stored column, moderate twin) for small-integer values `small` (0..4)."""
    if kind == "big-int64":  # exact in float64, per-era sums pass 2^63
        return (2**62 + 1024 * small).astype(np.int64), small.astype(np.float64)
    if kind == "timestamp":  # nanosecond timestamps: one second apart, sums pass 2^63
        return (1_700_000_000 * 10**9 + 10**9 * small).astype(np.int64), small.astype(np.float64)
    if kind == "uint64":  # above 2^63, exact in float64
        return (2**63 + 2048 * small.astype(np.uint64)).astype(np.uint64), small.astype(np.float64)
    if kind == "denormal":  # exact denormals: small * 2^-1074
        return small * 2.0**-1074, small.astype(np.float64)
    if kind == "ties":
        return small * scale, small.astype(np.float64)
    raise AssertionError(kind)


@st.composite
def extreme_data(draw, max_rows: int = 60, max_k: int = 5, max_m: int = 3) -> ExtremeData:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_eras = draw(st.integers(1, 3))
    deficiency = draw(st.sampled_from(["none", "none", "constant", "duplicate", "wide"]))
    k = draw(st.integers(1, max_k))
    low = k + 1 if deficiency != "wide" else 2  # "wide": eras with k + 1 >= n
    high = max(low, max_rows // n_eras) if deficiency != "wide" else max(2, k + 1)
    sizes = [draw(st.integers(min(low, high), high)) for _ in range(n_eras)]
    n = sum(sizes)
    m = draw(st.integers(1, max_m))
    eras = np.repeat(np.arange(n_eras), sizes)

    kinds = [draw(st.sampled_from(EXTREME_COLUMNS)) for _ in range(k)]
    int_kind = next((c for c in kinds if c in ("big-int64", "timestamp", "uint64")), None)
    if int_kind:  # one integer dtype per matrix: every column of that kind
        kinds = [int_kind] * k
    scales = [draw(st.sampled_from(EXTREME_SCALES)) for _ in range(k)]
    stored, moderate = [], []
    for j in range(k):
        if kinds[j] == "scaled":
            col = rng.normal(size=n)
            stored.append(col * scales[j])
            moderate.append(col)
        else:
            s, mo = _extreme_column(kinds[j], rng.integers(0, 5, size=n), scales[j])
            stored.append(s)
            moderate.append(mo)
    x_mod = np.column_stack(moderate)
    x = np.column_stack(stored) if not int_kind else np.column_stack(stored).astype(stored[0].dtype)
    if deficiency == "constant":
        j = int(rng.integers(k))
        for e in range(n_eras):
            x[eras == e, j] = x[eras == e, j][0]
            x_mod[eras == e, j] = x_mod[eras == e, j][0]
    elif deficiency == "duplicate" and k >= 2:
        x[:, -1] = x[:, 0]
        x_mod[:, -1] = x_mod[:, 0]

    y_mod = rng.normal(size=(n, m))
    if draw(st.booleans()):
        y_mod[:, 0] += x_mod[:, 0]
    if draw(st.booleans()):  # exact ties in the predictions
        y_mod = np.round(y_mod)
    y_scale = draw(st.sampled_from(EXTREME_SCALES))
    t_mod = rng.integers(0, 5, size=n) / 4 if draw(st.booleans()) else rng.normal(size=n)
    t_scale = draw(st.sampled_from([*EXTREME_SCALES, 2.0**990]))
    metamodel = rng.normal(size=n)

    perm = rng.permutation(n)
    kind = draw(st.sampled_from(ODD_LAYOUTS))
    return ExtremeData(
        x=odd_layout(x[perm], kind),
        x_moderate=x_mod[perm],
        y=odd_layout(y_mod[perm] * y_scale, draw(st.sampled_from(ODD_LAYOUTS))),
        y_moderate=y_mod[perm],
        y_scale=y_scale,
        target=odd_layout(t_mod[perm] * t_scale, draw(st.sampled_from(ODD_LAYOUTS))),
        target_moderate=t_mod[perm],
        metamodel=metamodel[perm],
        eras=eras[perm],
        description=(
            f"{deficiency}, columns={kinds}, scales={[f'2^{int(np.log2(s))}' for s in scales]}, "
            f"y_scale=2^{int(np.log2(y_scale))}, t_scale=2^{int(np.log2(t_scale))}, {kind}, "
            f"sizes={sizes}, seed={seed}"
        ),
    )


@st.composite
def big_int_ranks(draw, max_rows: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, their small-int twin, eras): int64/uint64 past 2^53 with ties and gaps of 1.

    Distinct values here round to the same double, so only an exact integer rank gets
    the twin's ranks."""
    n = draw(st.integers(2, max_rows))
    m = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    small = rng.integers(0, 6, size=(n, m))
    base = draw(st.sampled_from([2**53, 2**62, -(2**63) + 7, 2**63 + 1, 2**64 - 16]))
    dtype = np.uint64 if base >= 2**63 else np.int64
    values = (np.array(base, dtype=object) + small.astype(object)).astype(dtype)
    eras = rng.integers(0, draw(st.integers(1, 3)), size=n)
    kind = draw(st.sampled_from(ODD_LAYOUTS))
    return odd_layout(values, kind), small.astype(np.float64), eras


# ------------------------------------------------------------------------------------
# Row alignment and accepted layouts/dtypes (issue 9, trust helper): shuffled pandas
# indexes, one field of a structured array (strides not a multiple of the item size),
# nullable and pyarrow-backed pandas dtypes.

INDEX_KINDS = ["int", "str", "tuple"]
PANDAS_BACKENDS = ["numpy", "nullable", "pyarrow"]


def field_view(arr: np.ndarray) -> np.ndarray:
    """The same values as one field of a packed structured array (misaligned strides)."""
    shape = arr.shape[1:]
    rec = np.zeros(arr.shape[0], dtype=np.dtype([("v", arr.dtype, shape), ("pad", "i1")]))
    rec["v"] = arr
    return rec["v"]


def index_of(n: int, kind: str) -> pd.Index:
    """n distinct row labels: ints (not 0..n-1), strings or tuples (a MultiIndex)."""
    if kind == "int":
        return pd.Index(np.arange(n) * 7 + 3)
    if kind == "str":
        return pd.Index([f"id{i:05d}" for i in range(n)])
    return pd.MultiIndex.from_arrays([np.arange(n) // 2, np.arange(n) % 2])


@st.composite
def permutations(draw, n: int) -> np.ndarray:
    """A row permutation of n rows (never the identity when n > 1)."""
    perm = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).permutation(n)
    if n > 1 and np.array_equal(perm, np.arange(n)):
        perm = perm[::-1].copy()
    return perm


def with_backend(x: pd.Series | pd.DataFrame, backend: str) -> pd.Series | pd.DataFrame:
    """The same values as NumPy, nullable (Float64/Int64) or pyarrow-backed columns."""
    if backend == "numpy":
        return x
    dtypes = x.dtypes if isinstance(x, pd.DataFrame) else pd.Series({None: x.dtype})

    def target(dt: np.dtype) -> str:
        base = "Float64" if dt.kind == "f" else "Int64" if dt.kind in "iu" else "boolean"
        if backend == "nullable":
            return base
        return {"Float64": "float64", "Int64": "int64", "boolean": "bool"}[base] + "[pyarrow]"

    if isinstance(x, pd.DataFrame):
        return x.astype({c: target(t) for c, t in dtypes.items()})
    return x.astype(target(x.dtype))
