"""Reference twin of neutralkit.payout: one era and one model at a time, the formula
written out; the multiplier schemes are shared data (neutralkit.payout.PAYOUT_SCHEMES)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ..payout import PAYOUT_SCHEMES

__all__ = ["payout"]


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
    """payout_e = stake_e * clip(f_e * sum_i w_i s_i, -c, c); compounded, the payout of
    era e joins the stake from era e + 1 + lag on (never below 0)."""
    frame = scores if isinstance(scores, pd.DataFrame) else pd.DataFrame(scores)
    if isinstance(scores, pd.Series):
        frame = scores.to_frame()
    default_clip = math.inf
    if isinstance(weights, str):
        scheme = PAYOUT_SCHEMES[weights]
        weights, default_clip = dict(scheme.weights), scheme.clip
    c = default_clip if clip is None else float(clip)
    if not isinstance(weights, (dict, pd.Series)):
        weights = dict(zip(frame.columns, weights, strict=True))
    weights = dict(weights.items())
    multi = isinstance(frame.columns, pd.MultiIndex)
    models = list(dict.fromkeys(frame.columns.get_level_values(0))) if multi else [None]
    n = len(frame)
    factors = (
        np.full(n, float(payout_factor))
        if np.ndim(payout_factor) == 0
        else np.asarray(payout_factor, dtype=np.float64)
    )
    column = {key: frame[key].to_numpy(np.float64) for key in frame.columns}

    def to_float(x: Fraction) -> float:  # the rounding of an exact value; inf past max
        try:
            return float(x)
        except OverflowError:
            return math.inf if x > 0 else -math.inf

    # in exact rationals (floats are dyadic rationals): no overflow nor rounding along
    # the way (scores near 1e300, stakes near float max), each output rounded once
    pay = {}
    risk = {}
    for model in models:
        start = float(stake[model]) if model is not None and not np.isscalar(stake) else stake
        pending: list[tuple[int, Fraction]] = []  # (era the payout joins the stake, amount)
        current = Fraction(float(start))
        pays, risks = [], []
        for e in range(n):
            current += sum((a for when, a in pending if when == e), Fraction(0))
            at_risk = max(current, Fraction(0)) if compound else Fraction(float(start))
            total = Fraction(0)
            missing = False
            for name, w in weights.items():
                value = float(column[(model, name) if multi else name][e])
                if math.isnan(value):
                    if nan_policy == "raise":
                        raise ValueError("scores: NaN")
                    missing = True
                    continue
                total += Fraction(float(w)) * Fraction(value)
            rate = Fraction(0) if missing else Fraction(float(factors[e])) * total
            if math.isfinite(c):
                rate = min(max(rate, Fraction(-c)), Fraction(c))
            p = at_risk * rate
            pays.append(to_float(p))
            risks.append(to_float(at_risk))
            pending.append((e + 1 + lag, p))
        pay[model] = pays
        risk[model] = risks
    index = frame.index
    if not multi:
        if not compound:
            return pd.Series(pay[None], index=index, name="payout")
        return pd.DataFrame({"stake": risk[None], "payout": pay[None]}, index=index)
    cols = pd.Index(models, name="model")
    p_frame = pd.DataFrame({m: pay[m] for m in models}, index=index)[models]
    p_frame.columns = cols
    if not compound:
        return p_frame
    r_frame = pd.DataFrame({m: risk[m] for m in models}, index=index)[models]
    r_frame.columns = cols
    return pd.concat({"stake": r_frame, "payout": p_frame}, axis=1)
