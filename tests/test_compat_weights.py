"""compat scoring functions new in the package (contribution_scores, one_hot_encode,
generate_neutralized_weights, alpha, meta_portfolio_contribution) vs numerai-tools
0.7.2, on data of our own."""

from __future__ import annotations

import warnings

import numerai_tools.scoring as original
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutralkit.compat.numerai_tools import scoring as compat

TOL = 1e-12


def _universe(seed: int, n: int = 60, m: int = 3, k: int = 4, ties: bool = False):
    """Sorted ids, predictions, orthonormal neutralizers (as Numerai ships them),
    positive sample weights, a float32 bucket target."""
    rng = np.random.default_rng(seed)
    index = pd.Index(np.sort(rng.choice(10 * n, n, replace=False)), name="id")
    preds = pd.DataFrame(rng.normal(size=(n, m)), index=index, columns=[f"u{j}" for j in range(m)])
    if ties:
        preds = preds.round(1)
    q, _ = np.linalg.qr(rng.normal(size=(n, k)))
    neutralizers = pd.DataFrame(q, index=index, columns=[f"n{j}" for j in range(k)])
    weights = pd.Series(rng.uniform(0.2, 2.0, n), index=index, name="weight")
    target = pd.Series(rng.integers(0, 5, n) / 4, index=index, name="target", dtype=np.float32)
    return preds, neutralizers, weights, target


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _outcome(fn, *args, **kwargs):
    try:
        return _quiet(fn, *args, **kwargs), None
    except (AssertionError, ValueError, KeyError) as exc:
        return None, type(exc)


seeds = st.integers(0, 2**20)


@settings(max_examples=25)
@given(seeds, st.booleans(), st.booleans())
def test_generate_neutralized_weights(seed, normalize, ties):
    preds, n, v, _ = _universe(seed, ties=ties)
    expected = original.generate_neutralized_weights(preds, n, v, normalize)
    got = compat.generate_neutralized_weights(preds, n, v, normalize)
    pd.testing.assert_frame_equal(got, expected, atol=TOL, rtol=0)


@settings(max_examples=15)
@given(seeds, st.integers(1, 10))
def test_generate_neutralized_weights_when_some_ids_lack_neutralizers(seed, drop):
    # the original ranks over every prediction id, then keeps the ids all three share
    preds, n, v, _ = _universe(seed)
    expected = original.generate_neutralized_weights(preds, n.iloc[drop:], v)
    got = compat.generate_neutralized_weights(preds, n.iloc[drop:], v)
    pd.testing.assert_frame_equal(got, expected, atol=TOL, rtol=0)


def test_generate_neutralized_weights_asserts_like_the_original():
    preds, n, v, _ = _universe(1)
    bad = preds.copy()
    bad.iloc[3, 1] = np.nan
    for args in ((bad, n, v), (preds.iloc[::-1], n, v), (preds, n, v.iloc[:20])):
        (_, e_err), (_, g_err) = (
            _outcome(original.generate_neutralized_weights, *args),
            _outcome(compat.generate_neutralized_weights, *args),
        )
        assert e_err is AssertionError
        assert g_err is AssertionError


@settings(max_examples=25)
@given(seeds, st.booleans(), st.integers(0, 8))
def test_alpha(seed, float32_target, extra_targets):
    preds, n, v, target = _universe(seed)
    if not float32_target:
        target = target.astype(np.float64)
    if extra_targets:
        # ids with a target and no prediction: the original centres over them too
        more = pd.Series(
            np.ones(extra_targets, dtype=target.dtype),
            index=pd.Index(10**6 + np.arange(extra_targets), name="id"),
            name="target",
        )
        target = pd.concat([target, more])
    (expected, e_err), (got, g_err) = (
        _outcome(original.alpha, preds, n, v, target),
        _outcome(compat.alpha, preds, n, v, target),
    )
    assert e_err == g_err
    if e_err is None:
        pd.testing.assert_series_equal(got, expected, atol=TOL, rtol=0)


@settings(max_examples=25)
@given(
    seeds,
    st.booleans(),
    st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0, np.nan]), min_size=3, max_size=3),
)
def test_meta_portfolio_contribution(seed, float32_target, stake_values):
    preds, n, v, target = _universe(seed, m=4)
    if not float32_target:
        target = target.astype(np.float64)
    stakes = pd.Series(stake_values, index=["u2", "u0", "u3"])
    (expected, e_err), (got, g_err) = (
        _outcome(original.meta_portfolio_contribution, preds, stakes, n, v, target),
        _outcome(compat.meta_portfolio_contribution, preds, stakes, n, v, target),
    )
    assert e_err == g_err
    if e_err is None:
        assert got.index.equals(expected.index)
        np.testing.assert_allclose(got, expected, atol=TOL, rtol=1e-9)


def test_meta_portfolio_contribution_stakes_naming_no_column():
    preds, n, v, target = _universe(2)
    stakes = pd.Series([1.0], index=["nobody"])
    with pytest.raises(KeyError):
        _quiet(original.meta_portfolio_contribution, preds, stakes, n, v, target)
    with pytest.raises(KeyError):
        compat.meta_portfolio_contribution(preds, stakes, n, v, target)


@settings(max_examples=25)
@given(seeds, st.sampled_from([None, 0, 4, 15]), st.booleans())
def test_contribution_scores(seed, top_bottom, float32_target):
    preds, _, _, target = _universe(seed)
    if not float32_target:
        target = target.astype(np.float64)
    rng = np.random.default_rng(seed)
    neutral = rng.normal(size=preds.shape)
    expected = original.contribution_scores(neutral, target, preds, top_bottom)
    got = compat.contribution_scores(neutral, target, preds, top_bottom)
    pd.testing.assert_series_equal(got, expected, atol=TOL, rtol=0)


def test_contribution_scores_with_nan_and_missing_target_ids():
    # top_bottom goes through the original's id matching: missing products count as 0
    preds, _, _, target = _universe(7)
    rng = np.random.default_rng(7)
    neutral = rng.normal(size=preds.shape)
    with_nan = neutral.copy()
    with_nan[[2, 9], 1] = np.nan
    shorter = target.iloc[5:]
    outcomes = []
    for x, t in ((with_nan, target), (neutral, shorter), (neutral, target.iloc[::-1])):
        (expected, e_err), (got, g_err) = (
            _outcome(original.contribution_scores, x, t, preds, 10),
            _outcome(compat.contribution_scores, x, t, preds, 10),
        )
        assert e_err == g_err
        outcomes.append(e_err)
        if e_err is None:
            pd.testing.assert_series_equal(got, expected, atol=TOL, rtol=0)
    assert outcomes[2] is None  # ids matched by label: a reversed target is fine


@settings(max_examples=20)
@given(
    st.lists(st.sampled_from([3, 1, 2, -1]), min_size=1, max_size=12),
    st.lists(st.sampled_from(["x", "b", "y"]), min_size=1, max_size=12),
    st.sampled_from([np.float64, np.float32, int]),
)
def test_one_hot_encode(ints, labels, dtype):
    n = min(len(ints), len(labels))
    df = pd.DataFrame(
        {
            "a": ints[:n],
            "b": labels[:n],
            "c": np.array(ints[:n], dtype=np.float32) / 4,
            "d": np.array(ints[:n], dtype=np.int8),
        },
        index=pd.Index(np.arange(n) * 7 + 3),
    )
    df.loc[df.index[0], "c"] = np.nan
    for columns in (["a"], ["b"], ["c"], ["d"], ["a", "b", "c"], []):
        expected = original.one_hot_encode(df, columns, dtype)
        got = compat.one_hot_encode(df, columns, dtype)
        pd.testing.assert_frame_equal(got, expected)


def test_one_hot_encode_hand_checked():
    df = pd.DataFrame({"era": [2, 1, 2], "x": [0.5, 0.1, 0.2]}, index=[10, 20, 30])
    got = compat.one_hot_encode(df, ["era"])
    assert list(got.columns) == ["x", "era_1", "era_2"]
    assert got[["era_1", "era_2"]].to_numpy().tolist() == [[0, 1], [1, 0], [0, 1]]
    assert list(got.index) == [10, 20, 30]
    assert list(df.columns) == ["era", "x"]  # input untouched


@settings(max_examples=20)
@given(seeds, st.sampled_from(["average", "min", "max", "first", "dense"]), st.booleans())
def test_rank_series(seed, method, ties):
    preds, _, _, _ = _universe(seed, ties=ties)
    s = preds["u1"]
    s.iloc[3] = np.nan  # NaN stays NaN and is left out of the count
    expected = original.rank_series(s, method)
    pd.testing.assert_series_equal(compat.rank_series(s, method), expected, atol=TOL, rtol=0)
    (_, e_err), (_, g_err) = (
        _outcome(original.rank_series, s.iloc[::-1]),
        _outcome(compat.rank_series, s.iloc[::-1]),
    )
    assert e_err is AssertionError  # unsorted index
    assert g_err is AssertionError
