"""Reference twin of neutralkit.metamodel: the literal definitions, loops and all.

Every era, every bag and every user is handled on its own: ranks with pandas, the
residual with ``numpy.linalg.lstsq(rcond=1e-6)`` against ``[m, 1]``, the covariance with
``numpy.cov``. Slow on purpose; it is the executable spec.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ._scoring import _unit

__all__ = ["mmc", "mmc_loo", "stake_weighted_metamodel"]


def _frame(preds: Any) -> pd.DataFrame:
    if isinstance(preds, pd.DataFrame):
        return pd.DataFrame(preds.to_numpy(dtype=float), columns=preds.columns)
    if isinstance(preds, pd.Series):
        return pd.DataFrame({preds.name: preds.to_numpy(dtype=float)})
    arr = np.asarray(preds, dtype=float)
    return pd.DataFrame(arr.reshape(len(arr), -1))


def _vector(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float).reshape(-1)


def _stakes(stakes: Any, users: pd.Index) -> np.ndarray:
    if isinstance(stakes, dict):
        stakes = pd.Series(stakes, dtype=float)
    if isinstance(stakes, pd.Series):
        return stakes.reindex(users, fill_value=0.0).to_numpy(dtype=float)
    return np.asarray(stakes, dtype=float)


def _pandas_method(method: str) -> str:
    return "first" if method == "ordinal" else method


def _uniform(x: pd.Series, method: str) -> pd.Series:
    return (x.rank(method=_pandas_method(method)) - 0.5) / len(x)


def _era_groups(n_rows: int, eras: Any) -> list[tuple[Any, np.ndarray]]:
    if eras is None:
        return [(None, np.arange(n_rows))]
    labels = np.asarray(eras)
    return [(label, np.flatnonzero(labels == label)) for label in sorted(set(labels))]


def _draw_bags(bags: Any, n_users: int, fraction: float, seed: Any) -> np.ndarray:
    if bags is None:
        return np.ones((1, n_users), dtype=bool)
    if isinstance(bags, (int, np.integer)):
        rng = np.random.default_rng(seed)
        mask = np.zeros((bags, n_users), dtype=bool)
        for b in range(bags):
            chosen = rng.choice(n_users, size=round(fraction * n_users), replace=False)
            mask[b, chosen] = True
        return mask
    return np.asarray(bags, dtype=bool)


def _metamodel_of(era_preds: pd.DataFrame, stakes: np.ndarray, method: str) -> pd.Series:
    """Stake-weighted mean of the users' uniform ranks (not re-ranked)."""
    if stakes.sum() <= 0:
        raise ValueError("stakes: the users of a bag have zero total stake")
    # Exact rational arithmetic (stakes and ranks are exact binary fractions), rounded
    # once at the end: rows whose weighted means are equal stay exactly tied. The
    # uniform rank (r - 1/2) / n is formed exactly too (r is an integer or a half).
    weights = [Fraction(float(s)) for s in stakes]
    whole = sum(weights, Fraction(0))
    n = Fraction(len(era_preds))
    pandas_method = _pandas_method(method)
    ranks = [
        [(Fraction(float(r)) - Fraction(1, 2)) / n for r in era_preds[c].rank(method=pandas_method)]
        for c in era_preds
    ]
    exact = [
        sum((w * col[i] for w, col in zip(weights, ranks, strict=True)), Fraction(0)) / whole
        for i in range(len(era_preds))
    ]
    return pd.Series([float(v) for v in exact], index=era_preds.index)


def _residual_cov(u: np.ndarray, m: np.ndarray, t: np.ndarray) -> float:
    design = np.column_stack([m, np.ones_like(m)])
    beta = np.linalg.lstsq(design, u, rcond=1e-6)[0]
    residual = u - design @ beta
    ts, exponent = _unit(np.asarray(t, dtype=np.float64))  # exact; scaled back below
    with np.errstate(over="ignore"):
        return float(np.ldexp(np.cov(residual, ts)[0, 1], -exponent))


def _result(scores: dict[Any, list[float]], users: pd.Index, eras: Any) -> Any:
    if eras is None:
        return pd.Series(scores[None], index=users)
    return pd.DataFrame.from_dict(scores, orient="index", columns=users).sort_index()


def stake_weighted_metamodel(
    preds: Any,
    stakes: Any,
    *,
    eras: Any = None,
    method: str = "average",
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    """Per era: rank every user, weighted mean with stakes / sum(stakes), rank again.

    Under nan_policy="omit": each user ranked over its own rows, each row the weighted
    mean over the users present, ranked over the rows where it is defined.
    """
    frame = _frame(preds)
    stake_values = _stakes(stakes, frame.columns)
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy: expected 'raise' or 'omit', got {nan_policy!r}")
    if nan_policy == "raise" and frame.isna().to_numpy().any():
        raise ValueError("preds: contains NaN")
    out = np.empty(len(frame))
    users = frame.columns
    for _, rows in _era_groups(len(frame), eras):
        era_preds = frame.iloc[rows].reset_index(drop=True)
        if nan_policy == "omit":
            members = np.arange(len(users))
            meta = _metamodel_present(era_preds, users, stake_values, members, method)
            out[rows] = _uniform_present(meta, method).to_numpy()
            continue
        meta = _metamodel_of(era_preds, stake_values, method)
        out[rows] = _uniform(meta, method).to_numpy()
    if isinstance(preds, (pd.DataFrame, pd.Series)):
        return pd.Series(out, index=preds.index, name="metamodel")
    return out


def mmc(
    preds: Any,
    target: Any,
    *,
    metamodel: Any = None,
    stakes: Any = None,
    eras: Any = None,
    bags: Any = None,
    fraction: float = 0.5,
    seed: Any = 0,
    method: str = "average",
    scale: float | str = 0.29**2,
    preset: str | None = None,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    """Residual MMC: cov(neutralize(rank(p_i), rank(M)), t) / scale, mean over bags."""
    frame = _frame(preds)
    users = frame.columns
    t_all = _vector(target)
    divisor = 1.0 / 12.0 if scale == "exact" else float(scale)
    rerank = preset != "legacy"
    if preset == "legacy":
        method = "first"
    if metamodel is not None:
        mask = None
    else:
        stake_values = _stakes(stakes, users)
        mask = _draw_bags(bags, len(users), fraction, seed)
    if nan_policy == "omit":
        return _mmc_omit(
            frame,
            t_all,
            metamodel,
            mask,
            stake_values if mask is not None else None,
            eras,
            method,
            rerank,
            divisor,
        )
    scores: dict[Any, list[float]] = {}
    for label, rows in _era_groups(len(frame), eras):
        era_preds = frame.iloc[rows].reset_index(drop=True)
        t = t_all[rows]
        if mask is None:
            metamodels = [pd.Series(_vector(metamodel)[rows])]
        else:
            metamodels = [
                _metamodel_of(era_preds[users[bag]], stake_values[bag], method) for bag in mask
            ]
        per_user = []
        for column in users:
            u = _uniform(era_preds[column], method).to_numpy()
            bag_scores = []
            for meta in metamodels:
                m = _uniform(meta, method).to_numpy() if rerank else meta.to_numpy()
                bag_scores.append(_residual_cov(u, m, t) / divisor)
            per_user.append(float(np.mean(bag_scores)))
        scores[label] = per_user
    return _result(scores, users, eras)


def _uniform_present(x: pd.Series, method: str) -> pd.Series:
    """Uniform ranks among the values present (NaN stays NaN)."""
    return (x.rank(method=_pandas_method(method)) - 0.5) / x.count()


def _metamodel_present(era_preds, users, stake_values, members, method) -> pd.Series:
    """Per row, the stake-weighted mean rank of the members present (NaN if none is)."""
    num = pd.Series(0.0, index=era_preds.index)
    den = pd.Series(0.0, index=era_preds.index)
    for j in members:
        u = _uniform_present(era_preds[users[j]], method)
        num += stake_values[j] * u.fillna(0.0)
        den += stake_values[j] * u.notna()
    return (num / den).where(den > 0)


def _mmc_omit(frame, t_all, metamodel, mask, stake_values, eras, method, rerank, divisor):
    """mmc with nan_policy="omit": each user on the rows where it, M and t have values."""
    users = frame.columns

    def uniform(x: pd.Series) -> pd.Series:
        return _uniform_present(x, method)

    scores: dict[Any, list[float]] = {}
    for label, rows in _era_groups(len(frame), eras):
        era_preds = frame.iloc[rows].reset_index(drop=True)
        t = pd.Series(t_all[rows])
        if mask is None:
            metamodels = [pd.Series(_vector(metamodel)[rows])]
        else:
            metamodels = [
                _metamodel_present(era_preds, users, stake_values, np.flatnonzero(bag), method)
                for bag in mask
            ]
        per_user = []
        for column in users:
            bag_scores = []
            for meta in metamodels:
                ok = era_preds[column].notna() & meta.notna() & t.notna()
                if ok.sum() < 2:
                    bag_scores.append(np.nan)
                    continue
                u = uniform(era_preds[column][ok]).to_numpy()
                m = uniform(meta[ok]).to_numpy() if rerank else meta[ok].to_numpy()
                if meta[ok].nunique() < 2:  # a constant metamodel on these rows
                    bag_scores.append(np.nan)
                    continue
                bag_scores.append(_residual_cov(u, m, t[ok].to_numpy()) / divisor)
            per_user.append(float(np.mean(bag_scores)))
        scores[label] = per_user
    return _result(scores, users, eras)


def mmc_loo(
    preds: Any,
    target: Any,
    stakes: Any,
    *,
    eras: Any = None,
    bags: Any = None,
    fraction: float = 0.5,
    seed: Any = 0,
    method: str = "average",
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    """Mean over bags b containing i of Pearson(M_b, t) - Pearson(M_b without i, t)."""
    frame = _frame(preds)
    users = frame.columns
    t_all = _vector(target)
    stake_values = _stakes(stakes, users)
    mask = _draw_bags(bags, len(users), fraction, seed)
    if nan_policy == "omit":
        return _mmc_loo_omit(frame, t_all, stake_values, mask, eras, method)

    def pearson(x: pd.Series, t: np.ndarray) -> float:
        if x.nunique() < 2:
            return np.nan
        return float(np.corrcoef(x.to_numpy(), _unit(np.asarray(t, dtype=np.float64))[0])[0, 1])

    scores: dict[Any, list[float]] = {}
    for label, rows in _era_groups(len(frame), eras):
        era_preds = frame.iloc[rows].reset_index(drop=True)
        t = t_all[rows]
        per_user = []
        for i in range(len(users)):
            diffs = []
            for bag in mask:
                if not bag[i]:
                    continue
                with_i = _metamodel_of(era_preds[users[bag]], stake_values[bag], method)
                full = pearson(_uniform(with_i, method), t)
                others = bag.copy()
                others[i] = False
                if stake_values[others].sum() <= 0:
                    diffs.append(np.nan)
                    continue
                without_i = _metamodel_of(era_preds[users[others]], stake_values[others], method)
                diffs.append(full - pearson(_uniform(without_i, method), t))
            per_user.append(float(np.mean(diffs)) if diffs else np.nan)
        scores[label] = per_user
    return _result(scores, users, eras)


def _mmc_loo_omit(frame, t_all, stake_values, mask, eras, method):
    """mmc_loo with nan_policy="omit": metamodels over the users present in each row."""
    users = frame.columns
    if any(stake_values[bag].sum() <= 0 for bag in mask):
        raise ValueError("stakes: the users of a bag have zero total stake")

    def uniform(x: pd.Series) -> pd.Series:
        return _uniform_present(x, method)

    def metamodel(era_preds: pd.DataFrame, members: np.ndarray) -> pd.Series:
        return _metamodel_present(era_preds, users, stake_values, members, method)

    def pearson(x: pd.Series, t: pd.Series) -> float:
        if x.nunique() < 2 or t.nunique() < 2:
            return np.nan
        return float(np.corrcoef(x.to_numpy(), _unit(t.to_numpy(dtype=np.float64))[0])[0, 1])

    scores: dict[Any, list[float]] = {}
    for label, rows in _era_groups(len(frame), eras):
        era_preds = frame.iloc[rows].reset_index(drop=True)
        t = pd.Series(t_all[rows])
        per_user = []
        for i in range(len(users)):
            diffs = []
            for bag in mask:
                if not bag[i]:
                    continue
                others = bag.copy()
                others[i] = False
                if stake_values[others].sum() <= 0:
                    diffs.append(np.nan)
                    continue
                with_i = metamodel(era_preds, np.flatnonzero(bag))
                without_i = metamodel(era_preds, np.flatnonzero(others))
                ok = with_i.notna() & without_i.notna() & t.notna()
                if ok.sum() < 2:
                    diffs.append(np.nan)
                    continue
                diffs.append(
                    pearson(uniform(with_i[ok]), t[ok]) - pearson(uniform(without_i[ok]), t[ok])
                )
            per_user.append(float(np.mean(diffs)) if diffs else np.nan)
        scores[label] = per_user
    return _result(scores, users, eras)
