"""Reference twin of neutralkit.scoring: pandas ranks, scipy's ndtri, loops over eras."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ._neutralize import neutralize as _neutralize

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


def _frame(x: Any) -> tuple[pd.DataFrame, Any]:
    """x as a DataFrame with a 0..n-1 index, and a function giving a result back."""
    if isinstance(x, pd.DataFrame):
        return x.reset_index(drop=True).astype(np.float64), lambda d: d.set_axis(x.index)
    if isinstance(x, pd.Series):
        return pd.DataFrame({0: x.to_numpy(np.float64)}), lambda d: pd.Series(
            d[0].to_numpy(), index=x.index, name=x.name
        )
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        return pd.DataFrame({0: arr}), lambda d: d[0].to_numpy()
    return pd.DataFrame(arr), lambda d: d.to_numpy()


def _rank_frame(x: Any) -> tuple[pd.DataFrame, Any]:
    """As _frame, for ranking: an integer column with values past 2^53 (which float64
    would round into false ties) is replaced by its dense order codes, which rank the
    same and are exact."""
    df, wrap = _frame(x)
    if isinstance(x, pd.DataFrame):
        raw = [x.iloc[:, j].to_numpy() for j in range(x.shape[1])]
    elif isinstance(x, pd.Series):
        raw = [x.to_numpy()]
    else:
        arr = np.asarray(x)
        raw = [arr] if arr.ndim == 1 else [arr[:, j] for j in range(arr.shape[1])]
    for j, col in enumerate(raw):
        if col.dtype.kind in "iu" and ((col > 2**53).any() or (col < -(2**53)).any()):
            df.iloc[:, j] = np.unique(col, return_inverse=True)[1].astype(np.float64)
    return df, wrap


def _columns(x: Any) -> list[Any]:
    if isinstance(x, pd.DataFrame):
        return list(x.columns)
    if isinstance(x, pd.Series):
        return [x.name]
    arr = np.asarray(x)
    return [0] if arr.ndim == 1 else list(range(arr.shape[1]))


def _era_groups(eras: Any, n: int) -> list[tuple[Any, np.ndarray]]:
    if eras is None:
        return [(None, np.arange(n))]
    labels = pd.Series(np.asarray(eras.to_numpy() if hasattr(eras, "to_numpy") else eras))
    return [(k, np.asarray(v)) for k, v in labels.groupby(labels, sort=True).indices.items()]


def _vec(x: Any) -> np.ndarray:
    return np.asarray(x.to_numpy() if hasattr(x, "to_numpy") else x, dtype=np.float64).ravel()


def _pandas_method(method: str) -> str:
    return {"average": "average", "first": "first", "ordinal": "first"}[method]


def _refuse_nan(df: pd.DataFrame, nan_policy: str) -> None:
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy: expected 'raise' or 'omit', got {nan_policy!r}")
    if nan_policy == "raise" and df.isna().to_numpy().any():
        raise ValueError("x: contains NaN value(s)")


def rank(
    x: Any,
    *,
    eras: Any = None,
    method: str = "average",
    n_threads: Any = None,
    nan_policy: str = "raise",
) -> Any:
    """(pandas rank - 0.5) / count, per era and column (NaN stays NaN under "omit")."""
    df, wrap = _rank_frame(x)
    _refuse_nan(df, nan_policy)
    out = df.copy()
    for _, rows in _era_groups(eras, len(df)):
        block = df.iloc[rows]
        out.iloc[rows] = (
            (block.rank(method=_pandas_method(method)) - 0.5) / block.count()
        ).to_numpy()
    return wrap(out)


def gaussianize(
    x: Any,
    *,
    eras: Any = None,
    method: str = "average",
    n_threads: Any = None,
    nan_policy: str = "raise",
) -> Any:
    """scipy.special.ndtri of the uniform rank."""
    frame, wrap = _rank_frame(x)
    df, _ = _frame(rank(frame, eras=eras, method=method, nan_policy=nan_policy))
    return wrap(df.apply(lambda c: ndtri(c.to_numpy())))


def power(x: Any, p: float = 1.5, *, n_threads: Any = None, nan_policy: str = "raise") -> Any:
    df, wrap = _frame(x)
    _refuse_nan(df, nan_policy)
    return wrap(np.sign(df) * np.abs(df) ** p)


def _unit(v: np.ndarray) -> tuple[np.ndarray, int]:
    """(v * 2^e, e) with max |v * 2^e| in [1, 2) (e = 0 for zeros): exact, subnormals
    included, so that products neither overflow (1e200) nor underflow (1e-200)."""
    big = float(np.max(np.abs(v))) if len(v) else 0.0
    if not (big > 0 and np.isfinite(big)):
        return v, 0
    e = 1 - int(np.frexp(big)[1])
    return np.ldexp(v, e), e


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """numpy.corrcoef, scale-free: each side at unit scale first (exact)."""
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return np.nan
    return float(np.corrcoef(_unit(x)[0], _unit(y)[0])[0, 1])


def _covariance(x: np.ndarray, y: np.ndarray) -> float:
    """numpy.cov at unit scale, scaled back (inf beyond float64, as the true value)."""
    (xs, ex), (ys, ey) = _unit(x), _unit(y)
    with np.errstate(over="ignore"):
        return float(np.ldexp(np.cov(xs, ys)[0, 1], -ex - ey))


def _per_column(
    score: Any,
    preds: Any,
    vectors: list[Any],
    eras: Any,
    nan_policy: str,
    extra: Any = None,
) -> Any:
    """score(p, *vectors, extra) on every (era, column), NaN rows dropped under omit."""
    df, _ = _frame(preds)
    vecs = [_vec(v) for v in vectors]
    ex = None if extra is None else np.asarray(extra, dtype=np.float64)
    if nan_policy == "raise" and (df.isna().any().any() or any(np.isnan(v).any() for v in vecs)):
        raise ValueError("NaN in the input")
    groups = _era_groups(eras, len(df))
    out = np.full((len(groups), df.shape[1]), np.nan)
    for e, (_, rows) in enumerate(groups):
        if nan_policy == "raise" and len(rows) < 2:
            raise ValueError("eras: an era has fewer than 2 rows")
        for j in range(df.shape[1]):
            p = df.iloc[rows, j].to_numpy()
            vs = [v[rows] for v in vecs]
            keep = ~np.isnan(p)
            for v in vs:
                keep &= ~np.isnan(v)
            if keep.sum() < 2:
                continue
            out[e, j] = score(
                p[keep],
                *[v[keep] for v in vs],
                *([] if ex is None else [ex[rows][keep]]),
            )
    cols = _columns(preds)
    if eras is None:
        if isinstance(preds, pd.Series) or np.ndim(preds) == 1:
            return float(out[0, 0])
        return pd.Series(out[0], index=cols)
    labels = pd.Index([k for k, _ in groups], name=getattr(eras, "name", None))
    return pd.DataFrame(out, index=labels, columns=cols)


def pearson(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    nan_policy: str = "raise",
    n_threads: Any = None,
) -> Any:
    return _per_column(_pearson, preds, [target], eras, nan_policy)


def covariance(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    nan_policy: str = "raise",
    n_threads: Any = None,
) -> Any:
    return _per_column(_covariance, preds, [target], eras, nan_policy)


def corr(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    nan_policy: str = "raise",
    n_threads: Any = None,
) -> Any:
    def score(p: np.ndarray, t: np.ndarray) -> float:
        u = (pd.Series(p).rank(method="first").to_numpy() - 0.5) / len(p)
        return _pearson(u, t)

    return _per_column(score, preds, [target], eras, nan_policy)


def _top_bottom_rows(v: np.ndarray, top_bottom: int | None) -> np.ndarray:
    if not top_bottom or 2 * top_bottom >= len(v):
        return np.arange(len(v))
    order = np.argsort(v, kind="stable")
    return np.concatenate([order[:top_bottom], order[-top_bottom:]])


def _gauss(v: np.ndarray) -> np.ndarray:
    return ndtri((pd.Series(v).rank(method="average").to_numpy() - 0.5) / len(v))


def numerai_corr(
    preds: Any,
    target: Any,
    *,
    eras: Any = None,
    top_bottom: int | None = None,
    target_pow15: bool = True,
    nan_policy: str = "raise",
    n_threads: Any = None,
) -> Any:
    def score(p: np.ndarray, t: np.ndarray) -> float:
        t = _unit(t)[0]  # a positive factor: no change to the correlation below
        t = t - t.mean()
        if target_pow15:
            t = np.sign(t) * np.abs(t) ** 1.5
        g = _gauss(p)
        x = np.sign(g) * np.abs(g) ** 1.5
        rows = _top_bottom_rows(x, top_bottom)
        return _pearson(x[rows], t[rows])

    return _per_column(score, preds, [target], eras, nan_policy)


def _contribution(p: np.ndarray, m: np.ndarray, t: np.ndarray, top_bottom: int | None) -> float:
    if np.all(m == m[0]):
        return np.nan
    if ((t >= 0) & (t <= 1)).all():
        t = t * 4
    t = t - t.mean()
    perp = p - m * (p @ m) / (m @ m)
    if not top_bottom or 2 * top_bottom >= len(p):
        return float(t @ perp / len(t))
    rows = _top_bottom_rows(perp, top_bottom)
    return float(t[rows] @ perp[rows] / (2 * top_bottom))


def _check_metamodel(metamodel: Any, eras: Any) -> None:
    mm = _vec(metamodel)
    for _, rows in _era_groups(eras, len(mm)):
        v = mm[rows][~np.isnan(mm[rows])]
        if v.size and np.all(v == v[0]):
            raise ValueError("metamodel: a single value in an era")


def correlation_contribution(
    preds: Any,
    metamodel: Any,
    target: Any,
    *,
    eras: Any = None,
    top_bottom: int | None = None,
    nan_policy: str = "raise",
    n_threads: Any = None,
) -> Any:
    _check_metamodel(metamodel, eras)

    def score(p: np.ndarray, t: np.ndarray, mm: np.ndarray) -> float:
        return _contribution(_gauss(p), _gauss(mm), t, top_bottom)

    return _per_column(score, preds, [target, metamodel], eras, nan_policy)


def neutral_contribution(
    preds: Any,
    metamodel: Any,
    neutralizers: Any,
    target: Any,
    *,
    eras: Any = None,
    top_bottom: int | None = None,
    nan_policy: str = "raise",
    n_threads: Any = None,
) -> Any:
    _check_metamodel(metamodel, eras)

    def score(p: np.ndarray, t: np.ndarray, mm: np.ndarray, x: np.ndarray) -> float:
        both = _neutralize(np.column_stack([_gauss(p), _gauss(mm)]), x)
        if len(t) >= 2 and not np.any(np.abs(both[:, 1]) > 1e-9):  # as the fast path
            raise ValueError("metamodel: is fully explained by the neutralizers in an era")
        return _contribution(both[:, 0], both[:, 1], t, top_bottom)

    return _per_column(score, preds, [target, metamodel], eras, nan_policy, extra=neutralizers)


def stake_weight(preds: Any, stakes: Any, *, nan_policy: str = "raise") -> Any:
    """sum_j s_j p_j / sum_j s_j; under "omit", over the columns present in each row."""
    df = preds if isinstance(preds, pd.DataFrame) else pd.DataFrame(np.asarray(preds))
    s = stakes if isinstance(stakes, pd.Series) else pd.Series(np.asarray(stakes), index=df.columns)
    s = s.astype(np.float64)
    if s.isna().any() or (s < 0).any() or s.sum() == 0:
        raise ValueError("stakes: bad stakes")
    s = s / s.max()  # only ratios matter: no overflow of the sum, no underflow of s * p
    used = df[s.index].astype(np.float64)
    _refuse_nan(used, nan_policy)
    if np.isinf(used.to_numpy()).any():
        raise ValueError("preds: infinite value(s)")
    # each row at unit scale by an exact power of two over the staked columns (sums of
    # preds near float max cannot overflow), scaled back at the end
    used = used.loc[:, (s > 0).to_numpy()]
    s = s[s > 0]
    peak, row_exp = np.frexp(used.abs().max(axis=1).fillna(0.0).to_numpy())
    used = pd.DataFrame(np.ldexp(used.to_numpy(), -row_exp[:, None]), index=used.index,
                        columns=used.columns)  # fmt: skip
    den = used.notna().mul(s, axis=1).sum(axis=1)
    out = used.mul(s, axis=1).sum(axis=1, skipna=True) / den.where(den > 0)
    # within the row's largest |value| (only a rounding could pass it): no overflow
    out = pd.Series(np.ldexp(out.clip(-peak, peak).to_numpy(), row_exp), index=out.index)
    return out if isinstance(preds, pd.DataFrame) else out.to_numpy()
