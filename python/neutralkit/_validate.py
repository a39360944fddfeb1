"""Input validation shared by the public API: check once, name the argument.

Everything here works on views: nothing copies a large input unless the caller asks.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _core

#: dtypes the kernels read directly (anything else is refused, never silently cast)
SUPPORTED_DTYPES = (
    np.dtype(np.int8),
    np.dtype(np.int16),
    np.dtype(np.int32),
    np.dtype(np.int64),
    np.dtype(np.float32),
    np.dtype(np.float64),
)


@dataclass(frozen=True)
class Labeled:
    """A 2-D array of values plus what is needed to give back the caller's kind."""

    values: np.ndarray  # always 2-D (n x m); a view of the input where possible
    kind: str  # "ndarray", "series" or "frame"
    index: pd.Index | None
    columns: pd.Index | None
    name: Any = None
    was_1d: bool = False

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_cols(self) -> int:
        return int(self.values.shape[1])

    def column_labels(self) -> pd.Index:
        """Column labels for outputs indexed by column (0..m-1 for NumPy input)."""
        if self.columns is not None:
            return self.columns
        if self.kind == "series":
            return pd.Index([self.name])
        return pd.RangeIndex(self.n_cols)

    def wrap_rows(self, out: np.ndarray) -> Any:
        """Give a row-wise result (n x m) back in the caller's kind and shape."""
        if self.kind == "frame":
            return pd.DataFrame(out, index=self.index, columns=self.columns)
        if self.kind == "series":
            return pd.Series(out[:, 0], index=self.index, name=self.name)
        return out[:, 0] if self.was_1d else out


def _check_dtype(arr: np.ndarray, name: str, allow_int: bool) -> None:
    if arr.dtype == np.bool_:
        raise TypeError(f"{name}: boolean data is not accepted; cast it to a number type")
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name}: expected numbers (int8..int64, float32, float64), got dtype {arr.dtype}"
        )
    if arr.dtype.kind == "u" or (not allow_int and arr.dtype.kind == "i"):
        return  # converted by the caller (small arrays only)
    if arr.dtype.newbyteorder("=") not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{name}: dtype {arr.dtype} is not supported; use int8, int16, int32, "
            "int64, float32 or float64"
        )


def labeled(x: Any, name: str, *, allow_1d: bool = True) -> Labeled:
    """Unwrap a NumPy array, list, Series or DataFrame into a 2-D view and metadata."""
    if isinstance(x, pd.DataFrame):
        if any(
            not (pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t))
            for t in x.dtypes
        ):
            bad = [c for c, t in x.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
            raise TypeError(f"{name}: every column must be numeric; not numeric: {bad[:5]!r}")
        values = x.to_numpy()
        if values.dtype == object:
            raise TypeError(f"{name}: columns have mixed or non-numeric dtypes")
        lab = Labeled(values, "frame", x.index, x.columns)
    elif isinstance(x, pd.Series):
        if not pd.api.types.is_numeric_dtype(x.dtype) or pd.api.types.is_bool_dtype(x.dtype):
            raise TypeError(f"{name}: expected numbers, got dtype {x.dtype}")
        values = x.to_numpy().reshape(-1, 1)
        lab = Labeled(values, "series", x.index, None, x.name, True)
    else:
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind in "USO":
            raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
        if arr.ndim == 1:
            if not allow_1d:
                raise ValueError(f"{name}: expected a 2-D array, got 1-D")
            lab = Labeled(arr.reshape(-1, 1), "ndarray", None, None, None, True)
        elif arr.ndim == 2:
            lab = Labeled(arr, "ndarray", None, None)
        else:
            raise ValueError(f"{name}: expected a 1-D or 2-D array, got {arr.ndim}-D")
    _check_dtype(lab.values, name, allow_int=True)
    if lab.values.shape[0] == 0:
        raise ValueError(f"{name}: empty input (0 rows)")
    if lab.values.shape[1] == 0:
        raise ValueError(f"{name}: empty input (0 columns)")
    return lab


def as_float64(values: np.ndarray) -> np.ndarray:
    """float64 view or copy of a (small) array: used for predictions and targets."""
    return np.asarray(values, dtype=np.float64)


def as_kernel_matrix(values: np.ndarray) -> np.ndarray:
    """An array the kernels read as is: supported dtype, native byte order.

    Unsigned and byte-swapped inputs are converted (to the nearest supported type);
    any other array is passed through untouched, whatever its strides.
    """
    if values.dtype.kind == "u":
        target = {1: np.int16, 2: np.int32, 4: np.int64}.get(values.dtype.itemsize, np.float64)
        return values.astype(target)
    if not values.dtype.isnative:
        return values.astype(values.dtype.newbyteorder("="))
    return values


def column_name(lab: Labeled, j: int) -> Any:
    cols = lab.column_labels()
    return cols[j] if j < len(cols) else j


def check_finite(lab: Labeled, name: str, values: np.ndarray | None = None) -> None:
    """ValueError naming the argument, the count and the first column with NaN/inf."""
    arr = lab.values if values is None else values
    if arr.dtype.kind != "f":
        return
    count, first_col = _core.count_nonfinite(as_kernel_matrix(arr))
    if count:
        raise ValueError(
            f"{name}: contains {count} NaN or infinite value(s); first in column "
            f"{column_name(lab, int(first_col))!r}"
        )


def nan_policy_of(nan_policy: Any) -> str:
    """The validated nan_policy: "raise" or "omit"."""
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy: expected 'raise' or 'omit', got {nan_policy!r}")
    return str(nan_policy)


def check_no_nan(lab: Labeled, name: str, hint: str) -> None:
    """ValueError naming the argument, the NaN count and the first column with NaN."""
    if lab.values.dtype.kind != "f":
        return
    count, first_col = _core.count_nonfinite(as_kernel_matrix(lab.values), True)
    if count:
        raise ValueError(
            f"{name}: contains {count} NaN value(s); first in column "
            f"{column_name(lab, int(first_col))!r} ({hint})"
        )


def check_rows(name: str, n: int, expected: int, expected_name: str) -> None:
    if n != expected:
        raise ValueError(f"length mismatch: {name} has {n} rows but {expected_name} has {expected}")


@dataclass(frozen=True)
class Eras:
    """Rows grouped by era: rows of era e are order[offsets[e]:offsets[e + 1]]."""

    labels: pd.Index  # era labels, sorted when sortable
    order: np.ndarray  # int64, row numbers grouped by era, in row order within an era
    offsets: np.ndarray  # int64, len(labels) + 1

    @property
    def n_eras(self) -> int:
        return len(self.labels)

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)


def eras_of(eras: Any, n_rows: int, name: str = "eras") -> Eras:
    """Group rows by era label (any hashable labels, any row order)."""
    if eras is None:
        return Eras(
            pd.Index([None]),
            np.arange(n_rows, dtype=np.int64),
            np.array([0, n_rows], dtype=np.int64),
        )
    if isinstance(eras, (pd.Series, pd.Index)):
        values = eras.to_numpy()
    else:
        values = np.asarray(eras)
        if values.ndim != 1:
            values = np.asarray(list(eras), dtype=object)
    if values.ndim != 1:
        raise ValueError(f"{name}: expected one label per row (1-D), got {values.ndim}-D")
    check_rows(name, len(values), n_rows, "the data")
    if pd.isna(values).any():
        raise ValueError(f"{name}: contains missing labels (NaN/None)")
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # labels of mixed, unorderable types: keep first-seen order
        codes, uniques = pd.factorize(values, sort=False)
    codes = codes.astype(np.int64, copy=False)
    order = np.argsort(codes, kind="stable").astype(np.int64, copy=False)
    counts = np.bincount(codes, minlength=len(uniques))
    offsets = np.zeros(len(uniques) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Eras(pd.Index(uniques, name=getattr(eras, "name", None)), order, offsets)


def n_threads_of(n_threads: Any) -> int:
    """None means every core; otherwise a positive int."""
    if n_threads is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads: expected a positive int or None, got {n_threads!r}")
    if n_threads < 1:
        raise ValueError(f"n_threads: expected a positive int or None, got {n_threads}")
    return int(n_threads)


def proportions_of(proportion: Any) -> tuple[list[float], bool]:
    """Validate a proportion or a list of them; returns (values, was_scalar)."""
    scalar = not isinstance(proportion, (list, tuple, np.ndarray, pd.Series))
    items = [proportion] if scalar else list(proportion)
    if not items:
        raise ValueError("proportion: empty list")
    out = []
    for p in items:
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"proportion: expected a number in [0, 1], got {p!r}")
        value = float(p)
        if not 0.0 <= value <= 1.0:  # also refuses NaN
            raise ValueError(f"proportion: must lie in [0, 1], got {p!r}")
        out.append(value)
    return out, scalar
