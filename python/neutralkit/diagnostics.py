"""Diagnostics: feature exposure, feature-neutral scores, per-era summaries.

Return convention (as in :mod:`neutralkit.scoring`): a per-column score with
``eras=None`` is a Series indexed by the prediction columns (a float for 1-D input);
with ``eras`` it is a DataFrame indexed by the sorted era labels, one column per
prediction column. NumPy 2-D input gets columns ``0..m-1``. Functions that give
several numbers per column (feature correlations, feature exposure) add one axis;
their docstrings say how.
"""

from __future__ import annotations

import math
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
    float_values_checked,
    labeled,
    n_threads_of,
    nan_policy_of,
    proportions_of,
    row_positions,
    unit_scaled,
    vector,
)
from .neutralization import _neutralize_eras, _neutralize_omit, _results
from .scoring import _CENTER_POWER, _rank_corr_kernel, _score

__all__ = [
    "feature_correlations",
    "feature_exposure",
    "feature_neutral_corr",
    "feature_neutral_target",
    "hard_era_mmc",
    "neutral_correlation",
    "summary",
]

_EXPOSURE_STATS = ("std", "rms", "max", "max_feature")


# --------------------------------------------------------------------------- helpers


def _numeric(x: Any, name: str) -> tuple[Labeled, np.ndarray]:
    """Labeled view plus a float64 copy/view, refusing NaN/inf."""
    lab = labeled(x, name)
    values = as_float64(lab.values)
    check_finite(lab, name, values)
    return lab, values


def _features(
    x: Any, anchor: Labeled, name: str = "features", anchor_name: str = "preds"
) -> Labeled:
    """Finite features aligned to the rows of ``anchor`` (by label for pandas)."""
    lab = aligned(x, name, anchor, anchor_name)
    check_finite(lab, name)
    return lab


def _per_column(lab: Labeled, per_era: np.ndarray, era_labels: pd.Index, eras: Any) -> Any:
    """(n_eras x m) scores -> the module's return convention."""
    cols = lab.column_labels()
    if eras is None:
        if lab.was_1d:
            return float(per_era[0, 0])
        return pd.Series(per_era[0], index=cols)
    return pd.DataFrame(per_era, index=era_labels, columns=cols)


def _feature_labels(lab: Labeled) -> pd.Index:
    return lab.columns if lab.columns is not None else pd.RangeIndex(lab.n_cols)


def _correlation_cube(
    preds: Any, features: Any, eras: Any, n_threads: Any, nan_policy: Any
) -> tuple[Labeled, Labeled, np.ndarray, pd.Index]:
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    p_lab = labeled(preds, "preds")
    p_values = float_values_checked(p_lab, "preds", policy)
    f_lab = _features(features, p_lab)
    er = eras_of(eras, p_lab.n_rows, index=p_lab.index)
    # a correlation does not change with a column's scale: columns near float max (or
    # 1e-300) at unit scale by an exact power of two, so centring cannot overflow
    p_values = np.ascontiguousarray(
        np.column_stack([unit_scaled(p_values[:, j])[0] for j in range(p_values.shape[1])])
    )
    x = as_kernel_matrix(f_lab.values)
    missing = np.isnan(p_values)
    if not missing.any():
        cube = _core.feature_correlations(p_values, x, er.order, er.offsets, threads)
        return p_lab, f_lab, cube, er.labels
    # nan_policy="omit": each column on its own rows (columns with the same NaN rows
    # together); eras left without rows are NaN
    cube = np.full((er.n_eras, p_lab.n_cols, f_lab.n_cols), np.nan)
    patterns: dict[bytes, list[int]] = {}
    for j in range(p_lab.n_cols):
        patterns.setdefault(missing[:, j].tobytes(), []).append(j)
    for cols in patterns.values():
        rows = np.flatnonzero(~missing[:, cols[0]])
        sub = er.subset(~missing[:, cols[0]])
        kept = np.flatnonzero(sub.sizes() > 0)
        if not kept.size:
            continue
        sub = Eras.from_codes(np.searchsorted(kept, sub.codes), sub.labels[kept])
        part = _core.feature_correlations(
            np.ascontiguousarray(p_values[np.ix_(rows, np.asarray(cols))]),
            x[rows],
            sub.order,
            sub.offsets,
            threads,
        )
        cube[kept[:, None], np.asarray(cols)] = part
    return p_lab, f_lab, cube, er.labels


# ------------------------------------------------------------------ feature exposure


def feature_correlations(
    preds: Any,
    features: Any,
    *,
    eras: Any = None,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Pearson correlation of every prediction column with every feature, per era.

    ``c[e, p, j] = Pearson(preds[rows of e, p], features[rows of e, j])``. A feature (or
    prediction column) that is constant within an era gives NaN there, as does an era
    of fewer than 2 rows.

    Parameters
    ----------
    preds : array-like, Series or DataFrame, shape (n,) or (n, m)
    features : array-like or DataFrame, shape (n, k)
        bool, int8 ... float64 (nullable/pyarrow too); read in place, one era block (of
        at most 128 columns) is converted to float64 at a time, never the whole matrix.
        A DataFrame meets a pandas ``preds`` by index label (the same labels in another
        order are aligned to ``preds``; different or duplicated labels raise ValueError
        naming both); NumPy input meets by position.
    eras : array-like or Series, optional
        One label per row; ``None``: one era. A Series is aligned to ``preds`` like
        ``features``; an array, list or ``pd.Index`` meets by position.
    n_threads : int, optional
        Threads over (era, feature block) tasks, 1 to 1024; the result does not depend
        on it.
    nan_policy : {"raise", "omit"}
        ``"raise"`` (default): NaN in ``preds`` raises ValueError. ``"omit"``: each
        prediction column is correlated on its own non-NaN rows of each era (NaN where
        fewer than 2 are left). ``features`` must be finite either way.

    Returns
    -------
    ``eras=None``: a Series indexed by feature for 1-D ``preds``; otherwise a DataFrame
    indexed by feature with one column per prediction column.
    With ``eras``: a DataFrame indexed by era; columns are the features for 1-D
    ``preds``, or a MultiIndex ``(prediction column, feature)`` (so ``out[col]`` is the
    eras x features table of that column).
    """
    p_lab, f_lab, cube, era_labels = _correlation_cube(preds, features, eras, n_threads, nan_policy)
    feats = _feature_labels(f_lab)
    cols = p_lab.column_labels()
    if eras is None:
        if p_lab.was_1d:
            return pd.Series(cube[0, 0], index=feats, name=p_lab.name)
        return pd.DataFrame(cube[0].T, index=feats, columns=cols)
    if p_lab.was_1d:
        return pd.DataFrame(cube[:, 0, :], index=era_labels, columns=feats)
    n_eras, m, k = cube.shape
    columns = pd.MultiIndex.from_product([cols, feats])
    return pd.DataFrame(cube.reshape(n_eras, m * k), index=era_labels, columns=columns)


def _exposure_stats(c: np.ndarray, feats: pd.Index) -> tuple[np.ndarray, ...]:
    """std/rms/max/argmax over the last axis of c, NaN (constant) features left out."""
    valid = ~np.isnan(c)
    count = valid.sum(axis=-1)
    has = count > 0
    safe_count = np.where(has, count, 1)
    c0 = np.where(valid, c, 0.0)
    mean = c0.sum(axis=-1) / safe_count
    dev = np.where(valid, c - mean[..., None], 0.0)
    std = np.sqrt((dev * dev).sum(axis=-1) / safe_count)
    rms = np.sqrt((c0 * c0).sum(axis=-1) / safe_count)
    absc = np.where(valid, np.abs(c), -1.0)
    arg = absc.argmax(axis=-1)
    mx = np.take_along_axis(absc, arg[..., None], axis=-1)[..., 0]
    nan = np.nan
    names = np.empty(arg.shape, dtype=object)
    names[...] = None
    names[has] = np.asarray(feats, dtype=object)[arg[has]]
    return (
        np.where(has, std, nan),
        np.where(has, rms, nan),
        np.where(has, mx, nan),
        names,
    )


def feature_exposure(
    preds: Any,
    features: Any,
    *,
    eras: Any = None,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Feature exposure of each prediction column, per era.

    With :math:`c_j` the Pearson correlation of the column with feature j in the era
    (features constant in the era left out):

    * ``std`` = :math:`\mathrm{std}(c)` with ddof=0 (the original exposure metric),
    * ``rms`` = :math:`\sqrt{\mathrm{mean}_j c_j^2}` (bounded by 1, comparable to corr),
    * ``max`` = :math:`\max_j |c_j|` (official ``max_feature_correlation``),
    * ``max_feature`` = the label of the feature at that maximum (first one on ties).

    A column with no usable feature in an era (constant column, all features constant,
    an era of one row) gets NaN and ``max_feature=None``.

    Parameters
    ----------
    preds, features, eras, n_threads, nan_policy
        As :func:`feature_correlations` (rows of pandas inputs meet by index label).

    Returns
    -------
    One axis for the four statistics, dropped axes as in the module convention:

    * ``eras=None``, 1-D ``preds``: a Series indexed by ``std, rms, max, max_feature``.
    * ``eras=None``, 2-D: a DataFrame indexed by prediction column, columns the stats.
    * ``eras``, 1-D: a DataFrame indexed by era, columns the stats.
    * ``eras``, 2-D: a DataFrame indexed by era with MultiIndex columns
      ``(stat, prediction column)``, so ``out["rms"]`` is the eras x columns table.
    """
    p_lab, f_lab, cube, era_labels = _correlation_cube(preds, features, eras, n_threads, nan_policy)
    std, rms, mx, names = _exposure_stats(cube, _feature_labels(f_lab))  # (E, m) each
    cols = p_lab.column_labels()
    stats = dict(zip(_EXPOSURE_STATS, (std, rms, mx, names), strict=True))
    if eras is None:
        if p_lab.was_1d:
            return pd.Series(
                [float(std[0, 0]), float(rms[0, 0]), float(mx[0, 0]), names[0, 0]],
                index=list(_EXPOSURE_STATS),
                name=p_lab.name,
                dtype=object,
            )
        return pd.DataFrame({s: v[0] for s, v in stats.items()}, index=cols)
    if p_lab.was_1d:
        return pd.DataFrame({s: v[:, 0] for s, v in stats.items()}, index=era_labels)
    parts = {(s, c): v[:, j] for s, v in stats.items() for j, c in enumerate(cols)}
    out = pd.DataFrame(parts, index=era_labels)
    out.columns = pd.MultiIndex.from_tuples(list(parts))
    return out


# ------------------------------------------------------------- feature-neutral scores


def _check_preset(preset: Any) -> str:
    if preset not in ("official", "legacy"):
        raise ValueError(f"preset: expected 'official' or 'legacy', got {preset!r}")
    return preset


def feature_neutral_corr(
    preds: Any,
    features: Any,
    target: Any,
    *,
    eras: Any = None,
    preset: str = "official",
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Feature-neutral correlation (FNC), per era.

    ``preset="official"`` (numerai-tools 0.7.2 ``feature_neutral_corr``, per era)::

        g = gaussianize(rank(preds))              tie-kept (average) rank
        r = neutralize(g, features)               intercept, proportion 1
        r = r / std(r)                            (no effect on the next step's rank)
        fnc = numerai_corr(r, target)

    ``preset="legacy"`` (the seed-era example code: numerai/example-scripts
    ``get_feature_neutral_mean`` with its ``neutralize(..., normalize=True)`` and
    ``unif``, 2021), per era::

        g = gaussianize(preds, method="first")    ordinal ranks: ties by row order
        r = neutralize(g, features, intercept=False)   that code's pinv projection
        u = rank(r, method="first")               uniform re-rank, ties by row order
        fnc = Pearson(u, target)                  raw target (no centring, no power)

    The seed code also divides ``r`` by its std before the re-rank, which cannot change
    the ranks, so it is left out. It differs from "official" in four ways: ordinal
    instead of tie-kept ranks, no intercept in the neutralization, a uniform re-rank
    instead of Gaussian-rank-then-p15, and the raw target instead of its p15. Also
    different in that code, and not reproduced: its ``pinv`` ran in float32 (here
    float64, with the rank cut of :func:`neutralize`), and it re-paired the
    concatenated per-era results with the index by position, which is right only for
    rows sorted by era (here every row keeps its own result in any row order).
    Equal to composing the public functions above (tested).

    Parameters
    ----------
    preds : array-like, Series or DataFrame, shape (n,) or (n, m)
        The first row input: the other row inputs are aligned to it.
    features : array-like or DataFrame, shape (n, k)
        Any supported dtype (int8 read in place, one era block at a time).
    target : array-like or Series, shape (n,)
        NaN as ``nan_policy`` says.
    eras : array-like or Series, optional
        One label per row; every era needs at least 2 rows (under "raise").
    preset : {"official", "legacy"}
    n_threads : int, optional
        1 to 1024 (default: all cores).
    nan_policy : {"raise", "omit"}
        ``"raise"`` (default): NaN in ``preds`` or ``target`` raises ValueError.
        ``"omit"``: each prediction column is scored on its own rows where it and the
        target have values, exactly as if scored alone on those rows (ranked,
        neutralized and correlated there; NaN for a column-era left with fewer than 2
        rows). ``features`` must be finite either way.

    Rows of ``features``, ``target`` and a Series of ``eras`` meet a pandas ``preds``
    by index label: the same labels in another order are aligned to ``preds``; labels
    that differ, or duplicated labels where the order differs, raise ValueError naming
    both arguments. NumPy inputs meet by position.

    Returns
    -------
    As the module convention: float / Series by column; per-era DataFrame with ``eras``.
    Official: a prediction column constant in an era scores NaN there. Legacy: ties are
    broken by row order, so a constant column becomes a row-order ramp (as in the
    seed-era code) and gets a score.

    Raises
    ------
    ValueError
        NaN/inf in any input, length or index mismatch, an era of fewer than 2 rows,
        an unknown preset.
    TypeError
        Non-numeric input.
    """
    preset = _check_preset(preset)
    p_lab, x, t, er, policy, threads = _neutral_setup(
        preds, features, "features", target, eras, n_threads, nan_policy
    )
    out = _score(_fnc_kernel(preset), p_lab, [t], x, er, policy, threads)
    return _per_column(p_lab, out, er.labels, eras)


def _fnc_kernel(preset: str) -> Any:
    """kernel(preds, [target], features, eras, n_threads) -> (n_eras x m), as _score runs
    it (on all rows, or under "omit" on each column's own rows)."""
    corr = _rank_corr_kernel(0, True, 1.5, _CENTER_POWER, 1.5, 0)

    def kernel(values, vectors, x, er, threads):
        t = vectors[0]
        if preset == "official":
            g = _core.rank_columns(values, er.order, er.offsets, 0, True, 1.0, threads)
            r = _neutralize_eras(x, g, er, [1.0], n_threads=threads)[0]
            return corr(r, [t], None, er, threads)
        g = _core.rank_columns(values, er.order, er.offsets, 1, True, 1.0, threads)
        r = _neutralize_eras(x, g, er, [1.0], intercept=False, n_threads=threads)[0]
        u = _core.rank_columns(r, er.order, er.offsets, 1, False, 1.0, threads)
        return _core.pearson_columns(u, t, er.order, er.offsets, False, threads)

    return kernel


def _neutral_correlation_kernel(values, vectors, x, er, threads):
    g = _core.rank_columns(values, er.order, er.offsets, 0, True, 1.0, threads)
    r = _neutralize_eras(x, g, er, [1.0], n_threads=threads)[0]
    return _core.pearson_columns(r, vectors[0], er.order, er.offsets, False, threads)


def _neutral_setup(
    preds: Any,
    features: Any,
    features_name: str,
    target: Any,
    eras: Any,
    n_threads: Any,
    nan_policy: Any,
) -> tuple[Labeled, np.ndarray, np.ndarray, Eras, str, int]:
    """Validated once: preds, then features, target and eras aligned to preds."""
    policy = nan_policy_of(nan_policy)
    threads = n_threads_of(n_threads)
    p_lab = labeled(preds, "preds")
    f_lab = _features(features, p_lab, features_name)
    t = vector(target, "target", p_lab, "preds")
    er = eras_of(eras, p_lab.n_rows, index=p_lab.index)
    if policy == "raise":
        check_finite(p_lab, "preds")
        bad = int(np.count_nonzero(~np.isfinite(t)))
        if bad:
            raise ValueError(f"target: contains {bad} NaN or infinite value(s)")
        er.check_min_size(2, "this score")
    else:
        check_no_inf(p_lab.values, "preds")
        check_no_inf(t, "target")
    return p_lab, as_kernel_matrix(f_lab.values), t, er, policy, threads


def neutral_correlation(
    preds: Any,
    neutralizers: Any,
    target: Any,
    *,
    eras: Any = None,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Neutral correlation (official numerai-tools ``neutral_correlation``), per era.

    ``Pearson(neutralize(gaussianize(rank(preds)), neutralizers), center(target))``:
    no 1.5 power on either side (centring the target does not change Pearson).

    Parameters
    ----------
    preds, target, eras, n_threads, nan_policy
        As :func:`feature_neutral_corr`.
    neutralizers : array-like or DataFrame, shape (n, k)
        Aligned to ``preds`` as ``features`` is in :func:`feature_neutral_corr`.
    """
    p_lab, x, t, er, policy, threads = _neutral_setup(
        preds, neutralizers, "neutralizers", target, eras, n_threads, nan_policy
    )
    out = _score(_neutral_correlation_kernel, p_lab, [t], x, er, policy, threads)
    return _per_column(p_lab, out, er.labels, eras)


def feature_neutral_target(
    target: Any,
    features: Any,
    *,
    eras: Any = None,
    proportion: float | list[float] = 1.0,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    """Feature-neutral target: ``neutralize(target, features, proportion)`` per era.

    Intercept included. Returns the target's kind and shape (index kept); a list of
    those when ``proportion`` is a list.

    Parameters
    ----------
    target : array-like, Series or DataFrame, shape (n,) or (n, m)
        The first row input: the others are aligned to it. NaN as ``nan_policy`` says.
    features : array-like or DataFrame, shape (n, k)
        Finite; any supported dtype. Rows meet ``target``'s by index label when both
        are pandas objects (same labels in another order are aligned; different or
        duplicated labels raise ValueError), by position otherwise.
    eras : array-like or Series, optional
        One label per row; a Series is aligned to ``target`` by index label.
    proportion : float in [0, 1] or list of floats
    n_threads : int, optional
        1 to 1024 (default: all cores).
    nan_policy : {"raise", "omit"}
        ``"raise"`` (default): NaN in ``target`` raises ValueError. ``"omit"``: each
        target column is neutralized on its own non-NaN rows of each era (auxiliary
        targets have missing values) and NaN stays NaN, as :func:`neutralkit.neutralize`
        does. ``features`` must be finite either way.
    """
    policy = nan_policy_of(nan_policy)
    t_lab = labeled(target, "target")
    t_values = float_values_checked(t_lab, "target", policy)
    f_lab = _features(features, t_lab, anchor_name="target")
    props, scalar = proportions_of(proportion)
    threads = n_threads_of(n_threads)
    er = eras_of(eras, t_lab.n_rows, index=t_lab.index, index_name="target")
    if policy == "omit" and np.isnan(t_values).any():
        out = _neutralize_omit(f_lab.values, t_values, er, props, n_threads=threads)
    else:
        out = _neutralize_eras(f_lab.values, t_values, er, props, n_threads=threads)
    return _results(t_lab, out, props, scalar)


# ----------------------------------------------------------------- per-era summaries

_SUMMARY_STATS = (
    "mean",
    "std",
    "sharpe",
    "sortino",
    "max_drawdown",
    "hit_rate",
    "autocorr",
    "smart_sharpe",
    "n_eras",
)


def _series_columns(x: Any, name: str) -> tuple[np.ndarray, pd.Index | None, bool, Any]:
    """(n x m float64 values, column labels, was 1-D, series name)."""
    if isinstance(x, pd.DataFrame):
        lab = labeled(x, name)
        return as_float64(lab.values), x.columns, False, None
    if isinstance(x, pd.Series):
        lab = labeled(x, name)
        return as_float64(lab.values), None, True, x.name
    arr = np.asarray(x)
    if arr.ndim == 1 and arr.size == 0:
        raise ValueError(f"{name}: empty input (0 eras)")
    lab = labeled(arr, name)
    return (
        as_float64(lab.values),
        None if lab.was_1d else pd.RangeIndex(lab.n_cols),
        lab.was_1d,
        None,
    )


def _ratio(a: float, b: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _ldexp(x: Any, e: Any) -> Any:
    """``x * 2**e`` for an ``x`` already rounded at unit scale: exact, except that a
    result past float max is ``inf`` with the sign of ``x`` (the true value is then
    beyond float64) and one below the subnormals is 0 (likewise the true value's
    rounding); so the overflow is not an error here."""
    with np.errstate(over="ignore"):
        return np.ldexp(x, e)


def _compounded_drawdown(raw: np.ndarray) -> float:
    r"""``max_t (1 - W_t / max_{u <= t} W_u)``, ``W_t = prod_{i <= t} (1 + s_i)``, ``W_0 = 1``.

    The running peak is >= W_0 = 1 > 0. While every ``|W_t|`` lies in
    ``[2^-1000, 2^1000]`` the float products are the definition (bit for bit as
    before); otherwise (scores near 1e150 compound past float max, or a run of
    factors near 0 underflows), and for scores all below 2^-20 (1 + s would round
    most of them away), in sign and log-magnitude (``log1p``): ``W_t = sign_t e^{L_t}``,
    the peak ``e^{P_t}`` with ``P_t`` the running max of ``L`` over positive wealth,
    so a fall is ``-expm1(L_t - P_t)`` for positive wealth and ``1 + e^{L_t - P_t}``
    for negative wealth (``inf`` when that exceeds float max). After a factor of
    exactly 0 the wealth stays 0: a fall of 1.
    """
    factor = 1.0 + raw
    zeros = np.flatnonzero(raw == -1.0)  # 1 + s == 0 exactly
    head = raw[: zeros[0]] if zeros.size else raw
    gains = head > -1.0  # 1 + s > 0: log1p keeps scores of 1e-200 (1 + s rounds to 1)
    logs = np.empty_like(head)
    logs[gains] = np.log1p(head[gains])
    logs[~gains] = np.log(-1.0 - head[~gains])  # |1 + s| for s < -1
    log_mag = np.concatenate([[0.0], np.cumsum(logs)])
    tiny = head.size == 0 or float(np.max(np.abs(head))) < 2.0**-20
    if not tiny and float(log_mag.min()) > -693.0 and float(log_mag.max()) < 693.0:
        # |W_t| in [2^-1000, 2^1000]: the float products (as before)
        wealth = np.concatenate([[1.0], np.cumprod(factor)])
        peak = np.maximum.accumulate(wealth)  # >= 1
        return float(np.max(1.0 - wealth / peak))
    sign = np.concatenate([[1.0], np.cumprod(np.where(gains, 1.0, -1.0))])
    peak_log = np.maximum.accumulate(np.where(sign > 0, log_mag, -np.inf))  # finite: L_0 = 0
    gap = log_mag - peak_log
    positive = sign > 0
    fall = np.empty_like(gap)
    fall[positive] = 0.0 - np.expm1(gap[positive])  # gap <= 0: in [0, 1] (no -0.0)
    with np.errstate(over="ignore"):  # 1 + e^gap > float max: the true fall is beyond it
        fall[~positive] = 1.0 + np.exp(gap[~positive])
    drawdown = float(np.max(fall))
    return max(drawdown, 1.0) if zeros.size else drawdown


def _summary_1d(raw: np.ndarray, compounded: bool) -> list[float]:
    n = len(raw)
    # scores near 1e200 (or 1e-200) at unit scale by an exact power of two: squares
    # neither overflow nor underflow; mean, std and the summed drawdown scale back by it,
    # the ratios do not depend on it
    s, unit = unit_scaled(raw, band=1.0)
    mean = float(s.mean())
    std = float(s.std())
    # the losses at their own unit scale (exact): losses far smaller than the gains
    # (1 and -1e-200) keep a downside deviation instead of an underflowed 0
    losses, loss_unit = unit_scaled(np.minimum(raw, 0.0), band=1.0)
    downside = math.sqrt(float(np.mean(losses**2)))
    if compounded:  # 1 + s does not scale: the raw scores
        drawdown = _compounded_drawdown(raw)
    else:
        wealth = np.concatenate([[0.0], np.cumsum(s)])
        drawdown = float(np.max(np.maximum.accumulate(wealth) - wealth)) * unit
    hit_rate = float(np.mean(raw > 0))  # raw: 1e-300 next to 1e300 underflows in s
    # constancy tested exactly (on raw: see above): centring a constant float series can
    # leave 1e-19 noise
    if n >= 3 and not (np.all(raw[:-1] == raw[0]) or np.all(raw[1:] == raw[1])):
        # Pearson is scale-free: each side at its own unit scale, centred, and again
        # (exact), so (1, 1e-300, 2e-300, ...) neither underflows to a 0 denominator
        # nor overflows
        a = unit_scaled(raw[:-1], band=1.0)[0]
        b = unit_scaled(raw[1:], band=1.0)[0]
        a = unit_scaled(a - a.mean(), band=1.0)[0]
        b = unit_scaled(b - b.mean(), band=1.0)[0]
        denom = math.sqrt(float(a @ a)) * math.sqrt(float(b @ b))
        rho = float(a @ b) / denom if denom > 0 else math.nan
    else:
        rho = math.nan
    sharpe = _ratio(mean, std)
    if math.isnan(rho):
        smart = math.nan
    else:
        k = np.arange(1, n)
        penalty = math.sqrt(1.0 + 2.0 * float(np.sum((n - k) / n * abs(rho) ** k)))
        smart = sharpe / penalty
    # (mean * unit) / (downside * loss_unit), the power of two applied last: exact, or
    # the inf of a true ratio beyond float max
    shift = int(np.frexp(unit)[1]) - int(np.frexp(loss_unit)[1])
    sortino = float(_ldexp(_ratio(mean, downside), shift))
    return [
        mean * unit,
        std * unit,
        sharpe,
        sortino,
        drawdown,
        hit_rate,
        rho,
        smart,
        n,
    ]


def summary(per_era_scores: Any, *, compounded: bool = False) -> Any:
    r"""Summary statistics of per-era scores (rows in era order, as given).

    For a series :math:`s_1..s_n` of per-era scores:

    * ``mean``; ``std`` with ddof=0 (as official ``sharpe_ratio``);
      ``sharpe = mean / std``;
    * ``sortino = mean / sqrt(mean(min(s, 0)^2))`` (downside deviation over all eras);
    * ``max_drawdown``: the largest fall from a running peak of the cumulative score
      :math:`W_t = \sum_{i \le t} s_i`, starting from :math:`W_0 = 0` (so a loss in the
      first era counts), reported as a non-negative number. With ``compounded=True``
      the wealth is :math:`W_t = \prod_{i \le t}(1 + s_i)`, :math:`W_0 = 1`, and the
      fall is relative: :math:`\max_t (1 - W_t / \max_{u \le t} W_u)`;
    * ``hit_rate``: share of eras with :math:`s > 0`;
    * ``autocorr``: lag-1 autocorrelation, Pearson of :math:`(s_1..s_{n-1})` with
      :math:`(s_2..s_n)` (NaN for fewer than 3 eras or a constant series);
    * ``smart_sharpe``: the Sharpe ratio divided by the autocorrelation penalty of
      Lo (2002) under an AR(1) assumption,
      :math:`\sqrt{1 + 2\sum_{k=1}^{n-1} (1 - k/n)\,|\rho|^k}` with :math:`\rho` the
      lag-1 autocorrelation. :math:`|\rho|` is used so that negative autocorrelation is
      never rewarded (the penalty is at least 1); NaN when ``autocorr`` is NaN;
    * ``n_eras``.

    Ratios with a zero denominator are ``inf`` (or NaN for 0/0), not an error. Scores
    at any finite scale (1e-300 to float max) give the true statistics; one whose true
    value is beyond float max (a summed drawdown of two scores near float max, the
    compounded fall of a wealth gone negative by 1e300) is ``inf``.

    Parameters
    ----------
    per_era_scores : Series, DataFrame or array (1-D or 2-D)
        One row per era in era order (e.g. the output of a per-era score). Must be free
        of NaN: drop or fill missing eras first.
    compounded : bool
        Compute ``max_drawdown`` on compounded rather than summed scores.

    Returns
    -------
    A Series indexed by the statistic names for 1-D input; a DataFrame with one row
    per column (columns: the statistics) for 2-D input.
    """
    if not isinstance(compounded, (bool, np.bool_)):
        raise TypeError(f"compounded: expected True or False, got {compounded!r}")
    values, columns, was_1d, name = _series_columns(per_era_scores, "per_era_scores")
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise ValueError(
            f"per_era_scores: contains {bad} NaN or infinite value(s); drop or fill "
            "those eras first"
        )
    rows = [_summary_1d(values[:, j], bool(compounded)) for j in range(values.shape[1])]
    if was_1d:
        out = pd.Series(rows[0], index=list(_SUMMARY_STATS), name=name, dtype=np.float64)
        return out
    frame = pd.DataFrame(rows, index=columns, columns=list(_SUMMARY_STATS))
    frame["n_eras"] = frame["n_eras"].astype(np.int64)
    return frame


def _positive_number(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {value!r}")
    v = float(value)
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return v


def _weighted_mean(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``mean_e(w_e * v_e)`` by column, without overflow (1.5 x float max) or underflow.

    Each product is taken at the scale of the largest product of its column by exact
    powers of two (mantissas multiplied, exponents added), summed in the same order as
    ``(w[:, None] * v).mean(axis=0)`` (bit for bit that on ordinary inputs), and the
    mean scaled back: ``inf`` with its sign only where the true mean is beyond float max.
    """
    mv, ev = np.frexp(values)
    mw, ew = np.frexp(weights)
    exps = ev + ew[:, None]
    # the largest exponent among non-zero products (-10000: below every double; all-zero)
    top = np.where(mv != 0.0, exps, -10000).max(axis=0, initial=-10000)
    terms = np.ldexp(mv * mw[:, None], exps - top)  # |.| <= 1: no overflow
    return np.asarray(_ldexp(terms.mean(axis=0), top))


def hard_era_mmc(mmc_per_era: Any, metamodel_corr_per_era: Any, coefficient: float = 1.5) -> Any:
    r"""Mean per-era MMC, "hard" eras (metamodel corr < 0) weighted by a coefficient.

    ``mean_e(w_e * mmc_e)``, ``w_e = coefficient`` if the metamodel's corr in era e is
    negative, else 1 (the source discussion's proposal: "multiplying the result by a
    coefficient" in difficult eras). The mean is over all eras (not a weighted mean).

    Parameters
    ----------
    mmc_per_era : Series, DataFrame or array
        Per-era MMC (one column per model for a DataFrame / 2-D array).
    metamodel_corr_per_era : Series or 1-D array
        The metamodel's per-era corr. pandas inputs are aligned on the era index (both
        must hold the same eras, without duplicates when the order differs; ValueError
        naming both otherwise); arrays by position (same length).
    coefficient : positive float

    Returns
    -------
    A float for 1-D ``mmc_per_era``; a Series by column otherwise. Products past float
    max (1.5 x 1.7e308) do not overflow on the way: only a mean beyond float max is
    ``inf`` (with its sign).
    """
    coef = _positive_number(coefficient, "coefficient")
    values, columns, was_1d, _ = _series_columns(mmc_per_era, "mmc_per_era")
    mm_lab = labeled(metamodel_corr_per_era, "metamodel_corr_per_era")
    if mm_lab.n_cols != 1:
        raise ValueError(f"metamodel_corr_per_era: expected one column, got {mm_lab.n_cols}")
    mm = as_float64(mm_lab.values)[:, 0]
    mmc_index = mmc_per_era.index if isinstance(mmc_per_era, (pd.Series, pd.DataFrame)) else None
    if mmc_index is not None and mm_lab.index is not None:
        positions = row_positions(mm_lab.index, "metamodel_corr_per_era", mmc_index, "mmc_per_era")
        if positions is not None:
            mm = mm[positions]
    else:
        check_rows("metamodel_corr_per_era", len(mm), values.shape[0], "mmc_per_era")
    for arr, nm in ((values, "mmc_per_era"), (mm, "metamodel_corr_per_era")):
        if not np.isfinite(arr).all():
            raise ValueError(f"{nm}: contains {int((~np.isfinite(arr)).sum())} NaN/inf value(s)")
    out = _weighted_mean(np.where(mm < 0, coef, 1.0), values)
    if was_1d:
        return float(out[0])
    return pd.Series(out, index=columns)
