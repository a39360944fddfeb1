"""neutralkit.compat.numerai_tools.signals vs numerai_tools.signals 0.7.2, on data of
our own: churn (with top_bottom), neutral churn and its penalty, turnover, and the two
live checks against previous submissions."""

from __future__ import annotations

import warnings

import numerai_tools.signals as original
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutralkit.compat.numerai_tools import signals as compat

TOL = 1e-12
seeds = st.integers(0, 2**20)


def _tickers(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array([f"T{i:05d}" for i in rng.choice(10 * n, n, replace=False)])


def _outcome(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs), None
        except (AssertionError, ValueError, KeyError) as exc:
            return None, type(exc)


def _same(name, *args, **kwargs):
    expected, e_err = _outcome(getattr(original, name), *args, **kwargs)
    got, g_err = _outcome(getattr(compat, name), *args, **kwargs)
    assert e_err == g_err, f"{name}: original raised {e_err}, compat raised {g_err}"
    if e_err is None:
        np.testing.assert_allclose(np.asarray(got, float), np.asarray(expected, float), atol=TOL)
    return e_err


def _pair(seed: int, n: int = 120, overlap: int = 110, ties: bool = False):
    rng = np.random.default_rng(seed)
    ids = _tickers(rng, n + (n - overlap))
    a = pd.Series(rng.normal(size=n), index=ids[:n], name="signal")
    b = pd.Series(
        a.to_numpy()[:overlap] * 0.7 + rng.normal(size=overlap) * 0.5,
        index=ids[:overlap],
        name="signal",
    )
    b = pd.concat([b, pd.Series(rng.normal(size=n - overlap), index=ids[n:], name="signal")])
    if ties:
        a, b = a.round(1), b.round(1)
    return a.sample(frac=1, random_state=seed), b


@settings(max_examples=30)
@given(seeds, st.sampled_from([None, 0, 1, 10, 30]), st.sampled_from([120, 100, 80]), st.booleans())
def test_churn(seed, top_bottom, overlap, ties):
    a, b = _pair(seed, overlap=overlap, ties=ties)
    _same("churn", a, b, top_bottom=top_bottom)


def test_churn_asserts_like_the_original():
    a, b = _pair(1)
    assert _same("churn", a, pd.Series(0.5, index=b.index)) is AssertionError  # constant
    assert _same("churn", a, b.iloc[:50]) is AssertionError  # too few common ids


def test_churn_hand_checked():
    a = pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd"))
    b = pd.Series([4.0, 3.0, 2.0, 1.0], index=list("abcd"))
    assert compat.churn(a, a) == pytest.approx(0.0, abs=1e-15)
    assert compat.churn(a, b) == pytest.approx(2.0)
    # top/bottom 1: "d" stays on top in a; b's top is "a": no overlap, bottom likewise
    assert compat.churn(a, b, top_bottom=1) == 1.0
    assert compat.churn(a, a.rename(None), top_bottom=2) == 0.0


@settings(max_examples=30)
@given(seeds, st.sampled_from([120, 100]))
def test_turnover(seed, overlap):
    a, b = _pair(seed, overlap=overlap)
    _same("turnover", a / a.abs().sum(), b / b.abs().sum())


def test_turnover_hand_checked():
    a = pd.Series([0.5, -0.5, 0.0], index=["x", "y", "z"])
    b = pd.Series([0.25, -0.25, 0.0], index=["z", "y", "x"])
    # matched by id: x 0.5 vs 0, y -0.5 vs -0.25, z 0 vs 0.25 -> (0.5 + 0.25 + 0.25) / 2
    assert compat.turnover(a, b) == pytest.approx(0.5)


def _era(rng: np.random.Generator, ids: np.ndarray, k: int = 3):
    q, _ = np.linalg.qr(rng.normal(size=(len(ids), k)))
    index = pd.Index(ids, name="numerai_ticker")
    neutralizers = pd.DataFrame(q, index=index)
    weights = pd.Series(rng.uniform(0.5, 1.5, len(ids)), index=index, name="weight")
    return neutralizers, weights


@settings(max_examples=15)
@given(seeds)
def test_neutral_churn(seed):
    rng = np.random.default_rng(seed)
    a, b = _pair(seed, overlap=110)
    n1, _ = _era(rng, a.index.to_numpy())
    n2, _ = _era(rng, b.index.to_numpy())
    _same("neutral_churn", a, b, n1, n2)


@settings(max_examples=30)
@given(
    st.floats(0, 2),
    st.floats(0, 2),
    st.floats(0.01, 1000),
)
def test_neutral_churn_penalty(churn, threshold, scaling):
    _same("neutral_churn_penalty", churn, threshold, scaling)


def test_neutral_churn_penalty_hand_checked_and_bad_input():
    assert compat.neutral_churn_penalty(0.05) == 1.0
    # 2 / (1 + e^(10 * 0.1)) = 2 / (1 + e)
    assert compat.neutral_churn_penalty(0.2) == pytest.approx(2 / (1 + np.e), rel=1e-15)
    assert compat.neutral_churn_penalty(2.0, 0.0, 1e6) == 0.0  # no overflow
    for args in ((np.nan,), (2.5,), (0.5, -0.1), (0.5, 0.1, 0.0)):
        assert _same("neutral_churn_penalty", *args) is AssertionError


def _submissions(seed: int, n_prev: int):
    """A current Signals submission and ``n_prev`` previous ones, each with its era's
    neutralizers and sample weights over that era's full universe."""
    rng = np.random.default_rng(seed)
    universe = _tickers(rng, 160)
    current_ids = rng.choice(universe, 140, replace=False)
    current = pd.Series(
        rng.uniform(0, 1, len(current_ids)),
        index=pd.Index(current_ids, name="numerai_ticker"),
        name="signal",
    )
    n_cur, w_cur = _era(rng, universe)
    prev_subs, prev_n, prev_w = {}, {}, {}
    for i in range(n_prev):
        era_universe = np.union1d(rng.choice(universe, 150, replace=False), _tickers(rng, 5))
        ids = rng.choice(era_universe, 130, replace=False)
        values = rng.uniform(0, 1, len(ids))
        shared = current.reindex(ids).to_numpy()
        values = np.where(np.isnan(shared), values, 0.8 * shared + 0.2 * values)
        date = f"2026-0{i + 1}-02"
        prev_subs[date] = pd.Series(
            values, index=pd.Index(ids, name="numerai_ticker"), name="signal"
        )
        prev_n[date], prev_w[date] = _era(rng, era_universe)
    return current, n_cur, w_cur, prev_subs, prev_n, prev_w


@settings(max_examples=8)
@given(seeds, st.integers(0, 3))
def test_calculate_max_churn_and_turnover(seed, n_prev):
    args = _submissions(seed, n_prev)
    expected, e_err = _outcome(original.calculate_max_churn_and_turnover, *args)
    got, g_err = _outcome(compat.calculate_max_churn_and_turnover, *args)
    assert e_err == g_err
    if e_err is None:
        np.testing.assert_allclose(got, expected, atol=TOL)
        if n_prev == 0:
            assert got == (1.0, 1.0)


@settings(max_examples=8)
@given(seeds, st.integers(0, 3))
def test_calculate_mean_neutral_churn(seed, n_prev):
    args = _submissions(seed, n_prev)
    expected, e_err = _outcome(original.calculate_mean_neutral_churn, *args)
    got, g_err = _outcome(compat.calculate_mean_neutral_churn, *args)
    assert e_err == g_err
    if e_err is None:
        assert got == pytest.approx(expected, abs=TOL)


def test_inputs_not_modified():
    current, n_cur, w_cur, prev_subs, prev_n, prev_w = _submissions(3, 2)
    before = [current.copy(), n_cur.copy(), w_cur.copy()]
    before_prev = {d: s.copy() for d, s in prev_subs.items()}
    compat.calculate_max_churn_and_turnover(current, n_cur, w_cur, prev_subs, prev_n, prev_w)
    compat.calculate_mean_neutral_churn(current, n_cur, w_cur, prev_subs, prev_n, prev_w)
    for a, b in zip(before, (current, n_cur, w_cur), strict=True):
        assert a.equals(b)
    for d, s in prev_subs.items():
        assert s.equals(before_prev[d])
