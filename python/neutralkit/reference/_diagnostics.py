"""Reference twin of neutralkit.diagnostics: plain NumPy/pandas, one era at a time."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ._neutralize import neutralize
from ._scoring import _unit

__all__ = [
    "feature_correlations",
    "feature_exposure",
    "feature_neutral_corr",
    "feature_neutral_target",
    "hard_era_mmc",
    "neutral_correlation",
    "summary",
]


def _frame(x: Any) -> tuple[pd.DataFrame, bool, Any]:
    """x as a float64 DataFrame (numpy columns 0..m-1), whether it was 1-D, its name."""
    if isinstance(x, pd.DataFrame):
        return x.astype(np.float64).reset_index(drop=True), False, None
    if isinstance(x, pd.Series):
        return pd.DataFrame({x.name: x.to_numpy(np.float64)}), True, x.name
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        return pd.DataFrame({0: arr}), True, None
    return pd.DataFrame(arr), False, None


def _groups(eras: Any, n: int) -> list[tuple[Any, np.ndarray]]:
    if eras is None:
        return [(None, np.arange(n))]
    labels = pd.Series(np.asarray(eras.to_numpy() if hasattr(eras, "to_numpy") else eras))
    return [(label, np.flatnonzero(labels == label)) for label in sorted(labels.unique())]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return math.nan
    return float(np.corrcoef(_unit(a)[0], _unit(b)[0])[0, 1])  # scale-free: exact scaling


def _present(policy: str, name: str, *vectors: np.ndarray) -> np.ndarray:
    """Rows where every vector has a value; NaN raises under nan_policy="raise"."""
    ok = np.ones(len(vectors[0]), dtype=bool)
    for v in vectors:
        ok &= ~np.isnan(v)
    if policy == "raise" and not ok.all():
        raise ValueError(f"{name}: NaN (nan_policy='raise')")
    return ok


def _scores(per_era: dict, cols: list, was_1d: bool, eras: Any) -> Any:
    frame = pd.DataFrame(per_era, index=cols).T
    if eras is None:
        row = frame.iloc[0]
        return float(row.iloc[0]) if was_1d else row.astype(np.float64)
    frame.index = pd.Index(list(per_era))
    return frame.astype(np.float64)


def _shift_free(f: pd.DataFrame) -> pd.DataFrame:
    """Integer columns with values past 2^53 minus their minimum, in integer arithmetic
    (exact; float64 would round them): correlations do not see the shift."""
    out = f.copy()
    for j in range(f.shape[1]):
        col = f.iloc[:, j].to_numpy()
        if col.dtype.kind in "iu" and ((col > 2**53).any() or (col < -(2**53)).any()):
            low = col.min()
            diff = col.astype(np.uint64) - np.uint64(low.astype(np.uint64))
            out[out.columns[j]] = diff.astype(np.float64)
    return out


def feature_correlations(preds, features, *, eras=None, n_threads=None, nan_policy="raise"):
    p, was_1d, name = _frame(preds)
    f = features if isinstance(features, pd.DataFrame) else pd.DataFrame(np.asarray(features))
    f = _shift_free(f)
    fv = f.to_numpy(np.float64)
    per_era = {}
    for label, rows in _groups(eras, len(p)):
        c = np.full((p.shape[1], fv.shape[1]), np.nan)
        for i in range(p.shape[1]):
            pv = p.iloc[rows, i].to_numpy(np.float64)
            ok = _present(nan_policy, "preds", pv)  # "omit": each column on its own rows
            for j in range(fv.shape[1]):
                c[i, j] = _pearson(pv[ok], fv[rows, j][ok])
        per_era[label] = c
    if eras is None:
        c = per_era[None]
        if was_1d:
            return pd.Series(c[0], index=f.columns, name=name)
        return pd.DataFrame(c.T, index=f.columns, columns=p.columns)
    labels = list(per_era)
    if was_1d:
        return pd.DataFrame([per_era[e][0] for e in labels], index=labels, columns=f.columns)
    columns = pd.MultiIndex.from_product([p.columns, f.columns])
    return pd.DataFrame([per_era[e].reshape(-1) for e in labels], index=labels, columns=columns)


def _stats(c: np.ndarray, names: pd.Index) -> list:
    ok = ~np.isnan(c)
    if not ok.any():
        return [math.nan, math.nan, math.nan, None]
    v = c[ok]
    j = int(np.argmax(np.where(ok, np.abs(c), -1.0)))
    return [
        float(np.std(v)),
        float(np.sqrt(np.mean(v**2))),
        float(np.max(np.abs(v))),
        names[j],
    ]


def feature_exposure(preds, features, *, eras=None, n_threads=None, nan_policy="raise"):
    p, was_1d, name = _frame(preds)
    f = features if isinstance(features, pd.DataFrame) else pd.DataFrame(np.asarray(features))
    f = _shift_free(f)
    stat_names = ["std", "rms", "max", "max_feature"]
    rows_out: dict[Any, dict[Any, Any]] = {}
    for label, rows in _groups(eras, len(p)):
        sub_p = p.iloc[rows]
        sub_f = f.iloc[rows]
        rows_out[label] = {}
        for col in p.columns:
            pv = sub_p[col].to_numpy(np.float64)
            ok = _present(nan_policy, "preds", pv)  # "omit": each column on its own rows
            c = [
                _pearson(pv[ok], sub_f.iloc[:, j].to_numpy(np.float64)[ok])
                for j in range(f.shape[1])
            ]
            rows_out[label][col] = _stats(np.array(c), f.columns)
    if eras is None:
        per_col = rows_out[None]
        if was_1d:
            return pd.Series(per_col[p.columns[0]], index=stat_names, name=name, dtype=object)
        return pd.DataFrame([per_col[c] for c in p.columns], index=p.columns, columns=stat_names)
    labels = list(rows_out)
    if was_1d:
        return pd.DataFrame(
            [rows_out[e][p.columns[0]] for e in labels],
            index=labels,
            columns=stat_names,
        )
    data = {
        (s, c): [rows_out[e][c][k] for e in labels]
        for k, s in enumerate(stat_names)
        for c in p.columns
    }
    out = pd.DataFrame(data, index=labels)
    out.columns = pd.MultiIndex.from_tuples(list(data))
    return out


def _rank_uniform(x: np.ndarray, method: str) -> np.ndarray:
    return ((pd.Series(x).rank(method=method) - 0.5) / len(x)).to_numpy()


def _numerai_corr(p: np.ndarray, t: np.ndarray) -> float:
    g = ndtri(_rank_uniform(p, "average"))
    g15 = np.sign(g) * np.abs(g) ** 1.5
    tc = _unit(t)[0]  # a positive factor: the correlation does not change
    tc = tc - tc.mean()
    t15 = np.sign(tc) * np.abs(tc) ** 1.5
    return _pearson(g15, t15)


def feature_neutral_corr(
    preds, features, target, *, eras=None, preset="official", n_threads=None, nan_policy="raise"
):
    p, was_1d, _ = _frame(preds)
    x = np.asarray(features, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64).reshape(-1)
    per_era = {}
    for label, rows in _groups(eras, len(p)):
        scores = []
        for col in p.columns:
            v, tt = p[col].to_numpy(np.float64)[rows], t[rows]
            ok = _present(nan_policy, "preds/target", v, tt)  # "omit": the column's rows
            if ok.sum() < 2:
                scores.append(math.nan)
                continue
            v, tt, xx = v[ok], tt[ok], x[rows][ok]
            if preset == "official":
                r = neutralize(ndtri(_rank_uniform(v, "average")), xx)
                sd = r.std()
                r = r / sd if sd > 0 else r
                scores.append(_numerai_corr(r, tt))
            else:
                # example-scripts get_feature_neutral_mean: Gaussian of ordinal ranks,
                # no-intercept projection, uniform re-rank (ties by row order), Pearson
                g = ndtri(_rank_uniform(v, "first"))
                r = neutralize(g, xx, intercept=False)
                scores.append(_pearson(_rank_uniform(r, "first"), tt))
        per_era[label] = scores
    return _scores(per_era, list(p.columns), was_1d, eras)


def neutral_correlation(
    preds, neutralizers, target, *, eras=None, n_threads=None, nan_policy="raise"
):
    p, was_1d, _ = _frame(preds)
    x = np.asarray(neutralizers, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64).reshape(-1)
    per_era = {}
    for label, rows in _groups(eras, len(p)):
        scores = []
        for c in p.columns:
            v, tt = p[c].to_numpy(np.float64)[rows], t[rows]
            ok = _present(nan_policy, "preds/target", v, tt)  # "omit": the column's rows
            if ok.sum() < 2:
                scores.append(math.nan)
                continue
            g = ndtri(_rank_uniform(v[ok], "average"))
            scores.append(_pearson(neutralize(g, x[rows][ok]), tt[ok] - tt[ok].mean()))
        per_era[label] = scores
    return _scores(per_era, list(p.columns), was_1d, eras)


def feature_neutral_target(
    target, features, *, eras=None, proportion=1.0, n_threads=None, nan_policy="raise"
):
    return neutralize(target, features, eras=eras, proportion=proportion, nan_policy=nan_policy)


def _times_two_to(x: float, k: int) -> float:
    """x * 2^k, the inf of the right sign past float max (math.ldexp would raise)."""
    try:
        return math.ldexp(x, k)
    except OverflowError:
        return math.copysign(math.inf, x)


def _summary(s: np.ndarray, compounded: bool) -> list[float]:
    n = len(s)
    # at unit scale (u = s * 2^e, exact) so that squares neither overflow nor underflow
    u, e = _unit(s)
    mean, std = _times_two_to(u.mean(), -e), _times_two_to(u.std(), -e)
    losses, e_loss = _unit(np.minimum(u, 0))
    downside_u = np.sqrt(np.mean(losses**2))  # the losses' deviation x 2^(e + e_loss)
    level, peak, drawdown = 0.0, 0.0, 0.0
    # compounded: the wealth as mantissa x 2^exponent (exact rescaling, no overflow)
    (lm, le), (pm, pe) = math.frexp(1.0), math.frexp(1.0)
    for x, xu in zip(s, u, strict=True):
        if compounded:
            lm, dle = math.frexp(lm * (1 + x))
            le += dle
            if lm > 0 and (le, lm) > (pe, pm):  # normalized mantissas: compare exponents first
                pm, pe = lm, le  # the peak is >= W_0 = 1 > 0
            fall = 1 - _times_two_to(lm / pm, le - pe)
        else:
            level += xu
            peak = max(peak, level)
            fall = _times_two_to(peak - level, -e)
        drawdown = max(drawdown, fall)
    rho = _pearson(s[:-1], s[1:]) if n >= 3 else math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.float64(u.mean()) / np.float64(u.std())
        sortino = _times_two_to(float(np.float64(u.mean()) / np.float64(downside_u)), e_loss)
    penalty = math.sqrt(1 + 2 * sum((1 - k / n) * abs(rho) ** k for k in range(1, n)))
    smart = math.nan if math.isnan(rho) else sharpe / penalty
    return [mean, std, sharpe, sortino, drawdown, np.mean(s > 0), rho, smart, n]


def summary(per_era_scores, *, compounded=False):
    names = [
        "mean",
        "std",
        "sharpe",
        "sortino",
        "max_drawdown",
        "hit_rate",
        "autocorr",
        "smart_sharpe",
        "n_eras",
    ]
    frame, was_1d, name = _frame(per_era_scores)
    rows = [_summary(frame[c].to_numpy(), compounded) for c in frame.columns]
    if was_1d:
        return pd.Series(rows[0], index=names, name=name, dtype=np.float64)
    out = pd.DataFrame(rows, index=frame.columns, columns=names)
    out["n_eras"] = out["n_eras"].astype(np.int64)
    return out


def hard_era_mmc(mmc_per_era, metamodel_corr_per_era, coefficient=1.5):
    frame, was_1d, _ = _frame(mmc_per_era)
    mm = metamodel_corr_per_era
    if isinstance(mmc_per_era, (pd.Series, pd.DataFrame)) and isinstance(mm, pd.Series):
        mm = mm.reindex(mmc_per_era.index)
    w = np.where(np.asarray(mm, dtype=np.float64) < 0, coefficient, 1.0)

    def exact_mean(v: np.ndarray) -> float:  # in exact rationals: no overflow (1.5 x max)
        total = sum((Fraction(a) * Fraction(b) for a, b in zip(w, v, strict=True)), Fraction(0))
        mean = total / len(v)
        try:
            return float(mean)
        except OverflowError:  # beyond float max
            return math.inf if mean > 0 else -math.inf

    out = pd.Series({c: exact_mean(frame[c].to_numpy()) for c in frame.columns})
    return float(out.iloc[0]) if was_1d else out
