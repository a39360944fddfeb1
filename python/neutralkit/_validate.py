"""Input validation shared by the public API: check once, name the argument.

Everything here works on views: nothing copies a large input unless the caller asks
(or the input cannot be read in place: nullable/pyarrow columns, misaligned strides,
rows given in another order than the first argument's).

The row-alignment rule (one place: :func:`row_positions`, used by :func:`align`,
:func:`aligned`, :func:`vector` and :func:`eras_of`):

* NumPy arrays (and lists) meet by position: same number of rows, row i with row i.
* Two pandas inputs meet by index label. Identical indexes cost one ``Index.equals``
  (the fast path). The same labels in another order are aligned to the order of the
  first argument (the "anchor", e.g. ``preds``), whose index the result keeps. Labels
  that differ, or duplicated labels when the order differs, raise a ValueError that
  names both arguments and counts what differs.
* A pandas input and a NumPy input meet by position (NumPy has no labels).
* ``eras=`` given as a Series follows the same rule; as a NumPy array, list or
  ``pd.Index``, by position. A dict (Mapping) is refused (it would be read by its keys).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from . import _core

#: dtypes the kernels read directly (anything else is converted or refused)
SUPPORTED_DTYPES = (
    np.dtype(np.int8),
    np.dtype(np.int16),
    np.dtype(np.int32),
    np.dtype(np.int64),
    np.dtype(np.float32),
    np.dtype(np.float64),
)

#: upper bound of ``n_threads`` (one OS thread each; more than the tasks are never started)
MAX_THREADS = 1024


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


# ------------------------------------------------------------------------ dtypes


def _numeric_array(arr: np.ndarray, name: str) -> np.ndarray:
    """A NumPy array the kernels can read: bool as 0/1, float16 widened, strides fixed.

    Refuses what is not a number with a TypeError naming the argument.
    """
    kind = arr.dtype.kind
    if arr.dtype.fields is not None or kind == "V":
        fields = list(arr.dtype.names or ())
        raise TypeError(
            f"{name}: a structured array (fields {fields[:5]!r}) is not accepted; pass "
            "one field (e.g. arr['a']) or a plain numeric array"
        )
    if kind == "b":
        arr = arr.view(np.int8)  # True/False as 1/0, same bytes: no copy
    elif kind == "f" and arr.dtype.itemsize == 2:
        arr = arr.astype(np.float32)
    elif kind not in "iuf":
        raise TypeError(
            f"{name}: expected numbers (bool, int8..int64, uint8..uint64, float16..float64), "
            f"got dtype {arr.dtype}"
        )
    if kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(f"{name}: dtype {arr.dtype} is not supported; use float64")
    item = arr.dtype.itemsize
    if any(s % item for s in arr.strides):  # e.g. one field of a structured array
        # a copy: ascontiguousarray keeps an array NumPy deems contiguous (one row, one
        # column) with its odd strides, which the kernels refuse (found by fuzz_api)
        arr = arr.copy(order="C")
    return arr


def _column_values(col: pd.Series, name: str) -> np.ndarray:
    """1-D NumPy values of one pandas column (nullable/pyarrow: NA becomes NaN)."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype):
        return _numeric_array(col.to_numpy(), name)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        # masked (Float64, Int8, boolean) and pyarrow dtypes: numpy_dtype; Sparse: subtype
        numpy_dtype = getattr(dtype, "numpy_dtype", None) or getattr(dtype, "subtype", None)
        if numpy_dtype is not None and np.dtype(numpy_dtype).kind in "biuf":
            if col.hasnans:  # nullable NA: a missing value, NaN in float64
                return col.to_numpy(dtype=np.float64, na_value=np.nan)
            return _numeric_array(col.to_numpy(dtype=numpy_dtype), name)
    raise TypeError(f"{name}: expected numbers, got dtype {dtype}")


def _frame_values(x: pd.DataFrame, name: str) -> np.ndarray:
    dtypes = list(x.dtypes)
    if dtypes and all(isinstance(t, np.dtype) and t.kind in "iuf" for t in dtypes):
        return _numeric_array(x.to_numpy(), name)  # one block: a view
    for c, t in zip(x.columns, dtypes, strict=True):
        if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t)):
            bad = [c2 for c2, t2 in x.dtypes.items() if not pd.api.types.is_numeric_dtype(t2)]
            raise TypeError(
                f"{name}: every column must be numeric; not numeric: {bad[:5]!r} "
                f"(first: {c!r}, dtype {t})"
            )
    if not dtypes:
        return np.empty((len(x), 0))
    cols = [_column_values(x.iloc[:, j], f"{name}[{x.columns[j]!r}]") for j in range(x.shape[1])]
    out = np.empty((len(x), len(cols)), dtype=np.result_type(*[c.dtype for c in cols]))
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def labeled(x: Any, name: str, *, allow_1d: bool = True) -> Labeled:
    """Unwrap a NumPy array, list, Series or DataFrame into a 2-D view and metadata.

    Accepted: bool (as 0/1), int8..int64, uint8..uint64, float16..float64, in any
    layout (C, F, strided, reversed, one field of a structured array); pandas
    nullable (``Float64``, ``Int8``, ``boolean``, ...) and pyarrow-backed numeric
    columns, whose NA becomes NaN (then ``nan_policy`` decides).
    """
    if isinstance(x, pd.DataFrame):
        lab = Labeled(_frame_values(x, name), "frame", x.index, x.columns)
    elif isinstance(x, pd.Series):
        values = _column_values(x, name).reshape(-1, 1)
        lab = Labeled(values, "series", x.index, None, x.name, True)
    else:
        if isinstance(x, Mapping):
            raise TypeError(
                f"{name}: expected an array, Series or DataFrame, got {type(x).__name__}"
            )
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind in "USO":
            raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
        arr = _numeric_array(arr, name)
        if arr.ndim == 1:
            if not allow_1d:
                raise ValueError(f"{name}: expected a 2-D array, got 1-D")
            lab = Labeled(arr.reshape(-1, 1), "ndarray", None, None, None, True)
        elif arr.ndim == 2:
            lab = Labeled(arr, "ndarray", None, None)
        else:
            raise ValueError(f"{name}: expected a 1-D or 2-D array, got {arr.ndim}-D")
    if lab.values.shape[0] == 0:
        raise ValueError(f"{name}: empty input (0 rows)")
    if lab.values.shape[1] == 0:
        raise ValueError(f"{name}: empty input (0 columns)")
    return lab


def as_float64(values: np.ndarray) -> np.ndarray:
    """float64 view or copy of a (small) array: used for predictions and targets."""
    return np.asarray(values, dtype=np.float64)


def as_vector(values: np.ndarray) -> np.ndarray:
    """A C-contiguous float64 1-D vector (what the kernels take for targets)."""
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))


def as_kernel_matrix(values: np.ndarray) -> np.ndarray:
    """An array the kernels read as is: supported dtype, native byte order.

    Unsigned and byte-swapped inputs are converted (to the nearest supported type);
    any other array is passed through untouched, whatever its strides.
    """
    if values.dtype.kind == "b":
        values = values.view(np.int8)
    if values.dtype.kind == "u":
        target = {1: np.int16, 2: np.int32, 4: np.int64}.get(values.dtype.itemsize, np.uint64)
        if target is np.uint64 and (values.size == 0 or values.max() < 2**63):
            target = np.int64  # exact (and ranked exactly past 2^53)
        if target is np.uint64:  # values past 2^63: the kernels read uint64 as is
            return values if values.dtype.isnative else values.astype(np.uint64)
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


def check_no_inf(values: np.ndarray, name: str) -> None:
    """Under nan_policy="omit", NaN marks a missing value but infinity is still refused."""
    if values.dtype.kind == "f":
        count = int(np.isinf(values).sum())
        if count:
            raise ValueError(f"{name}: contains {count} infinite value(s)")


def float_values_checked(lab: Labeled, name: str, policy: str) -> np.ndarray:
    """``lab``'s values as float64, NaN/inf refused by name under nan_policy="raise",
    infinity refused under "omit" (NaN then marks a missing value)."""
    values = as_float64(lab.values)
    if policy == "raise":
        check_finite(lab, name, values)
    else:
        check_no_inf(values, name)
    return values


def nan_policy_of(nan_policy: Any) -> str:
    """The validated nan_policy: "raise" or "omit"."""
    if not isinstance(nan_policy, str) or nan_policy not in ("raise", "omit"):
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


# --------------------------------------------------------------- row alignment


def _examples(labels: Any) -> str:
    items = list(labels[:3])
    return ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in items)


def row_positions(
    index: pd.Index, name: str, anchor: pd.Index, anchor_name: str
) -> np.ndarray | None:
    """The row-alignment rule for two pandas inputs (see the module docstring).

    Returns ``None`` when ``index`` equals ``anchor`` (nothing to do: the fast path,
    one ``Index.equals``); otherwise the position in ``index`` of each label of
    ``anchor``, in ``anchor``'s order. Raises ValueError naming both arguments when the
    labels differ, or when one index has duplicated labels (rows cannot be matched).
    """
    if index is anchor or index.equals(anchor):
        return None
    for idx, nm in ((index, name), (anchor, anchor_name)):
        if idx.has_duplicates:
            dup = idx[idx.duplicated()]
            raise ValueError(
                f"{name} and {anchor_name}: their indexes differ and the index of {nm} has "
                f"{len(dup)} duplicated label(s) (e.g. {_examples(dup.unique())}), so rows "
                "cannot be matched by label; give both the same index (or pass NumPy "
                "arrays, matched by position)"
            )
    positions = index.get_indexer(anchor)
    found = positions >= 0
    if len(index) == len(anchor) and found.all():
        return positions.astype(np.intp, copy=False)
    missing = anchor[~found]
    extra = index[~index.isin(anchor)]
    if len(index) != len(anchor):
        head = (
            f"length mismatch: {name} has {len(index)} rows but {anchor_name} has "
            f"{len(anchor)}, and their index labels differ"
        )
    else:
        head = f"{name} and {anchor_name}: index labels differ"
    parts = []
    if len(extra):
        parts.append(
            f"{len(extra)} label(s) of {name} are not in the index of {anchor_name} "
            f"(e.g. {_examples(extra)})"
        )
    if len(missing):
        parts.append(
            f"{len(missing)} label(s) of {anchor_name} are not in the index of {name} "
            f"(e.g. {_examples(missing)})"
        )
    raise ValueError(
        f"{head}: {'; '.join(parts)}. pandas inputs ({name}, {anchor_name}) are matched "
        "by index label: reindex them to the same labels, or pass NumPy arrays to match "
        "rows by position"
    )


def align(lab: Labeled, name: str, anchor: Labeled, anchor_name: str) -> Labeled:
    """``lab`` with its rows in ``anchor``'s order (the row-alignment rule).

    Both pandas: by index label (see :func:`row_positions`); otherwise by position
    (equal row counts required).
    """
    if lab.index is None or anchor.index is None:
        check_rows(name, lab.n_rows, anchor.n_rows, anchor_name)
        return lab
    positions = row_positions(lab.index, name, anchor.index, anchor_name)
    if positions is None:
        return lab
    return replace(lab, values=lab.values[positions], index=anchor.index)


def aligned(x: Any, name: str, anchor: Labeled, anchor_name: str) -> Labeled:
    """:func:`labeled` then :func:`align` to ``anchor``."""
    return align(labeled(x, name), name, anchor, anchor_name)


def vector(x: Any, name: str, anchor: Labeled, anchor_name: str) -> np.ndarray:
    """One value per row of ``anchor`` (target, metamodel, weights): aligned, C-contiguous
    float64 (NaN not checked here)."""
    lab = aligned(x, name, anchor, anchor_name)
    if lab.n_cols != 1:
        raise ValueError(f"{name}: expected one value per row (1-D), got {lab.n_cols} columns")
    return as_vector(lab.values[:, 0])


# ------------------------------------------------------------------------ eras


@dataclass(frozen=True)
class Eras:
    """Rows grouped by era: rows of era e are ``order[offsets[e]:offsets[e + 1]]``.

    The one era-grouping type of the package (kernels take ``order`` and ``offsets``).
    """

    labels: pd.Index  # era labels, sorted when sortable
    order: np.ndarray  # int64, row numbers grouped by era, in row order within an era
    offsets: np.ndarray  # int64, len(labels) + 1
    codes: np.ndarray = None  # type: ignore[assignment]  # int64, era number of each row

    def __post_init__(self) -> None:
        if self.codes is None:  # built from order/offsets alone
            codes = np.empty(len(self.order), dtype=np.int64)
            codes[self.order] = np.repeat(np.arange(self.n_eras, dtype=np.int64), self.sizes())
            object.__setattr__(self, "codes", codes)

    @staticmethod
    def from_codes(codes: np.ndarray, labels: pd.Index) -> Eras:
        codes = np.asarray(codes, dtype=np.int64)
        order = np.argsort(codes, kind="stable").astype(np.int64, copy=False)
        offsets = np.zeros(len(labels) + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=len(labels)), out=offsets[1:])
        return Eras(labels, order, offsets, codes)

    @property
    def n_eras(self) -> int:
        return len(self.labels)

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def rows(self, e: int) -> np.ndarray:
        return self.order[self.offsets[e] : self.offsets[e + 1]]

    def subset(self, mask: np.ndarray) -> Eras:
        """The rows where ``mask`` holds, renumbered 0..; every era kept (maybe empty)."""
        return Eras.from_codes(self.codes[mask], self.labels)

    def check_min_size(self, min_rows: int, what: str) -> None:
        """ValueError naming the first era with fewer than ``min_rows`` rows."""
        sizes = self.sizes()
        small = np.flatnonzero(sizes < min_rows)
        if small.size:
            label = self.labels[small[0]]
            label = label.item() if isinstance(label, np.generic) else label
            raise ValueError(
                f"eras: era {label!r} has {sizes[small[0]]} row(s); {what} needs at least "
                f"{min_rows} rows per era ({small.size} era(s) too small)"
            )


def _era_values(eras: Any, name: str) -> np.ndarray:
    """One label per row as a 1-D array (tuples stay single labels)."""
    if isinstance(eras, np.ndarray):
        if eras.ndim == 0:
            raise TypeError(
                f"{name}: expected one label per row (array, list or Series), got a scalar"
            )
        if eras.ndim != 1:
            raise ValueError(f"{name}: expected one label per row (1-D), got {eras.ndim}-D")
        if eras.dtype.fields is not None:
            raise TypeError(f"{name}: a structured array is not accepted as era labels")
        return eras
    if isinstance(eras, (str, bytes)) or not hasattr(eras, "__iter__"):
        raise TypeError(
            f"{name}: expected one label per row (array, list or Series), got "
            f"{type(eras).__name__} {eras!r}"
        )
    items = list(eras)
    values = np.asarray(items) if items and not isinstance(items[0], tuple) else None
    if values is None or values.ndim != 1 or values.dtype.kind == "V":
        values = np.empty(len(items), dtype=object)  # tuples (or lists) as single labels
        for i, item in enumerate(items):
            values[i] = item
    return values


def eras_of(
    eras: Any,
    n_rows: int,
    name: str = "eras",
    *,
    index: pd.Index | None = None,
    index_name: str = "preds",
) -> Eras:
    """Group rows by era label (any hashable labels, tuples included, any row order).

    ``index``: the index of the first row input (``index_name``). A Series of eras is
    then aligned to it by label (:func:`row_positions`); arrays, lists and ``pd.Index``
    by position.
    """
    if eras is None:
        return Eras(
            pd.Index([None]),
            np.arange(n_rows, dtype=np.int64),
            np.array([0, n_rows], dtype=np.int64),
            np.zeros(n_rows, dtype=np.int64),
        )
    if isinstance(eras, Mapping):
        raise TypeError(
            f"{name}: a dict is not accepted (it would be read by its keys); pass a Series "
            "indexed like the data (pd.Series(mapping)) or one label per row"
        )
    if isinstance(eras, pd.DataFrame):
        if eras.shape[1] != 1:
            raise ValueError(f"{name}: expected one label per row, got {eras.shape[1]} columns")
        eras = eras.iloc[:, 0]
    if isinstance(eras, pd.Series):
        values = eras.to_numpy()
        if index is not None:
            positions = row_positions(eras.index, name, index, index_name)
            if positions is not None:
                values = values[positions]
    elif isinstance(eras, pd.Index):
        values = eras.to_numpy()
    else:
        values = _era_values(eras, name)
    check_rows(name, len(values), n_rows, index_name if index is not None else "the data")
    try:
        missing = pd.isna(values)
    except (TypeError, ValueError):
        missing = np.zeros(len(values), dtype=bool)
    if np.asarray(missing).any():
        raise ValueError(f"{name}: contains {int(np.sum(missing))} missing label(s) (NaN/None/NA)")
    try:
        try:
            codes, uniques = pd.factorize(values, sort=True)
        except TypeError:  # labels of mixed, unorderable types: keep first-seen order
            codes, uniques = pd.factorize(values, sort=False)
    except TypeError as exc:
        raise TypeError(f"{name}: labels must be hashable ({exc})") from None
    labels = pd.Index(uniques, name=getattr(eras, "name", None), tupleize_cols=False)
    return Eras.from_codes(codes, labels)


def unit_scaled(t: np.ndarray, band: float = 2.0**400) -> tuple[np.ndarray, float]:
    """``(t / s, s)`` with ``s`` a power of two, when max |t| lies outside
    ``(1 / band, band)`` (else ``s = 1``); ``band=1`` always scales.

    Division by a power of two is exact, so sums of squares neither overflow nor
    underflow and the scaled result is the same number.
    """
    finite = np.abs(t[np.isfinite(t)])
    peak = float(finite.max()) if finite.size else 0.0
    if peak == 0.0 or 1.0 / band < peak < band:
        return t, 1.0
    s = float(np.ldexp(1.0, int(np.frexp(peak)[1]) - 1))  # s <= peak < 2 s
    return t / s, s


def stakes_of(stakes: Any, columns: pd.Index) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """``(positions, stakes, labels)`` of the staked columns of preds (``columns``).

    ``stakes``: a Series or dict by column name (it may name a subset; labels in its
    order), or one stake per column (bool as 0/1). Finite, non-negative, with a positive
    sum; only their ratios matter, so the largest is put in [1, 2) by an exact power of
    two (sums cannot overflow; ordinary stakes keep their ratios bit for bit).
    """
    if isinstance(stakes, Mapping):
        stakes = pd.Series(dict(stakes), dtype=float)
    if isinstance(stakes, pd.Series):
        if not stakes.index.is_unique:
            raise ValueError("stakes: duplicated names in its index")
        if not columns.is_unique:
            raise ValueError("stakes: a named stakes Series needs unique column names in preds")
        pos = columns.get_indexer(stakes.index)
        if (pos < 0).any():
            unknown = list(stakes.index[pos < 0])
            raise ValueError(
                f"stakes: {len(unknown)} name(s) are not columns of preds, e.g. {unknown[:5]!r}"
            )
        if not pd.api.types.is_numeric_dtype(stakes.dtype) or pd.api.types.is_bool_dtype(
            stakes.dtype
        ):
            raise TypeError(f"stakes: expected numbers, got dtype {stakes.dtype}")
        values = np.asarray(labeled(stakes, "stakes").values[:, 0], dtype=np.float64)
        labels = stakes.index
    else:
        arr = np.asarray(stakes)
        if arr.dtype.kind == "b":
            arr = arr.astype(np.int8)
        if arr.dtype == object or arr.dtype.kind not in "iuf":
            raise TypeError(f"stakes: expected numbers, got dtype {arr.dtype}")
        if arr.ndim != 1:
            raise ValueError(f"stakes: expected a 1-D array, got {arr.ndim}-D")
        if arr.shape[0] != len(columns):
            raise ValueError(
                f"length mismatch: stakes has {arr.shape[0]} values but preds has "
                f"{len(columns)} columns"
            )
        values = arr.astype(np.float64)
        pos = np.arange(len(columns))
        labels = columns
    if len(values) == 0:
        raise ValueError("stakes: empty; name at least one column of preds")
    for bad, what in ((~np.isfinite(values), "NaN or infinite"), (values < 0, "negative")):
        if bad.any():
            raise ValueError(
                f"stakes: contains {int(bad.sum())} {what} value(s); first for column "
                f"{labels[np.flatnonzero(bad)[0]]!r}"
            )
    values = unit_scaled(values, band=1.0)[0]
    if not values.sum() > 0:
        raise ValueError("stakes: stakes sum to 0; at least one must be positive")
    return pos.astype(np.int64), values, labels


# ------------------------------------------------------------------ parameters


def n_threads_of(n_threads: Any) -> int:
    """None means every core; otherwise an int in [1, MAX_THREADS]."""
    if n_threads is None:
        return max(1, min(os.cpu_count() or 1, MAX_THREADS))
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads: expected a positive int or None, got {n_threads!r}")
    if not 1 <= int(n_threads) <= MAX_THREADS:
        raise ValueError(
            f"n_threads: expected an int from 1 to {MAX_THREADS} or None, got {n_threads}"
        )
    return int(n_threads)


def proportions_of(proportion: Any) -> tuple[list[float], bool]:
    """Validate a proportion or a list of them; returns (values, was_scalar)."""
    if isinstance(proportion, np.ndarray) and proportion.ndim == 0:
        proportion = proportion[()]
    scalar = not isinstance(proportion, (list, tuple, np.ndarray, pd.Series))
    if isinstance(proportion, np.ndarray) and proportion.ndim != 1:
        raise ValueError(f"proportion: expected a number or a 1-D list, got {proportion.ndim}-D")
    items = [proportion] if scalar else list(proportion)
    if not items:
        raise ValueError("proportion: empty list")
    out = []
    for p in items:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
            raise TypeError(f"proportion: expected a number in [0, 1], got {p!r}")
        value = float(p)
        if not 0.0 <= value <= 1.0:  # also refuses NaN
            raise ValueError(f"proportion: must lie in [0, 1], got {p!r}")
        out.append(value)
    return out, scalar


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)
