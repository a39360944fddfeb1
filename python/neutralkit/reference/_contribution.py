"""Reference twin of neutralkit.contribution: pandas ranks, scipy's ndtri, one era at a
time, every column on its own, the formulas written out as in the definitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

__all__ = [
    "alpha",
    "churn",
    "meta_portfolio_contribution",
    "mpc",
    "neutralized_weights",
    "turnover",
]


def _frame(x: Any) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x.reset_index(drop=True).astype(np.float64)
    if isinstance(x, pd.Series):
        return pd.DataFrame({x.name if x.name is not None else 0: x.to_numpy(np.float64)})
    arr = np.asarray(x, dtype=np.float64)
    return pd.DataFrame(arr.reshape(len(arr), -1))


def _columns(x: Any) -> list[Any]:
    if isinstance(x, pd.DataFrame):
        return list(x.columns)
    if isinstance(x, pd.Series):
        return [x.name]
    arr = np.asarray(x)
    return [0] if arr.ndim == 1 else list(range(arr.shape[1]))


def _matrix(x: Any) -> np.ndarray:
    arr = np.asarray(x.to_numpy() if hasattr(x, "to_numpy") else x, dtype=np.float64)
    return arr.reshape(len(arr), -1)


def _vec(x: Any) -> np.ndarray:
    return np.asarray(x.to_numpy() if hasattr(x, "to_numpy") else x, dtype=np.float64).ravel()


def _era_groups(eras: Any, n: int) -> list[tuple[Any, np.ndarray]]:
    if eras is None:
        return [(None, np.arange(n))]
    labels = pd.Series(np.asarray(eras.to_numpy() if hasattr(eras, "to_numpy") else eras))
    return [(k, np.asarray(v)) for k, v in labels.groupby(labels, sort=True).indices.items()]


def _check(x: np.ndarray, name: str) -> None:
    if np.isnan(x).any():
        raise ValueError(f"{name}: contains NaN")


def _p15_gauss_rank(p: np.ndarray) -> np.ndarray:
    """p15(ndtri((rank_avg - 0.5) / n)) of one column."""
    u = (pd.Series(p).rank(method="average").to_numpy() - 0.5) / len(p)
    g = ndtri(u)
    return np.sign(g) * np.abs(g) ** 1.5


def _weights(p: np.ndarray, n_mat: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One column, one era: w = (s - N (N^T (v s))) v."""
    s = _p15_gauss_rank(p)
    return (s - n_mat @ (n_mat.T @ (v * s))) * v


def neutralized_weights(
    preds: Any,
    neutralizers: Any,
    sample_weights: Any,
    *,
    eras: Any = None,
    center_and_normalize: bool = False,
    n_threads: Any = None,
    nan_policy: str = "raise",
) -> Any:
    """Per era and column: s = p15(ndtri(rank)), w = (s - N N^T (v s)) v, then
    optionally w - mean(w) divided by sum |w - mean(w)|."""
    df = _frame(preds)
    nm, v = _matrix(neutralizers), _vec(sample_weights)
    _check(nm, "neutralizers")
    _check(v, "sample_weights")
    if nan_policy == "raise":
        _check(df.to_numpy(), "preds")
    out = np.full(df.shape, np.nan)
    for _, rows in _era_groups(eras, len(df)):
        if len(rows) < 2:
            raise ValueError("eras: an era has fewer than 2 rows")
        for j in range(df.shape[1]):
            p = df.iloc[rows, j].to_numpy()
            keep = rows[~np.isnan(p)]
            if len(keep) == 0:
                continue
            w = _weights(df.iloc[keep, j].to_numpy(), nm[keep], v[keep])
            if center_and_normalize:
                w = w - w.mean()
                with np.errstate(invalid="ignore"):  # a constant column: 0/0, NaN
                    w = w / np.abs(w).sum()
            out[keep, j] = w
    if isinstance(preds, pd.DataFrame):
        return pd.DataFrame(out, index=preds.index, columns=preds.columns)
    if isinstance(preds, pd.Series):
        return pd.Series(out[:, 0], index=preds.index, name=preds.name)
    return out[:, 0] if np.asarray(preds).ndim == 1 else out


def _wrap(out: np.ndarray, columns: list[Any], labels: list[Any], eras: Any, one: bool) -> Any:
    if eras is None:
        return float(out[0, 0]) if one else pd.Series(out[0], index=columns)
    return pd.DataFrame(out, index=pd.Index(labels), columns=columns)


def alpha(
    preds: Any,
    neutralizers: Any,
    sample_weights: Any,
    target: Any,
    *,
    eras: Any = None,
    n_threads: Any = None,
    nan_policy: str = "raise",
) -> Any:
    """Per era and column: w^T (t - mean t) / n, w the neutralized weights."""
    df = _frame(preds)
    nm, v, t = _matrix(neutralizers), _vec(sample_weights), _vec(target)
    _check(nm, "neutralizers")
    _check(v, "sample_weights")
    if nan_policy == "raise":
        _check(df.to_numpy(), "preds")
        _check(t, "target")
    groups = _era_groups(eras, len(df))
    out = np.full((len(groups), df.shape[1]), np.nan)
    for e, (_, rows) in enumerate(groups):
        if len(rows) < 2:
            raise ValueError("eras: an era has fewer than 2 rows")
        for j in range(df.shape[1]):
            p = df.iloc[rows, j].to_numpy()
            keep = rows[~np.isnan(p) & ~np.isnan(t[rows])]
            if len(keep) < 2:
                continue
            w = _weights(df.iloc[keep, j].to_numpy(), nm[keep], v[keep])
            tc = t[keep] - t[keep].mean()
            out[e, j] = float(w @ tc) / len(keep)
    one = not isinstance(preds, pd.DataFrame) and np.asarray(preds).ndim == 1
    return _wrap(out, _columns(preds), [k for k, _ in groups], eras, one)


def meta_portfolio_contribution(
    preds: Any,
    stakes: Any,
    neutralizers: Any,
    sample_weights: Any,
    target: Any,
    *,
    eras: Any = None,
    n_threads: Any = None,
    nan_policy: str = "raise",
) -> Any:
    """Per era: W_c the centred neutralized weights of the staked columns, s the stakes
    over their sum, v = W_c s (re-centred), R = W_c - v (v^T W_c) / (v^T v),
    mpc = R^T t_c / ||v|| / 50."""
    df = _frame(preds)
    columns = _columns(preds)
    if isinstance(stakes, pd.Series):
        names = list(stakes.index)
        df = df.set_axis(columns, axis=1)[names]
    else:
        names = columns
    s = _vec(stakes)
    s = s / s.sum()
    nm, v, t = _matrix(neutralizers), _vec(sample_weights), _vec(target)
    _check(nm, "neutralizers")
    _check(v, "sample_weights")
    values = df.to_numpy()
    if nan_policy == "raise":
        _check(values, "preds")
        _check(t, "target")
    groups = _era_groups(eras, len(df))
    out = np.full((len(groups), len(names)), np.nan)
    for e, (_, rows) in enumerate(groups):
        rows = rows[~np.isnan(values[rows]).any(axis=1) & ~np.isnan(t[rows])]
        if len(rows) < 2:
            raise ValueError("eras: an era has fewer than 2 rows")
        w = np.column_stack(
            [_weights(values[rows, j], nm[rows], v[rows]) for j in range(len(names))]
        )
        wc = w - w.mean(axis=0)
        tc = t[rows] - t[rows].mean()
        port = wc @ s
        port = port - port.mean()
        norm = np.sqrt(port @ port)
        # a (numerically) zero portfolio: NaN when ||q|| is below 1e-12 of max(v) times
        # the norm of an untied column of p15 Gaussian scores (the fast path's rule)
        untied = _p15_gauss_rank(np.arange(len(rows), dtype=np.float64))
        if norm <= 1e-12 * np.max(np.abs(v[rows])) * np.sqrt(untied @ untied):
            continue
        resid = wc - np.outer(port, (port @ wc) / (port @ port))
        out[e] = resid.T @ tc / norm / 50
    if eras is None:
        return pd.Series(out[0], index=names)
    return pd.DataFrame(out, index=pd.Index([k for k, _ in groups]), columns=names)


mpc = meta_portfolio_contribution


def _common(current: Any, previous: Any, eras: Any) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Both sides on the ids they share (pandas) or by position (NumPy), with the era
    label of each kept row."""

    def as_frame(x: Any) -> pd.DataFrame:
        if isinstance(x, pd.DataFrame):
            return x.astype(np.float64)
        if isinstance(x, pd.Series):
            return x.astype(np.float64).to_frame()
        return _frame(x)

    a, b = as_frame(current), as_frame(previous)
    labels = None
    if eras is not None:
        labels = pd.Series(
            np.asarray(eras.to_numpy() if hasattr(eras, "to_numpy") else eras), index=a.index
        )
    if isinstance(current, (pd.Series, pd.DataFrame)) and isinstance(
        previous, (pd.Series, pd.DataFrame)
    ):
        common = a.index.intersection(b.index, sort=False)
        a, b = a.loc[common], b.loc[common]
        if labels is not None:
            labels = labels.loc[common]
    b.columns = a.columns
    return a, b, labels


def _pair_scores(current: Any, previous: Any, eras: Any, score: Any) -> Any:
    a, b, labels = _common(current, previous, eras)
    keys = [None] if labels is None else sorted(set(labels))
    out = np.full((len(keys), a.shape[1]), np.nan)
    for e, key in enumerate(keys):
        rows = np.ones(len(a), dtype=bool) if labels is None else (labels == key).to_numpy()
        for j in range(a.shape[1]):
            both = pd.concat([a.iloc[:, j], b.iloc[:, j]], axis=1).iloc[rows].dropna()
            if len(both) < 2:
                raise ValueError("fewer than 2 common ids with values")
            out[e, j] = score(both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy())
    one = np.ndim(current) == 1 and np.ndim(previous) == 1
    return _wrap(out, _columns(current), keys, eras, one)


def churn(current: Any, previous: Any, top_bottom: int | None = None, *, eras: Any = None) -> Any:
    """Per era and column, over the common ids with values: 1 - Spearman; with
    top_bottom = t, 1 - the mean of the shares of the t highest and the t lowest ids
    (stable sort) that both sides share."""

    def score(x: np.ndarray, y: np.ndarray) -> float:
        if top_bottom:
            ox, oy = np.argsort(x, kind="stable"), np.argsort(y, kind="stable")
            t = top_bottom
            top = len(set(ox[-t:]) & set(oy[-t:])) / t
            bot = len(set(ox[:t]) & set(oy[:t])) / t
            return 1 - (top + bot) / 2
        if x.min() == x.max() or y.min() == y.max():  # constant (no std: it may overflow)
            return np.nan
        return 1 - float(pd.Series(x).corr(pd.Series(y), method="spearman"))

    return _pair_scores(current, previous, eras, score)


def turnover(current: Any, previous: Any, *, eras: Any = None) -> Any:
    """Per era and column, over the common ids with values: sum |current - previous| / 2."""
    return _pair_scores(current, previous, eras, lambda x, y: np.abs(x - y).sum() / 2)
