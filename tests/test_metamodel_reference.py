"""neutralkit.metamodel against its reference twin (literal loops, lstsq, np.cov)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk
import neutralkit.reference as ref

TOL = 1e-9


def _case(seed: int, n_eras: int, max_rows: int, n_users: int, ties: bool):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, max_rows + 1, size=n_eras)
    eras = rng.permutation(np.repeat(np.arange(n_eras) * 7 + 3, sizes))
    n = len(eras)
    if ties:  # Numerai-like: a few levels, ties within every column
        preds = rng.integers(0, 5, size=(n, n_users)) / 4.0
        preds[:, 0] = rng.random(n)  # and at least one tie-free user
    else:
        preds = rng.normal(size=(n, n_users))
    target = rng.integers(0, 5, size=n) / 4.0
    # continuous stakes: distinct users' ranks never sum to the same metamodel value
    stakes = rng.uniform(0.1, 10.0, size=n_users)
    return rng, preds, target, stakes, eras


def _close(a, b, tol=TOL):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    scale = max(1.0, float(np.nanmax(np.abs(b))) if np.isfinite(b).any() else 1.0)
    assert np.nanmax(np.abs(a - b), initial=0.0) <= tol * scale


cases = st.tuples(
    st.integers(0, 2**32 - 1),  # seed
    st.integers(1, 3),  # eras
    st.integers(3, 10),  # max rows per era
    st.integers(1, 5),  # users
    st.booleans(),  # ties
)


@settings(max_examples=40)
@given(
    case=cases,
    bags=st.sampled_from([None, 1, 3, "mask"]),
    method=st.sampled_from(["average", "first"]),
    preset=st.sampled_from([None, "legacy"]),
    scale=st.sampled_from([0.29**2, "exact", 1.0]),
    fraction=st.sampled_from([0.5, 1.0, 0.3]),
    use_eras=st.booleans(),
)
def test_mmc_stakes_matches_reference(case, bags, method, preset, scale, fraction, use_eras):
    rng, preds, target, stakes, eras = _case(*case)
    if bags == "mask":
        bags = rng.random((4, preds.shape[1])) < 0.6
        bags[:, 0] = True  # no empty bag
    if not use_eras:
        eras = None
    if round(fraction * preds.shape[1]) < 1:
        fraction = 1.0
    kwargs = dict(
        stakes=stakes,
        eras=eras,
        bags=bags,
        fraction=fraction,
        seed=case[0],
        method=method,
        preset=preset,
        scale=scale,
    )
    expected = ref.mmc(preds, target, **kwargs)
    got = nk.mmc(preds, target, n_threads=1, **kwargs)
    assert type(got) is type(expected)
    _close(got, expected)


@settings(max_examples=40)
@given(
    case=cases,
    method=st.sampled_from(["average", "first", "ordinal"]),
    preset=st.sampled_from([None, "legacy"]),
    use_eras=st.booleans(),
)
def test_mmc_given_metamodel_matches_reference(case, method, preset, use_eras):
    rng, preds, target, _, eras = _case(*case)
    metamodel = rng.integers(0, 7, size=len(target)).astype(float)
    metamodel[:2] = [0.0, 6.0]  # not constant in the era(s) below
    if use_eras:
        for label in np.unique(eras):
            rows = np.flatnonzero(eras == label)
            metamodel[rows[:2]] = [0.0, 6.0]
    else:
        eras = None
    kwargs = dict(metamodel=metamodel, eras=eras, method=method, preset=preset)
    _close(nk.mmc(preds, target, **kwargs), ref.mmc(preds, target, **kwargs))


@settings(max_examples=30)
@given(
    case=cases,
    bags=st.sampled_from([None, 2, "mask"]),
    method=st.sampled_from(["average", "first"]),
    zero_stake=st.booleans(),
    use_eras=st.booleans(),
)
def test_mmc_loo_matches_reference(case, bags, method, zero_stake, use_eras):
    rng, preds, target, stakes, eras = _case(*case)
    target = rng.normal(size=len(target))  # never constant in an era
    n_users = preds.shape[1]
    if zero_stake and n_users > 1:
        stakes[-1] = 0.0
    if bags == "mask":
        bags = rng.random((3, n_users)) < 0.5
        bags[:, 0] = True
    if not use_eras:
        eras = None
    fraction = 0.5 if n_users > 1 else 1.0
    kwargs = dict(eras=eras, bags=bags, method=method, seed=case[0], fraction=fraction)
    try:
        expected = ref.mmc_loo(preds, target, stakes, **kwargs)
    except ValueError:  # a bag of zero-stake users only: both refuse it
        with pytest.raises(ValueError, match="zero total stake"):
            nk.mmc_loo(preds, target, stakes, **kwargs)
        return
    _close(nk.mmc_loo(preds, target, stakes, **kwargs), expected)


@settings(max_examples=30)
@given(case=cases, method=st.sampled_from(["average", "first"]), use_eras=st.booleans())
def test_stake_weighted_metamodel_matches_reference(case, method, use_eras):
    _, preds, _, stakes, eras = _case(*case)
    if not use_eras:
        eras = None
    got = nk.stake_weighted_metamodel(preds, stakes, eras=eras, method=method)
    expected = ref.stake_weighted_metamodel(preds, stakes, eras=eras, method=method)
    _close(got, expected, tol=1e-12)


@settings(max_examples=30)
@given(
    case=cases,
    method=st.sampled_from(["average", "first"]),
    use_eras=st.booleans(),
    missing=st.sampled_from([0.0, 0.2, 0.6]),
)
def test_stake_weighted_metamodel_omit_matches_reference(case, method, use_eras, missing):
    rng, preds, _, stakes, eras = _case(*case)
    if not use_eras:
        eras = None
    preds = preds.astype(np.float64)
    preds[rng.random(preds.shape) < missing] = np.nan
    before = preds.copy()
    got = nk.stake_weighted_metamodel(preds, stakes, eras=eras, method=method, nan_policy="omit")
    expected = ref.stake_weighted_metamodel(
        preds, stakes, eras=eras, method=method, nan_policy="omit"
    )
    np.testing.assert_array_equal(preds, before)
    _close(got, expected, tol=1e-12)
    if missing == 0.0:  # no NaN: the same as the default policy
        _close(got, nk.stake_weighted_metamodel(preds, stakes, eras=eras, method=method), 0)


def test_bags_drawn_are_the_documented_ones():
    """An int bags= equals the explicit mask drawn with default_rng(seed)."""
    _rng, preds, target, stakes, _ = _case(5, 1, 30, 9, False)
    n_users = preds.shape[1]
    draw = np.random.default_rng(11)
    mask = np.zeros((6, n_users), dtype=bool)
    for b in range(6):
        mask[b, draw.choice(n_users, size=round(0.5 * n_users), replace=False)] = True
    by_count = nk.mmc(preds, target, stakes=stakes, bags=6, seed=11)
    by_mask = nk.mmc(preds, target, stakes=stakes, bags=mask)
    np.testing.assert_array_equal(by_count.to_numpy(), by_mask.to_numpy())
    other_seed = nk.mmc(preds, target, stakes=stakes, bags=6, seed=12)
    assert not np.allclose(other_seed.to_numpy(), by_mask.to_numpy())


def test_bagged_score_is_mean_of_single_bag_scores():
    rng, preds, target, stakes, eras = _case(8, 2, 20, 7, True)
    mask = rng.random((5, 7)) < 0.5
    mask[:, 3] = True
    whole = nk.mmc(preds, target, stakes=stakes, bags=mask, eras=eras)
    singles = [
        nk.mmc(preds, target, stakes=stakes, bags=mask[b : b + 1], eras=eras) for b in range(5)
    ]
    _close(whole, sum(singles) / 5, tol=1e-13)


def test_pandas_in_pandas_out():
    _rng, preds, target, stakes, eras = _case(3, 3, 12, 4, True)
    index = pd.Index([f"id{i}" for i in range(len(target))], name="id")
    frame = pd.DataFrame(preds, index=index, columns=["a", "b", "c", "d"])
    t = pd.Series(target, index=index)
    named = pd.Series(stakes, index=["a", "b", "c", "d"])
    era_series = pd.Series(eras, index=index, name="era")
    got = nk.mmc(frame, t, stakes=named, eras=era_series)
    assert isinstance(got, pd.DataFrame)
    assert list(got.columns) == ["a", "b", "c", "d"]
    assert list(got.index) == sorted(set(eras))
    plain = nk.mmc(preds, target, stakes=stakes, eras=eras)
    np.testing.assert_array_equal(got.to_numpy(), plain.to_numpy())
    assert list(plain.columns) == [0, 1, 2, 3]
    single = nk.mmc(frame, t, stakes=named)
    assert isinstance(single, pd.Series)
    assert list(single.index) == ["a", "b", "c", "d"]
    meta = nk.stake_weighted_metamodel(frame, named, eras=era_series)
    assert isinstance(meta, pd.Series) and meta.index.equals(index)
    meta_np = nk.stake_weighted_metamodel(preds, stakes, eras=eras)
    assert isinstance(meta_np, np.ndarray) and meta_np.shape == (len(target),)
    np.testing.assert_array_equal(meta.to_numpy(), meta_np)


def test_named_stakes_subset_means_zero_stake():
    _, preds, target, _stakes, _ = _case(4, 1, 25, 4, False)
    frame = pd.DataFrame(preds, columns=list("abcd"))
    partial = nk.mmc(frame, target, stakes={"a": 2.0, "c": 1.0})
    full = nk.mmc(frame, target, stakes=pd.Series([2.0, 0.0, 1.0, 0.0], index=list("abcd")))
    np.testing.assert_array_equal(partial.to_numpy(), full.to_numpy())


def test_dtypes_agree():
    rng = np.random.default_rng(2)
    preds = rng.integers(-50, 50, size=(40, 3))
    target = rng.random(40)
    stakes = np.array([1, 2, 3])
    expected = nk.mmc(preds.astype(float), target, stakes=stakes.astype(float))
    for dtype in (np.int8, np.int16, np.int32, np.int64, np.float32):
        got = nk.mmc(preds.astype(dtype), target, stakes=stakes)
        np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    got = nk.mmc(np.asfortranarray(preds.astype(float)), target, stakes=stakes)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


@settings(max_examples=40)
@given(
    case=cases,
    method=st.sampled_from(["average", "first"]),
    near_ties=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32, np.int8, np.int64]),
)
def test_user_rank_codes_match_scoring_rank(case, method, near_ties, dtype):
    """The rank codes kept by mmc, divided by 2 n, equal scoring.rank bit for bit."""
    from neutralkit._validate import eras_of
    from neutralkit.metamodel import _UserRanks

    rng, preds, _, _, eras = _case(*case)
    if near_ties:  # values that differ only in the last mantissa bits
        preds = 1.0 + rng.integers(0, 40, size=preds.shape) * 2.0**-52
    values = (preds * 4).astype(dtype) if dtype in (np.int8, np.int64) else preds.astype(dtype)
    ranks = _UserRanks(values, eras_of(eras, len(eras)), method, 2)
    assert ranks.codes.dtype == np.uint16
    expected = nk.rank(values, eras=eras, method=method)
    np.testing.assert_array_equal(ranks.codes.T / ranks.two_n[:, None], expected)


@settings(max_examples=30)
@given(
    case=cases,
    bags=st.sampled_from([None, 2, "metamodel"]),
    method=st.sampled_from(["average", "first"]),
    preset=st.sampled_from([None, "legacy"]),
    missing=st.sampled_from([0.0, 0.15, 0.4]),
    use_eras=st.booleans(),
)
def test_mmc_omit_matches_reference(case, bags, method, preset, missing, use_eras):
    seed, n_eras, max_rows, n_users, _ = case
    # continuous predictions: with NaN, each row's metamodel renormalizes its weights, so
    # tied ranks would give metamodel values equal only up to rounding
    rng, preds, target, stakes, eras = _case(seed, n_eras, max_rows + 3, n_users, False)
    preds[rng.random(preds.shape) < missing] = np.nan
    target[rng.random(len(target)) < missing / 3] = np.nan
    kwargs = dict(eras=eras if use_eras else None, method=method, preset=preset)
    if bags == "metamodel":
        kwargs["metamodel"] = rng.normal(size=len(target))
    else:
        fraction = 0.5 if n_users > 1 else 1.0
        kwargs.update(stakes=stakes, bags=bags, seed=seed, fraction=fraction)
    try:
        expected = ref.mmc(preds, target, nan_policy="omit", **kwargs)
    except ValueError:  # a bag of zero total stake: both refuse it
        with pytest.raises(ValueError):
            nk.mmc(preds, target, nan_policy="omit", **kwargs)
        return
    _close(nk.mmc(preds, target, nan_policy="omit", **kwargs), expected)


def test_mmc_omit_scores_each_user_on_its_own_rows():
    rng = np.random.default_rng(17)
    n = 400
    preds = rng.normal(size=(n, 3))
    target = preds[:, 0] + rng.normal(size=n)
    metamodel = preds.mean(axis=1) + 0.1 * rng.normal(size=n)
    holes = rng.random(n) < 0.2
    with_nan = preds.copy()
    with_nan[holes, 1] = np.nan
    got = nk.mmc(with_nan, target, metamodel=metamodel, nan_policy="omit")
    # user 1 equals itself scored alone on its rows; users 0 and 2 are unaffected
    alone = nk.mmc(preds[~holes, 1], target[~holes], metamodel=metamodel[~holes])
    np.testing.assert_allclose(got.iloc[1], alone, rtol=0, atol=1e-12)
    full = nk.mmc(preds, target, metamodel=metamodel)
    np.testing.assert_allclose(got.iloc[[0, 2]], full.iloc[[0, 2]], rtol=0, atol=1e-12)
    # no NaN: the same numbers as nan_policy="raise"
    np.testing.assert_allclose(
        nk.mmc(preds, target, metamodel=metamodel, nan_policy="omit"), full, atol=0
    )


@settings(max_examples=25)
@given(
    case=cases,
    bags=st.sampled_from([None, 2, "mask"]),
    method=st.sampled_from(["average", "first"]),
    missing=st.sampled_from([0.0, 0.15, 0.4]),
    zero_stake=st.booleans(),
    use_eras=st.booleans(),
)
def test_mmc_loo_omit_matches_reference(case, bags, method, missing, zero_stake, use_eras):
    seed, n_eras, max_rows, n_users, _ = case
    rng, preds, _, stakes, eras = _case(seed, n_eras, max_rows + 3, n_users, False)
    target = rng.normal(size=len(preds))
    preds[rng.random(preds.shape) < missing] = np.nan
    target[rng.random(len(target)) < missing / 3] = np.nan
    if zero_stake and n_users > 1:
        stakes[-1] = 0.0
    if bags == "mask":
        bags = rng.random((3, n_users)) < 0.5
        bags[:, 0] = True
    kwargs = dict(
        eras=eras if use_eras else None,
        bags=bags,
        method=method,
        seed=seed,
        fraction=0.5 if n_users > 1 else 1.0,
        nan_policy="omit",
    )
    try:
        expected = ref.mmc_loo(preds, target, stakes, **kwargs)
    except ValueError:  # a bag of zero total stake: both refuse it
        with pytest.raises(ValueError):
            nk.mmc_loo(preds, target, stakes, **kwargs)
        return
    _close(nk.mmc_loo(preds, target, stakes, **kwargs), expected)
