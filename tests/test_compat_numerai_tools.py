"""neutralkit.compat.numerai_tools vs numerai_tools.scoring 0.7.2, one by one."""

from __future__ import annotations

import warnings

import numerai_tools.scoring as original
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutralkit.compat import numerai_tools as compat

TOL = 1e-9


def _data(seed: int, n: int = 80, m: int = 3, k: int = 6, nan: bool = True, ties: bool = False):
    rng = np.random.default_rng(seed)
    index = pd.Index(rng.permutation(n) * 3 + 7, name="id")  # unsorted ids
    preds = pd.DataFrame(rng.normal(size=(n, m)), index=index, columns=[f"m{j}" for j in range(m)])
    if ties:
        preds = preds.round(1)
    if nan:
        preds.iloc[rng.integers(n), rng.integers(m)] = np.nan
    target = pd.Series(rng.integers(0, 5, n) / 4, index=index, name="target")
    meta = pd.Series(rng.normal(size=n), index=index, name="meta_model")
    feats = pd.DataFrame(
        rng.integers(0, 5, (n, k)).astype(np.int8),
        index=index.sort_values(),
        columns=[f"feature_{j}" for j in range(k)],
    )
    return preds, target, meta, feats


def _call(module, name, *args, **kwargs):
    """(result, None) or (None, exception type); warnings of the original silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return getattr(module, name)(*args, **kwargs), None
        except (AssertionError, ValueError, KeyError, np.linalg.LinAlgError) as exc:
            return None, type(exc)


def _same(name, *args, **kwargs):
    expected, e_err = _call(original, name, *args, **kwargs)
    got, g_err = _call(compat, name, *args, **kwargs)
    assert e_err == g_err, f"{name}: original raised {e_err}, compat raised {g_err}"
    if e_err is not None:
        return e_err
    if isinstance(expected, tuple):
        assert got[0] == expected[0]
        assert got[1] == pytest.approx(expected[1], abs=TOL)
    elif isinstance(expected, (pd.Series, pd.DataFrame)):
        assert type(got) is type(expected)
        assert got.index.equals(expected.index)
        if isinstance(expected, pd.DataFrame):
            assert got.columns.equals(expected.columns)
        np.testing.assert_allclose(
            np.asarray(got, dtype=float),
            np.asarray(expected, dtype=float),
            atol=TOL,
            rtol=0,
        )
    else:
        np.testing.assert_allclose(np.asarray(got, float), np.asarray(expected, float), atol=TOL)
    return None


seeds = st.integers(0, 2**20)
tb = st.sampled_from([None, 0, 5, 20])


@settings(max_examples=30)
@given(seeds, tb, st.booleans(), st.booleans())
def test_numerai_corr(seed, top_bottom, pow15, ties):
    preds, target, _, _ = _data(seed, ties=ties)
    assert _same("numerai_corr", preds, target, top_bottom=top_bottom, target_pow15=pow15) is None


@settings(max_examples=25)
@given(seeds, tb)
def test_correlation_contribution(seed, top_bottom):
    preds, target, meta, _ = _data(seed)
    assert _same("correlation_contribution", preds, meta, target, top_bottom=top_bottom) is None


@settings(max_examples=25)
@given(seeds, tb)
def test_neutral_contribution(seed, top_bottom):
    preds, target, meta, feats = _data(seed)
    assert _same("neutral_contribution", preds, meta, feats, target, top_bottom=top_bottom) is None


@settings(max_examples=25)
@given(seeds, tb, st.booleans())
def test_feature_neutral_corr(seed, top_bottom, sort):
    preds, target, _, feats = _data(seed, nan=False)
    if sort:
        preds = preds.sort_index()  # the original needs it; unsorted must fail alike
    err = _same(
        "feature_neutral_corr",
        preds,
        feats.loc[preds.index],
        target,
        top_bottom=top_bottom,
    )
    assert (err is None) == sort


@settings(max_examples=25)
@given(seeds, tb)
def test_neutral_correlation(seed, top_bottom):
    preds, target, _, feats = _data(seed)
    assert _same("neutral_correlation", preds, feats, target, top_bottom=top_bottom) is None


@settings(max_examples=25)
@given(seeds, tb)
def test_max_feature_correlation(seed, top_bottom):
    preds, _, _, feats = _data(seed, nan=False)
    s = preds["m0"].sort_index()
    assert _same("max_feature_correlation", s, feats, top_bottom=top_bottom) is None


@settings(max_examples=25)
@given(seeds, st.sampled_from([1.0, 0.5, 0.0]), st.booleans())
def test_neutralize(seed, proportion, constant_column):
    preds, _, _, feats = _data(seed, nan=False)
    preds = preds.sort_index()
    if constant_column:
        preds["m1"] = 0.3
    _same("neutralize", preds, feats, proportion=proportion)


@settings(max_examples=20)
@given(seeds, st.booleans())
def test_stake_weight(seed, with_nan):
    preds, _, _, _ = _data(seed, nan=with_nan)
    stakes = pd.Series([2.0, 0.5], index=["m2", "m0"])
    assert _same("stake_weight", preds, stakes) is None


@settings(max_examples=20)
@given(seeds, st.booleans(), st.booleans())
def test_ranks_and_gaussian(seed, ties, sort):
    preds, _, _, _ = _data(seed, ties=ties)
    if sort:
        preds = preds.sort_index()
    for name in ("rank", "tie_kept_rank", "tie_broken_rank"):
        _same(name, preds)
    _same("rank", preds["m0"], method="first")
    _same("rank", preds, method="dense")
    ranked = original.rank(preds.sort_index())
    _same("gaussian", ranked)
    _same("gaussian", ranked.iloc[::-1])


@settings(max_examples=20)
@given(seeds, st.sampled_from([1.5, 0.5, 2.0]))
def test_power(seed, p):
    preds, _, _, _ = _data(seed, nan=False)
    _same("power", preds.sort_index(), p)
    _same("power", preds, p)  # unsorted: both assert


def test_power_asserts_on_nan():
    preds, _, _, _ = _data(1, nan=True)
    _same("power", preds.sort_index(), 1.5)


@settings(max_examples=20)
@given(seeds)
def test_orthogonalize(seed):
    preds, _, meta, _ = _data(seed, nan=False)
    _same("orthogonalize", preds.to_numpy(), meta.to_numpy())
    _same("orthogonalize", preds["m0"].to_numpy(), meta.to_numpy())  # 1-D: (n, n)


@settings(max_examples=20)
@given(seeds, tb)
def test_pearson_spearman(seed, top_bottom):
    preds, target, _, _ = _data(seed, nan=False, ties=True)
    t, p = target.sort_index(), preds["m1"].sort_index()
    _same("pearson_correlation", t, p, top_bottom=top_bottom)
    _same("spearman_correlation", t, p)
    _same("pearson_correlation", target, preds["m1"])  # unsorted: both assert
    _same("correlation", t, p)
    _same("tie_broken_rank_correlation", t, p)


@settings(max_examples=20)
@given(st.lists(st.integers(-50, 50).map(lambda v: v / 100), min_size=2, max_size=30))
def test_sharpe_ratio(values):
    s = pd.Series(values)
    s.iloc[0] = np.nan
    _same("sharpe_ratio", s)


@settings(max_examples=20)
@given(seeds, st.sampled_from([0.2, 0.0, 0.5]), st.integers(0, 30))
def test_filter_sort_index(seed, ratio, drop):
    preds, target, _, _ = _data(seed)
    target = target.iloc[drop:]
    e, e_err = _call(original, "filter_sort_index", target, preds, ratio)
    g, g_err = _call(compat, "filter_sort_index", target, preds, ratio)
    assert e_err == g_err
    if e_err is None:
        pd.testing.assert_series_equal(g[0], e[0])
        pd.testing.assert_frame_equal(g[1], e[1])


def test_numerai_corr_centres_target_before_filtering():
    """The original centres on every target id, also those missing from preds."""
    preds, target, _, _ = _data(3, nan=False)
    extra = pd.Series([5.0] * 10, index=pd.Index(range(10**6, 10**6 + 10)), name="target")
    _same("numerai_corr", preds, pd.concat([target, extra]))


def test_unnamed_target_works_where_the_original_fails():
    preds, target, _, _ = _data(4, nan=False)
    unnamed = target.rename(None)
    with pytest.raises(KeyError):
        original.numerai_corr(preds, unnamed)
    named = compat.numerai_corr(preds, target)
    pd.testing.assert_series_equal(compat.numerai_corr(preds, unnamed), named)


def test_inputs_not_modified():
    preds, target, meta, feats = _data(5, nan=False)
    copies = [x.copy() for x in (preds, target, meta, feats)]
    compat.numerai_corr(preds, target)
    compat.neutral_contribution(preds, meta, feats, target)
    compat.neutralize(preds.sort_index(), feats)
    for before, after in zip(copies, (preds, target, meta, feats), strict=True):
        assert before.equals(after)


@settings(max_examples=15)
@given(seeds, st.booleans())
def test_remaining_helpers(seed, sort):
    preds, target, meta, feats = _data(seed, nan=False, ties=True)
    if sort:
        preds, target = preds.sort_index(), target.sort_index()
    for name in ("min_max_normalize", "center", "weight_normalize"):
        _same(name, preds["m0"])
    for name in ("variance_normalize", "standardize", "center", "weight_normalize"):
        _same(name, preds)
    _same("tie_kept_rank__gaussianize__pow_1_5", preds)
    _same(
        "tie_kept_rank__gaussianize__neutralize__variance_normalize",
        preds,
        feats.loc[preds.index],
    )
    _same("validate_indices", target, preds["m2"])
    top = _call(original, "filter_sort_top_bottom", preds["m1"], 7)[0]
    got = compat.filter_sort_top_bottom(preds["m1"], 7)
    for a, b in zip(got, top, strict=True):
        pd.testing.assert_series_equal(a, b)
    pd.testing.assert_series_equal(
        compat.filter_sort_top_bottom_concat(preds["m1"], 7),
        original.filter_sort_top_bottom_concat(preds["m1"], 7),
    )
    many = [target.iloc[3:], preds, meta.iloc[:-2]]
    e, e_err = _call(original, "filter_sort_index_many", many)
    g, g_err = _call(compat, "filter_sort_index_many", many)
    assert e_err == g_err
    if e is not None:
        for a, b in zip(g, e, strict=True):
            assert a.equals(b)
