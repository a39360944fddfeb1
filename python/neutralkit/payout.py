"""Payout simulation: per-era scores to per-era payouts and, compounded, a stake path.

Per era ``e`` and model, with score columns ``s_i`` and multipliers ``w_i``::

    rate[e]   = clip(payout_factor[e] * sum_i w_i s_i[e], -clip, clip)
    payout[e] = stake_at_risk[e] * rate[e]

Without compounding ``stake_at_risk`` is the constant ``stake``. With ``compound=True``
every payout joins the stake once its round resolves: the payout of era ``e`` is at
risk from era ``e + 1 + lag`` on (``lag=0``: at once, the next era; Numerai's rounds
resolve about four weeks after they open, so with one row per weekly round a payout
is first at risk three rows later, ``lag=3``). A stake cannot fall below 0.

The multiplier schemes Numerai has used are in :data:`PAYOUT_SCHEMES`, each with its
source; pass a scheme's name as ``weights``. Not a preset: the True Contribution period
(2022-2023), when each user chose a CORR and a TC multiplier (e.g. 1x CORR + 3x TC) and
the clip went from 25% to 5% with the daily rounds of May 2023
(forum.numer.ai/t/daily-tournament-update-2-payouts/6189): TC is Numerai's own
optimizer-based score, which neutralkit cannot compute; with TC scores from Numerai's
API, pass e.g. ``weights={"corr": 1, "tc": 3}, clip=0.25``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._validate import Labeled, labeled, nan_policy_of, vector

__all__ = ["PAYOUT_SCHEMES", "PayoutScheme", "payout"]


@dataclass(frozen=True)
class PayoutScheme:
    """A payout rule: multipliers by score name, the per-era clip, where it comes from.

    ``mmc`` says which MMC the scheme paid on: ``"seed"`` (the residual MMC2 of the
    seed's period, :func:`neutralkit.mmc`) or ``"official"`` (today's
    ``correlation_contribution``); ``None`` when the scheme pays no MMC.
    """

    weights: Mapping[str, float]
    clip: float
    period: str
    source: str
    mmc: str | None = None


_SEED_SOURCE = (
    "docs.numer.ai/tournament/staking-and-payouts as of 2020-2021 ('correlation is "
    "always a 1x multiple, but mmc could be 0.0x, 0.5x, 1.0x, or 2.0x'); the ±25% cap "
    "per round: forum.numer.ai/t/mmc-payout-details-and-analysis/220 ('capped at ± 25% "
    "of stake') and forum.numer.ai/t/daily-tournament-update-2-payouts/6189 (25% until "
    "the daily rounds of May 2023)"
)

#: The multiplier schemes Numerai has used, by name (read from stored copies of the
#: pages named in ``source``; not re-checked online, and Numerai changes its payouts
#: from time to time: for another period pass ``weights`` and ``clip`` yourself).
PAYOUT_SCHEMES: dict[str, PayoutScheme] = {
    "corr": PayoutScheme({"corr": 1.0}, 0.25, "2020-2021 (the seed's MMC2 period)", _SEED_SOURCE),
    "corr+0.5mmc": PayoutScheme(
        {"corr": 1.0, "mmc": 0.5}, 0.25, "2020-2021 (the seed's MMC2 period)", _SEED_SOURCE, "seed"
    ),
    "corr+mmc": PayoutScheme(
        {"corr": 1.0, "mmc": 1.0}, 0.25, "2020-2021 (the seed's MMC2 period)", _SEED_SOURCE, "seed"
    ),
    "corr+2mmc": PayoutScheme(
        {"corr": 1.0, "mmc": 2.0}, 0.25, "2020-2021 (the seed's MMC2 period)", _SEED_SOURCE, "seed"
    ),
    "main": PayoutScheme(
        {"corr": 0.5, "mmc": 2.0},
        0.05,
        "main tournament, rounds from 2024-01-02 (daily rounds: ±5% per round)",
        "github.com/numerai/docs numerai-tournament/staking.md (stored version @2de2ebd): "
        "'payout = stake * clip(payout_factor * (corr * 0.5 + mmc * 2), -0.05, 0.05)', "
        "payout_factor = min(1, 72000 / total NMR at risk); a 2024 forum post "
        "(forum.numer.ai/t/changing-scoring-payouts-again-to-mmc-only/6794) announced a "
        "move to MMC only, which that docs version does not show",
        "official",
    ),
    "signals": PayoutScheme(
        {"alpha": 0.3, "mpc": 0.8},
        0.017,
        "Numerai Signals, rounds from 2025-09-02",
        "docs.numer.ai/numerai-signals/staking: 'payout = stake * clip(payout_factor * "
        "(alpha * 0.3 + mpc * 0.8), -0.017, 0.017)' (scores: neutralkit.alpha and "
        "neutralkit.meta_portfolio_contribution)",
    ),
}


# --------------------------------------------------------------------- validation


def _scheme_of(weights: Any) -> tuple[dict[Any, float] | np.ndarray, float]:
    """(multipliers by score name, or an array by position; the default clip)."""
    if isinstance(weights, str):
        if weights not in PAYOUT_SCHEMES:
            raise ValueError(
                f"weights: unknown payout scheme {weights!r}; known: {sorted(PAYOUT_SCHEMES)}"
            )
        scheme = PAYOUT_SCHEMES[weights]
        return dict(scheme.weights), scheme.clip
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if isinstance(weights, Mapping):
        if not weights:
            raise ValueError("weights: empty; give at least one score name and multiplier")
        out = {}
        for name, w in weights.items():
            out[name] = _finite_number(w, f"weights[{name!r}]")
        return out, math.inf
    arr = np.asarray(weights)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iuf":
        raise TypeError(
            "weights: expected a payout scheme name, a mapping {score: multiplier} or "
            f"one number per score column, got {type(weights).__name__}"
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("weights: contains NaN or infinite value(s)")
    return arr, math.inf


def _finite_number(value: Any, name: str, *, minimum: float | None = None) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if minimum is not None and x < minimum:
        raise ValueError(f"{name}: expected a number >= {minimum}, got {value!r}")
    return x


def _clip_of(clip: Any, default: float) -> float:
    if clip is None:
        return default
    if isinstance(clip, (bool, np.bool_)) or not isinstance(clip, numbers.Real):
        raise TypeError(f"clip: expected a positive number or None, got {clip!r}")
    c = float(clip)
    if math.isnan(c) or c <= 0:
        raise ValueError(f"clip: expected a positive number (math.inf: no clip), got {clip!r}")
    return c


def _lag_of(lag: Any) -> int:
    if isinstance(lag, (bool, np.bool_)) or not isinstance(lag, numbers.Integral):
        raise TypeError(f"lag: expected a non-negative int, got {lag!r}")
    if lag < 0:
        raise ValueError(f"lag: expected a non-negative int, got {lag}")
    return int(lag)


@dataclass(frozen=True)
class _Layout:
    """Which score column feeds which (model, multiplier)."""

    models: list[Any] | None  # None: one model (flat columns)
    columns: np.ndarray  # (n_models, n_weights) column positions
    multipliers: np.ndarray  # (n_weights,)


def _layout(lab: Labeled, weights: dict[Any, float] | np.ndarray) -> _Layout:
    columns = lab.column_labels()
    if isinstance(weights, np.ndarray):
        if len(weights) != lab.n_cols:
            raise ValueError(
                f"weights: {len(weights)} multipliers for {lab.n_cols} score column(s); "
                "give one per column, or a mapping {score name: multiplier}"
            )
        return _Layout(None, np.arange(lab.n_cols)[None, :], weights)
    names = list(weights)
    multipliers = np.array([weights[k] for k in names], dtype=np.float64)
    if isinstance(columns, pd.MultiIndex):
        if columns.nlevels != 2:
            raise ValueError(
                f"scores: MultiIndex columns need 2 levels (model, score), got {columns.nlevels}"
            )
        if not columns.is_unique:
            raise ValueError("scores: duplicated (model, score) columns")
        models = list(dict.fromkeys(columns.get_level_values(0)))
        pos = np.empty((len(models), len(names)), dtype=np.int64)
        for m, model in enumerate(models):
            for i, name in enumerate(names):
                j = columns.get_indexer([(model, name)])[0]
                if j < 0:
                    have = sorted({str(s) for s in columns.get_level_values(1)})
                    raise ValueError(
                        f"weights: model {model!r} has no score column {name!r} "
                        f"(scores of the models: {have[:8]}); rename the column or "
                        "pass weights as a mapping {score name: multiplier}"
                    )
                pos[m, i] = j
        return _Layout(models, pos, multipliers)
    if not columns.is_unique:
        raise ValueError("scores: duplicated column names")
    pos1 = columns.get_indexer(names)
    if (pos1 < 0).any():
        missing = [n for n, p in zip(names, pos1, strict=True) if p < 0]
        raise ValueError(
            f"weights: no score column named {missing!r} (scores has {list(columns)[:8]}); "
            "rename the column or pass weights as a mapping {score name: multiplier}"
        )
    return _Layout(None, pos1[None, :].astype(np.int64), multipliers)


def _stakes_of(stake: Any, layout: _Layout) -> np.ndarray:
    n_models = layout.columns.shape[0]
    if isinstance(stake, (Mapping, pd.Series)):
        if layout.models is None:
            raise TypeError("stake: a mapping by model needs (model, score) columns in scores")
        given = dict(stake.items()) if isinstance(stake, pd.Series) else dict(stake)
        missing = [m for m in layout.models if m not in given]
        if missing:
            raise ValueError(f"stake: no stake for model(s) {missing[:5]!r}")
        return np.array(
            [_finite_number(given[m], f"stake[{m!r}]", minimum=0.0) for m in layout.models]
        )
    return np.full(n_models, _finite_number(stake, "stake", minimum=0.0))


def _payout_factor_of(payout_factor: Any, lab: Labeled) -> np.ndarray:
    if isinstance(payout_factor, numbers.Real) and not isinstance(payout_factor, (bool, np.bool_)):
        return np.full(lab.n_rows, _finite_number(payout_factor, "payout_factor", minimum=0.0))
    pf = vector(payout_factor, "payout_factor", lab, "scores")
    if not np.isfinite(pf).all() or (pf < 0).any():
        raise ValueError("payout_factor: expected finite values >= 0 (one per era)")
    return pf


# Extended floats: a value is ``m * 2**e`` (numpy arrays, ``m`` from ``np.frexp``, so
# |m| in [0.5, 1) or 0), which lets payouts of scores near 1e300, stakes near float max
# and unclipped rates go past float max without overflow in the middle of a sum. The
# operations round like float64 operations (exact power-of-two rescaling), so results
# are bit for bit those of plain floats wherever those neither overflow nor underflow.
_ZERO_EXP = -10000  # the exponent of 0: below every double's


def _ext(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, e = np.frexp(x)
    return m, np.where(m == 0.0, _ZERO_EXP, e.astype(np.int64))


def _ext_mul(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> Any:
    m, e = _ext(a[0] * b[0])  # |a0 b0| in [0.25, 1): no overflow, no underflow
    return m, np.where(m == 0.0, _ZERO_EXP, e + a[1] + b[1])


def _ext_add(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> Any:
    top = np.maximum(a[1], b[1])
    m, e = _ext(np.ldexp(a[0], a[1] - top) + np.ldexp(b[0], b[1] - top))  # |.| < 2
    return m, np.where(m == 0.0, _ZERO_EXP, e + top)


def _ext_float(a: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """To float64: exact, except a value beyond float max, whose true value is beyond
    it too, is inf with its sign (so the overflow is not an error here)."""
    with np.errstate(over="ignore"):
        return np.ldexp(a[0], np.clip(a[1], _ZERO_EXP, 10000))


def _combined(
    values: np.ndarray, layout: _Layout, lab: Labeled, policy: str
) -> tuple[np.ndarray, np.ndarray]:
    """(n_eras x n_models) sum_i w_i s_i as an extended float, with 0 where a used score
    is missing under ``nan_policy="omit"``; NaN refused under "raise"."""
    used = values[:, layout.columns]  # (n_eras, n_models, n_weights)
    if np.isinf(used).any():
        raise ValueError(f"scores: contains {int(np.isinf(used).sum())} infinite value(s)")
    missing = np.isnan(used)
    if missing.any() and policy == "raise":
        e, m, i = (int(a[0]) for a in np.nonzero(missing))
        col = lab.column_labels()[layout.columns[m, i]]
        era = lab.index[e] if lab.index is not None else e
        raise ValueError(
            f"scores: contains {int(missing.sum())} NaN value(s) in weighted columns; first "
            f"in column {col!r}, era {era!r} (nan_policy='omit': such an era pays 0)"
        )
    filled = np.where(missing, 0.0, used)
    big = float(np.max(np.abs(filled), initial=0.0)) * float(np.sum(np.abs(layout.multipliers)))
    if big < 2.0**1000:  # no partial sum can overflow: the plain product (as before)
        total = _ext(filled @ layout.multipliers)
    else:
        # each term w_i s_i at the scale of the era's largest term (mantissas multiplied,
        # exponents added: exact but for terms 2^-1000 below it), summed, scaled back
        ms, es = _ext(filled)
        mw, ew = _ext(layout.multipliers)
        exps = es + ew
        top = np.max(exps, axis=2)
        terms = np.ldexp(ms * mw, exps - top[..., None])
        sm, se = _ext(terms.sum(axis=2))  # |.| <= n_weights
        total = (sm, np.where(sm == 0.0, _ZERO_EXP, se + top))
    dropped = missing.any(axis=2)
    return np.where(dropped, 0.0, total[0]), np.where(dropped, _ZERO_EXP, total[1])


def _rates(
    total: tuple[np.ndarray, np.ndarray], pf: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """clip(pf * total, -c, c) as an extended float (beyond float max when unclipped)."""
    x = _ext_mul(total, _ext(pf[:, None]))
    value = _ext_float(x)  # inf only where |x| is beyond float max
    clipped = np.abs(value) > c
    limit = _ext(np.where(value < 0, -c, c)) if math.isfinite(c) else x
    return np.where(clipped, limit[0], x[0]), np.where(clipped, limit[1], x[1])


def _stake_path(rates: np.ndarray, stakes: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Compounded: the payout of era e is at risk from era e + 1 + lag on."""
    n = rates.shape[0]
    at_risk = np.empty_like(rates)
    pay = np.empty_like(rates)
    resolved = np.zeros_like(stakes)
    for e in range(n):
        q = e - 1 - lag
        if q >= 0:
            resolved += pay[q]
        at_risk[e] = np.maximum(stakes + resolved, 0.0)
        pay[e] = at_risk[e] * rates[e]
    return at_risk, pay


def _stake_path_ext(
    rates: tuple[np.ndarray, np.ndarray], stakes: np.ndarray, lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """``_stake_path`` in extended floats (stakes and payouts past float max)."""
    n = rates[0].shape[0]
    shape = rates[0].shape
    risk_m, risk_e = np.zeros(shape), np.full(shape, _ZERO_EXP, dtype=np.int64)
    pay_m, pay_e = np.zeros(shape), np.full(shape, _ZERO_EXP, dtype=np.int64)
    start = _ext(stakes)
    resolved = _ext(np.zeros_like(stakes))
    for e in range(n):
        q = e - 1 - lag
        if q >= 0:
            resolved = _ext_add(resolved, (pay_m[q], pay_e[q]))
        m, x = _ext_add(start, resolved)
        risk_m[e], risk_e[e] = np.where(m > 0, m, 0.0), np.where(m > 0, x, _ZERO_EXP)
        pay_m[e], pay_e[e] = _ext_mul((risk_m[e], risk_e[e]), (rates[0][e], rates[1][e]))
    return _ext_float((risk_m, risk_e)), _ext_float((pay_m, pay_e))


# ------------------------------------------------------------------------ public


def payout(
    scores: Any,
    weights: Any,
    *,
    stake: Any = 1.0,
    clip: float | None = None,
    payout_factor: Any = 1.0,
    compound: bool = False,
    lag: int = 0,
    nan_policy: str = "raise",
) -> Any:
    r"""Per-era payouts of per-era scores, and with ``compound=True`` the stake path.

    .. math::
        \text{payout}_e = S_e \cdot \operatorname{clip}\big(f_e \sum_i w_i s_{e,i},
        \; -c,\; c\big)

    with :math:`S_e` the stake at risk in era e (``stake``, or with compounding
    ``stake`` plus every payout resolved before era e), :math:`f_e` the payout factor
    and :math:`c` the clip.

    Parameters
    ----------
    scores : DataFrame, Series or 2-D array, one row per era **in era order**
        One column per score (e.g. ``corr`` and ``mmc``: the per-era output of
        :func:`neutralkit.numerai_corr`, :func:`neutralkit.mmc`...), or for several
        models, MultiIndex columns ``(model, score)``.
    weights : str, mapping or sequence
        A scheme of :data:`PAYOUT_SCHEMES` (``"corr"``, ``"corr+0.5mmc"``,
        ``"corr+mmc"``, ``"corr+2mmc"``, ``"main"``, ``"signals"``: the columns must
        carry the scheme's score names), a mapping ``{score name: multiplier}``, or
        one multiplier per column.
    stake : number or mapping by model
        The stake (>= 0) at the start; a mapping or Series by model with
        ``(model, score)`` columns.
    clip : float, optional
        Per-era clip of the payout rate to ``[-clip, clip]``. ``None``: the scheme's
        clip when ``weights`` names one, else no clip. ``math.inf``: no clip.
    payout_factor : number or one per era
        Numerai's payout factor (``min(1, threshold / total NMR at risk)``), a
        constant or a Series/array aligned with the rows of ``scores``; >= 0.
    compound : bool
        Add every payout to the stake once its round resolves (see ``lag``).
    lag : int
        With ``compound``: the payout of era e is first at risk in era ``e + 1 + lag``.
    nan_policy : {"raise", "omit"}
        ``"omit"``: an era where a weighted score is missing pays 0 (as a round
        without a valid submission).

    Returns
    -------
    Without ``compound``: a Series of payouts by era (a DataFrame era x model with
    ``(model, score)`` columns). With ``compound``: a DataFrame with columns
    ``stake`` (at risk that era) and ``payout`` (with models: MultiIndex columns
    ``(stake|payout, model)``). The index is that of ``scores`` (0..n-1 for arrays).
    The stake after the last era, once everything has resolved, is
    ``stake + payout.sum()``. Scores, factors and stakes up to float max compute
    without overflow on the way (a payout factor of 0 pays 0 whatever the scores); a
    stake or payout whose true value is beyond float max is ``inf`` (with its sign).

    Raises
    ------
    ValueError
        Unknown scheme, a weighted score name missing from ``scores``, NaN (under
        ``"raise"``) or infinite scores, a negative stake or payout factor, a clip <= 0,
        a negative lag, no eras.
    TypeError
        Non-numeric scores or arguments.
    """
    policy = nan_policy_of(nan_policy)
    multipliers, default_clip = _scheme_of(weights)
    c = _clip_of(clip, default_clip)
    lag_ = _lag_of(lag)
    lab = labeled(scores, "scores")
    if lab.n_rows == 0:
        raise ValueError("scores: no eras (0 rows)")
    layout = _layout(lab, multipliers)
    stakes = _stakes_of(stake, layout)
    pf = _payout_factor_of(payout_factor, lab)
    values = np.asarray(lab.values, dtype=np.float64)
    rates = _rates(_combined(values, layout, lab, policy), pf, c)
    rate = _ext_float(rates)
    if compound:
        # stake x prod(1 + |rate|) bounds every stake and payout: below 2^1000 (in logs)
        # the plain float path (as before), else extended floats
        growth = np.sum(np.log1p(np.abs(rate)), axis=0) if np.isfinite(rate).all() else None
        peak = float(np.max(stakes, initial=0.0))
        if growth is not None and math.log(max(peak, 1.0)) + float(np.max(growth)) < 690.0:
            at_risk, pay = _stake_path(rate, stakes, lag_)
        else:
            at_risk, pay = _stake_path_ext(rates, stakes, lag_)
    else:
        at_risk = np.broadcast_to(stakes, rate.shape)
        pay = _ext_float(_ext_mul(_ext(stakes[None, :]), rates))
    index = lab.index if lab.index is not None else pd.RangeIndex(lab.n_rows)
    return _wrap(pay, at_risk, layout, index, bool(compound))


def _wrap(
    pay: np.ndarray, at_risk: np.ndarray, layout: _Layout, index: pd.Index, compound: bool
) -> Any:
    if layout.models is None:
        if not compound:
            return pd.Series(pay[:, 0], index=index, name="payout")
        return pd.DataFrame({"stake": at_risk[:, 0], "payout": pay[:, 0]}, index=index)
    models = pd.Index(layout.models, name="model")
    if not compound:
        return pd.DataFrame(pay, index=index, columns=models)
    return pd.concat(
        {
            "stake": pd.DataFrame(np.array(at_risk), index=index, columns=models),
            "payout": pd.DataFrame(pay, index=index, columns=models),
        },
        axis=1,
    )
