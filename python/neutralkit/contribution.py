"""Today's contribution family (numerai-tools 0.7.2): neutralized weights, alpha, the
meta-portfolio contribution (MPC), and the Signals churn and turnover, per era.

Per era, with predictions P (n x m), neutralizers N (n x k) and sample weights v (n)::

    S = p15(Φ⁻¹(rank_avg(P)))                 (one batched rank of every column)
    W = (S - N (Nᵀ (v ∘ S))) ∘ v              (neutralized weights)
    alpha = Wᵀ t_c / n                        (t_c: the era's centred target)
    MPC:  W_c = W - column means,  s = stakes / Σ stakes,  q = W_c s (re-centred),
          R = W_c - q (qᵀ W_c) / (qᵀ q),  mpc = Rᵀ t_c / ||q|| / 50

Each era is computed on its own rows exactly as numerai-tools 0.7.2 computes one era.
The neutralizers are used as given, as numerai-tools does: the projection
``N (Nᵀ x)`` removes the span of N only when its columns are orthonormal (within the
era, under the sample weights' geometry as Numerai builds them), which is how Numerai
ships them; neutralkit does not orthonormalize them.

Return convention (as :mod:`neutralkit.scoring`): with ``eras=None`` a Series indexed
by prediction column (a float for 1-D predictions); with ``eras`` a DataFrame indexed
by era label, one column per prediction column. :func:`neutralized_weights` is
row-wise and returns the input's kind, shape and row order.

Rows: NumPy inputs meet by position; pandas inputs by index label (a Series or
DataFrame whose index holds the same labels in another order is aligned to ``preds``).

Precision: everything is computed in float64, whatever the input dtypes. numerai-tools
centres a float32 target in float32, so on float32 targets the two differ by float32
rounding (about 1e-7 relative); neutralkit's value is the more accurate one, and
:mod:`neutralkit.compat.numerai_tools` reproduces numerai-tools' dtype behaviour.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._validate import (
    Eras,
    Labeled,
    aligned,
    as_float64,
    as_kernel_matrix,
    check_finite,
    check_no_inf,
    check_rows,
    eras_of,
    labeled,
    n_threads_of,
    nan_policy_of,
    stakes_of,
    unit_scaled,
    vector,
)

__all__ = [
    "alpha",
    "churn",
    "meta_portfolio_contribution",
    "mpc",
    "neutralized_weights",
    "turnover",
]

_NO_POST, _CENTER_NORMALIZE = 0, 2  # WeightPost in contribution.hpp


# ---------------------------------------------------------------------------- helpers


def _eras_for(eras: Any, ref: Labeled, ref_name: str = "preds") -> Eras:
    """Era groups of the rows of ``ref`` (a Series of labels matched by index label)."""
    return eras_of(eras, ref.n_rows, index=ref.index, index_name=ref_name)


def _finite_matrix(x: Any, name: str, ref: Labeled) -> np.ndarray:
    """A row-aligned, finite float64 C-contiguous matrix (neutralizers)."""
    lab = aligned(x, name, ref, "preds")
    check_finite(lab, name)
    return np.ascontiguousarray(as_float64(lab.values))


def _vector_of(x: Any, name: str, ref: Labeled, allow_nan: bool) -> np.ndarray:
    """A row-aligned float64 vector (sample weights, target); never inf, NaN only if
    allowed."""
    v = vector(x, name, ref, "preds")
    bad = np.isinf(v) if allow_nan else ~np.isfinite(v)
    if bad.any():
        what = "infinite" if allow_nan else "NaN or infinite"
        raise ValueError(f"{name}: contains {int(bad.sum())} {what} value(s)")
    return v


def _preds_of(preds: Any, policy: str) -> Labeled:
    """The predictions as given (never copied). NaN/inf under "raise" are found by the
    kernels while they read the values (see :func:`_refuse_nonfinite`)."""
    lab = labeled(preds, "preds")
    if policy == "omit":
        check_no_inf(lab.values, "preds")
    return lab


def _refuse_nonfinite(result: tuple[np.ndarray, bool], lab: Labeled) -> np.ndarray:
    """The kernel's output; a ValueError naming the count and the first column when the
    kernel saw NaN or infinity in the predictions."""
    out, nonfinite = result
    if nonfinite:
        check_finite(lab, "preds")
    return out


def _wrap_scores(out: np.ndarray, columns: pd.Index, er: Eras, eras: Any, one: bool) -> Any:
    if eras is None:
        return float(out[0, 0]) if one else pd.Series(out[0], index=columns)
    return pd.DataFrame(out, index=er.labels, columns=columns)


def _column_groups(values: np.ndarray, common: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(columns, row mask) pairs: the NaN-free columns together on the common rows, every
    column with NaN alone on its own rows."""
    col_nan = (
        np.isnan(values).any(axis=0)
        if values.dtype.kind == "f"
        else np.zeros(values.shape[1], dtype=bool)
    )
    groups = []
    clean = np.flatnonzero(~col_nan)
    if clean.size:
        groups.append((clean, common))
    for j in np.flatnonzero(col_nan):
        groups.append((np.array([j]), common & ~np.isnan(values[:, j])))
    return groups


# -------------------------------------------------------------------- kernel calls
def _all_columns(values: np.ndarray) -> np.ndarray:
    return np.arange(values.shape[1], dtype=np.int64)


def _weights_kernel(
    values: np.ndarray,
    nmat: np.ndarray,
    v: np.ndarray,
    er: Eras,
    center_and_normalize: bool,
    threads: int,
) -> tuple[np.ndarray, bool]:
    post = _CENTER_NORMALIZE if center_and_normalize else _NO_POST
    return _core.contribution_weights(
        as_kernel_matrix(values),
        _all_columns(values),
        nmat,
        v,
        er.order,
        er.offsets,
        post,
        threads,
    )


def _alpha_kernel(
    values: np.ndarray, nmat: np.ndarray, v: np.ndarray, t: np.ndarray, er: Eras, threads: int
) -> tuple[np.ndarray, bool]:
    return _core.contribution_alpha(
        as_kernel_matrix(values), _all_columns(values), nmat, v, t, er.order, er.offsets, threads
    )


# ------------------------------------------------------------------------- public API


def neutralized_weights(
    preds: Any,
    neutralizers: Any,
    sample_weights: Any,
    *,
    eras: Any = None,
    center_and_normalize: bool = False,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Neutralized portfolio weights of each prediction column, per era (numerai-tools
    ``generate_neutralized_weights``).

    .. math::
        s = \operatorname{p15}\big(\Phi^{-1}(\operatorname{rank}_{avg}(p))\big),\qquad
        w = \big(s - N\,(N^\top (v \circ s))\big) \circ v

    and with ``center_and_normalize=True``, :math:`w \leftarrow (w - \bar w) /
    \sum_i |w_i - \bar w|` (NaN for a column constant in the era, as numerai-tools).

    Parameters
    ----------
    preds : array-like, Series or DataFrame, shape (n,) or (n, m)
    neutralizers : array-like or DataFrame, shape (n, k)
        Used as given: expected orthonormal within each era, as Numerai ships them.
        Must be finite.
    sample_weights : array-like or Series, shape (n,)
        The universe sampling weights v. Must be finite.
    eras : array-like, optional
        One era label per row (any order); each era is computed on its own rows.
    center_and_normalize : bool
        Centre each column and divide by its absolute sum, per era.
    n_threads : int, optional
        Threads over eras or column blocks (default: all cores); the result does not
        depend on it.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN in ``preds`` raises ValueError. ``"omit"``: each column is
        computed on its own non-NaN rows of the era, and NaN stays NaN.

    Returns
    -------
    float64 weights, the same kind, shape and row order as ``preds``.
    """
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    lab = _preds_of(preds, policy)
    nmat = _finite_matrix(neutralizers, "neutralizers", lab)
    v = _vector_of(sample_weights, "sample_weights", lab, allow_nan=False)
    er = _eras_for(eras, lab)
    er.check_min_size(2, "this score")
    cnorm = bool(center_and_normalize)
    if policy == "raise":
        result = _weights_kernel(lab.values, nmat, v, er, cnorm, threads)
        return lab.wrap_rows(_refuse_nonfinite(result, lab))
    out = np.full(lab.values.shape, np.nan)
    for cols, mask in _column_groups(lab.values, np.ones(lab.n_rows, dtype=bool)):
        if not mask.any():
            continue
        sub = er.subset(mask)
        block = lab.values[np.ix_(mask, cols)]
        res, _ = _weights_kernel(block, nmat[mask], v[mask], sub, cnorm, threads)
        out[np.ix_(mask, cols)] = res
    return lab.wrap_rows(out)


def alpha(
    preds: Any,
    neutralizers: Any,
    sample_weights: Any,
    target: Any,
    *,
    eras: Any = None,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Numerai's "alpha" score of each prediction column, per era (numerai-tools
    ``alpha``).

    .. math:: \alpha = w^\top (t - \bar t) / n

    with :math:`w` the neutralized weights (:func:`neutralized_weights`) and :math:`n`
    the era's row count.

    Parameters
    ----------
    preds, neutralizers, sample_weights, eras, n_threads
        As :func:`neutralized_weights`.
    target : array-like or Series, shape (n,)
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN in ``preds`` or ``target`` raises ValueError. ``"omit"``: each
        column is scored on the rows where it and the target have values, exactly as
        if it had been scored alone on those rows (NaN when fewer than 2 are left).

    Returns
    -------
    Series by column (float for 1-D ``preds``); with ``eras``, a DataFrame by era.
    """
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    lab = _preds_of(preds, policy)
    nmat = _finite_matrix(neutralizers, "neutralizers", lab)
    v = _vector_of(sample_weights, "sample_weights", lab, allow_nan=False)
    t = _vector_of(target, "target", lab, allow_nan=policy == "omit")
    er = _eras_for(eras, lab)
    columns = lab.column_labels()
    if policy == "raise":
        er.check_min_size(2, "this score")
        out = _refuse_nonfinite(_alpha_kernel(lab.values, nmat, v, t, er, threads), lab)
        return _wrap_scores(out, columns, er, eras, lab.was_1d)
    out = np.full((er.n_eras, lab.n_cols), np.nan)
    for cols, mask in _column_groups(lab.values, ~np.isnan(t)):
        if not mask.any():
            continue
        sub = er.subset(mask)
        res, _ = _alpha_kernel(
            lab.values[np.ix_(mask, cols)], nmat[mask], v[mask], t[mask], sub, threads
        )
        res[sub.sizes() < 2, :] = np.nan
        out[:, cols] = res
    return _wrap_scores(out, columns, er, eras, lab.was_1d)


def _stakes_of(stakes: Any, columns: pd.Index) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """(column positions, stakes / their sum, output labels) of the staked columns."""
    pos, values, labels = stakes_of(stakes, columns)
    return pos, values / values.sum(), labels


def _check_staked_finite(lab: Labeled, cols: np.ndarray, labels: pd.Index) -> None:
    """ValueError for NaN/inf in the staked columns, with the count and first column."""
    if lab.values.dtype.kind != "f":
        return
    if len(cols) == lab.n_cols and np.array_equal(cols, np.arange(lab.n_cols)):
        check_finite(lab, "preds")
        return
    staked = lab.values[:, cols]
    bad = ~np.isfinite(staked)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        raise ValueError(
            f"preds: contains {int(bad.sum())} NaN or infinite value(s) in the staked "
            f"columns; first in column {labels[j]!r}"
        )


def meta_portfolio_contribution(
    preds: Any,
    stakes: Any,
    neutralizers: Any,
    sample_weights: Any,
    target: Any,
    *,
    eras: Any = None,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Meta-portfolio contribution (MPC) of each staked prediction column, per era
    (numerai-tools ``meta_portfolio_contribution``): the gradient of the stake-weighted
    portfolio's alpha with respect to the stakes, residualized against the portfolio.

    .. math::
        W_c = W - \mathbf{1}\mu^\top,\quad s = \frac{\text{stakes}}{\sum \text{stakes}},
        \quad q = W_c s - \overline{W_c s},\\
        R = W_c - q\,\frac{q^\top W_c}{q^\top q},\qquad
        \operatorname{mpc} = \frac{R^\top t_c}{\lVert q \rVert\ 50}

    with :math:`W` the neutralized weights of the staked columns
    (:func:`neutralized_weights`) and :math:`t_c` the era's centred target. NaN in an
    era where the portfolio is (numerically) 0: :math:`\lVert q \rVert \le 10^{-12}
    \max(v) \lVert g \rVert`, with :math:`g` the p15 Gaussian scores of ranks 1..n (an
    untied column); the MPC divides by :math:`\lVert q \rVert`, so any value there
    would be rounding noise.

    Parameters
    ----------
    preds : DataFrame or 2-D array, shape (n, m)
    stakes : Series indexed by column names of ``preds`` (only those columns are scored,
        in the stakes' order), dict, or an array of m stakes aligned with the columns.
        Non-negative, finite, with a positive sum (zero stakes are scored too).
    neutralizers, sample_weights, target, eras, n_threads
        As :func:`alpha`.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN in the staked columns or the target raises ValueError.
        ``"omit"``: each era uses the rows where every staked column and the target have
        values (the portfolio needs every model on the same rows; numerai-tools drops
        such rows too).

    Returns
    -------
    Series indexed by the stakes' names (the columns of ``preds`` for array stakes);
    with ``eras``, a DataFrame by era.
    """
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    lab = labeled(preds, "preds")
    cols, s, labels = _stakes_of(stakes, lab.column_labels())
    nmat = _finite_matrix(neutralizers, "neutralizers", lab)
    v = _vector_of(sample_weights, "sample_weights", lab, allow_nan=False)
    t = _vector_of(target, "target", lab, allow_nan=policy == "omit")
    er = _eras_for(eras, lab)
    values = lab.values
    if policy == "raise":
        if np.isnan(t).any():
            raise ValueError(f"target: contains {int(np.isnan(t).sum())} NaN value(s)")
        er.check_min_size(2, "this score")
        out, nonfinite = _core.contribution_mpc(
            as_kernel_matrix(values), cols, s, nmat, v, t, er.order, er.offsets, threads
        )
        if nonfinite:  # found while the kernel read the staked columns
            _check_staked_finite(lab, cols, labels)
    else:
        mask = ~np.isnan(t)
        if values.dtype.kind == "f":
            staked = values[:, cols]
            check_no_inf(staked, "preds")
            mask &= ~np.isnan(staked).any(axis=1)
        sub = er.subset(mask)
        sub.check_min_size(2, "this score")
        out, _ = _core.contribution_mpc(
            as_kernel_matrix(values[mask]),
            cols,
            s,
            nmat[mask],
            v[mask],
            t[mask],
            sub.order,
            sub.offsets,
            threads,
        )
    if eras is None:
        return pd.Series(out[0], index=labels)
    return pd.DataFrame(out, index=er.labels, columns=labels)


#: Short name of :func:`meta_portfolio_contribution`.
mpc = meta_portfolio_contribution


# ----------------------------------------------------------------- churn, turnover


def _pair(current: Any, previous: Any) -> tuple[Labeled, np.ndarray, np.ndarray, np.ndarray]:
    """(current's metadata, its row numbers kept, x, y): the rows of both, matched by
    index label (the ids both have) for pandas inputs, by position for NumPy inputs;
    DataFrame columns matched by name."""
    a = labeled(current, "current")
    b = labeled(previous, "previous")
    if a.n_cols != b.n_cols:
        raise ValueError(f"current has {a.n_cols} column(s) but previous has {b.n_cols}")
    cpos = np.arange(b.n_cols)
    if a.columns is not None and b.columns is not None and not b.columns.equals(a.columns):
        cpos = b.columns.get_indexer(a.columns)
        if (cpos < 0).any() or not b.columns.is_unique:
            raise ValueError("current and previous: different column labels")
    if a.index is not None and b.index is not None:
        for index, name in ((a.index, "current"), (b.index, "previous")):
            if index.has_duplicates:
                raise ValueError(f"{name}: duplicated ids in the index")
        common = a.index.intersection(b.index, sort=False)
        rows = a.index.get_indexer(common).astype(np.int64)
        y = b.values[b.index.get_indexer(common)]
    else:
        check_rows("previous", b.n_rows, a.n_rows, "current")
        rows = np.arange(a.n_rows, dtype=np.int64)
        y = b.values
    x = as_float64(a.values[rows])
    y = as_float64(y[:, cpos])
    for arr, name in ((x, "current"), (y, "previous")):
        if np.isinf(arr).any():
            raise ValueError(f"{name}: contains {int(np.isinf(arr).sum())} infinite value(s)")
    return a, rows, x, y


def _top_bottom_of(top_bottom: Any) -> int:
    if top_bottom is None:
        return 0
    if isinstance(top_bottom, bool) or not isinstance(top_bottom, numbers.Integral):
        raise TypeError(f"top_bottom: expected a positive int or None, got {top_bottom!r}")
    if top_bottom < 0:
        raise ValueError(f"top_bottom: expected a positive int or None, got {top_bottom}")
    return int(top_bottom)


def _churn_one(x: np.ndarray, y: np.ndarray, tb: int) -> float:
    if tb > 0:
        ox = np.argsort(x, kind="stable")
        oy = np.argsort(y, kind="stable")
        top = np.intersect1d(ox[-tb:], oy[-tb:]).size / tb
        bot = np.intersect1d(ox[:tb], oy[:tb]).size / tb
        return 1.0 - (top + bot) / 2.0
    if x.min() == x.max() or y.min() == y.max():
        return np.nan
    # Spearman: Pearson of the average (tie-kept) ranks
    rx = pd.Series(x).rank(method="average").to_numpy()
    ry = pd.Series(y).rank(method="average").to_numpy()
    rx = rx - rx.mean()
    ry = ry - ry.mean()
    return 1.0 - float(rx @ ry) / float(np.sqrt(float(rx @ rx) * float(ry @ ry)))


def _per_era_pairs(current: Any, previous: Any, eras: Any, score: Any) -> Any:
    """score(x, y) for every era and column over the ids both have values for."""
    a, rows, x, y = _pair(current, previous)
    er = _eras_for(eras, a, "current")
    era_of = np.empty(a.n_rows, dtype=np.int64)
    era_of[er.order] = np.repeat(np.arange(er.n_eras, dtype=np.int64), er.sizes())
    era_of = era_of[rows]
    out = np.full((er.n_eras, a.n_cols), np.nan)
    for e in range(er.n_eras):
        in_era = era_of == e
        for j in range(a.n_cols):
            keep = in_era & ~(np.isnan(x[:, j]) | np.isnan(y[:, j]))
            if keep.sum() < 2:
                where = "" if eras is None else f" in era {er.labels[e]!r}"
                raise ValueError(
                    f"current and previous: fewer than 2 common ids with values{where} "
                    f"(column {a.column_labels()[j]!r}: {int(keep.sum())})"
                )
            out[e, j] = score(x[keep, j], y[keep, j])
    return _wrap_scores(out, a.column_labels(), er, eras, a.was_1d and np.ndim(previous) == 1)


def churn(current: Any, previous: Any, top_bottom: int | None = None, *, eras: Any = None) -> Any:
    r"""Churn between two sets of predictions, per era (numerai-tools
    ``signals.churn``).

    .. math:: \operatorname{churn} = 1 - \rho_{\text{Spearman}}(\text{current},
              \text{previous})

    Spearman is the Pearson correlation of tie-kept (average) ranks. With
    ``top_bottom = t``: one minus the mean of the shares of the ``t`` highest and of the
    ``t`` lowest ids of ``current`` that are also among those of ``previous`` (a stable
    sort: ties go by row order, that of ``current``; the shares are divided by ``t``
    even when fewer ids are left, as numerai-tools does).

    Computed over the ids both have values for: for pandas inputs the index labels
    present (and not NaN) in both, as numerai-tools' ``filter_sort_index``; NumPy
    arrays are matched by position (same length). numerai-tools ranks each side over
    all of its own ids when ``top_bottom`` is given; the two agree when both sides
    have the same ids.

    Parameters
    ----------
    current, previous : array-like, Series or DataFrame, shape (n,) or (n, m)
        Column j of ``current`` against column j of ``previous`` (DataFrames: same
        column labels).
    top_bottom : int, optional
    eras : array-like, optional
        One era label per row of ``current`` (a Series: matched by index label).

    Returns
    -------
    float for 1-D inputs, else a Series by column; with ``eras``, a DataFrame by era.
    NaN where one side is constant (Spearman undefined).

    Raises
    ------
    ValueError
        Fewer than 2 common ids with values (in an era), different columns,
        duplicated ids, infinite values.
    """
    tb = _top_bottom_of(top_bottom)
    return _per_era_pairs(current, previous, eras, lambda x, y: _churn_one(x, y, tb))


def turnover(current: Any, previous: Any, *, eras: Any = None) -> Any:
    r"""Turnover between two sets of portfolio weights, per era (numerai-tools
    ``signals.turnover``).

    .. math:: \operatorname{turnover} = \tfrac12 \sum_i |\text{current}_i -
              \text{previous}_i|

    over the ids both have values for (as :func:`churn`). Parameters, return value and
    errors as :func:`churn` (without ``top_bottom``).
    """
    return _per_era_pairs(current, previous, eras, _half_l1)


def _half_l1(x: np.ndarray, y: np.ndarray) -> float:
    """sum |x - y| / 2, taken at a power-of-two scale when the weights lie outside
    2^+-500 (exact), so that a difference or the sum cannot overflow on the way."""
    _, s = unit_scaled(np.concatenate((x, y)), band=2.0**500)
    d = float(np.abs(x / s - y / s).sum()) / 2.0
    with np.errstate(over="ignore"):  # only a turnover truly beyond float max is inf
        return float(np.float64(d) * s)
