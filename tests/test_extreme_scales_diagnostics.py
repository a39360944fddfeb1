"""summary, hard_era_mmc, payout and stake_weight at extreme scales (fuzz findings).

Scores near 1e150 (compounded wealth past float max), 1e300, float max (1.5 x max in
hard_era_mmc), 1e-200 and mixed scales: no RuntimeWarning (pytest runs with
filterwarnings=error, and each call is also made under ``warnings.simplefilter("error")``)
and the right number, computed here independently in exact rationals
(``fractions.Fraction``: every float is one), rounded once; where the true value is
beyond float max, the inf of its sign.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk

MAX = np.finfo(np.float64).max
SCALES = [1e150, 1e300, MAX, 1e-200]
STATS = ["mean", "std", "sharpe", "sortino", "max_drawdown", "hit_rate", "autocorr"]


def no_warning(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def to_float(x: Fraction) -> float:
    """The float nearest an exact value; inf of its sign past float max."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def exact_sqrt(x: Fraction) -> float:
    """sqrt of an exact value of any magnitude: an integer square root of ~64 bits."""
    if x == 0:
        return 0.0
    k = (128 - (x.numerator.bit_length() - x.denominator.bit_length())) // 2
    num, den = x.numerator, x.denominator
    if k >= 0:
        num <<= 2 * k
    else:
        den <<= -2 * k
    root = math.isqrt(num // den)  # sqrt(x) * 2^k, to 1 part in 2^64
    try:
        return math.ldexp(float(root), -k)
    except OverflowError:
        return math.inf


def sign(x: Fraction) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def assert_close(actual: float, expected: float, rtol: float, atol: float = 0.0) -> None:
    if math.isnan(expected) or math.isinf(expected):
        assert actual == expected or (math.isnan(actual) and math.isnan(expected)), (
            f"{actual!r} != {expected!r}"
        )
        return
    assert math.isfinite(actual), f"{actual!r} != {expected!r}"
    assert abs(actual - expected) <= rtol * abs(expected) + atol, f"{actual!r} != {expected!r}"


def scores(scale: float, n: int = 12, seed: int = 0) -> np.ndarray:
    """Per-era scores in (-scale, scale), signs mixed; at float max they reach it."""
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
    u[0] = 1.0  # the peak of the scale itself
    return u * scale


MIXED = [
    np.array([1.0, -1e-200, 0.5, -3e-200, 2.0, 1e-150]),
    np.array([1e300, -1e-200, 5e150, -MAX / 2, 1e-300, 3.0, -1e300]),
    np.array([1.0, 1e-300, 2e-300, 5e-301, 3e-300, -1e-300]),
    np.array([1e300, 1e-300, 2e-300, 5e-301, 3e-300, -1e-300]),  # 2^-1990 apart
]


# ------------------------------------------------------------------------- summary


def exact_summary(s: np.ndarray, compounded: bool) -> dict[str, float]:
    x = [Fraction(float(v)) for v in s]
    n = len(x)
    mean = sum(x, Fraction(0)) / n
    var = sum(((v - mean) ** 2 for v in x), Fraction(0)) / n
    down = sum((min(v, Fraction(0)) ** 2 for v in x), Fraction(0)) / n
    std = exact_sqrt(var)
    # the ratios exactly: mean / sqrt(q) = sign(mean) sqrt(mean^2 / q)
    sharpe = sign(mean) * exact_sqrt(mean**2 / var) if var else math.nan
    sortino = sign(mean) * exact_sqrt(mean**2 / down) if down else math.nan
    if down == 0 and mean != 0:
        sortino = sign(mean) * math.inf
    level = Fraction(1) if compounded else Fraction(0)
    peak, drawdown = level, Fraction(0)
    for v in x:
        level = level * (1 + v) if compounded else level + v
        peak = max(peak, level)
        drawdown = max(drawdown, 1 - level / peak if compounded else peak - level)
    a, b = x[:-1], x[1:]
    ma, mb = sum(a, Fraction(0)) / len(a), sum(b, Fraction(0)) / len(b)
    sab = sum(((p - ma) * (q - mb) for p, q in zip(a, b, strict=True)), Fraction(0))
    saa = sum(((p - ma) ** 2 for p in a), Fraction(0))
    sbb = sum(((q - mb) ** 2 for q in b), Fraction(0))
    rho = sign(sab) * exact_sqrt(sab**2 / (saa * sbb)) if saa and sbb else math.nan
    return {
        "mean": to_float(mean),
        "std": std,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": to_float(drawdown),
        "hit_rate": sum(v > 0 for v in x) / n,
        "autocorr": rho,
    }


def check_summary(s: np.ndarray, compounded: bool, *, mixed: bool = False) -> None:
    got = no_warning(nk.summary, s, compounded=compounded)
    want = exact_summary(s, compounded)
    big = float(np.max(np.abs(s)))
    for stat in STATS:
        # the drawdown: summed scores are rounded at the scale of the largest score, so
        # with mixed scales a fall of 1e-200 next to a score of 1 is 0 up to that (SPEC
        # precision: relative to the scale of the inputs); compounded, a fraction of 1
        atol = 0.0
        if mixed and stat == "max_drawdown":
            atol = 1e-12 if compounded else 1e-12 * big
        assert_close(float(got[stat]), want[stat], 1e-12, atol)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("compounded", [False, True])
def test_summary_at_extreme_scales(scale, compounded):
    for seed in range(3):
        check_summary(scores(scale, seed=seed), compounded)


@pytest.mark.parametrize("case", range(len(MIXED)))
@pytest.mark.parametrize("compounded", [False, True])
def test_summary_at_mixed_scales(case, compounded):
    check_summary(MIXED[case], compounded, mixed=True)


def test_summary_compounded_wealth_past_float_max_is_exact():
    """1e150 per era: the wealth passes float max after 3 eras; the falls stay numbers."""
    s = np.array([1e150, 1e150, 1e150, -0.5, 1e150, -0.75, 2.0, -0.9])
    got = no_warning(nk.summary, s, compounded=True)
    # the peak 1e600 after era 5, then x 0.25 x 3 x 0.1: a fall of 1 - 0.075
    assert got["max_drawdown"] == pytest.approx(0.925, rel=1e-12)
    assert_close(float(got["max_drawdown"]), exact_summary(s, True)["max_drawdown"], 1e-12)


def test_summary_compounded_negative_wealth_beyond_float_max_is_inf():
    """1 + s < 0 turns the wealth negative: a fall of 1 + |W| / peak, past float max."""
    s = np.array([-1e300, 1e300, 1e300])  # W: -1e300, -1e600, -1e900; peak 1
    got = no_warning(nk.summary, s, compounded=True)
    assert got["max_drawdown"] == math.inf
    s = np.array([-1e150, 0.5])  # W: -(1e150 - 1), x 1.5: a fall of 1 + 1.5e150
    got = no_warning(nk.summary, s, compounded=True)
    assert_close(float(got["max_drawdown"]), exact_summary(s, True)["max_drawdown"], 1e-12)


def test_summary_summed_drawdown_beyond_float_max_is_inf():
    s = np.array([MAX, -MAX, -MAX, MAX / 2])  # a fall from M to -M: 2 x float max
    got = no_warning(nk.summary, s)
    assert got["max_drawdown"] == math.inf
    assert got["mean"] == pytest.approx(-MAX / 8, rel=1e-15)
    assert_close(float(got["std"]), exact_summary(s, False)["std"], 1e-14)


def test_summary_compounded_ruin_then_recovery():
    """A factor of exactly 0 (s = -1): the wealth stays 0, a fall of 1."""
    s = np.array([1e300, -1.0, 1e300, 5.0])
    got = no_warning(nk.summary, s, compounded=True)
    assert got["max_drawdown"] == 1.0


def test_summary_leaves_its_input_alone():
    s = scores(1e300)
    before = s.copy()
    no_warning(nk.summary, pd.DataFrame({"a": s, "b": s[::-1]}), compounded=True)
    np.testing.assert_array_equal(s, before)


# -------------------------------------------------------------------- hard_era_mmc


def exact_hard_era_mmc(v: np.ndarray, mm: np.ndarray, coefficient: float) -> float:
    terms = [
        Fraction(coefficient if m < 0 else 1.0) * Fraction(float(x))
        for x, m in zip(v, mm, strict=True)
    ]
    return to_float(sum(terms, Fraction(0)) / len(terms))


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("coefficient", [1.5, 3.0, 1e-300, 1e300])
def test_hard_era_mmc_at_extreme_scales(scale, coefficient):
    for seed in range(3):
        v = scores(scale, seed=seed)
        mm = np.random.default_rng(seed + 10).uniform(-1, 1, len(v))
        got = no_warning(nk.hard_era_mmc, v, mm, coefficient)
        want = exact_hard_era_mmc(v, mm, coefficient)
        # rounding: each term and each partial sum once, relative to the terms' scale
        terms = [abs(to_float(Fraction(coefficient if m < 0 else 1.0) * Fraction(x)))
                 for x, m in zip(v, mm, strict=True)]  # fmt: skip
        atol = 1e-14 * max(t for t in terms if math.isfinite(t)) if math.isfinite(want) else 0
        assert_close(got, want, 1e-13, atol)


def test_hard_era_mmc_representable_despite_product_overflow():
    """1.5 x float max overflows, the mean of it with -float max does not."""
    v = np.array([MAX, -MAX, MAX / 2])
    mm = np.array([-0.1, 0.2, 0.3])
    got = no_warning(nk.hard_era_mmc, v, mm, 1.5)
    assert got == pytest.approx(float(Fraction(MAX) / 3), rel=1e-15)  # (1.5 - 1 + 0.5) M / 3


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_hard_era_mmc_beyond_float_max_is_signed_inf(sign):
    v = sign * np.array([MAX, MAX, MAX])
    mm = np.array([-0.1, -0.2, 0.3])
    assert no_warning(nk.hard_era_mmc, v, mm, 1.5) == sign * math.inf
    frame = pd.DataFrame({"a": v, "b": -v, "c": [1e-200, -3e-200, 1e-200]})
    got = no_warning(nk.hard_era_mmc, frame, pd.Series(mm), 1e300)
    assert got["a"] == sign * math.inf and got["b"] == -sign * math.inf
    assert got["c"] == pytest.approx(float(Fraction(1e300) * Fraction(-2e-200) / 3), rel=1e-14)


@pytest.mark.parametrize("case", range(len(MIXED)))
def test_hard_era_mmc_at_mixed_scales(case):
    v = MIXED[case]
    mm = np.where(np.arange(len(v)) % 2 == 0, -1.0, 1.0)
    for coefficient in (1.5, 1e300):
        weights = [Fraction(coefficient if m < 0 else 1.0) for m in mm]
        terms = [w * Fraction(float(x)) for w, x in zip(weights, v, strict=True)]
        exact = sum(terms, Fraction(0)) / len(terms)
        got = no_warning(nk.hard_era_mmc, v, mm, coefficient)
        # a float sum is exact to a few ulps of its largest term (1e600 - 1e600 + 5e450
        # is 0 to that precision): compared in exact rationals where it is finite
        largest = max(abs(t) for t in terms)
        if math.isinf(got):
            assert abs(exact) * 2 > MAX and sign(exact) == math.copysign(1.0, got)
        else:
            assert abs(Fraction(got) - exact) <= Fraction(1e-14) * largest, (got, float(exact))


# -------------------------------------------------------------------------- payout


def exact_payout(
    corr: np.ndarray,
    mmc: np.ndarray,
    w: tuple[float, float],
    *,
    stake: float,
    clip: float,
    factor: np.ndarray,
    compound: bool,
    lag: int,
) -> tuple[list[float], list[float]]:
    """(stake at risk, payout) per era, exactly."""
    risk, pay, pays = [], [], []
    start = Fraction(stake)
    for e in range(len(corr)):
        resolved = sum(pays[: max(e - lag, 0)], Fraction(0))
        at_risk = max(start + resolved, Fraction(0)) if compound else start
        rate = Fraction(float(factor[e])) * (
            Fraction(w[0]) * Fraction(float(corr[e])) + Fraction(w[1]) * Fraction(float(mmc[e]))
        )
        if math.isfinite(clip):
            rate = min(max(rate, Fraction(-clip)), Fraction(clip))
        pays.append(at_risk * rate)
        risk.append(to_float(at_risk))
        pay.append(to_float(at_risk * rate))
    return risk, pay


PAYOUT_CASES = [
    # (stake, clip, compound, lag)
    (1.0, math.inf, False, 0),
    (1.0, math.inf, True, 0),
    (1.0, 0.25, True, 0),
    (MAX / 4, 0.25, True, 1),
    (1e-10, math.inf, True, 1),
    (0.0, math.inf, True, 0),
    (1e300, math.inf, False, 0),
]


def check_payout(corr, mmc, stake, clip, compound, lag, factor=None):
    factor = np.ones(len(corr)) if factor is None else factor
    frame = pd.DataFrame({"corr": corr, "mmc": mmc})
    kw = {"stake": stake, "clip": clip, "compound": compound, "lag": lag}
    got = no_warning(nk.payout, frame, {"corr": 0.5, "mmc": 2.0}, payout_factor=factor, **kw)
    risk, pay = exact_payout(corr, mmc, (0.5, 2.0), factor=factor, **kw)
    got_pay = got["payout"] if compound else got
    # compounded, each era rounds the stake once more: n ulps, relative
    for a, b in zip(got_pay.to_numpy(), pay, strict=True):
        assert_close(float(a), b, 1e-13, 1e-300)
    if compound:
        for a, b in zip(got["stake"].to_numpy(), risk, strict=True):
            assert_close(float(a), b, 1e-13, 1e-300)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("case", PAYOUT_CASES)
def test_payout_at_extreme_scales(scale, case):
    stake, clip, compound, lag = case
    for seed in range(2):
        corr, mmc = scores(scale, 8, seed), scores(scale, 8, seed + 5)[::-1].copy()
        check_payout(corr, mmc, stake, clip, compound, lag)


@pytest.mark.parametrize("case", PAYOUT_CASES)
def test_payout_at_mixed_scales(case):
    stake, clip, compound, lag = case
    corr = np.array([1e300, -1e-200, MAX, 0.01, -MAX, 1e-300, 0.02])
    mmc = np.array([-2.5e299, 3e-200, -MAX / 4, 0.005, MAX, 0.0, -0.01])
    factor = np.array([1.0, 1e250, 1e-300, 0.5, 0.0, 1e300, 1.0])
    check_payout(corr, mmc, stake, clip, compound, lag, factor)


def test_payout_zero_factor_times_overflowing_scores_is_zero():
    """f = 0 with a weighted sum past float max: rate 0 (was 0 x inf = NaN)."""
    frame = pd.DataFrame({"corr": [MAX, MAX], "mmc": [MAX, -MAX]})
    got = no_warning(nk.payout, frame, {"corr": 1.0, "mmc": 1.0}, payout_factor=0.0)
    assert (got.to_numpy() == 0).all()
    got = no_warning(nk.payout, frame, {"corr": 1.0, "mmc": 1.0}, compound=True)
    assert got["payout"].iloc[0] == math.inf  # 2 x float max at a stake of 1
    assert got["stake"].iloc[1] == math.inf  # 1 + that
    assert got["payout"].iloc[1] == 0.0  # inf x (M - M): the rate is exactly 0


def test_payout_with_a_nullable_float_dtype():
    frame = pd.DataFrame({"corr": [1e300, 1e-300, -1e300], "mmc": [1e300, 0.0, 5e299]})
    frame = frame.astype("Float64")
    got = no_warning(nk.payout, frame, {"corr": 1.0, "mmc": 2.0}, stake=1e10)
    expected = [to_float(Fraction(1e10) * Fraction(3e300)), 1e10 * 1e-300, 0.0]
    np.testing.assert_allclose(got.to_numpy(dtype=float)[:2], expected[:2], rtol=1e-15)
    assert got.iloc[0] == math.inf and got.iloc[2] == 0.0


# -------------------------------------------------------------------- stake_weight


def exact_stake_weight(p: np.ndarray, s: np.ndarray) -> list[float]:
    total = sum((Fraction(float(v)) for v in s), Fraction(0))
    return [
        to_float(
            sum(
                (Fraction(float(a)) * Fraction(float(b)) for a, b in zip(row, s, strict=True)),
                Fraction(0),
            )
            / total
        )
        for row in p
    ]


def check_stake_weight(p: np.ndarray, s: np.ndarray) -> None:
    got = no_warning(nk.stake_weight, p, s)
    want = exact_stake_weight(p, s)
    staked = s > 0
    for row, a, b in zip(p, got, want, strict=True):
        # a sum of m rounded products: within a few ulps of the row's largest staked value
        atol = 1e-14 * float(np.max(np.abs(row[staked])))
        assert_close(float(a), b, 1e-14, atol)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("stakes", [[1.0, 3.0, 2.0], [1e300, 1.0, 0.0], [1e-300, 2e-300, 5e-301]])
def test_stake_weight_at_extreme_scales(scale, stakes):
    rng = np.random.default_rng(3)
    p = rng.uniform(-1, 1, (10, 3)) * scale
    p[0] = scale  # every column at the scale itself: sums past float max at MAX
    p[1] = [scale, -scale, scale]
    check_stake_weight(p, np.array(stakes))


def test_stake_weight_at_mixed_scales():
    p = np.array(
        [
            [MAX, MAX, MAX],
            [MAX, -MAX, 1e-200],
            [1e-200, 3e-200, -1e-200],
            [1e300, 1e-300, 0.0],
            [0.0, 0.0, 0.0],
            [5e-324, 1e-320, 0.0],
        ]
    )
    for stakes in ([1.0, 3.0, 0.5], [1.0, 0.0, 2.0], [MAX, 1.0, 1e-300]):
        check_stake_weight(p, np.array(stakes))


def test_stake_weight_zero_stake_column_near_float_max_takes_no_part():
    """A column of stake 0 at 1e300 must not set the scale of the 1e-200 columns."""
    p = np.array([[1e300, 1e-200, 3e-200], [-MAX, 2e-200, 2e-200]])
    got = no_warning(nk.stake_weight, p, np.array([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(got, [2e-200, 2e-200], rtol=1e-15)


def test_stake_weight_omit_at_float_max():
    p = pd.DataFrame({"a": [MAX, np.nan, MAX], "b": [MAX, -MAX, np.nan]})
    got = no_warning(nk.stake_weight, p, pd.Series({"a": 1.0, "b": 3.0}), nan_policy="omit")
    np.testing.assert_allclose(got.to_numpy(), [MAX, -MAX, MAX], rtol=1e-15)
    np.testing.assert_array_equal(p["a"].to_numpy()[[0, 2]], [MAX, MAX])  # not modified


# ------------------------------------------------------------------ turnover


@pytest.mark.parametrize("scale", SCALES)
def test_turnover_at_extreme_scales(scale):
    rng = np.random.default_rng(7)
    cur = rng.uniform(-1, 1, 12) * scale
    prev = rng.uniform(-1, 1, 12) * scale
    got = no_warning(nk.turnover, cur, prev)
    exact = sum(abs(Fraction(a) - Fraction(b)) for a, b in zip(cur, prev, strict=True)) / 2
    assert float(np.asarray(got).flat[0]) == pytest.approx(to_float(exact), rel=1e-14)


def test_turnover_of_opposite_float_max_weights_is_representable():
    # |MAX - (-MAX)| / 2 = MAX: the difference alone would overflow
    got = no_warning(nk.turnover, np.array([MAX, 0.0]), np.array([-MAX, 0.0]))
    assert float(np.asarray(got).flat[0]) == MAX


def test_turnover_beyond_float_max_is_inf():
    got = no_warning(nk.turnover, np.full(4, MAX), np.full(4, -MAX))
    assert float(np.asarray(got).flat[0]) == math.inf
