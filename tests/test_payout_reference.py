"""neutralkit.payout vs its reference twin (hypothesis), and invariants of the formula."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import reference as ref
from neutralkit.payout import PAYOUT_SCHEMES

SCORE = st.floats(-0.6, 0.6, allow_nan=False, width=64)


@st.composite
def score_frames(draw, max_models: int = 3):
    n = draw(st.integers(1, 25))
    names = ["corr", "mmc", "alpha", "mpc"]
    n_models = draw(st.integers(0, max_models))  # 0: flat columns, one model
    index = pd.Index([f"era{i:03d}" for i in range(n)], name="era")
    if n_models == 0:
        data = {k: draw(st.lists(SCORE, min_size=n, max_size=n)) for k in names}
        return pd.DataFrame(data, index=index)
    parts = {}
    for m in range(n_models):
        data = {k: draw(st.lists(SCORE, min_size=n, max_size=n)) for k in names}
        parts[f"model{m}"] = pd.DataFrame(data, index=index)
    return pd.concat(parts, axis=1)


def _models(frame: pd.DataFrame) -> list[str] | None:
    if isinstance(frame.columns, pd.MultiIndex):
        return list(dict.fromkeys(frame.columns.get_level_values(0)))
    return None


weights_st = st.one_of(
    st.sampled_from(sorted(PAYOUT_SCHEMES)),
    st.dictionaries(
        st.sampled_from(["corr", "mmc", "alpha", "mpc"]),
        st.floats(-3, 3, allow_nan=False),
        min_size=1,
        max_size=4,
    ),
)


def _close(a, b):
    if isinstance(b, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)
    else:
        pd.testing.assert_series_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)


@settings(max_examples=80)
@given(
    score_frames(),
    weights_st,
    st.one_of(st.none(), st.sampled_from([0.01, 0.05, 0.25, math.inf])),
    st.floats(0, 1000, allow_nan=False),
    st.booleans(),
    st.integers(0, 6),
    st.one_of(st.floats(0, 2, allow_nan=False), st.just("per_era")),
)
def test_payout_equals_the_reference(scores, weights, clip, stake, compound, lag, factor):
    if factor == "per_era":
        rng = np.random.default_rng(len(scores))
        factor = pd.Series(rng.uniform(0, 1.5, len(scores)), index=scores.index)
    models = _models(scores)
    stake_arg = stake if models is None else {m: stake * (i + 1) for i, m in enumerate(models)}
    kwargs = dict(stake=stake_arg, clip=clip, payout_factor=factor, compound=compound, lag=lag)
    fast = nk.payout(scores, weights, **kwargs)
    slow = ref.payout(scores, weights, **kwargs)
    _close(fast, slow)


@settings(max_examples=60)
@given(score_frames(max_models=0), weights_st, st.sampled_from([0.05, 0.25]), st.booleans())
def test_payout_is_bounded_by_clip_times_stake(scores, weights, clip, compound):
    out = nk.payout(scores, weights, stake=7.0, clip=clip, compound=compound)
    pay = out["payout"] if compound else out
    at_risk = out["stake"] if compound else 7.0
    assert (np.abs(pay) <= clip * at_risk + 1e-12).all()


@settings(max_examples=60)
@given(score_frames(max_models=0), weights_st, st.integers(0, 4))
def test_stake_scales_everything(scores, weights, lag):
    one = nk.payout(scores, weights, stake=1.0, compound=True, lag=lag)
    many = nk.payout(scores, weights, stake=250.0, compound=True, lag=lag)
    np.testing.assert_allclose(many.to_numpy(), 250.0 * one.to_numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=60)
@given(score_frames(max_models=0), weights_st)
def test_compounding_at_once_is_a_cumulative_product(scores, weights):
    """lag=0: stake_e = stake * prod_{q<e} (1 + rate_q), rate the clipped payout rate
    (clipped to at most 50%, so the stake never reaches 0)."""
    rate = nk.payout(scores, weights, stake=1.0, clip=0.5)  # stake 1: payout = rate
    out = nk.payout(scores, weights, stake=3.0, clip=0.5, compound=True)
    expected = 3.0 * np.concatenate([[1.0], np.cumprod(1.0 + rate.to_numpy())[:-1]])
    np.testing.assert_allclose(out["stake"], expected, rtol=1e-12)
    final = 3.0 * np.prod(1.0 + rate.to_numpy())
    assert math.isclose(3.0 + out["payout"].sum(), final, rel_tol=1e-12)


@settings(max_examples=60)
@given(score_frames(max_models=0), st.floats(-3, 3, allow_nan=False))
def test_unclipped_payout_is_linear_in_the_scores(scores, w):
    got = nk.payout(scores, {"corr": w, "mmc": 1.0}, clip=math.inf, stake=2.0)
    expected = 2.0 * (w * scores["corr"] + scores["mmc"])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=40)
@given(score_frames(max_models=0), weights_st, st.booleans())
def test_zero_payout_factor_pays_nothing(scores, weights, compound):
    out = nk.payout(scores, weights, stake=5.0, payout_factor=0.0, compound=compound)
    pay = out["payout"] if compound else out
    assert (pay == 0).all()
    if compound:
        assert (out["stake"] == 5.0).all()


@settings(max_examples=40)
@given(score_frames(max_models=2), weights_st, st.integers(0, 3))
def test_models_are_independent(scores, weights, lag):
    models = _models(scores)
    if models is None:
        return
    together = nk.payout(scores, weights, stake=2.0, compound=True, lag=lag)
    for m in models:
        alone = nk.payout(scores[m], weights, stake=2.0, compound=True, lag=lag)
        np.testing.assert_allclose(together["stake"][m], alone["stake"], rtol=1e-15)
        np.testing.assert_allclose(together["payout"][m], alone["payout"], rtol=1e-15)
