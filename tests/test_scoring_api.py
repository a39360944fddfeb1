"""Return conventions, bad input, no mutation, threads, ndtri accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

import neutralkit as nk
from neutralkit import _core

RNG = np.random.default_rng(42)
N = 40
PREDS = pd.DataFrame(RNG.normal(size=(N, 3)), columns=["a", "b", "c"])
TARGET = pd.Series(RNG.integers(0, 5, N) / 4)
MM = pd.Series(RNG.normal(size=N))
FEATS = RNG.integers(0, 5, size=(N, 2)).astype(np.int8)
ERAS = np.repeat(np.array(["x", "w"], dtype=object), N // 2)

SCORES = {
    "pearson": lambda p, t, mm=MM, f=FEATS, **kw: nk.pearson(p, t, **kw),
    "covariance": lambda p, t, mm=MM, f=FEATS, **kw: nk.covariance(p, t, **kw),
    "corr": lambda p, t, mm=MM, f=FEATS, **kw: nk.corr(p, t, **kw),
    "numerai_corr": lambda p, t, mm=MM, f=FEATS, **kw: nk.numerai_corr(p, t, **kw),
    "correlation_contribution": lambda p, t, mm=MM, f=FEATS, **kw: nk.correlation_contribution(
        p, mm, t, **kw
    ),
    "neutral_contribution": lambda p, t, mm=MM, f=FEATS, **kw: nk.neutral_contribution(
        p, mm, f, t, **kw
    ),
}


@pytest.mark.parametrize("name", SCORES)
def test_return_convention(name):
    fn = SCORES[name]
    s = fn(PREDS, TARGET)
    assert isinstance(s, pd.Series) and list(s.index) == ["a", "b", "c"]
    assert isinstance(fn(PREDS["b"], TARGET), float)
    assert fn(PREDS["b"], TARGET) == pytest.approx(s["b"], abs=1e-12)
    arr = fn(PREDS.to_numpy(), TARGET.to_numpy())
    assert list(arr.index) == [0, 1, 2]
    d = fn(PREDS, TARGET, eras=ERAS)
    assert isinstance(d, pd.DataFrame)
    assert list(d.index) == ["w", "x"] and list(d.columns) == ["a", "b", "c"]
    # era "w" scored alone equals its row of the per-era result
    w = ERAS == "w"
    alone = fn(
        PREDS[w].reset_index(drop=True),
        TARGET[w].reset_index(drop=True),
        mm=MM[w].reset_index(drop=True),
        f=FEATS[w],
    )
    np.testing.assert_allclose(d.loc["w"].to_numpy(), alone.to_numpy(), atol=1e-12)


def test_row_transforms_keep_kind_and_order():
    perm = RNG.permutation(N)
    shuffled = PREDS.iloc[perm]
    r = nk.rank(shuffled, eras=ERAS[perm])
    assert r.index.equals(shuffled.index) and r.columns.equals(shuffled.columns)
    np.testing.assert_array_equal(r.loc[PREDS.index].to_numpy(), nk.rank(PREDS, eras=ERAS))
    g = nk.gaussianize(PREDS["a"].to_numpy())
    assert g.shape == (N,)
    s = nk.power(PREDS["a"], 2.0)
    assert isinstance(s, pd.Series) and s.name == "a"
    np.testing.assert_allclose(s, np.sign(PREDS["a"]) * PREDS["a"] ** 2)


def test_rank_omit_keeps_nan_and_counts_the_rest():
    x = np.array([3.0, np.nan, 1.0, 2.0])
    expected = [2.5 / 3, np.nan, 0.5 / 3, 1.5 / 3]
    np.testing.assert_array_equal(nk.rank(x, nan_policy="omit"), expected)
    g = nk.gaussianize(x, nan_policy="omit")
    np.testing.assert_array_equal(np.isnan(g), [False, True, False, False])
    np.testing.assert_array_equal(nk.power(x, 2.0, nan_policy="omit"), [9.0, np.nan, 1.0, 4.0])


@pytest.mark.parametrize("transform", [nk.rank, nk.gaussianize, nk.power])
def test_transforms_refuse_nan_by_default(transform):
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, np.nan, np.nan]})
    before = x.copy()
    with pytest.raises(ValueError, match=r"x: contains 2 NaN value\(s\); first in column 'b'"):
        transform(x)
    pd.testing.assert_frame_equal(x, before)
    with pytest.raises(ValueError, match="nan_policy: expected 'raise' or 'omit'"):
        transform(x, nan_policy="skip")


def test_transforms_take_infinity_under_raise():
    x = np.array([np.inf, 0.0, -np.inf, 2.0])
    np.testing.assert_array_equal(nk.rank(x), [3.5 / 4, 1.5 / 4, 0.5 / 4, 2.5 / 4])
    np.testing.assert_array_equal(nk.power(x, 1.5), [np.inf, 0.0, -np.inf, 2.0**1.5])


def test_ndtri_matches_scipy():
    p = np.concatenate([np.logspace(-300, -1, 3000), np.linspace(0, 1, 20001), [1 - 1e-16]])
    ours, theirs = _core.ndtri(p), ndtri(p)
    finite = np.isfinite(theirs)
    np.testing.assert_array_equal(ours[~finite], theirs[~finite])
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", SCORES)
def test_threads_give_identical_results(name):
    rng = np.random.default_rng(1)
    n = 3000
    preds = rng.normal(size=(n, 7))
    eras = rng.integers(0, 5, n)
    t = rng.normal(size=n)
    fn = SCORES[name]
    serial = fn(preds, t, eras=eras, n_threads=1) if "contribution" not in name else None
    if serial is None:
        mm = rng.normal(size=n)
        f = rng.normal(size=(n, 2))
        fn = {
            "correlation_contribution": lambda p, t, **kw: nk.correlation_contribution(
                p, mm, t, **kw
            ),
            "neutral_contribution": lambda p, t, **kw: nk.neutral_contribution(p, mm, f, t, **kw),
        }[name]
        serial = fn(preds, t, eras=eras, n_threads=1)
    threaded = fn(preds, t, eras=eras, n_threads=3)
    np.testing.assert_array_equal(serial.to_numpy(), threaded.to_numpy())
    g1 = nk.gaussianize(preds, eras=eras, n_threads=1)
    np.testing.assert_array_equal(g1, nk.gaussianize(preds, eras=eras, n_threads=4))


def test_inputs_not_modified():
    preds = PREDS.copy()
    target, mm = TARGET.copy(), MM.copy()
    feats = FEATS.copy()
    arr = np.asfortranarray(preds.to_numpy())
    arr_copy = arr.copy()
    for fn in SCORES.values():
        fn(preds, target, eras=ERAS)
        fn(arr, target.to_numpy(), eras=ERAS, nan_policy="omit")
    nk.rank(preds)
    nk.gaussianize(arr)
    nk.power(arr)
    nk.stake_weight(preds, pd.Series([1.0, 2.0], index=["a", "c"]))
    pd.testing.assert_frame_equal(preds, PREDS)
    pd.testing.assert_series_equal(target, TARGET)
    pd.testing.assert_series_equal(mm, MM)
    np.testing.assert_array_equal(feats, FEATS)
    np.testing.assert_array_equal(arr, arr_copy)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name", SCORES)
def test_nan_in_preds_raises_naming_column_and_count(name):
    p = PREDS.copy()
    p.iloc[[3, 5], 1] = np.nan
    with pytest.raises(ValueError, match=r"preds: contains 2 NaN.*'b'"):
        SCORES[name](p, TARGET)


@pytest.mark.parametrize("name", SCORES)
def test_nan_in_target_raises(name):
    t = TARGET.copy()
    t.iloc[0] = np.nan
    with pytest.raises(ValueError, match="target: contains 1 NaN"):
        SCORES[name](PREDS, t)


@pytest.mark.parametrize("name", SCORES)
def test_length_mismatch_raises(name):
    with pytest.raises(ValueError, match="target has 39 rows but preds has 40"):
        SCORES[name](PREDS, TARGET.iloc[:-1])
    with pytest.raises(ValueError, match="eras"):
        SCORES[name](PREDS, TARGET, eras=ERAS[:-1])


@pytest.mark.parametrize("name", SCORES)
def test_era_with_one_row_raises(name):
    eras = ERAS.copy()
    eras[0] = "lonely"
    with pytest.raises(ValueError, match="eras: era 'lonely' has 1 row"):
        SCORES[name](PREDS, TARGET, eras=eras)


def test_relabelled_target_is_aligned_by_label():
    # the same labels in another order: the target is matched by label, not position
    relabelled = TARGET.set_axis(TARGET.index[::-1])
    expected = nk.numerai_corr(PREDS, relabelled.reindex(PREDS.index))
    pd.testing.assert_series_equal(nk.numerai_corr(PREDS, relabelled), expected)
    with pytest.raises(ValueError, match="target and preds: index labels differ"):
        nk.numerai_corr(PREDS, TARGET.set_axis(TARGET.index + 1000))


def test_metamodel_with_single_value_in_an_era_raises():
    mm = MM.copy()
    mm[ERAS == "w"] = 0.25
    for fn in (
        lambda: nk.correlation_contribution(PREDS, mm, TARGET, eras=ERAS),
        lambda: nk.neutral_contribution(PREDS, mm, FEATS, TARGET, eras=ERAS),
    ):
        with pytest.raises(ValueError, match=r"metamodel: takes a single value .* era 'w'"):
            fn()


def test_metamodel_length_and_nan():
    with pytest.raises(ValueError, match="metamodel has 39 rows"):
        nk.correlation_contribution(PREDS, MM.iloc[:-1], TARGET)
    mm = MM.copy()
    mm.iloc[2] = np.nan
    with pytest.raises(ValueError, match="metamodel: contains 1 NaN"):
        nk.correlation_contribution(PREDS, mm, TARGET)


def test_neutralizers_bad_input():
    with pytest.raises(ValueError, match="neutralizers has 39 rows"):
        nk.neutral_contribution(PREDS, MM, FEATS[:-1], TARGET)
    f = FEATS.astype(float)
    f[0, 0] = np.nan
    with pytest.raises(ValueError, match="neutralizers: contains 1 NaN"):
        nk.neutral_contribution(PREDS, MM, f, TARGET, nan_policy="omit")


def test_bad_options():
    with pytest.raises(ValueError, match="nan_policy"):
        nk.pearson(PREDS, TARGET, nan_policy="ignore")
    with pytest.raises(ValueError, match="method"):
        nk.rank(PREDS, method="dense")
    with pytest.raises(ValueError, match="top_bottom"):
        nk.numerai_corr(PREDS, TARGET, top_bottom=-1)
    with pytest.raises(TypeError, match="top_bottom"):
        nk.numerai_corr(PREDS, TARGET, top_bottom=2.5)
    with pytest.raises(ValueError, match="p: expected a finite number > 0"):
        nk.power(PREDS, -1.0)
    with pytest.raises(TypeError, match="preds"):
        nk.pearson(PREDS.astype(str), TARGET)
    with pytest.raises(ValueError, match="preds: empty"):
        nk.pearson(np.empty((0, 2)), np.empty(0))


def test_omit_still_refuses_infinity():
    p = PREDS.copy()
    p.iloc[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"preds: contains \d+ infinite"):
        nk.numerai_corr(p, TARGET, nan_policy="omit")


@pytest.mark.parametrize(
    ("stakes", "message"),
    [
        (pd.Series([1.0, -1.0], index=["a", "b"]), "stakes: contains 1 negative"),
        (pd.Series([1.0, np.nan], index=["a", "b"]), "stakes: contains 1 NaN"),
        (pd.Series([0.0, 0.0], index=["a", "b"]), "stakes: sum to 0"),
        (pd.Series([1.0, 1.0], index=["a", "zz"]), r"stakes: names not among .*'zz'"),
        (np.array([1.0, 2.0]), "stakes: expected 3 stakes"),
    ],
)
def test_bad_stakes(stakes, message):
    with pytest.raises(ValueError, match=message):
        nk.stake_weight(PREDS, stakes)


def test_stake_weight_nan_preds_raise():
    p = PREDS.copy()
    p.iloc[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"preds: contains 1 NaN or infinite .*'c'"):
        nk.stake_weight(p, pd.Series([1.0, 1.0], index=["a", "c"]))


def test_stake_weight_omit_renormalizes_over_the_columns_present():
    p = pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": [3.0, 5.0, np.nan], "c": [9.0, 9.0, 9.0]})
    stakes = pd.Series([1.0, 3.0, 0.0], index=["a", "b", "c"])
    before = p.copy()
    got = nk.stake_weight(p, stakes, nan_policy="omit")
    # row 0: (1*1 + 3*3) / 4; row 1: only b; row 2: only c, whose stake is 0 -> NaN
    np.testing.assert_array_equal(got.to_numpy(), [2.5, 5.0, np.nan])
    pd.testing.assert_frame_equal(p, before)
    p.iloc[0, 1] = np.inf
    with pytest.raises(ValueError, match=r"preds: contains 1 infinite value\(s\); .*'b'"):
        nk.stake_weight(p, stakes, nan_policy="omit")
