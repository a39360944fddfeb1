"""neutralkit.diagnostics: worked examples, numerai-tools per era, bad input."""

from __future__ import annotations

import math
import warnings

import numerai_tools.scoring as nt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

import neutralkit as nk
from neutralkit import reference as ref


def _era_data(seed: int, n_eras: int = 3, per_era: int = 60, m: int = 3, k: int = 8):
    rng = np.random.default_rng(seed)
    n = n_eras * per_era
    eras = (
        pd.Series(np.repeat([f"era{e:02d}" for e in range(n_eras)], per_era))
        .sample(frac=1, random_state=seed)
        .to_numpy()
    )
    index = pd.Index(np.arange(n) + 500, name="id")
    preds = pd.DataFrame(
        rng.normal(size=(n, m)), index=index, columns=[f"model_{j}" for j in range(m)]
    )
    feats = pd.DataFrame(
        rng.integers(0, 5, (n, k)).astype(np.int8),
        index=index,
        columns=[f"feature_{j}" for j in range(k)],
    )
    target = pd.Series(rng.integers(0, 5, n) / 4, index=index, name="target")
    return preds, feats, target, eras


# ------------------------------------------------------------ summary, by hand


def test_summary_worked_example():
    s = pd.Series([0.1, -0.2, 0.3], name="corr")
    out = nk.summary(s)
    mean = (0.1 - 0.2 + 0.3) / 3
    std = math.sqrt(((0.1 - mean) ** 2 + (-0.2 - mean) ** 2 + (0.3 - mean) ** 2) / 3)
    assert out["mean"] == pytest.approx(mean, abs=1e-15)
    assert out["std"] == pytest.approx(std, abs=1e-15)
    assert out["sharpe"] == pytest.approx(mean / std, abs=1e-14)
    # only -0.2 is negative: downside = sqrt(0.04 / 3)
    assert out["sortino"] == pytest.approx(mean / math.sqrt(0.04 / 3), abs=1e-14)
    # cumulative sum 0, 0.1, -0.1, 0.2: the peak 0.1 falls to -0.1
    assert out["max_drawdown"] == pytest.approx(0.2, abs=1e-15)
    assert out["hit_rate"] == pytest.approx(2 / 3)
    # lag-1 pairs (0.1, -0.2) and (-0.2, 0.3): two points on a line of negative slope
    assert out["autocorr"] == pytest.approx(-1.0, abs=1e-12)
    # penalty sqrt(1 + 2 * ((2/3) * 1 + (1/3) * 1)) = sqrt(3)
    assert out["smart_sharpe"] == pytest.approx(mean / std / math.sqrt(3), abs=1e-14)
    assert out["n_eras"] == 3
    assert out.name == "corr"


def test_summary_drawdown_counts_a_first_era_loss_and_compounds():
    s = np.array([-0.1, 0.5, -0.5, 0.2])
    # summed: 0, -0.1, 0.4, -0.1, 0.1 -> fall of 0.5 from 0.4
    assert nk.summary(s)["max_drawdown"] == pytest.approx(0.5, abs=1e-15)
    # compounded wealth 1, 0.9, 1.35, 0.675, 0.81 -> relative fall 1 - 0.675 / 1.35
    out = nk.summary(s, compounded=True)
    assert out["max_drawdown"] == pytest.approx(0.5, abs=1e-15)
    s2 = np.array([-0.1, -0.1])
    # wealth 1, 0.9, 0.81 -> 1 - 0.81
    assert nk.summary(s2, compounded=True)["max_drawdown"] == pytest.approx(0.19, abs=1e-15)
    assert nk.summary(s2)["max_drawdown"] == pytest.approx(0.2, abs=1e-15)


def test_summary_autocorr_and_smart_sharpe_by_hand():
    s = np.array([0.01, 0.02, 0.04, 0.03])
    a, b = s[:-1], s[1:]
    ac, bc = a - a.mean(), b - b.mean()
    rho = float(ac @ bc) / math.sqrt(float(ac @ ac) * float(bc @ bc))
    n = 4
    penalty = math.sqrt(1 + 2 * ((3 / 4) * rho + (2 / 4) * rho**2 + (1 / 4) * rho**3))
    out = nk.summary(s)
    assert out["autocorr"] == pytest.approx(rho, abs=1e-14)
    assert out["smart_sharpe"] == pytest.approx(out["sharpe"] / penalty, abs=1e-14)
    assert out["hit_rate"] == 1.0
    assert out["sortino"] == math.inf  # no losing era
    assert out["n_eras"] == n


def test_summary_frame_one_row_per_column():
    frame = pd.DataFrame({"a": [0.1, -0.2, 0.3], "b": [0.0, 0.1, 0.1]})
    out = nk.summary(frame)
    assert list(out.index) == ["a", "b"]
    pd.testing.assert_series_equal(
        out.loc["a"].drop("n_eras"),
        nk.summary(frame["a"]).drop("n_eras").rename("a"),
        check_dtype=False,
    )
    assert out["n_eras"].tolist() == [3, 3]


def test_hard_era_mmc_by_hand():
    mmc = pd.Series([0.02, -0.01, 0.03], index=["e1", "e2", "e3"])
    mm = pd.Series([-0.05, 0.01, -0.02], index=["e1", "e2", "e3"])
    assert nk.hard_era_mmc(mmc, mm) == pytest.approx((1.5 * 0.02 - 0.01 + 1.5 * 0.03) / 3)
    assert nk.hard_era_mmc(mmc, mm, coefficient=1.0) == pytest.approx(mmc.mean())
    frame = pd.DataFrame({"x": mmc, "y": -mmc})
    out = nk.hard_era_mmc(frame, mm, 2.0)
    assert out["x"] == pytest.approx((0.04 - 0.01 + 0.06) / 3)
    assert out["y"] == pytest.approx(-out["x"])


def test_churn_by_hand():
    cur = pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd"))
    prev = pd.Series([4.0, 3.0, 2.0, 1.0, 9.0], index=list("abcdz"))
    assert nk.churn(cur, prev) == pytest.approx(2.0)  # opposite order: Spearman -1
    assert nk.churn(cur, cur * 10) == pytest.approx(0.0)
    # one swap among 3 ranks: Spearman = 1 - 6 * 2 / (3 * 8) = 0.5
    assert nk.churn(pd.Series([1.0, 2.0, 3.0]), pd.Series([1.0, 3.0, 2.0])) == pytest.approx(0.5)
    frame_cur = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 2.0, 1.0]})
    frame_prev = pd.DataFrame({"x": [1.0, 3.0, 2.0], "y": [3.0, 2.0, 1.0]}, index=[0, 1, 2])
    out = nk.churn(frame_cur, frame_prev)
    assert out["x"] == pytest.approx(0.5) and out["y"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="column labels"):
        nk.churn(frame_cur, frame_prev.rename(columns={"y": "z"}))


# ---------------------------------------------------- against numerai-tools, per era


@settings(max_examples=15)
@given(st.integers(0, 2**20))
def test_fnc_equals_numerai_tools_per_era(seed):
    preds, feats, target, eras = _era_data(seed)
    ours = nk.feature_neutral_corr(preds, feats, target, eras=eras)
    for era in ours.index:
        rows = eras == era
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = nt.feature_neutral_corr(preds[rows], feats[rows], target[rows])
        np.testing.assert_allclose(ours.loc[era].to_numpy(), expected.to_numpy(), atol=1e-9)


@settings(max_examples=15)
@given(st.integers(0, 2**20))
def test_neutral_correlation_equals_numerai_tools_per_era(seed):
    preds, feats, target, eras = _era_data(seed)
    ours = nk.neutral_correlation(preds, feats, target, eras=eras)
    for era in ours.index:
        rows = eras == era
        expected = nt.neutral_correlation(preds[rows], feats[rows], target[rows])
        np.testing.assert_allclose(ours.loc[era].to_numpy(), expected.to_numpy(), atol=1e-9)


@settings(max_examples=15)
@given(st.integers(0, 2**20))
def test_feature_exposure_max_equals_numerai_tools_per_era(seed):
    preds, feats, _target, eras = _era_data(seed)
    exposure = nk.feature_exposure(preds, feats, eras=eras)
    for era in exposure.index:
        rows = eras == era
        for col in preds.columns:
            name, value = nt.max_feature_correlation(preds.loc[rows, col], feats[rows])
            assert exposure.loc[era, ("max", col)] == pytest.approx(value, abs=1e-9)
            assert exposure.loc[era, ("max_feature", col)] == name


@settings(max_examples=25)
@given(st.integers(0, 2**20), st.sampled_from(["official", "legacy"]))
def test_fnc_vs_reference(seed, preset):
    preds, feats, target, eras = _era_data(seed, per_era=30, k=5)
    fast = nk.feature_neutral_corr(preds, feats, target, eras=eras, preset=preset)
    slow = ref.feature_neutral_corr(preds, feats, target, eras=eras, preset=preset)
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), atol=1e-9)
    fast1 = nk.feature_neutral_corr(
        preds["model_1"].to_numpy(), feats.to_numpy(), target, preset=preset
    )
    slow1 = ref.feature_neutral_corr(
        preds["model_1"].to_numpy(), feats.to_numpy(), target, preset=preset
    )
    assert isinstance(fast1, float)
    assert fast1 == pytest.approx(slow1, abs=1e-9)


@settings(max_examples=20)
@given(st.integers(0, 2**20))
def test_neutral_correlation_vs_reference(seed):
    preds, feats, target, eras = _era_data(seed, per_era=30, k=5)
    fast = nk.neutral_correlation(preds, feats, target, eras=eras)
    slow = ref.neutral_correlation(preds, feats, target, eras=eras)
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), atol=1e-9)


def test_legacy_fnc_is_the_seed_codes_feature_neutral_mean():
    # example-scripts get_feature_neutral_mean (more in tests/test_fnc_legacy.py):
    # Gaussian of ordinal ranks, no-intercept projection, uniform re-rank, Pearson
    preds, feats, target, _ = _era_data(7, n_eras=1)
    col = preds["model_0"].round(1)  # ties, broken by row order under "first"
    g = ndtri((col.rank(method="first") - 0.5).to_numpy() / len(col))
    x = feats.to_numpy(float)
    r = pd.Series(g - x @ np.linalg.lstsq(x, g, rcond=None)[0])
    u = (r.rank(method="first") - 0.5) / len(r)
    expected = np.corrcoef(u, target.to_numpy())[0, 1]
    assert nk.feature_neutral_corr(col, feats, target, preset="legacy") == pytest.approx(
        expected, abs=1e-12
    )


# -------------------------------------------------------------- output shapes


def test_return_conventions():
    preds, feats, target, eras = _era_data(3)
    fnc = nk.feature_neutral_corr(preds, feats, target)
    assert isinstance(fnc, pd.Series) and list(fnc.index) == list(preds.columns)
    per_era = nk.feature_neutral_corr(preds, feats, target, eras=eras)
    assert list(per_era.index) == sorted(set(eras))
    numpy_out = nk.feature_neutral_corr(preds.to_numpy(), feats.to_numpy(), target.to_numpy())
    assert list(numpy_out.index) == [0, 1, 2]
    fc = nk.feature_correlations(preds, feats, eras=eras)
    assert fc.shape == (3, 3 * 8)
    assert fc["model_1"].shape == (3, 8)
    fx = nk.feature_exposure(preds, feats, eras=eras)
    assert fx["rms"].columns.tolist() == list(preds.columns)
    single = nk.feature_exposure(preds["model_0"], feats)
    assert list(single.index) == ["std", "rms", "max", "max_feature"]
    assert nk.feature_exposure(preds, feats).loc["model_0", "rms"] == pytest.approx(single["rms"])


def test_feature_exposure_leaves_constant_features_out():
    preds, feats, _, _ = _era_data(11, n_eras=1)
    c = nk.feature_correlations(preds["model_0"], feats)
    feats2 = feats.copy()
    feats2["feature_const"] = np.int8(2)
    c2 = nk.feature_correlations(preds["model_0"], feats2)
    assert np.isnan(c2["feature_const"])
    e1 = nk.feature_exposure(preds["model_0"], feats)
    e2 = nk.feature_exposure(preds["model_0"], feats2)
    for stat in ("std", "rms", "max"):
        assert e1[stat] == pytest.approx(e2[stat], abs=1e-15)
    assert e1["rms"] == pytest.approx(math.sqrt(float(np.mean(c.to_numpy() ** 2))))


def test_int8_and_float_features_agree_and_threads_do_not_matter():
    preds, feats, _, eras = _era_data(5, n_eras=4, k=300)
    a = nk.feature_correlations(preds, feats, eras=eras, n_threads=1)
    b = nk.feature_correlations(preds, feats.astype(np.float64), eras=eras, n_threads=2)
    c = nk.feature_correlations(
        preds, np.asfortranarray(feats.to_numpy(np.float32)), eras=eras, n_threads=3
    )
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-13)
    np.testing.assert_allclose(a.to_numpy(), c.to_numpy(), atol=1e-13)
    assert a.equals(nk.feature_correlations(preds, feats, eras=eras, n_threads=2))


def test_many_columns_int8_path_matches_float():
    """More than 4 prediction columns take the block + matrix-product path."""
    preds, feats, _, eras = _era_data(8, m=7, k=150)
    feats.iloc[eras == "era01", 3] = 1  # constant in one era only
    a = nk.feature_correlations(preds, feats, eras=eras)
    b = ref.feature_correlations(preds, feats, eras=eras)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-12)
    assert np.isnan(a.loc["era01", ("model_4", "feature_3")])
    assert not np.isnan(a.loc["era00", ("model_4", "feature_3")])


def test_inputs_not_modified():
    preds, feats, target, eras = _era_data(6)
    copies = [preds.copy(), feats.copy(), target.copy(), eras.copy()]
    nk.feature_exposure(preds, feats, eras=eras)
    nk.feature_neutral_corr(preds, feats, target, eras=eras)
    nk.feature_neutral_corr(preds, feats, target, eras=eras, preset="legacy")
    nk.neutral_correlation(preds, feats, target, eras=eras)
    nk.feature_neutral_target(target, feats, eras=eras, proportion=0.5)
    s = preds["model_0"].copy()
    nk.summary(s)
    nk.churn(s, preds["model_1"])
    assert preds.equals(copies[0]) and feats.equals(copies[1])
    assert target.equals(copies[2]) and (eras == copies[3]).all()
    assert s.equals(copies[0]["model_0"])


# ------------------------------------------------------------------- bad input


def test_non_numeric_features():
    preds, feats, target, _ = _era_data(1)
    bad = feats.astype(object)
    bad.iloc[0, 0] = "x"
    with pytest.raises(TypeError, match="features"):
        nk.feature_exposure(preds, bad)
    with pytest.raises(TypeError, match="features"):
        nk.feature_neutral_corr(preds, np.array([["a"]] * len(preds)), target)


def test_target_with_nan_raises():
    preds, feats, target, _ = _era_data(1)
    t = target.copy()
    t.iloc[5] = np.nan
    with pytest.raises(ValueError, match=r"target.*NaN"):
        nk.feature_neutral_corr(preds, feats, t)
    with pytest.raises(ValueError, match=r"target.*NaN"):
        nk.neutral_correlation(preds, feats, t)
    with pytest.raises(ValueError, match=r"target.*NaN"):
        nk.feature_neutral_target(t, feats)


def test_mismatched_lengths():
    preds, feats, target, eras = _era_data(1)
    with pytest.raises(ValueError, match="length mismatch"):
        nk.feature_exposure(preds, feats.iloc[:-1].to_numpy())
    with pytest.raises(ValueError, match="length mismatch"):
        nk.feature_neutral_corr(preds, feats, target.to_numpy()[:-1])
    with pytest.raises(ValueError, match="eras"):
        nk.feature_correlations(preds, feats, eras=eras[:-1])
    # pandas rows meet by index label: reversed rows are aligned, not paired by position
    pd.testing.assert_frame_equal(
        nk.feature_exposure(preds, feats.iloc[::-1]), nk.feature_exposure(preds, feats)
    )
    with pytest.raises(ValueError, match="features and preds: index labels differ"):
        nk.feature_exposure(preds, feats.set_axis(feats.index + 10**6))


def test_summary_rejects_empty_and_nan():
    with pytest.raises(ValueError, match="empty"):
        nk.summary(pd.Series([], dtype=float))
    with pytest.raises(ValueError, match="empty"):
        nk.summary(np.array([]))
    with pytest.raises(ValueError, match="NaN"):
        nk.summary(pd.Series([0.1, np.nan]))
    with pytest.raises(TypeError, match="compounded"):
        nk.summary(pd.Series([0.1]), compounded="yes")


@pytest.mark.parametrize("bad", [0, -1.5, float("nan"), float("inf")])
def test_hard_era_mmc_coefficient_must_be_positive(bad):
    with pytest.raises(ValueError, match="coefficient"):
        nk.hard_era_mmc([0.1, 0.2], [0.1, -0.1], coefficient=bad)


@pytest.mark.parametrize("bad", ["1.5", None, True])
def test_hard_era_mmc_coefficient_must_be_a_number(bad):
    with pytest.raises(TypeError, match="coefficient"):
        nk.hard_era_mmc([0.1, 0.2], [0.1, -0.1], coefficient=bad)


def test_hard_era_mmc_eras_must_match():
    mmc = pd.Series([0.1, 0.2], index=["e1", "e2"])
    with pytest.raises(ValueError, match="metamodel_corr_per_era and mmc_per_era: index"):
        nk.hard_era_mmc(mmc, pd.Series([0.1, 0.2], index=["e1", "e3"]))
    with pytest.raises(ValueError, match="length mismatch"):
        nk.hard_era_mmc([0.1, 0.2], [0.1])


def test_churn_needs_two_common_ids():
    cur = pd.Series([0.1, 0.2, 0.3], index=["a", "b", "c"])
    with pytest.raises(ValueError, match="fewer than 2 common ids"):
        nk.churn(cur, pd.Series([0.5, 0.1], index=["c", "z"]))
    with pytest.raises(ValueError, match="fewer than 2 common ids"):
        nk.churn(cur, pd.Series([0.5, np.nan], index=["a", "b"]))
    with pytest.raises(ValueError, match="length mismatch"):
        nk.churn(np.arange(3.0), np.arange(4.0))


def test_bad_preset():
    preds, feats, target, _ = _era_data(1)
    with pytest.raises(ValueError, match="preset"):
        nk.feature_neutral_corr(preds, feats, target, preset="newest")
