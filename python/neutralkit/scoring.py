"""Per-era ranks, Gaussian scores and the scores built on them (corr, numerai_corr, MMC).

Return convention of every scoring function: with ``eras=None`` a :class:`pandas.Series`
indexed by the prediction columns (a float for 1-D input); with ``eras`` a
:class:`pandas.DataFrame` indexed by era label (sorted), one column per prediction
column. NumPy 2-D input gets columns ``0..m-1``. Row-wise transforms (:func:`rank`,
:func:`gaussianize`, :func:`power`) return the input's kind and shape, in input row
order.

``nan_policy="raise"`` (the default) refuses NaN in any input with a ValueError naming
the argument, the count and the first column; ``"omit"`` scores each prediction column
on its own rows where it and the other row-wise inputs are not NaN, exactly as if it had
been scored alone on those rows (a column-era left with fewer than 2 rows scores NaN).
For the transforms, ``"omit"`` ranks each column over its own non-NaN rows and leaves
NaN as NaN (pandas' behaviour). A nullable or pyarrow NA counts as NaN.

Rows of the inputs meet by one rule (``neutralkit._validate.row_positions``): pandas
inputs by index label, aligned to the first argument's order (``preds`` or ``x``);
labels that differ, or duplicated labels where the order differs, raise ValueError
naming both arguments. NumPy inputs (and a NumPy input with a pandas one) meet by
position. ``eras`` follows the same rule as a Series; as an array, list or
``pd.Index`` it is positional; a dict is refused.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._validate import (
    Eras,
    Labeled,
    aligned,
    as_kernel_matrix,
    check_finite,
    check_no_inf,
    check_no_nan,
    eras_of,
    labeled,
    n_threads_of,
    nan_policy_of,
    unit_scaled,
    vector,
)
from .neutralization import _neutralize_eras

__all__ = [
    "corr",
    "correlation_contribution",
    "covariance",
    "gaussianize",
    "neutral_contribution",
    "numerai_corr",
    "pearson",
    "power",
    "rank",
    "stake_weight",
]

_RANK_METHODS = {"average": 0, "first": 1, "ordinal": 1}
# TargetMode in stats.hpp
_RAW, _CENTER, _CENTER_POWER, _CONTRIBUTION = 0, 1, 2, 3
#: top_bottom values above this mean "every row" as well (no era has that many rows)
_MAX_TOP_BOTTOM = 2**40


# ---------------------------------------------------------------------------- helpers


def _method_code(method: Any) -> int:
    if not isinstance(method, str) or method not in _RANK_METHODS:
        raise ValueError(f"method: expected one of {sorted(_RANK_METHODS)}, got {method!r}")
    return _RANK_METHODS[method]


def _top_bottom(top_bottom: Any) -> int:
    """0 means every row; otherwise a positive count of rows at each end.

    Counts of ``n / 2`` rows or more already take every row, so any larger count (up to
    any size) is accepted and capped where the kernel's int64 cannot overflow.
    """
    if top_bottom is None:
        return 0
    if isinstance(top_bottom, (bool, np.bool_)) or not isinstance(top_bottom, numbers.Integral):
        raise TypeError(f"top_bottom: expected a positive int or None, got {top_bottom!r}")
    if top_bottom < 1:
        raise ValueError(f"top_bottom: expected a positive int or None, got {top_bottom}")
    return int(min(int(top_bottom), _MAX_TOP_BOTTOM))


def _check_vector_finite(v: np.ndarray, name: str, policy: str) -> None:
    if policy == "raise":
        bad = int(np.count_nonzero(~np.isfinite(v)))
        if bad:
            raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    else:
        check_no_inf(v, name)


def _check_metamodel(mm: np.ndarray, er: Eras) -> None:
    """ValueError when the metamodel takes a single value in some era (ignoring NaN)."""
    for e in range(er.n_eras):
        vals = mm[er.rows(e)]
        vals = vals[~np.isnan(vals)]
        if vals.size and vals.min() == vals.max():
            raise ValueError(
                f"metamodel: takes a single value ({vals[0]!r}) in era {er.labels[e]!r}; "
                "a contribution beyond it is undefined"
            )


# kernel(values (n x m), vectors, extra rows, eras, n_threads) -> (n_eras x m)
_Kernel = Callable[[np.ndarray, list[np.ndarray], Any, Eras, int], np.ndarray]


def _score(
    kernel: _Kernel,
    lab: Labeled,
    vectors: Sequence[np.ndarray],
    extra: Any,
    er: Eras,
    policy: str,
    n_threads: int,
) -> np.ndarray:
    """Runs the kernel on every column; under "omit", each column on its own rows."""
    values = as_kernel_matrix(lab.values)
    if policy == "raise":
        return kernel(values, list(vectors), extra, er, n_threads)
    common = np.ones(lab.n_rows, dtype=bool)
    for v in vectors:
        common &= ~np.isnan(v)
    col_nan = (
        np.isnan(values).any(axis=0)
        if values.dtype.kind == "f"
        else np.zeros(lab.n_cols, dtype=bool)
    )
    out = np.full((er.n_eras, lab.n_cols), np.nan)

    def run(cols: np.ndarray, mask: np.ndarray) -> None:
        sub = er.subset(mask)
        block = values[np.ix_(mask, cols)]
        res = kernel(
            block,
            [np.ascontiguousarray(v[mask]) for v in vectors],
            None if extra is None else extra[mask],
            sub,
            n_threads,
        )
        res[sub.sizes() < 2, :] = np.nan
        out[:, cols] = res

    clean = np.flatnonzero(~col_nan)
    if clean.size:
        if common.all():
            out[:, clean] = kernel(values[:, clean], list(vectors), extra, er, n_threads)
        elif common.any():
            run(clean, common)
    for j in np.flatnonzero(col_nan):
        mask = common & ~np.isnan(values[:, j])
        if mask.any():
            run(np.array([j]), mask)
    return out


def _wrap_scores(out: np.ndarray, lab: Labeled, eras: Any, labels: pd.Index) -> Any:
    columns = lab.column_labels()
    if eras is None:
        if lab.was_1d:
            return float(out[0, 0])
        return pd.Series(out[0], index=columns)
    return pd.DataFrame(out, index=labels, columns=columns)


@contextmanager
def _preds_checked_first(lab: Labeled, deferred: bool) -> Iterator[None]:
    """Where the NaN/inf check of preds is deferred to the kernel: an input error raised
    in the block is preceded by that check, so the error is the one the eager check
    order gives (preds' NaN/inf first)."""
    try:
        yield
    except (ValueError, TypeError):
        if deferred:
            check_finite(lab, "preds")
        raise


def _setup(
    preds: Any,
    target: Any,
    eras: Any,
    nan_policy: Any,
    n_threads: Any,
    *,
    defer_preds_check: bool = False,
) -> tuple[Labeled, np.ndarray, Eras, str, int]:
    """preds, then target and eras aligned to preds (by label for pandas inputs).

    With ``defer_preds_check`` (for a kernel that reports NaN/inf itself), preds is not
    scanned for NaN/inf under nan_policy="raise": the caller must check it when the
    kernel reports one (``check_finite``).
    """
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    lab = labeled(preds, "preds")
    t = vector(target, "target", lab, "preds")
    er = eras_of(eras, lab.n_rows, index=lab.index)
    with _preds_checked_first(lab, defer_preds_check and policy == "raise"):
        if policy == "raise":
            if not defer_preds_check:
                check_finite(lab, "preds")
            er.check_min_size(2, "this score")
        else:
            check_no_inf(lab.values, "preds")
        _check_vector_finite(t, "target", policy)
    return lab, t, er, policy, threads


# ------------------------------------------------------------------ row-wise transforms


def rank(
    x: Any,
    *,
    eras: Any = None,
    method: str = "average",
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Uniform rank of each column within each era.

    .. math:: u = (r - 0.5) / n

    with :math:`r` the 1-based rank within the era and :math:`n` the number of non-NaN
    values of the column in the era (pandas' ``(rank - 0.5) / count``).

    Parameters
    ----------
    x : array-like, Series or DataFrame, shape (n,) or (n, m)
        Values to rank (bool, int8..int64, uint, float16..float64, nullable or
        pyarrow-backed; any layout; infinities rank as the largest or smallest values).
    eras : array-like or Series, optional
        One era label per row (any hashable type, tuples too, any order). A Series
        meets a pandas ``x`` by index label (the same labels in another order are
        aligned; different or duplicated labels raise ValueError); an array, list or
        ``pd.Index`` by position. ``None``: one era.
    method : {"average", "first", "ordinal"}
        ``"average"``: ties share their average rank (tie-kept, official).
        ``"first"``/``"ordinal"``: ties broken by row order within the era.
    n_threads : int, optional
        Threads over (era, column) tasks, 1 to 1024 (default: all cores); the result
        does not depend on it.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN in ``x`` raises ValueError (with the count and the first
        column). ``"omit"``: each column is ranked over its own non-NaN rows of the
        era, and NaN stays NaN (pandas' behaviour).

    Returns
    -------
    float64 values in (0, 1), the same kind, shape and row order as ``x``.
    """
    return _rank_transform(x, eras, method, False, 1.0, n_threads, nan_policy)


def gaussianize(
    x: Any,
    *,
    eras: Any = None,
    method: str = "average",
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Gaussian score of the uniform rank of each column within each era.

    .. math:: g = \Phi^{-1}\big((r - 0.5) / n\big)

    :math:`\Phi^{-1}` agrees with ``scipy.special.ndtri`` to about 1e-15 relative
    (Wichura's AS 241). Parameters as :func:`rank`.

    Returns
    -------
    float64 values, the same kind, shape and row order as ``x``.
    """
    return _rank_transform(x, eras, method, True, 1.0, n_threads, nan_policy)


_OMIT_HINT = "pass nan_policy='omit' to leave NaN as NaN"


def _rank_transform(
    x: Any, eras: Any, method: str, gaussian: bool, p: float, n_threads: Any, nan_policy: Any
) -> Any:
    code = _method_code(method)
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    lab = labeled(x, "x")
    if policy == "raise":
        check_no_nan(lab, "x", f"{_OMIT_HINT}, each column ranked over its other rows")
    er = eras_of(eras, lab.n_rows, index=lab.index, index_name="x")
    out = _core.rank_columns(
        as_kernel_matrix(lab.values), er.order, er.offsets, code, gaussian, p, threads
    )
    return lab.wrap_rows(out)


def power(
    x: Any, p: float = 1.5, *, n_threads: int | None = None, nan_policy: str = "raise"
) -> Any:
    r"""Signed power, element-wise.

    .. math:: \operatorname{sign}(x)\,|x|^p

    Parameters
    ----------
    x : array-like, Series or DataFrame
        Any real dtype.
    p : float
        Exponent, finite and > 0 (1.5 is the official "p15").
    n_threads : int, optional
        Threads over columns (default: all cores).
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN in ``x`` raises ValueError. ``"omit"``: NaN stays NaN.

    Returns
    -------
    float64 values, the same kind, shape and row order as ``x``.
    """
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"p: expected a positive number, got {p!r}")
    try:
        p_value = float(p)
    except OverflowError:  # an int beyond float64
        p_value = np.inf
    if not (np.isfinite(p_value) and p_value > 0):
        raise ValueError(f"p: expected a finite number > 0, got {p!r}")
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    lab = labeled(x, "x")
    if policy == "raise":
        check_no_nan(lab, "x", _OMIT_HINT)
    out = _core.signed_power(as_kernel_matrix(lab.values), p_value, threads)
    return lab.wrap_rows(out)


# ---------------------------------------------------------------------------- scores


def _pearson_kernel(covariance: bool) -> _Kernel:
    def kernel(values, vectors, extra, er, threads):
        return _core.pearson_columns(values, vectors[0], er.order, er.offsets, covariance, threads)

    return kernel


def pearson(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    nan_policy: str = "raise",
    n_threads: int | None = None,
) -> Any:
    r"""Pearson correlation of each prediction column with the target, per era.

    .. math:: \rho = \frac{\sum (p - \bar p)(t - \bar t)}
                         {\sqrt{\sum (p - \bar p)^2 \sum (t - \bar t)^2}}

    as ``numpy.corrcoef``; NaN when either side is constant in the era.

    Parameters
    ----------
    preds : array-like, Series or DataFrame, shape (n,) or (n, m)
        The first row input: the other row inputs are aligned to it.
    target : array-like or Series, shape (n,)
        A Series meets a pandas ``preds`` by index label (the same labels in another
        order are aligned to ``preds``; different or duplicated labels raise
        ValueError naming both); NumPy input (or NumPy ``preds``) meets by position.
    eras : array-like or Series, optional
        One era label per row (any hashable type, tuples too, any order). A Series is
        aligned to ``preds`` like ``target``; an array, list or ``pd.Index`` meets by
        position; a dict is refused. ``None``: one era.
    nan_policy : {"raise", "omit"}
    n_threads : int, optional
        1 to 1024 (default: all cores); the result does not depend on it.

    Returns
    -------
    Series by column (float for 1-D ``preds``); with ``eras``, a DataFrame by era.
    """
    lab, t, er, policy, threads = _setup(preds, target, eras, nan_policy, n_threads)
    t = unit_scaled(t)[0]  # Pearson does not see the target's scale: none to overflow
    out = _score(_pearson_kernel(False), lab, [t], None, er, policy, threads)
    return _wrap_scores(out, lab, eras, er.labels)


def covariance(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    nan_policy: str = "raise",
    n_threads: int | None = None,
) -> Any:
    r"""Covariance (ddof=1) of each prediction column with the target, per era.

    .. math:: \frac{1}{n - 1} \sum (p - \bar p)(t - \bar t)

    as ``numpy.cov``. Parameters and return value as :func:`pearson`.
    """
    lab, t, er, policy, threads = _setup(preds, target, eras, nan_policy, n_threads)
    t, t_unit = unit_scaled(t)  # linear in the target: at unit scale, scaled back
    out = _score(_pearson_kernel(True), lab, [t], None, er, policy, threads)
    if t_unit != 1.0:
        with np.errstate(over="ignore", under="ignore"):
            out = out * t_unit
    return _wrap_scores(out, lab, eras, er.labels)


def _rank_corr_kernel(
    method: int, gaussian: bool, p: float, target_mode: int, target_p: float, tb: int
) -> _Kernel:
    def kernel(values, vectors, extra, er, threads):
        t = _core.prepare_target(vectors[0], er.order, er.offsets, target_mode, target_p)
        return _core.rank_correlation_columns(
            values, t, er.order, er.offsets, method, gaussian, p, tb, threads
        )

    return kernel


def corr(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    nan_policy: str = "raise",
    n_threads: int | None = None,
) -> Any:
    r"""Legacy Numerai correlation: Pearson of the tie-broken uniform rank with the raw
    target, per era.

    .. math:: \operatorname{corr} = \rho\big(\operatorname{rank}_{first}(p),\ t\big)

    Ties in ``preds`` are broken by row order within the era (the seed-era
    ``rank(pct=True, method="first")``). Parameters and return value as :func:`pearson`.
    """
    lab, t, er, policy, threads = _setup(preds, target, eras, nan_policy, n_threads)
    t = unit_scaled(t)[0]  # Pearson does not see the target's scale: none to overflow
    kernel = _rank_corr_kernel(1, False, 1.0, _RAW, 1.0, 0)
    out = _score(kernel, lab, [t], None, er, policy, threads)
    return _wrap_scores(out, lab, eras, er.labels)


def numerai_corr(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    top_bottom: int | None = None,
    target_pow15: bool = True,
    nan_policy: str = "raise",
    n_threads: int | None = None,
) -> Any:
    r"""Official Numerai correlation (numerai-tools ``numerai_corr``), per era.

    .. math::
        t' = \operatorname{p15}(t - \bar t), \quad
        p' = \operatorname{p15}\big(\Phi^{-1}(\operatorname{rank}_{avg}(p))\big), \quad
        \operatorname{numerai\_corr} = \rho(p', t')

    with :math:`\operatorname{p15}(x) = \operatorname{sign}(x)|x|^{1.5}`.

    Parameters
    ----------
    preds, target, eras, nan_policy, n_threads
        As :func:`pearson`.
    top_bottom : int, optional
        Only the ``top_bottom`` highest and ``top_bottom`` lowest transformed
        predictions of each era take part (ties: a stable sort, row order within the
        era). When ``2 * top_bottom >= n`` every row takes part (any larger int is
        accepted).
    target_pow15 : bool
        Raise the centred target to the power 1.5 (default). ``False`` for returns.

    Notes
    -----
    Every step runs in float64, whatever the target's dtype. numerai-tools centres
    and powers a float32 target (as Numerai ships its targets) in float32 before its
    float64 Pearson, which rounds the transformed target to ~7 digits (differences of
    ~1e-9 in the score on real data); this function is the more accurate of the two.
    ``neutralkit.compat.numerai_tools.numerai_corr`` reproduces numerai-tools' dtype
    behaviour exactly.
    """
    tb = _top_bottom(top_bottom)
    lab, t, er, policy, threads = _setup(preds, target, eras, nan_policy, n_threads)
    # a positive scale c of the target becomes c**1.5 after p15, which Pearson ignores
    t = unit_scaled(t)[0]
    mode = _CENTER_POWER if target_pow15 else _CENTER
    kernel = _rank_corr_kernel(0, True, 1.5, mode, 1.5, tb)
    out = _score(kernel, lab, [t], None, er, policy, threads)
    return _wrap_scores(out, lab, eras, er.labels)


def _contribution_inputs(
    vectors: list[np.ndarray], er: Eras, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """(gaussianized metamodel ranks, prepared target) of each era."""
    target, mm = vectors
    m = _core.rank_columns(mm.reshape(-1, 1), er.order, er.offsets, 0, True, 1.0, threads)
    t = _core.prepare_target(target, er.order, er.offsets, _CONTRIBUTION, 1.0)
    return m, t


def _contribution_kernel(tb: int, neutralize_to: bool) -> _Kernel:
    def kernel(values, vectors, extra, er, threads):
        m, t = _contribution_inputs(vectors, er, threads)
        if not neutralize_to:  # rank + gaussianize fused into the kernel
            return _core.contribution_columns(
                values, m[:, 0], t, er.order, er.offsets, tb, threads, 0
            )
        p = _core.rank_columns(values, er.order, er.offsets, 0, True, 1.0, threads)
        both = _neutralize_eras(extra, np.hstack([p, m]), er, [1.0], n_threads=threads)[0]
        p, m = both[:, :-1], both[:, -1]
        _check_neutral_metamodel(m, er)
        return _core.contribution_columns(
            np.ascontiguousarray(p),
            np.ascontiguousarray(m),
            t,
            er.order,
            er.offsets,
            tb,
            threads,
        )

    return kernel


def _check_neutral_metamodel(m: np.ndarray, er: Eras) -> None:
    for e in range(er.n_eras):
        rows = er.rows(e)
        if rows.size >= 2 and not np.any(np.abs(m[rows]) > 1e-9):
            raise ValueError(
                f"metamodel: is fully explained by the neutralizers in era {er.labels[e]!r}; "
                "a contribution beyond it is undefined"
            )


def _contribution_setup(
    preds: Any,
    metamodel: Any,
    target: Any,
    eras: Any,
    nan_policy: Any,
    n_threads: Any,
    *,
    defer_preds_check: bool = False,
) -> tuple[Labeled, np.ndarray, np.ndarray, Eras, str, int]:
    lab, t, er, policy, threads = _setup(
        preds, target, eras, nan_policy, n_threads, defer_preds_check=defer_preds_check
    )
    with _preds_checked_first(lab, defer_preds_check and policy == "raise"):
        mm = vector(metamodel, "metamodel", lab, "preds")
        _check_vector_finite(mm, "metamodel", policy)
        _check_metamodel(mm, er)
    return lab, t, mm, er, policy, threads


def correlation_contribution(
    preds: Any,
    metamodel: Any,
    target: Any,
    *,
    eras: Any = None,
    top_bottom: int | None = None,
    nan_policy: str = "raise",
    n_threads: int | None = None,
) -> Any:
    r"""Official MMC (BMC when the metamodel is a benchmark), per era.

    .. math::
        p = \Phi^{-1}(\operatorname{rank}_{avg}(\text{preds})),\quad
        m = \Phi^{-1}(\operatorname{rank}_{avg}(\text{metamodel})),\quad
        p_\perp = p - m \frac{p^\top m}{m^\top m}

    The target is multiplied by 4 when every value of the era lies in [0, 1], then
    centred (:math:`t_c`); the score is :math:`t_c^\top p_\perp / n`. Equal to
    numerai-tools 0.7.2 ``correlation_contribution`` on each era.

    Parameters
    ----------
    preds, target, eras, nan_policy, n_threads
        As :func:`pearson`.
    metamodel : array-like or Series, shape (n,)
        Must take at least two distinct values in every era (ValueError otherwise).
        Aligned to ``preds`` like ``target``.
    top_bottom : int, optional
        Only the ``top_bottom`` lowest and highest :math:`p_\perp` of the era take part,
        and the sum is divided by ``2 * top_bottom`` (all rows when that is >= n; any
        larger int is accepted).
    """
    tb = _top_bottom(top_bottom)
    lab, t, mm, er, policy, threads = _contribution_setup(
        preds, metamodel, target, eras, nan_policy, n_threads, defer_preds_check=True
    )
    if policy == "raise":
        # preds is checked for NaN/inf by the kernel as it reads it (one pass over the
        # data instead of two); the error is the one check_finite gives.
        m, tp = _contribution_inputs([t, mm], er, threads)
        out, nonfinite = _core.contribution_columns_checked(
            as_kernel_matrix(lab.values), m[:, 0], tp, er.order, er.offsets, tb, threads, 0
        )
        if nonfinite:
            check_finite(lab, "preds")
            raise RuntimeError("internal error: the kernel saw a NaN/inf that preds lacks")
    else:
        out = _score(_contribution_kernel(tb, False), lab, [t, mm], None, er, policy, threads)
    return _wrap_scores(out, lab, eras, er.labels)


def neutral_contribution(
    preds: Any,
    metamodel: Any,
    neutralizers: Any,
    target: Any,
    *,
    eras: Any = None,
    top_bottom: int | None = None,
    nan_policy: str = "raise",
    n_threads: int | None = None,
) -> Any:
    r"""Official neutral contribution (numerai-tools 0.7 ``neutral_contribution``).

    As :func:`correlation_contribution`, but the gaussianized predictions and metamodel
    are each neutralized (per era, with an intercept, proportion 1; see
    :func:`neutralkit.neutralize`) to ``neutralizers`` before the orthogonalization.

    Parameters
    ----------
    neutralizers : array-like or DataFrame, shape (n, k)
        Must be finite whatever ``nan_policy`` is. Aligned to ``preds`` like
        ``target`` (see :func:`pearson`).
    """
    tb = _top_bottom(top_bottom)
    lab, t, mm, er, policy, threads = _contribution_setup(
        preds, metamodel, target, eras, nan_policy, n_threads
    )
    nlab = aligned(neutralizers, "neutralizers", lab, "preds")
    check_finite(nlab, "neutralizers")
    out = _score(
        _contribution_kernel(tb, True),
        lab,
        [t, mm],
        as_kernel_matrix(nlab.values),
        er,
        policy,
        threads,
    )
    return _wrap_scores(out, lab, eras, er.labels)


# ----------------------------------------------------------------------- metamodel


def stake_weight(preds: Any, stakes: Any, *, nan_policy: str = "raise") -> Any:
    r"""Stake-weighted average of prediction columns (official ``stake_weight``).

    .. math:: M = \frac{\sum_j s_j\, p_j}{\sum_j s_j}

    No ranking (the seed's metamodel ranks first; see neutralkit.metamodel). One
    matrix-vector product (BLAS), so there is no ``n_threads``.

    Parameters
    ----------
    preds : DataFrame or 2-D array, shape (n, m)
    stakes : Series indexed by column names of ``preds`` (only those columns are used),
        or an array of m stakes aligned with the columns. Non-negative, finite, with a
        positive and finite sum.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN in the used columns of ``preds`` raises ValueError. ``"omit"``:
        each row averages the columns that have a value there, the stakes renormalized
        over them (NaN if none of positive stake has). Infinity is refused either way.

    Returns
    -------
    Series with the index of ``preds`` (1-D array for NumPy input).
    """
    policy = nan_policy_of(nan_policy)
    lab = labeled(preds, "preds")
    columns = lab.column_labels()
    if isinstance(stakes, pd.Series):
        if stakes.index.has_duplicates:
            raise ValueError("stakes: duplicated names in its index")
        missing = [c for c in stakes.index if c not in columns]
        if missing:
            raise ValueError(f"stakes: names not among the columns of preds: {missing[:5]!r}")
        positions = columns.get_indexer(stakes.index)
        raw = labeled(stakes, "stakes").values[:, 0]
    else:
        raw = np.asarray(stakes)
        if raw.dtype.kind == "b":
            raw = raw.astype(np.int8)
        if raw.ndim != 1 or raw.shape[0] != lab.n_cols:
            raise ValueError(
                f"stakes: expected {lab.n_cols} stakes (one per column of preds), "
                f"got shape {raw.shape}"
            )
        positions = np.arange(lab.n_cols)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"stakes: expected numbers, got dtype {raw.dtype}")
    w = raw.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError(
            f"stakes: contains {int(np.sum(~np.isfinite(w)))} NaN or infinite value(s)"
        )
    if np.any(w < 0):
        raise ValueError(f"stakes: contains {int(np.sum(w < 0))} negative value(s)")
    # only ratios matter: the largest stake put in [1, 2) by an exact power of two
    # (bit-identical otherwise), so the sum cannot overflow nor the products underflow
    w = unit_scaled(w, band=1.0)[0]
    total = w.sum()
    if not total > 0:
        raise ValueError("stakes: sum to 0; at least one stake must be positive")
    used = np.asarray(lab.values[:, positions], dtype=np.float64)
    refused = np.isinf(used) if policy == "omit" else ~np.isfinite(used)
    if refused.any():
        bad = np.flatnonzero(refused.any(axis=0))[0]
        what = "infinite" if policy == "omit" else "NaN or infinite"
        raise ValueError(
            f"preds: contains {int(refused.sum())} {what} value(s); first in column "
            f"{columns[positions[bad]]!r}"
        )
    # each row (its own average) at unit scale by an exact power of two when preds reach
    # past 2^+-400 (float max, 1e-200), over the staked columns only (a column of stake 0
    # takes no part: left out, it can neither overflow nor set the scale), so the weighted
    # sums cannot overflow nor underflow; untouched (bit for bit) otherwise
    staked = w > 0
    row_exp = None
    if unit_scaled(used[:, staked])[1] != 1.0:
        used, w = used[:, staked], w[staked]
        peak = np.max(np.abs(used), axis=1, initial=0.0, where=~np.isnan(used))
        row_exp = np.frexp(peak)[1]  # |used| < 2^row_exp
        used = np.ldexp(used, -row_exp[:, None])
    present = ~np.isnan(used)
    if present.all():
        out = (used @ w) / total
    else:
        den = present @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 0, (np.where(present, used, 0.0) @ w) / den, np.nan)
    if row_exp is not None:
        # an average lies within its row's largest |value|: clipped there (only a rounding
        # could pass it), so the exact scale back cannot overflow
        bound = np.ldexp(peak, -row_exp)
        out = np.ldexp(np.clip(out, -bound, bound), row_exp)
    if lab.kind == "ndarray":
        return out
    return pd.Series(out, index=lab.index)
